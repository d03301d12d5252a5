"""Rough SMS segment count (GSM-7 160/153, UCS-2 70/67), enough for ``num_segments``."""

from __future__ import annotations

import math

# GSM 03.38 basic set (1 septet each) and extension set (ESC + code: 2 septets each).
_GSM_BASIC = frozenset(
    "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
    "abcdefghijklmnopqrstuvwxyz¡£¤¥§¿ÄÅÆÉÑÖØÜßàäåæÇèéìñòöøùüΓΔΘΛΞΠΣΦΨΩ"
)
_GSM_EXTENSION = frozenset("\f[\\]^{|}~€")


def count_segments(body: str) -> int:
    """Number of SMS parts Twilio would bill for ``body`` (no smart encoding)."""
    if not body:
        return 1
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in body):
        septets = sum(2 if ch in _GSM_EXTENSION else 1 for ch in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    # UCS-2 capacity is counted in UTF-16 code units (emoji take two).
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
