"""dramtrade.sms_segments against the Twilio calculator's own cases, plus property tests.

The property tests use a seeded ``random`` generator (hypothesis is not installed) and check
against an independent formulation: a message fits in one segment if its units fit in
160/70, otherwise it is packed greedily in 153/67-unit parts without splitting a grapheme.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import subprocess
import sys
from typing import Any

import pytest

from dramtrade.sms_segments import (
    GSM7_SEPTETS,
    SMART_ENCODING_MAP,
    SegmentInfo,
    count_segments,
    smart_encode,
    split_graphemes,
)
from tests.support.protocol import PROTOCOL_DIR, REPO_DIR

CASES: list[dict[str, Any]] = json.loads((PROTOCOL_DIR / "segments_cases.json").read_text("utf-8"))
EXTRA: list[dict[str, Any]] = json.loads(
    (PROTOCOL_DIR / "segments_cases_extra.json").read_text("utf-8")
)
SMART_MAP: list[dict[str, str]] = json.loads(
    (PROTOCOL_DIR / "smart_encoding_map.json").read_text("utf-8")
)
GSM_TABLE: dict[str, list[dict[str, str]]] = json.loads(
    (PROTOCOL_DIR / "gsm7_table.json").read_text("utf-8")
)

GSM_BASIC = "".join(e["char"] for e in GSM_TABLE["basic"])
GSM_EXT = "".join(e["char"] for e in GSM_TABLE["extension"])
NON_GSM = "çÁúíóÓ`Жжωあ中한ğş"  # single UTF-16 units, none in the GSM-7 table


def _case_id(case: dict[str, Any]) -> str:
    return case["source"].split(" ", 2)[2][:70]


def test_there_are_48_cases() -> None:
    assert len(CASES) == 48


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_official_case(case: dict[str, Any]) -> None:
    info = count_segments(case["text"])
    assert (info.encoding, info.segments) == (case["encoding"], case["segments"])
    if "message_size_bits" in case:
        assert info.message_size_bits == case["message_size_bits"]
    if "total_size_bits" in case:
        assert info.total_size_bits == case["total_size_bits"]
    if "characters" in case:
        assert info.characters == case["characters"]
    if "unicode_scalars" in case:
        assert info.unicode_scalars == case["unicode_scalars"]


@pytest.mark.parametrize("case", EXTRA, ids=[repr(c["text"]) for c in EXTRA])
def test_extra_case(case: dict[str, Any]) -> None:
    info = count_segments(case["text"])
    if "characters" in case:
        assert info.characters == case["characters"]
    if "unicode_scalars" in case:
        assert info.unicode_scalars == case["unicode_scalars"]
    if "non_gsm_characters" in case:
        assert list(info.non_gsm_characters) == case["non_gsm_characters"]


def test_tables_match_the_protocol_files() -> None:
    assert {e["char"]: 1 for e in GSM_TABLE["basic"]} | {
        e["char"]: 2 for e in GSM_TABLE["extension"]
    } == GSM7_SEPTETS
    assert len(GSM7_SEPTETS) == 137
    assert {chr(int(e["from"][2:], 16)): e["to"] for e in SMART_MAP} == SMART_ENCODING_MAP
    assert len(SMART_ENCODING_MAP) == 270


@pytest.mark.parametrize("entry", SMART_MAP, ids=[e["from"] for e in SMART_MAP])
def test_smart_encoding_entry(entry: dict[str, str]) -> None:
    # the calculator's test: graphemes.join('') === value, and unchanged without smart encoding
    key = chr(int(entry["from"][2:], 16))
    assert smart_encode(key) == entry["to"]
    assert "".join(split_graphemes(smart_encode(key))) == entry["to"]
    plain = count_segments(key)
    assert plain.unicode_scalars == 1
    assert plain.non_gsm_characters == ((key,) if key not in GSM7_SEPTETS else ())


def test_smart_encoding_all_keys_at_once() -> None:
    keys = "".join(SMART_ENCODING_MAP)
    assert smart_encode(keys) == "".join(SMART_ENCODING_MAP.values())
    assert count_segments(keys, smart_encoding=True).encoding == "GSM-7"


def test_smart_encoding_examples() -> None:
    assert (
        smart_encode("\u201cDon\u2019t\u201d \u2013 ok\u2026 \u00bd\t")
        == '"Don\'t" - ok... 1/2       '
    )
    assert smart_encode("a\u200bb\ufeffc\u2060") == "abc"
    assert (
        smart_encode("\u2039\u203a") == "><"
    )  # the calculator's swapped directions, kept verbatim
    assert count_segments("\u2019" * 100, smart_encoding=True) == count_segments("'" * 100)
    assert count_segments("\u2019" * 100).encoding == "UCS-2"


def test_smart_encoding_can_increase_segments() -> None:
    # Multi-character replacements can cost more than the UCS-2 they replace: this is what the
    # calculator (and Twilio) does, so "smart encoding never increases segments" is false.
    assert count_segments("\t" * 60).segments == 1
    assert count_segments("\t" * 60, smart_encoding=True).segments == 3
    assert count_segments("…" * 70).segments == 1
    assert count_segments("…" * 70, smart_encoding=True).segments == 2


# --- boundaries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "characters"),
    [
        ("", "GSM-7", 1, 0),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 161),
        ("a" * 306, "GSM-7", 2, 306),
        ("a" * 307, "GSM-7", 3, 307),
        ("ç" * 70, "UCS-2", 1, 70),
        ("ç" * 71, "UCS-2", 2, 71),
        ("ç" * 134, "UCS-2", 2, 134),
        ("ç" * 135, "UCS-2", 3, 135),
        ("€" * 80, "GSM-7", 1, 160),
        ("€" * 81, "GSM-7", 2, 162),
        ("a" + "€" * 80, "GSM-7", 2, 161),
        # an escape pair never straddles two parts: 152 + 2 does not fit in 153
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 2, 164),
        ("a" * 151 + "€" + "a" * 153, "GSM-7", 2, 306),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 306),
        # a surrogate pair never straddles two parts: 66 + 2 does not fit in 67
        ("ç" * 66 + "😀" + "ç" * 10, "UCS-2", 2, 77),
        ("😀" * 35, "UCS-2", 1, 35),
        ("😀" * 36, "UCS-2", 2, 36),
        ("😀" * 67, "UCS-2", 3, 67),
        # a GSM-7 extension character counts one UTF-16 unit in UCS-2 (issue #18)
        ("ç" + "]" * 69, "UCS-2", 1, 70),
        ("ç" + "]" * 70, "UCS-2", 2, 71),
        ("\r\n" * 80, "GSM-7", 1, 160),
        ("\r\n" * 80 + "a", "GSM-7", 2, 161),
    ],
    ids=lambda v: repr(v)[:30] if isinstance(v, str) else str(v),
)
def test_boundaries(text: str, encoding: str, segments: int, characters: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.segments, info.characters) == (encoding, segments, characters)


def test_live_counter_fields() -> None:
    assert count_segments("") == SegmentInfo("GSM-7", 1, 0, 0, 0, 0, 160, 160, ())
    info = count_segments("a" * 150)
    assert (info.per_segment_limit, info.remaining_in_segment) == (160, 10)
    info = count_segments("a" * 161)
    assert (info.per_segment_limit, info.remaining_in_segment) == (153, 145)
    info = count_segments("a" * 306)
    assert (info.segments, info.remaining_in_segment) == (2, 0)
    info = count_segments("ç" * 69)
    assert (info.per_segment_limit, info.remaining_in_segment) == (70, 1)
    info = count_segments("ç" * 71)
    assert (info.per_segment_limit, info.remaining_in_segment) == (67, 63)
    assert count_segments("más😀").non_gsm_characters == ("á", "😀")


# --- graphemes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clusters"),
    [
        ("abc", ["a", "b", "c"]),
        ("\r\n\n\r", ["\r\n", "\n", "\r"]),
        ("e\u0301\u0301\u0301x", ["e\u0301\u0301\u0301", "x"]),
        ("👍🏽👍", ["👍🏽", "👍"]),
        ("🏳️‍🌈!", ["🏳️‍🌈", "!"]),
        ("👨‍👩‍👧‍👦", ["👨‍👩‍👧‍👦"]),
        ("🇮🇹🇫🇷🇩", ["🇮🇹", "🇫🇷", "🇩"]),
        ("1️⃣#️⃣", ["1️⃣", "#️⃣"]),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿x", ["🏴󠁧󠁢󠁳󠁣󠁴󠁿", "x"]),
        ("❤️‍🔥", ["❤️‍🔥"]),
        ("a\u200d🌈", ["a\u200d", "🌈"]),
        ("한국어", ["한", "국", "어"]),
        ("\u1100\u1161\u11a8", ["\u1100\u1161\u11a8"]),
        ("नमस्ते", ["न", "म", "स्ते"]),
        ("क्ष", ["क्ष"]),
        ("ไทำ", ["ไ", "ทำ"]),
    ],
)
def test_split_graphemes(text: str, clusters: list[str]) -> None:
    assert split_graphemes(text) == clusters


def test_a_grapheme_is_never_split() -> None:
    family = "👨‍👩‍👧‍👦"  # 11 UTF-16 units
    info = count_segments("a" * 60 + family)
    assert (info.encoding, info.segments, info.characters) == ("UCS-2", 2, 61)
    info = count_segments("a" * 59 + family)
    assert (info.segments, info.characters) == (1, 60)


def test_a_grapheme_larger_than_a_segment_is_pushed_whole() -> None:
    # The calculator opens a new part and pushes the grapheme anyway.
    huge = "e" + "\u0301" * 80  # one grapheme of 81 UTF-16 units
    info = count_segments(huge)
    assert (info.encoding, info.segments, info.characters) == ("UCS-2", 2, 1)
    assert info.remaining_in_segment == 0
    assert count_segments(huge + "x").segments == 3


# --- properties (seeded random) ----------------------------------------------------------


def _reference_segments(units: list[int], single: int, multi: int) -> int:
    """1 if everything fits in one segment, else greedy next-fit packing of whole graphemes."""
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for u in units:
        if used + u > multi:
            segments, used = segments + 1, 0
        used += u
    return segments


def _rng(test: str) -> random.Random:
    return random.Random(f"sms-segments/{test}")


def test_property_plain_gsm7() -> None:
    rnd = _rng("plain")
    basic = GSM_BASIC.replace("\r", "")  # CR + LF would still be 2 characters, but keep it plain
    for _ in range(400):
        n = rnd.choice([rnd.randint(0, 700), rnd.randint(150, 170), rnd.randint(300, 312)])
        text = "".join(rnd.choice(basic) for _ in range(n))
        info = count_segments(text)
        assert info.encoding == "GSM-7"
        assert info.characters == n
        assert info.segments == (1 if n <= 160 else math.ceil(n / 153)), n
        assert info.message_size_bits == 7 * n


def test_property_gsm7_with_escapes() -> None:
    rnd = _rng("escapes")
    for _ in range(400):
        n = rnd.randint(0, 500)
        text = "".join(rnd.choice(GSM_EXT if rnd.random() < 0.2 else GSM_BASIC) for _ in range(n))
        units = [GSM7_SEPTETS[ch] for ch in text]
        info = count_segments(text)
        assert info.encoding == "GSM-7"
        assert info.characters == sum(units)
        assert info.segments == _reference_segments(units, 160, 153), text


def test_property_ucs2() -> None:
    rnd = _rng("ucs2")
    wide = ["😀", "🇮🇹", "👍🏽", "𝄞"]
    for _ in range(400):
        parts = [rnd.choice(NON_GSM)]
        for _ in range(rnd.randint(0, 200)):
            r = rnd.random()
            parts.append(
                rnd.choice(wide)
                if r < 0.15
                else rnd.choice(NON_GSM)
                if r < 0.4
                else rnd.choice(GSM_BASIC.replace("\r", "") + GSM_EXT)
            )
        rnd.shuffle(parts)
        text = "".join(parts)
        units = [len(p.encode("utf-16-le")) // 2 for p in parts]
        info = count_segments(text)
        assert info.encoding == "UCS-2"
        assert info.characters == len(parts)
        assert info.segments == _reference_segments(units, 70, 67), text


def test_property_one_non_gsm_character_switches_to_ucs2() -> None:
    rnd = _rng("switch")
    for _ in range(300):
        base = "".join(rnd.choice(GSM_BASIC.replace("\r", "")) for _ in range(rnd.randint(0, 300)))
        assert count_segments(base).encoding == "GSM-7"
        at = rnd.randint(0, len(base))
        text = base[:at] + rnd.choice(NON_GSM) + base[at:]
        info = count_segments(text)
        assert info.encoding == "UCS-2"
        assert info.characters == len(text)
        assert info.segments == (1 if len(text) <= 70 else math.ceil(len(text) / 67))
        assert info.segments >= count_segments(base).segments


def test_property_single_character_smart_encoding_never_increases_segments() -> None:
    rnd = _rng("smart")
    one_to_one = [k for k, v in SMART_ENCODING_MAP.items() if len(v) == 1 and len(k) == 1]
    one_to_one = [k for k in one_to_one if split_graphemes("a" + k) == ["a", k]]
    pool = GSM_BASIC.replace("\r", "") + GSM_EXT
    for _ in range(400):
        n = rnd.randint(1, 400)
        text = "".join(
            rnd.choice(one_to_one) if rnd.random() < 0.1 else rnd.choice(pool) for _ in range(n)
        )
        if rnd.random() < 0.3:
            text += rnd.choice(NON_GSM)
        smart = count_segments(text, smart_encoding=True)
        assert smart.segments <= count_segments(text).segments, text
        # unicode_scalars counts the body as given, the rest is computed on the encoded text
        assert smart == dataclasses.replace(
            count_segments(smart_encode(text)), unicode_scalars=len(text)
        )


def test_deterministic_and_pure() -> None:
    text = "Hi 👋 ça va? " * 20
    assert count_segments(text) == count_segments(text)
    assert hash(count_segments(text)) == hash(count_segments(text))


def test_module_imports_without_side_effects() -> None:
    code = "import dramtrade.sms_segments as s; print(s.count_segments('x').segments)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_DIR
    )
    assert out.stdout == "1\n"
    assert out.stderr == ""


def test_ascii_fast_path_matches_the_grapheme_splitter() -> None:
    rnd = _rng("ascii")
    for _ in range(200):
        text = "".join(rnd.choice("ab \r\n\t~{") for _ in range(rnd.randint(0, 50)))
        split = [p for g in split_graphemes(text) for p in (("\r", "\n") if g == "\r\n" else (g,))]
        assert split == list(text)


@pytest.mark.parametrize(
    ("stdin", "args", "expected"),
    [
        (b"hello", [], {"encoding": "GSM-7", "segments": 1, "characters": 5}),
        ("a\r\n€".encode(), [], {"encoding": "GSM-7", "segments": 1, "characters": 5}),
        (("ç" * 71).encode(), [], {"encoding": "UCS-2", "segments": 2, "characters": 71}),
        (
            "\u201chi\u201d".encode(),
            ["--smart-encoding"],
            {"encoding": "GSM-7", "segments": 1, "characters": 4},
        ),
    ],
)
def test_cli(stdin: bytes, args: list[str], expected: dict[str, Any]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dramtrade.cli_segments", *args],
        input=stdin,
        capture_output=True,
        check=True,
        cwd=REPO_DIR,
    )
    assert json.loads(out.stdout) == expected
