// The calculator's own cases (shared/protocol/segments_cases*.json) against
// static/js/sms-segments.js. Run: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { countSegments, smartEncode } from "../../static/js/sms-segments.js";

const PROTOCOL_DIR = fileURLToPath(new URL("../../../shared/protocol/", import.meta.url));
const load = (name) => JSON.parse(readFileSync(PROTOCOL_DIR + name, "utf8"));
const cases = load("segments_cases.json");
const extra = load("segments_cases_extra.json");

test("48 official cases", () => assert.equal(cases.length, 48));

cases.forEach((c, i) => {
  test(`case ${i}: ${c.source.split(" ").slice(2).join(" ")}`, () => {
    const r = countSegments(c.text);
    assert.equal(r.encoding, c.encoding);
    assert.equal(r.segments, c.segments);
    if ("message_size_bits" in c) assert.equal(r.messageSizeBits, c.message_size_bits);
    if ("total_size_bits" in c) assert.equal(r.totalSizeBits, c.total_size_bits);
    if ("characters" in c) assert.equal(r.characters, c.characters);
    if ("unicode_scalars" in c) assert.equal(r.unicodeScalars, c.unicode_scalars);
  });
});

extra.forEach((c, i) => {
  test(`extra case ${i}: ${JSON.stringify(c.text)}`, () => {
    const r = countSegments(c.text);
    if ("characters" in c) assert.equal(r.characters, c.characters);
    if ("unicode_scalars" in c) assert.equal(r.unicodeScalars, c.unicode_scalars);
    if ("non_gsm_characters" in c) assert.deepEqual(r.nonGsmCharacters, c.non_gsm_characters);
  });
});

test("smart encoding", () => {
  assert.equal(smartEncode("\u201chi\u201d \u2026 \u00bd\t"), '"hi" ... 1/2       ');
  const r = countSegments("\u2019".repeat(100), true);
  assert.deepEqual([r.encoding, r.segments], ["GSM-7", 1]);
  assert.deepEqual(
    [countSegments("\u2019".repeat(100)).encoding, countSegments("\u2019".repeat(100)).segments],
    ["UCS-2", 2],
  );
});

test("live counter fields", () => {
  assert.deepEqual(
    [countSegments("").segments, countSegments("").remainingInSegment],
    [1, 160],
  );
  const r = countSegments("a".repeat(161));
  assert.deepEqual([r.perSegmentLimit, r.remainingInSegment], [153, 145]);
  const u = countSegments("\u00e7".repeat(10));
  assert.deepEqual([u.perSegmentLimit, u.remainingInSegment], [70, 60]);
});
