// Template pickers of the composers: choosing a template fetches it rendered for this customer
// (the server's preview service, so the text is what a send with that template would say) and
// puts it into the composer. The SMS picker inserts the text at the cursor (the live counter
// follows); the email picker fills the subject and the rich-text editor.
//
// Markup:
//   <select data-template-picker="sms" data-render-url=".../templates/__ID__/render"
//           data-target="sms-body">
//   <select data-template-picker="email" data-render-url="..." data-subject="email-subject"
//           data-editor="email-editor">
// The render URL answers JSON {subject, body, html}.

import { escapeHtml } from "./rich-editor.js";

/** `value` with `text` put in place of the selection [start, end); the caret after it. */
export function insertAtCursor(value, start, end, text) {
  const from = Math.max(0, Math.min(start ?? value.length, value.length));
  const to = Math.max(from, Math.min(end ?? from, value.length));
  return { value: value.slice(0, from) + text + value.slice(to), caret: from + text.length };
}

/** Plain text as editor HTML: a paragraph per blank-line-separated block, <br> for newlines. */
export function textToHtml(text) {
  return String(text ?? "")
    .replace(/\r\n?/g, "\n")
    .split(/\n{2,}/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => `<p>${block.split("\n").map(escapeHtml).join("<br>")}</p>`)
    .join("");
}

/** The URL to fetch one template from, given the picker's URL pattern. */
export function renderUrl(pattern, templateId) {
  return pattern.replace("__ID__", encodeURIComponent(templateId));
}

async function fetchRendered(select) {
  const response = await fetch(renderUrl(select.dataset.renderUrl, select.value), {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`template could not be rendered (${response.status})`);
  return response.json();
}

function report(select, message) {
  const id = select.getAttribute("aria-describedby");
  const status = id ? select.ownerDocument.getElementById(id) : null;
  if (status) status.textContent = message;
}

export function attachSmsPicker(select) {
  const doc = select.ownerDocument;
  select.addEventListener("change", async () => {
    if (!select.value) return;
    const target = doc.getElementById(select.dataset.target);
    try {
      const rendered = await fetchRendered(select);
      const { value, caret } = insertAtCursor(
        target.value,
        target.selectionStart,
        target.selectionEnd,
        rendered.body,
      );
      target.value = value;
      target.focus();
      target.setSelectionRange(caret, caret);
      target.dispatchEvent(new Event("input", { bubbles: true }));
      report(select, `Inserted “${select.selectedOptions[0].textContent.trim()}”.`);
    } catch (error) {
      report(select, error.message);
    }
    select.value = "";
  });
}

export function attachEmailPicker(select) {
  const doc = select.ownerDocument;
  select.addEventListener("change", async () => {
    if (!select.value) return;
    const subject = doc.getElementById(select.dataset.subject);
    const container = doc.getElementById(select.dataset.editor);
    try {
      const rendered = await fetchRendered(select);
      if (subject && rendered.subject) subject.value = rendered.subject;
      container.richEditor.setHtml(rendered.html || textToHtml(rendered.body));
      report(select, `Inserted “${select.selectedOptions[0].textContent.trim()}”.`);
    } catch (error) {
      report(select, error.message);
    }
    select.value = "";
  });
}

export function initPickers(root) {
  for (const select of root.querySelectorAll("select[data-template-picker]")) {
    if (select.dataset.pickerReady) continue;
    select.dataset.pickerReady = "1";
    if (select.dataset.templatePicker === "email") attachEmailPicker(select);
    else attachSmsPicker(select);
  }
}

if (typeof document !== "undefined") {
  const start = () => initPickers(document);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:afterSettle", (event) => initPickers(event.target));
}
