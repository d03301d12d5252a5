"""The browser's counter (static/js/sms-segments.js) under pytest: its node tests, its generated
tables, and parity with dramtrade.sms_segments on random strings."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import subprocess
import sys
from typing import Any

from dramtrade.sms_segments import SMART_ENCODING_MAP, count_segments, split_graphemes
from tests.support.protocol import REPO_DIR

# Node 20 is part of every development and CI machine (the front-end packages need it).
NODE = shutil.which("node")
assert NODE is not None, "node is not on PATH"

MODULE_URL = (REPO_DIR / "static" / "js" / "sms-segments.js").as_uri()
# Reads [[text, smartEncoding], ...] as JSON on stdin, prints [[countSegments, graphemes], ...].
DRIVER = f"""
import {{ readFileSync }} from "node:fs";
import {{ countSegments, splitGraphemes }} from {json.dumps(MODULE_URL)};
const inputs = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(
  inputs.map(([text, smart]) => [countSegments(text, smart), splitGraphemes(text)])));
"""

FIELDS = {
    "encoding": "encoding",
    "segments": "segments",
    "characters": "characters",
    "unicode_scalars": "unicodeScalars",
    "message_size_bits": "messageSizeBits",
    "total_size_bits": "totalSizeBits",
    "per_segment_limit": "perSegmentLimit",
    "remaining_in_segment": "remainingInSegment",
    "non_gsm_characters": "nonGsmCharacters",
}


def _run_js(inputs: list[tuple[str, bool]]) -> list[Any]:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", DRIVER],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        timeout=60,
    )
    out: list[Any] = json.loads(result.stdout)
    return out


def test_node_test_suite_passes() -> None:
    assert NODE is not None
    result = subprocess.run(
        [NODE, "--test", "tests/js/"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
    assert "# pass 0" not in result.stdout


def test_generated_js_tables_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/build_sms_segments_js.py", "--check"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


# Characters that exercise every rule: GSM basic and extension, CR/LF, non-GSM BMP, surrogate
# pairs, combining marks, ZWJ sequences, skin tones, variation selectors, keycaps, flags, tags,
# Hangul jamo, Indic conjuncts, Thai, controls and smart-encoding keys.
POOL = [
    *"aZ0 @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà",
    *"\r\n\f[\\]^{|}~€",
    *"çÁúíóÓ`Жжωあ中ğş",
    "😀",
    "🇮",
    "🇹",
    "🇫",
    "🇷",
    "👍",
    "🏽",
    "🏻",
    "👨",
    "👩",
    "👧",
    "🌈",
    "🏳",
    "🔥",
    "❤",
    "\u200d",
    "\ufe0f",
    "\ufe0e",
    "\u20e3",
    "\u0301",
    "\u0308",
    "\u0327",
    "\u200c",
    "\U000e0067",
    "\U000e0062",
    "\U000e007f",
    "🏴",
    "\u1100",
    "\u1161",
    "\u11a8",
    "한",
    "각",
    "\u0915",
    "\u094d",
    "\u0937",
    "\u093f",
    "\u0903",
    "\u0e17",
    "\u0e33",
    "\u0600",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "\t",
    "\u00a0",
    "\u2026",
    *list(SMART_ENCODING_MAP)[::9],
]


def _random_texts(seed: str, count: int) -> list[tuple[str, bool]]:
    rnd = random.Random(seed)
    texts: list[tuple[str, bool]] = []
    for _ in range(count):
        length = rnd.choice([rnd.randint(0, 12), rnd.randint(60, 80), rnd.randint(140, 330)])
        if rnd.random() < 0.5:
            # mostly one script, so that GSM-7 texts near the boundaries are common too
            text = "".join(
                rnd.choice(POOL) if rnd.random() < 0.05 else rnd.choice("abc 123")
                for _ in range(length)
            )
        else:
            text = "".join(rnd.choice(POOL) for _ in range(length))
        texts.append((text, rnd.random() < 0.3))
    return texts


def test_parity_with_python_on_random_strings() -> None:
    inputs = _random_texts("sms-segments/parity", 1500)
    inputs += [
        (text, smart)
        for text in ("", "a" * 160, "a" * 161, "ç" * 70, "ç" * 71)
        for smart in (False, True)
    ]
    outputs = _run_js(inputs)
    mismatches = []
    for (text, smart), (js, js_graphemes) in zip(inputs, outputs, strict=True):
        py = dataclasses.asdict(count_segments(text, smart_encoding=smart))
        py["non_gsm_characters"] = list(py["non_gsm_characters"])
        js_as_py = {name: js[key] for name, key in FIELDS.items()}
        if py != js_as_py or split_graphemes(text) != js_graphemes:
            mismatches.append((text, smart, py, js_as_py))
    assert not mismatches, mismatches[:3]
    encodings = {count_segments(t, smart_encoding=s).encoding for t, s in inputs}
    assert encodings == {"GSM-7", "UCS-2"}
