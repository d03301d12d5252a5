// The template editor (settings): variable buttons insert {{name}} at the cursor of the field
// last focused, and the email-only fields hide for SMS templates. The live preview is htmx.

import { insertAtCursor } from "./template-picker.js";

/** "{{name}}" for a variable. */
export const variableToken = (name) => `{{${name}}}`;

export function attachTemplateEditor(form, doc = form.ownerDocument) {
  const targets = Array.from(form.querySelectorAll("[data-variable-target]"));
  let last = targets.find((t) => t.name === "body") ?? targets[0];
  for (const target of targets) target.addEventListener("focus", () => (last = target));
  for (const button of doc.querySelectorAll("[data-insert-variable]")) {
    button.addEventListener("click", () => {
      if (!last) return;
      const { value, caret } = insertAtCursor(
        last.value,
        last.selectionStart,
        last.selectionEnd,
        variableToken(button.dataset.insertVariable),
      );
      last.value = value;
      last.focus();
      last.setSelectionRange(caret, caret);
      last.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
  const channel = form.querySelector('[name="channel"]');
  const emailOnly = Array.from(form.querySelectorAll("[data-email-only]"));
  const showFields = () => {
    const sms = channel.value === "sms";
    for (const field of emailOnly) {
      // A field that still holds text stays visible, so its error can be seen and fixed.
      const input = field.querySelector("input, textarea");
      field.hidden = sms && !(input && input.value.trim());
    }
  };
  channel?.addEventListener("change", showFields);
  if (channel) showFields();
}

if (typeof document !== "undefined") {
  const start = () => {
    const form = document.getElementById("template-form");
    if (form) attachTemplateEditor(form);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
