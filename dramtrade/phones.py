"""Phone numbers are stored and compared in E.164 only."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    def __init__(self, raw: str) -> None:
        super().__init__(f"'{raw}' is not a valid phone number")
        self.raw = raw


def to_e164(raw: str, default_region: str = "US") -> str:
    """Parse a number as people type it; raise InvalidPhoneNumber unless it is a real number."""
    try:
        parsed = phonenumbers.parse(raw, default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(raw) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def for_display(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
