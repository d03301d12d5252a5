"""A sub-account's own settings: business name, branding, timezone and quiet hours.

``SubAccountSettingsIn`` checks every field (a ``#rrggbb`` colour, an http(s) logo URL, an IANA
timezone, ``HH:MM`` quiet hours); ``update_settings`` writes them. The branding is what
``dramtrade.email_layout`` puts around staff emails.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from sqlalchemy.orm import Session

from dramtrade.email_layout import HEX_COLOR
from dramtrade.models import SubAccount
from dramtrade.quiet_hours import parse_hhmm
from dramtrade.schemas import InputModel, TimeZone


def _color(value: str) -> str:
    if not HEX_COLOR.match(value):
        raise ValueError(f"'{value}' is not a colour as #rrggbb (like #1f6feb)")
    return value.lower()


def _logo(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    lowered = value.lower()
    if not lowered.startswith(("https://", "http://")) or any(c in value for c in " \"'<>"):
        raise ValueError("must be an http(s) address of an image, like https://…/logo.png")
    return value


def _hhmm(value: str) -> str:
    parse_hhmm(value)
    return value


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


BusinessName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
BrandColor = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_color)]
LogoUrl = Annotated[
    Annotated[str, StringConstraints(max_length=1000)] | None,
    BeforeValidator(_blank_is_none),
    AfterValidator(_logo),
]
HHMM = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_hhmm)]


class SubAccountSettingsIn(InputModel):
    name: BusinessName = Field(description="The business name customers see")
    logo_url: LogoUrl = None
    brand_color: BrandColor = "#1f6feb"
    timezone: TimeZone
    quiet_hours_enabled: bool = False
    quiet_hours_start: HHMM = "21:00"
    quiet_hours_end: HHMM = "08:00"


FIELDS = tuple(SubAccountSettingsIn.model_fields)


def current(account: SubAccount) -> SubAccountSettingsIn:
    return SubAccountSettingsIn.model_construct(**{name: getattr(account, name) for name in FIELDS})


def update_settings(
    session: Session, account: SubAccount, data: SubAccountSettingsIn
) -> SubAccount:
    for name in FIELDS:
        setattr(account, name, getattr(data, name))
    session.flush()
    return account
