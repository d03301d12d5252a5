// A small rich-text editor for staff emails: a contenteditable area with a toolbar (bold, italic,
// underline, link, bulleted and numbered lists) and keyboard shortcuts (Ctrl/Cmd+B, I, U, K,
// Ctrl/Cmd+Shift+7 / 8 for lists). What it submits is `editorHtml(area)`: a whitelist walk over
// the editor's DOM that keeps only p, br, strong, em, u, a[href http(s)/mailto], ul, ol and li,
// with every text escaped. The server sanitizes it again (nh3) before anything is stored or sent.
//
// Markup (see api/ui/templates/customers/_email_form.html):
//   <div data-rich-editor>
//     <div role="toolbar" aria-label="Formatting"> <button data-command="bold"> ... </div>
//     <div data-link-form hidden> <input data-link-url> <button data-link-apply> ... </div>
//     <div contenteditable="true" role="textbox" aria-multiline="true" data-editor-area></div>
//     <input type="hidden" name="html" data-editor-html>
//     <input type="hidden" name="body" data-editor-text>
//   </div>

const ELEMENT = 1;
const TEXT = 3;

/** Tags kept, and what they become. */
const KEEP = {
  P: "p",
  DIV: "p",
  BR: "br",
  B: "strong",
  STRONG: "strong",
  I: "em",
  EM: "em",
  U: "u",
  A: "a",
  UL: "ul",
  OL: "ol",
  LI: "li",
};
/** Tags dropped with everything inside them. */
const DROP = new Set([
  "SCRIPT",
  "STYLE",
  "TEMPLATE",
  "IFRAME",
  "OBJECT",
  "EMBED",
  "HEAD",
  "TITLE",
  "META",
  "LINK",
  "NOSCRIPT",
  "SVG",
  "MATH",
  "BUTTON",
  "INPUT",
  "SELECT",
  "TEXTAREA",
  "FORM",
  "IMG",
  "VIDEO",
  "AUDIO",
]);
const BLOCKS = new Set(["p", "ul", "ol"]);

export function escapeHtml(text) {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** The link target if it is http(s) or mailto, else null (javascript:, data:, relative...). */
export function safeHref(href) {
  if (typeof href !== "string") return null;
  // Browsers ignore control characters and spaces around and inside a scheme; so do we.
  const probe = href.replace(/[\u0000-\u0020\u007f]/g, "");
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(probe);
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const trimmed = href.trim();
  return scheme === "http" || scheme === "https" || scheme === "mailto" ? trimmed : null;
}

/** A typed URL made into a link target: "example.com" -> "https://example.com". */
export function normaliseLinkInput(raw) {
  const text = String(raw ?? "").trim();
  if (!text) return null;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text)) return safeHref(text);
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text)) return `mailto:${text}`;
  return safeHref(`https://${text}`);
}

function serializeChildren(node, inList) {
  let out = "";
  for (const child of node.childNodes) out += serializeNode(child, inList);
  return out;
}

function serializeNode(node, inList) {
  if (node.nodeType === TEXT) return escapeHtml(node.nodeValue ?? "");
  if (node.nodeType !== ELEMENT) return ""; // comments, processing instructions
  const name = String(node.nodeName).toUpperCase();
  if (DROP.has(name)) return "";
  const tag = KEEP[name];
  if (tag === undefined) return serializeChildren(node, inList); // unwrap: keep the text
  if (tag === "br") return "<br>";
  if (tag === "a") {
    const href = safeHref(node.getAttribute("href"));
    const inner = serializeChildren(node, inList);
    return href ? `<a href="${escapeHtml(href)}">${inner}</a>` : inner;
  }
  if (tag === "li" && !inList) return `<p>${serializeChildren(node, false)}</p>`;
  if (tag === "ul" || tag === "ol") {
    // Only list items belong in a list; stray text becomes an item.
    let items = "";
    for (const child of node.childNodes) {
      const childName = child.nodeType === ELEMENT ? String(child.nodeName).toUpperCase() : "";
      if (childName === "LI") items += `<li>${serializeChildren(child, true)}</li>`;
      else if (childName === "UL" || childName === "OL") items += serializeNode(child, true);
      else {
        const inner = serializeNode(child, true);
        if (inner.trim()) items += `<li>${inner}</li>`;
      }
    }
    return items ? `<${tag}>${items}</${tag}>` : "";
  }
  if (tag === "p" && inList) return `${serializeChildren(node, inList)}<br>`;
  const inner = serializeChildren(node, inList);
  if (tag === "p") return `<p>${inner || "<br>"}</p>`;
  return inner ? `<${tag}>${inner}</${tag}>` : "";
}

/** Top-level runs of inline content become paragraphs; empty edges are dropped. */
function paragraphs(parts) {
  const blocks = [];
  let inline = "";
  const flush = () => {
    if (inline) blocks.push(`<p>${inline}</p>`);
    inline = "";
  };
  for (const [tag, html] of parts) {
    if (BLOCKS.has(tag)) {
      flush();
      blocks.push(html);
    } else if (tag === "br") {
      inline += "<br>";
      flush();
    } else inline += html;
  }
  flush();
  const empty = (b) => /^<p>(<br>|\s|&nbsp;|\u00a0)*<\/p>$/.test(b);
  while (blocks.length && empty(blocks[0])) blocks.shift();
  while (blocks.length && empty(blocks[blocks.length - 1])) blocks.pop();
  return blocks.map((b) => b.replace(/<br><\/p>$/, "</p>").replace(/^<p><\/p>$/, "<p><br></p>"));
}

/** The editor's content as the email HTML it submits. */
export function editorHtml(root) {
  const parts = [];
  for (const child of root.childNodes) {
    const name = child.nodeType === ELEMENT ? String(child.nodeName).toUpperCase() : "#text";
    const tag = name === "#text" ? "text" : (KEEP[name] ?? "inline");
    parts.push([tag, serializeNode(child, false)]);
  }
  return paragraphs(parts.filter(([, html]) => html !== "")).join("");
}

/** The plain-text part of the email: one line per paragraph, "- " before list items. */
export function editorText(root) {
  const lines = [];
  let line = "";
  const newline = () => {
    lines.push(line);
    line = "";
  };
  const walk = (node, listPrefix) => {
    if (node.nodeType === TEXT) {
      line += (node.nodeValue ?? "").replace(/\u00a0/g, " ");
      return;
    }
    if (node.nodeType !== ELEMENT) return;
    const name = String(node.nodeName).toUpperCase();
    if (DROP.has(name)) return;
    if (name === "BR") return newline();
    const block = name === "P" || name === "DIV" || name === "LI";
    if (block && line) newline();
    if (name === "LI") line += listPrefix;
    const prefix = name === "OL" ? "* " : name === "UL" ? "- " : listPrefix;
    for (const child of node.childNodes) walk(child, prefix);
    if (name === "A") {
      const href = safeHref(node.getAttribute("href"));
      if (href && href !== (node.textContent ?? "").trim()) line += ` (${href.replace(/^mailto:/, "")})`;
    }
    if (block && line) newline();
  };
  for (const child of root.childNodes) walk(child, "- ");
  if (line) newline();
  return lines.map((l) => l.trimEnd()).join("\n").replace(/\n{3,}/g, "\n\n").trim();
}

/** Which toolbar command a key press asks for, or null. */
export function shortcutFor(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = String(event.key).toLowerCase();
  if (event.shiftKey) {
    if (key === "7" || key === "&") return "insertOrderedList";
    if (key === "8" || key === "*") return "insertUnorderedList";
    return null;
  }
  return { b: "bold", i: "italic", u: "underline", k: "link" }[key] ?? null;
}

/** Wire one [data-rich-editor] container; returns a small handle (used by the template picker). */
export function attachEditor(container) {
  const doc = container.ownerDocument;
  const area = container.querySelector("[data-editor-area]");
  const htmlInput = container.querySelector("[data-editor-html]");
  const textInput = container.querySelector("[data-editor-text]");
  const toolbar = container.querySelector('[role="toolbar"]');
  const buttons = Array.from(toolbar.querySelectorAll("button[data-command]"));
  const linkForm = container.querySelector("[data-link-form]");
  const linkUrl = container.querySelector("[data-link-url]");
  const linkError = container.querySelector("[data-link-error]");
  let savedRange = null;

  const sync = () => {
    htmlInput.value = editorHtml(area);
    if (textInput) textInput.value = editorText(area);
    container.dispatchEvent(new CustomEvent("editor:change", { bubbles: true }));
  };
  const refreshState = () => {
    for (const button of buttons) {
      const command = button.dataset.command;
      if (command === "link") continue;
      let on = false;
      try {
        on = doc.queryCommandState(command);
      } catch {
        on = false;
      }
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
  };
  const saveSelection = () => {
    const selection = doc.getSelection();
    if (selection && selection.rangeCount && area.contains(selection.anchorNode)) {
      savedRange = selection.getRangeAt(0).cloneRange();
    }
  };
  const restoreSelection = () => {
    area.focus();
    if (!savedRange) return;
    const selection = doc.getSelection();
    selection.removeAllRanges();
    selection.addRange(savedRange);
  };
  const openLinkForm = () => {
    saveSelection();
    const anchor = savedRange && closestAnchor(savedRange.startContainer, area);
    linkUrl.value = anchor ? anchor.getAttribute("href") ?? "" : "";
    if (linkError) linkError.textContent = "";
    linkForm.hidden = false;
    linkUrl.focus();
  };
  const closeLinkForm = () => {
    linkForm.hidden = true;
    restoreSelection();
  };
  const applyLink = () => {
    const raw = linkUrl.value;
    if (!raw.trim()) {
      closeLinkForm();
      doc.execCommand("unlink");
      sync();
      return;
    }
    const href = normaliseLinkInput(raw);
    if (!href) {
      if (linkError) linkError.textContent = "Use a web address (https://...) or an email address.";
      linkUrl.focus();
      return;
    }
    closeLinkForm();
    const selection = doc.getSelection();
    if (selection && selection.isCollapsed) {
      doc.execCommand("insertHTML", false, `<a href="${escapeHtml(href)}">${escapeHtml(raw.trim())}</a>`);
    } else doc.execCommand("createLink", false, href);
    sync();
  };
  const run = (command) => {
    if (command === "link") return openLinkForm();
    area.focus();
    doc.execCommand(command, false);
    refreshState();
    sync();
  };

  doc.execCommand("defaultParagraphSeparator", false, "p");
  for (const button of buttons) {
    // mousedown would move the focus (and the selection) out of the editor
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("click", () => run(button.dataset.command));
  }
  // The toolbar is one tab stop; arrows move between its buttons (WAI-ARIA toolbar pattern).
  buttons.forEach((b, i) => (b.tabIndex = i === 0 ? 0 : -1));
  toolbar.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(doc.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = buttons.length - 1;
    if (next === null) return;
    event.preventDefault();
    buttons[index].tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
  });
  area.addEventListener("keydown", (event) => {
    const command = shortcutFor(event);
    if (!command) return;
    event.preventDefault();
    run(command);
  });
  area.addEventListener("input", sync);
  area.addEventListener("keyup", refreshState);
  area.addEventListener("mouseup", refreshState);
  area.addEventListener("blur", saveSelection);
  // Pasted content arrives as plain text: no foreign styles or markup.
  area.addEventListener("paste", (event) => {
    const text = event.clipboardData?.getData("text/plain");
    if (text === undefined) return;
    event.preventDefault();
    doc.execCommand("insertText", false, text);
  });
  linkForm?.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      applyLink();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeLinkForm();
    }
  });
  container.querySelector("[data-link-apply]")?.addEventListener("click", applyLink);
  container.querySelector("[data-link-cancel]")?.addEventListener("click", closeLinkForm);
  container.closest("form")?.addEventListener("submit", sync);
  sync();

  const handle = {
    area,
    sync,
    setHtml(html) {
      // Only HTML we produced ourselves (or the server sanitized) is set; re-cleaned anyway.
      const scratch = doc.createElement("template");
      scratch.innerHTML = html;
      area.innerHTML = editorHtml(scratch.content);
      sync();
    },
    html: () => editorHtml(area),
    text: () => editorText(area),
  };
  container.richEditor = handle;
  return handle;
}

function closestAnchor(node, stop) {
  for (let n = node; n && n !== stop; n = n.parentNode) {
    if (n.nodeType === ELEMENT && String(n.nodeName).toUpperCase() === "A") return n;
  }
  return null;
}

/** Wire every [data-rich-editor] under `root`. */
export function initEditors(root) {
  for (const container of root.querySelectorAll("[data-rich-editor]")) {
    if (!container.richEditor) attachEditor(container);
  }
}

if (typeof document !== "undefined") {
  const start = () => initEditors(document);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", (event) => initEditors(event.target));
}
