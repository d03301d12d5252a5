// The composer's live "N characters · M segments · GSM-7" line, computed with the very same rules
// the server uses (sms-segments.js is the twin of dramtrade/sms_segments.py).
//
// Markup: <textarea data-sms-counter="ID"> where ID is the id of the element showing the count.
// The output element gets data-characters, data-segments and data-encoding for tests; it should
// carry aria-live="polite" so screen readers hear the count.

import { countSegments } from "./sms-segments.js";

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** The counter's figures for a body, exactly as the server counts it. */
export function smsCount(body) {
  const r = countSegments(body ?? "");
  return {
    characters: r.characters,
    segments: r.segments,
    encoding: r.encoding,
    remainingInSegment: r.remainingInSegment,
    nonGsmCharacters: r.nonGsmCharacters,
  };
}

/** "161 characters · 2 segments · GSM-7" */
export function formatCount(count) {
  return [
    plural(count.characters, "character", "characters"),
    plural(count.segments, "segment", "segments"),
    count.encoding,
  ].join(" \u00b7 ");
}

/** Why the message is UCS-2, for the hint under the counter ("" when it is GSM-7). */
export function encodingHint(count) {
  if (count.encoding === "GSM-7" || count.nonGsmCharacters.length === 0) return "";
  const shown = [...new Set(count.nonGsmCharacters)].slice(0, 5).join(" ");
  return `UCS-2 because of: ${shown}`;
}

/** Keep `output` in step with `textarea` on every keystroke; returns the update function. */
export function attachCounter(textarea, output, hint = null) {
  const update = () => {
    const count = smsCount(textarea.value);
    output.textContent = formatCount(count);
    output.dataset.characters = String(count.characters);
    output.dataset.segments = String(count.segments);
    output.dataset.encoding = count.encoding;
    if (hint) hint.textContent = encodingHint(count);
  };
  textarea.addEventListener("input", update);
  update();
  return update;
}

/** Wire every textarea[data-sms-counter] under `root` (a document or an element). */
export function initCounters(root) {
  const doc = root.ownerDocument ?? root;
  for (const textarea of root.querySelectorAll("textarea[data-sms-counter]")) {
    const output = doc.getElementById(textarea.dataset.smsCounter);
    if (textarea.dataset.smsCounterReady || !output) continue;
    textarea.dataset.smsCounterReady = "1";
    const hintId = textarea.dataset.smsCounterHint;
    attachCounter(textarea, output, hintId ? doc.getElementById(hintId) : null);
  }
}

if (typeof document !== "undefined") {
  const start = () => initCounters(document);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  // Parts swapped in by htmx get their counters too.
  document.addEventListener("htmx:afterSettle", (event) => initCounters(event.target));
}
