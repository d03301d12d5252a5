"""SMS segment counting exactly as Twilio's message-segment-calculator does it.

Source of the rules: ``shared/protocol/segments.md`` (TwilioDevEd/message-segment-calculator
@a50230f, ``SegmentedMessage.ts`` / ``Segment.ts`` / ``EncodedChar.ts``). In short:

* Optional Smart Encoding first: each code point found in ``data/smart_encoding.json`` is replaced
  (possibly by several characters or by nothing).
* The text is split into grapheme clusters; a ``"\\r\\n"`` cluster is split back into two.
  Each grapheme is one "encoded char" and is never split across segments.
* UCS-2 if any grapheme is longer than one UTF-16 code unit or is a single code unit that is
  not in the GSM-7 table (``data/gsm7.json``); otherwise GSM-7.
* Bits per grapheme: GSM-7 7 per septet (extension characters are ESC + code = 14 bits);
  UCS-2 16 per UTF-16 code unit, except that a GSM-7 character (even an extension one) is 16.
* A segment holds 1120 bits. When a grapheme does not fit, a new segment with a 48-bit User Data
  Header is opened; if the previous segment had no header yet it gets one, and the graphemes it
  pushes out move to the new segment. Hence 160/153 septets and 70/67 UTF-16 units.
* ``characters``: the number of GSM code units (extension characters count 2) for GSM-7, the
  number of graphemes for UCS-2. ``unicode_scalars``: code points of the original body.

The JavaScript twin is ``static/js/sms-segments.js`` (tables generated into
``static/js/sms-segments-data.js`` by ``scripts/build_sms_segments_js.py``); tests check both
against the calculator's own cases and against each other.
"""

from __future__ import annotations

import json
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

SEGMENT_BITS: Final = 1120
UDH_BITS: Final = 48  # 6 octets of User Data Header in every part of a concatenated message


def _load(name: str) -> Any:
    return json.loads(resources.files("dramtrade.data").joinpath(name).read_text("utf-8"))


def _load_gsm7() -> dict[str, int]:
    table = _load("gsm7.json")
    septets = {entry["char"]: 1 for entry in table["basic"]}
    septets.update({entry["char"]: 2 for entry in table["extension"]})
    return septets


def _load_smart_encoding() -> dict[str, str]:
    table = _load("smart_encoding.json")
    return {chr(int(entry["from"][2:], 16)): entry["to"] for entry in table["replacements"]}


#: character -> septets (1 for the basic set, 2 for the extension table)
GSM7_SEPTETS: Final[dict[str, int]] = _load_gsm7()
#: code point -> replacement used by Smart Encoding
SMART_ENCODING_MAP: Final[dict[str, str]] = _load_smart_encoding()


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    segments: int
    #: GSM-7: GSM code units (an extension character counts 2); UCS-2: graphemes.
    characters: int
    #: code points of the body as given (before Smart Encoding)
    unicode_scalars: int
    #: bits of the characters, and of characters plus User Data Headers
    message_size_bits: int
    total_size_bits: int
    #: units (septets or UTF-16 code units) a segment holds at the current segment count:
    #: 160/153 for GSM-7, 70/67 for UCS-2
    per_segment_limit: int
    #: units still free in the last segment (for a live counter; 0 when full)
    remaining_in_segment: int
    #: the graphemes that are not GSM-7 (what forces UCS-2), in order, with repeats
    non_gsm_characters: tuple[str, ...]


def smart_encode(body: str) -> str:
    """Apply Twilio's Smart Encoding replacements, code point by code point."""
    return "".join(SMART_ENCODING_MAP.get(ch, ch) for ch in body)


def _utf16_units(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def count_segments(body: str, smart_encoding: bool = False) -> SegmentInfo:
    """How many SMS segments ``body`` costs and in which encoding, per the Twilio calculator."""
    text = smart_encode(body) if smart_encoding else body
    graphemes: list[str] = []
    if text.isascii():
        # ASCII has no extending characters: every code point is a grapheme once CRLF is split
        graphemes = list(text)
    else:
        for grapheme in split_graphemes(text):
            if grapheme == "\r\n":
                graphemes.extend(("\r", "\n"))
            else:
                graphemes.append(grapheme)

    is_gsm = [len(g) == 1 and g in GSM7_SEPTETS for g in graphemes]
    encoding: Encoding = "GSM-7" if all(is_gsm) else "UCS-2"
    if encoding == "GSM-7":
        unit_bits = 7
        sizes = [7 * GSM7_SEPTETS[g] for g in graphemes]
        characters = sum(GSM7_SEPTETS[g] for g in graphemes)
    else:
        unit_bits = 16
        sizes = [
            16 if gsm else 16 * _utf16_units(g) for g, gsm in zip(graphemes, is_gsm, strict=True)
        ]
        characters = len(graphemes)

    segment_bits = _build_segments(sizes)
    segments = len(segment_bits)
    message_bits = sum(sizes)
    total_bits = message_bits + (UDH_BITS * segments if segments > 1 else 0)
    capacity = SEGMENT_BITS - (UDH_BITS if segments > 1 else 0)
    return SegmentInfo(
        encoding=encoding,
        segments=segments,
        characters=characters,
        unicode_scalars=len(body),
        message_size_bits=message_bits,
        total_size_bits=total_bits,
        per_segment_limit=capacity // unit_bits,
        remaining_in_segment=max(0, capacity - segment_bits[-1]) // unit_bits,
        non_gsm_characters=tuple(g for g, gsm in zip(graphemes, is_gsm, strict=True) if not gsm),
    )


def _build_segments(sizes: Sequence[int]) -> list[int]:
    """Replay ``SegmentedMessage._buildSegments``; return the character bits of each segment.

    Only the first segment can lack a header: every later one is opened with it. A grapheme is
    pushed even when it alone exceeds a segment (the calculator does not check again), so an
    oversized grapheme overfills its segment and the next grapheme opens a new one.
    """
    first: list[int] = []  # sizes in the first segment, kept to move them out on overflow
    used = [0]  # character bits per segment
    for size in sizes:
        header = UDH_BITS if len(used) > 1 else 0
        if SEGMENT_BITS - header - used[-1] < size:
            moved = 0
            if len(used) == 1:
                # The first segment gets its header now and pushes characters out until it fits.
                while first and used[0] + UDH_BITS > SEGMENT_BITS:
                    last = first.pop()
                    used[0] -= last
                    moved += last
            used.append(moved)
        elif len(used) == 1:
            first.append(size)
            used[0] += size
            continue
        used[-1] += size
    return used


# --- Grapheme clusters ---------------------------------------------------------------------
#
# An extended-grapheme-cluster splitter after UAX #29 (rules GB3-GB13 including GB9c, Unicode
# 15.1+), good enough for SMS text and matching Intl.Segmenter (ICU) on it. Limits:
# * Python 3.11's unicodedata is Unicode 14: categories of characters assigned later are unknown
#   here (they count as "Other"), so new combining marks may split where ICU keeps them.
# * Grapheme_Cluster_Break is not in unicodedata; it is approximated: Extend = Mn, Me, the
#   Other_Grapheme_Extend list and emoji modifiers; SpacingMark = Mc minus the UAX #29
#   exceptions, plus U+0E33/U+0EB3; Control = Cc, Cf, Zl, Zp, Cs (minus ZWJ/ZWNJ, tags,
#   prepended concatenation marks); Prepend = the short list below. Extended_Pictographic and
#   the Indic_Conjunct_Break Consonant/Linker sets were taken from ICU 78 (Unicode 17).
# * Indic_Conjunct_Break=Extend is taken as Extend or ZWJ, minus linkers and ZWNJ.
# The calculator itself uses the npm grapheme-splitter (Unicode 10 era rules); the two differ
# only on exotic input (e.g. an emoji modifier after a non-emoji, Indic conjuncts, Hangul jamo
# edge cases), never on the calculator's test cases.


def _parse_ranges(spec: str) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for item in spec.split():
        first, _, last = item.partition("-")
        starts.append(int(first, 16))
        ends.append(int(last or first, 16))
    return starts, ends


def _in(ranges: tuple[list[int], list[int]], cp: int) -> bool:
    i = bisect_right(ranges[0], cp) - 1
    return i >= 0 and cp <= ranges[1][i]


_EXTENDED_PICTOGRAPHIC = _parse_ranges(
    """
    A9 AE 203C 2049 2122 2139 2194-2199 21A9-21AA 231A-231B 2328 23CF 23E9-23F3 23F8-23FA 24C2
    25AA-25AB 25B6 25C0 25FB-25FE 2600-2604 260E 2611 2614-2615 2618 261D 2620 2622-2623 2626
    262A 262E-262F 2638-263A 2640 2642 2648-2653 265F-2660 2663 2665-2666 2668 267B 267E-267F
    2692-2697 2699 269B-269C 26A0-26A1 26A7 26AA-26AB 26B0-26B1 26BD-26BE 26C4-26C5 26C8
    26CE-26CF 26D1 26D3-26D4 26E9-26EA 26F0-26F5 26F7-26FA 26FD 2702 2705 2708-270D 270F 2712
    2714 2716 271D 2721 2728 2733-2734 2744 2747 274C 274E 2753-2755 2757 2763-2764 2795-2797
    27A1 27B0 27BF 2934-2935 2B05-2B07 2B1B-2B1C 2B50 2B55 3030 303D 3297 3299 1F004 1F02C-1F02F
    1F094-1F09F 1F0AF-1F0B0 1F0C0 1F0CF-1F0D0 1F0F6-1F0FF 1F170-1F171 1F17E-1F17F 1F18E
    1F191-1F19A 1F1AE-1F1E5 1F201-1F20F 1F21A 1F22F 1F232-1F23A 1F23C-1F23F 1F249-1F25F
    1F266-1F321 1F324-1F393 1F396-1F397 1F399-1F39B 1F39E-1F3F0 1F3F3-1F3F5 1F3F7-1F3FA
    1F400-1F4FD 1F4FF-1F53D 1F549-1F54E 1F550-1F567 1F56F-1F570 1F573-1F57A 1F587 1F58A-1F58D
    1F590 1F595-1F596 1F5A4-1F5A5 1F5A8 1F5B1-1F5B2 1F5BC 1F5C2-1F5C4 1F5D1-1F5D3 1F5DC-1F5DE
    1F5E1 1F5E3 1F5E8 1F5EF 1F5F3 1F5FA-1F64F 1F680-1F6C5 1F6CB-1F6D2 1F6D5-1F6E5 1F6E9
    1F6EB-1F6F0 1F6F3-1F6FF 1F7DA-1F7FF 1F80C-1F80F 1F848-1F84F 1F85A-1F85F 1F888-1F88F
    1F8AE-1F8AF 1F8BC-1F8BF 1F8C2-1F8CF 1F8D9-1F8FF 1F90C-1F93A 1F93C-1F945 1F947-1F9FF
    1FA58-1FA5F 1FA6E-1FAFF 1FC00-1FFFD
    """
)
_INCB_CONSONANT = _parse_ranges(
    """
    915-939 958-95F 978-97F 995-9A8 9AA-9B0 9B2 9B6-9B9 9DC-9DD 9DF 9F0-9F1 A95-AA8 AAA-AB0
    AB2-AB3 AB5-AB9 AF9 B15-B28 B2A-B30 B32-B33 B35-B39 B5C-B5D B5F B71 C15-C28 C2A-C39 C58-C5A
    D15-D3A 1000-102A 103F 1050-1055 105A-105D 1061 1065-1066 106E-1070 1075-1081 108E
    1780-17B3 1A20-1A54 1B0B-1B0C 1B13-1B33 1B45-1B4C 1B83-1BA0 1BAE-1BAF 1BBB-1BBD A989-A98B
    A98F-A9B2 A9E0-A9E4 A9E7-A9EF A9FA-A9FE AA60-AA6F AA71-AA73 AA7A AA7E-AA7F AAE0-AAEA
    ABC0-ABDA 10A00 10A10-10A13 10A15-10A17 10A19-10A35 11103-11126 11144 11147 11380-11389
    1138B 1138E 11390-113B5 11900-11906 11909 1190C-11913 11915-11916 11918-1192F 11A00
    11A0B-11A32 11A50 11A5C-11A83 11F04-11F10 11F12-11F33
    """
)
_INCB_LINKER = _parse_ranges(
    "94D 9CD ACD B4D C4D D4D 1039 17D2 1A60 1B44 1BAB A9C0 AAF6 10A3F 11133 113D0 1193E 11A47"
    " 11A99 11F42"
)
# Grapheme_Extend characters that are not Mn/Me (Other_Grapheme_Extend), plus tags.
_OTHER_EXTEND = _parse_ranges(
    "9BE 9D7 B3E B57 BBE BD7 CC2 CD5-CD6 D3E D57 DCF DDF 1B35 200C 302E-302F FF9E-FF9F 1133E"
    " 11357 114B0 114BD 115AF 11930 1D165 1D16E-1D172 E0020-E007F"
)
# Mc characters that are not SpacingMark (Grapheme_Cluster_Break=Other).
_NOT_SPACING = _parse_ranges(
    "102B-102C 1038 1062-1064 1067-106D 1083 1087-108C 108F 109A-109C 1A61 1A63-1A64 AA7B AA7D"
    " 11720-11721"
)
_PREPEND = _parse_ranges(
    "600-605 6DD 70F 890-891 8E2 D4E 110BD 110CD 111C2-111C3 1193F 11941 11A84-11A89 11D46 11F02"
)

# Grapheme_Cluster_Break classes
_OTHER, _CR, _LF, _CONTROL, _EXTEND, _ZWJ, _RI, _PREPEND_C, _SPACING = range(9)
_L, _V, _T, _LV, _LVT = range(9, 14)


def _gcb(cp: int) -> int:
    if cp < 0x7F:
        if cp >= 0x20:
            return _OTHER
        return _CR if cp == 0x0D else _LF if cp == 0x0A else _CONTROL
    if cp == 0x200D:
        return _ZWJ
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _RI
    if 0x1F3FB <= cp <= 0x1F3FF or _in(_OTHER_EXTEND, cp):
        return _EXTEND
    if _in(_PREPEND, cp):
        return _PREPEND_C
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _T
    if 0xAC00 <= cp <= 0xD7A3:
        return _LV if (cp - 0xAC00) % 28 == 0 else _LVT
    if cp in (0x0E33, 0x0EB3):
        return _SPACING
    category = unicodedata.category(chr(cp))
    if category in ("Mn", "Me"):
        return _EXTEND
    if category == "Mc":
        return _OTHER if _in(_NOT_SPACING, cp) else _SPACING
    if category in ("Cc", "Cf", "Zl", "Zp", "Cs"):
        return _CONTROL
    return _OTHER


_BREAK_AFTER = frozenset((_CR, _LF, _CONTROL))
_HANGUL_NEXT = {
    _L: frozenset((_L, _V, _LV, _LVT)),
    _LV: frozenset((_V, _T)),
    _V: frozenset((_V, _T)),
    _LVT: frozenset((_T,)),
    _T: frozenset((_T,)),
}


_PICTOGRAPHIC, _CONSONANT, _LINKER, _INCB_EXTEND = 1, 2, 4, 8


@lru_cache(maxsize=4096)
def _props(ch: str) -> tuple[int, int]:
    """Grapheme_Cluster_Break class and the Extended_Pictographic / InCB flags of ``ch``."""
    cp = ord(ch)
    cls = _gcb(cp)
    flags = 0
    if _in(_EXTENDED_PICTOGRAPHIC, cp):
        flags |= _PICTOGRAPHIC
    if _in(_INCB_CONSONANT, cp):
        flags |= _CONSONANT
    elif _in(_INCB_LINKER, cp):
        flags |= _LINKER
    elif cls in (_EXTEND, _ZWJ) and cp != 0x200C:
        flags |= _INCB_EXTEND
    return cls, flags


def split_graphemes(text: str) -> list[str]:
    """Split ``text`` into extended grapheme clusters (see the limits above)."""
    clusters: list[str] = []
    start = 0
    prev = -1
    ri_run = 0  # consecutive regional indicators before this code point
    emoji_state = 0  # 1: after ExtPict Extend*, 2: after ExtPict Extend* ZWJ
    incb_state = 0  # 1: after Consonant [Extend|Linker]*, 2: the same with a Linker seen
    for i, ch in enumerate(text):
        cls, flags = _props(ch)
        if prev >= 0 and _is_break(prev, cls, flags, ri_run, emoji_state, incb_state):
            clusters.append(text[start:i])
            start = i
        # carry the state machines forward over this code point
        ri_run = ri_run + 1 if cls == _RI else 0
        if flags & _PICTOGRAPHIC:
            emoji_state = 1
        elif emoji_state == 1 and cls in (_EXTEND, _ZWJ):
            emoji_state = 1 if cls == _EXTEND else 2
        else:
            emoji_state = 0
        if flags & _CONSONANT:
            incb_state = 1
        elif incb_state and flags & _LINKER:
            incb_state = 2
        elif not flags & _INCB_EXTEND:
            incb_state = 0
        prev = cls
    if start < len(text):
        clusters.append(text[start:])
    return clusters


def _is_break(prev: int, cls: int, flags: int, ri_run: int, emoji_state: int, incb: int) -> bool:
    if prev == _CR and cls == _LF:  # GB3
        return False
    if prev in _BREAK_AFTER or cls in _BREAK_AFTER:  # GB4, GB5
        return True
    if cls in _HANGUL_NEXT.get(prev, ()):  # GB6-GB8
        return False
    if cls in (_EXTEND, _ZWJ, _SPACING) or prev == _PREPEND_C:  # GB9, GB9a, GB9b
        return False
    if flags & _CONSONANT and incb == 2:  # GB9c
        return False
    if flags & _PICTOGRAPHIC and prev == _ZWJ and emoji_state == 2:  # GB11
        return False
    # GB12, GB13: pair regional indicators; GB999 otherwise
    return not (prev == _RI and cls == _RI and ri_run % 2 == 1)
