// The composer's browser modules: the live SMS counter, the rich-text editor's HTML output and
// the template picker's helpers. Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { editorHtml, editorText, normaliseLinkInput, safeHref, shortcutFor } from "../../static/js/rich-editor.js";
import { encodingHint, formatCount, smsCount } from "../../static/js/sms-counter.js";
import { insertAtCursor, renderUrl, textToHtml } from "../../static/js/template-picker.js";

// --- a minimal DOM: just what editorHtml/editorText read ----------------------------------------

function el(name, attrs = {}, ...children) {
  const node = {
    nodeType: 1,
    nodeName: name.toUpperCase(),
    childNodes: children.map((c) => (typeof c === "string" ? text(c) : c)),
    getAttribute: (key) => (key in attrs ? attrs[key] : null),
  };
  Object.defineProperty(node, "textContent", {
    get: () => node.childNodes.map((c) => (c.nodeType === 3 ? c.nodeValue : c.textContent ?? "")).join(""),
  });
  return node;
}
const text = (value) => ({ nodeType: 3, nodeName: "#text", nodeValue: value, textContent: value });
const comment = (value) => ({ nodeType: 8, nodeName: "#comment", nodeValue: value });
const root = (...children) => el("div", {}, ...children);

// --- counter ------------------------------------------------------------------------------------

test("counter line: characters, segments and encoding", () => {
  assert.equal(formatCount(smsCount("")), "0 characters · 1 segment · GSM-7");
  assert.equal(formatCount(smsCount("a")), "1 character · 1 segment · GSM-7");
  assert.equal(formatCount(smsCount("a".repeat(160))), "160 characters · 1 segment · GSM-7");
  assert.equal(formatCount(smsCount("a".repeat(161))), "161 characters · 2 segments · GSM-7");
});

test("segments go from 1 to 2 at 71 UCS-2 characters", () => {
  assert.deepEqual(
    [smsCount("ç".repeat(70)).segments, smsCount("ç".repeat(70)).encoding],
    [1, "UCS-2"],
  );
  assert.equal(formatCount(smsCount("ç".repeat(71))), "71 characters · 2 segments · UCS-2");
});

test("extension characters count twice, as the server counts them", () => {
  assert.equal(smsCount("€").characters, 2);
  assert.equal(smsCount("{".repeat(80)).segments, 1);
  assert.equal(smsCount("{".repeat(81)).segments, 2);
});

test("the encoding hint names the characters that force UCS-2", () => {
  assert.equal(encodingHint(smsCount("plain text")), "");
  assert.equal(encodingHint(smsCount("hi 😀 ç ç")), "UCS-2 because of: 😀 ç");
});

// --- editor HTML --------------------------------------------------------------------------------

test("formatting is kept and normalised", () => {
  const html = editorHtml(
    root(
      text("Hello "),
      el("b", {}, "bold"),
      text(" "),
      el("i", {}, "it"),
      el("u", {}, "u"),
      el("div", {}, el("strong", {}, "x"), el("em", {}, "y")),
    ),
  );
  assert.equal(
    html,
    "<p>Hello <strong>bold</strong> <em>it</em><u>u</u></p><p><strong>x</strong><em>y</em></p>",
  );
});

test("lists and links", () => {
  const html = editorHtml(
    root(
      el("ul", {}, el("li", {}, "one"), el("li", {}, el("a", { href: "https://example.com/a?b=1&c=2" }, "two"))),
      el("ol", {}, el("li", {}, "first"), text("stray")),
    ),
  );
  assert.equal(
    html,
    '<ul><li>one</li><li><a href="https://example.com/a?b=1&amp;c=2">two</a></li></ul>' +
      "<ol><li>first</li><li>stray</li></ol>",
  );
});

test("scripts, handlers, styles and unsafe links are removed; text is escaped", () => {
  const html = editorHtml(
    root(
      el("p", { onclick: "steal()", style: "color:red" }, "<b>not a tag</b> & more"),
      el("script", {}, "alert(1)"),
      el("style", {}, "p{}"),
      el("a", { href: "javascript:alert(1)" }, "click"),
      el("a", { href: " java\tscript:alert(1)" }, "tab"),
      el("a", { href: "data:text/html,x" }, "data"),
      el("img", { src: "https://x/y.png", onerror: "x()" }),
      el("span", { style: "font-weight:bold" }, "span text"),
      comment("secret"),
      el("iframe", { src: "https://evil" }, "frame"),
    ),
  );
  assert.equal(html, "<p>&lt;b&gt;not a tag&lt;/b&gt; &amp; more</p><p>clicktabdataspan text</p>");
  assert.ok(!/script|onclick|style|javascript|onerror|iframe|img/i.test(html));
});

test("attribute values cannot break out of their quotes", () => {
  const html = editorHtml(root(el("a", { href: 'https://x.test/"><script>' }, "x")));
  assert.equal(html, '<p><a href="https://x.test/&quot;&gt;&lt;script&gt;">x</a></p>');
});

test("blank lines inside are kept, empty edges dropped", () => {
  const html = editorHtml(
    root(el("p", {}, el("br")), text("a"), el("div", {}, el("br")), el("div", {}, "b"), el("div", {}, el("br"))),
  );
  assert.equal(html, "<p>a</p><p><br></p><p>b</p>");
  assert.equal(editorHtml(root()), "");
  assert.equal(editorHtml(root(el("div", {}, el("br")))), "");
});

test("plain-text part of the email", () => {
  const tree = root(
    el("p", {}, "Hi ", el("b", {}, "Rosa"), ","),
    el("ul", {}, el("li", {}, "filter"), el("li", {}, "coil")),
    el("p", {}, "See ", el("a", { href: "https://x.test/i" }, "the invoice"), "."),
  );
  assert.equal(editorText(tree), "Hi Rosa,\n- filter\n- coil\nSee the invoice (https://x.test/i).");
});

test("links: allowed schemes and typed addresses", () => {
  assert.equal(safeHref("https://a.test"), "https://a.test");
  assert.equal(safeHref("MAILTO:a@b.test"), "MAILTO:a@b.test");
  assert.equal(safeHref("javascript:x"), null);
  assert.equal(safeHref("\u0001javascript:x"), null);
  assert.equal(safeHref("/relative"), null);
  assert.equal(normaliseLinkInput("example.com/pay"), "https://example.com/pay");
  assert.equal(normaliseLinkInput("rosa@example.com"), "mailto:rosa@example.com");
  assert.equal(normaliseLinkInput("javascript:alert(1)"), null);
  assert.equal(normaliseLinkInput("  "), null);
});

test("keyboard shortcuts", () => {
  const key = (k, mods = {}) => shortcutFor({ key: k, ctrlKey: true, ...mods });
  assert.equal(key("b"), "bold");
  assert.equal(key("I"), "italic");
  assert.equal(key("u"), "underline");
  assert.equal(key("k"), "link");
  assert.equal(key("8", { shiftKey: true }), "insertUnorderedList");
  assert.equal(key("7", { shiftKey: true }), "insertOrderedList");
  assert.equal(shortcutFor({ key: "b", metaKey: true }), "bold");
  assert.equal(shortcutFor({ key: "b" }), null);
  assert.equal(key("b", { altKey: true }), null);
  assert.equal(key("x"), null);
});

// --- template picker ----------------------------------------------------------------------------

test("insert at the cursor, replacing the selection", () => {
  assert.deepEqual(insertAtCursor("Hello world", 6, 11, "Rosa"), { value: "Hello Rosa", caret: 10 });
  assert.deepEqual(insertAtCursor("ab", 1, 1, "X"), { value: "aXb", caret: 2 });
  assert.deepEqual(insertAtCursor("ab", undefined, undefined, "X"), { value: "abX", caret: 3 });
});

test("template text as editor HTML", () => {
  assert.equal(textToHtml("Hi <Rosa>,\nsee you.\n\nThanks & bye"), "<p>Hi &lt;Rosa&gt;,<br>see you.</p><p>Thanks &amp; bye</p>");
  assert.equal(textToHtml(""), "");
  assert.equal(renderUrl("/app/c/1/templates/__ID__/render", "a b"), "/app/c/1/templates/a%20b/render");
});

test("template editor inserts variables as {{name}}", async () => {
  const { variableToken } = await import("../../static/js/template-editor.js");
  assert.equal(variableToken("first_name"), "{{first_name}}");
  const { value } = insertAtCursor("Hi !", 3, 3, variableToken("first_name"));
  assert.equal(value, "Hi {{first_name}}!");
});
