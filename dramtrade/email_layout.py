"""The branded frame around a staff-written email: the sub-account's logo, name and colour.

``wrap(account, content_html)`` returns a complete, email-safe HTML document: nested
``role="presentation"`` tables, inline styles only (mail clients drop ``<style>`` and classes), a
600 px column that shrinks on phones. The content must already be sanitized
(``dramtrade.services.messages.sanitize_email_html``); every value from the sub-account is
escaped here, the colour is used only when it is ``#rrggbb`` and the logo only when it is an
http(s) URL, so a bad setting can never inject markup or CSS.

The same function renders the composer's preview, so what staff see is what is sent.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3

from dramtrade.models import SubAccount
from dramtrade.phones import for_display

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#1f6feb"
FONT = "Arial, Helvetica, sans-serif"
TEXT_COLOR = "#1f2328"
MUTED_COLOR = "#59636e"
PAGE_COLOR = "#f4f5f7"


@dataclass(frozen=True)
class Branding:
    name: str
    color: str
    logo_url: str | None
    phone: str | None


def brand_color(value: str | None) -> str:
    return value.lower() if value and HEX_COLOR.match(value) else DEFAULT_COLOR


def safe_logo_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    return value if re.match(r"^https?://[^\s\"'<>]+$", value, re.IGNORECASE) else None


def branding(account: SubAccount) -> Branding:
    return Branding(
        name=account.name,
        color=brand_color(account.brand_color),
        logo_url=safe_logo_url(account.logo_url),
        phone=for_display(account.business_phone) if account.business_phone else None,
    )


def on_color(color: str) -> str:
    """Black or white text, whichever reads better on ``color`` (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast with white is (1.05)/(L+0.05), with black (L+0.05)/0.05; pick the larger.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#000000"


def text_to_html(text: str) -> str:
    """A plain-text body as paragraphs (escaped), for an email written without HTML."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
        if block.strip()
    )


def _style_content(content_html: str, color: str) -> str:
    """Inline styles on the content's elements (clients ignore <style>); links in the brand
    colour. ``content_html`` is sanitized already, so only our own styles end up in it."""
    # Imported here: the manual send path imports this module.
    from dramtrade.services.messages import EMAIL_ATTRIBUTES, EMAIL_TAGS

    return nh3.clean(
        content_html,
        tags=EMAIL_TAGS,
        attributes=EMAIL_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        set_tag_attribute_values={
            "a": {"style": f"color:{color};text-decoration:underline;"},
            "p": {"style": "margin:0 0 16px 0;"},
            "ul": {"style": "margin:0 0 16px 0;padding-left:24px;"},
            "ol": {"style": "margin:0 0 16px 0;padding-left:24px;"},
            "img": {"style": "max-width:100%;height:auto;"},
        },
    )


def wrap(account: SubAccount, content_html: str, *, title: str | None = None) -> str:
    """The whole email document around already-sanitized ``content_html``."""
    brand = branding(account)
    e = html.escape
    color, header_text = brand.color, on_color(brand.color)
    if brand.logo_url:
        header = (
            f'<img src="{e(brand.logo_url)}" alt="{e(brand.name)}" height="48" '
            f'style="display:block;height:48px;width:auto;max-width:240px;border:0;">'
        )
    else:
        header = (
            f'<span style="font-family:{FONT};font-size:20px;font-weight:bold;'
            f'color:{header_text};">{e(brand.name)}</span>'
        )
    footer = e(brand.name) + (f" &middot; {e(brand.phone)}" if brand.phone else "")
    return (
        "<!DOCTYPE html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title or brand.name)}</title></head>"
        f'<body style="margin:0;padding:0;background-color:{PAGE_COLOR};">'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'style="background-color:{PAGE_COLOR};"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
        'style="width:100%;max-width:600px;background-color:#ffffff;border-collapse:collapse;">'
        f'<tr><td style="padding:16px 24px;background-color:{color};">'
        f"{header}</td></tr>"
        f'<tr><td style="padding:24px;font-family:{FONT};font-size:16px;line-height:1.5;'
        f'color:{TEXT_COLOR};">{_style_content(content_html, color)}</td></tr>'
        f'<tr><td style="padding:16px 24px;border-top:3px solid {color};font-family:{FONT};'
        f'font-size:12px;line-height:1.5;color:{MUTED_COLOR};">{footer}</td></tr>'
        "</table></td></tr></table></body></html>"
    )
