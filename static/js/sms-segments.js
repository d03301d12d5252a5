// SMS segment counting exactly as Twilio's message-segment-calculator does it.
// The JavaScript twin of dramtrade/sms_segments.py (same rules, same tables: see that module's
// docstring and shared/protocol/segments.md). Tables come from sms-segments-data.js, generated
// by scripts/build_sms_segments_js.py from dramtrade/data/*.json.
//
// Graphemes are split with Intl.Segmenter (ICU's UAX #29 rules); a "\r\n" cluster is split back
// into two characters, like the calculator does.

import { GSM7_BASIC, GSM7_EXTENSION, SMART_ENCODING } from "./sms-segments-data.js";

export const SEGMENT_BITS = 1120;
export const UDH_BITS = 48;

/** character -> septets (1 basic, 2 extension) */
const GSM7_SEPTETS = new Map([
  ...Array.from(GSM7_BASIC, (ch) => [ch, 1]),
  ...Array.from(GSM7_EXTENSION, (ch) => [ch, 2]),
]);

const SEGMENTER = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Twilio's Smart Encoding, applied code point by code point. */
export function smartEncode(body) {
  let out = "";
  for (const ch of body) {
    const replacement = SMART_ENCODING[ch];
    out += replacement === undefined ? ch : replacement;
  }
  return out;
}

/** Extended grapheme clusters of `text` (Intl.Segmenter). */
export function splitGraphemes(text) {
  return Array.from(SEGMENTER.segment(text), (s) => s.segment);
}

/** Character bits of each segment, replaying SegmentedMessage._buildSegments. */
function buildSegments(sizes) {
  const first = [];
  const used = [0];
  for (const size of sizes) {
    const header = used.length > 1 ? UDH_BITS : 0;
    if (SEGMENT_BITS - header - used[used.length - 1] < size) {
      let moved = 0;
      if (used.length === 1) {
        // The first segment gets its header now and pushes characters out until it fits.
        while (first.length > 0 && used[0] + UDH_BITS > SEGMENT_BITS) {
          const last = first.pop();
          used[0] -= last;
          moved += last;
        }
      }
      used.push(moved);
    } else if (used.length === 1) {
      first.push(size);
      used[0] += size;
      continue;
    }
    used[used.length - 1] += size;
  }
  return used;
}

/**
 * How many SMS segments `body` costs and in which encoding.
 * @returns {{encoding: "GSM-7"|"UCS-2", segments: number, characters: number,
 *   unicodeScalars: number, messageSizeBits: number, totalSizeBits: number,
 *   perSegmentLimit: number, remainingInSegment: number, nonGsmCharacters: string[]}}
 */
export function countSegments(body, smartEncoding = false) {
  const text = smartEncoding ? smartEncode(body) : body;
  const graphemes = [];
  for (const g of splitGraphemes(text)) {
    if (g === "\r\n") graphemes.push("\r", "\n");
    else graphemes.push(g);
  }
  const isGsm = graphemes.map((g) => g.length === 1 && GSM7_SEPTETS.has(g));
  const encoding = isGsm.every(Boolean) ? "GSM-7" : "UCS-2";
  let unitBits;
  let sizes;
  let characters;
  if (encoding === "GSM-7") {
    unitBits = 7;
    sizes = graphemes.map((g) => 7 * GSM7_SEPTETS.get(g));
    characters = graphemes.reduce((n, g) => n + GSM7_SEPTETS.get(g), 0);
  } else {
    unitBits = 16;
    sizes = graphemes.map((g, i) => (isGsm[i] ? 16 : 16 * g.length));
    characters = graphemes.length;
  }
  const used = buildSegments(sizes);
  const segments = used.length;
  const messageSizeBits = sizes.reduce((a, b) => a + b, 0);
  const capacity = SEGMENT_BITS - (segments > 1 ? UDH_BITS : 0);
  return {
    encoding,
    segments,
    characters,
    unicodeScalars: Array.from(body).length,
    messageSizeBits,
    totalSizeBits: messageSizeBits + (segments > 1 ? UDH_BITS * segments : 0),
    perSegmentLimit: Math.floor(capacity / unitBits),
    remainingInSegment: Math.floor(Math.max(0, capacity - used[segments - 1]) / unitBits),
    nonGsmCharacters: graphemes.filter((g, i) => !isGsm[i]),
  };
}
