"""Jinja2 templates of the staff UI (autoescaped), flash messages and redirects.

``render(request, "inbox/index.html", {...})`` renders a page or partial with the common
context (``user``, ``account``, ``csrf_token``, ``flashes``, ``can``); ``redirect(request, url,
flash=...)`` answers a form post (303, or ``HX-Redirect`` for htmx) and carries a flash
message to the next page in a short-lived signed cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import select_autoescape

from api.ui.deps import CSRF_FIELD, CSRF_HEADER, Permission, UIContext, can
from dramtrade.config import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
FLASH_COOKIE = "dt_flash"

FlashKind = Literal["success", "info", "warning", "error"]
Flash = tuple[FlashKind, str]


def _ui(request: Request) -> UIContext | None:
    return getattr(request.state, "ui", None)


def _context(request: Request) -> dict[str, Any]:
    ui = _ui(request)
    user = ui.user if ui else None
    return {
        "user": user,
        "account": ui.account if ui else None,
        "csrf_token": ui.csrf_token if ui else "",
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "can": lambda permission: can(user, Permission(permission)),
        "is_htmx": bool(request.headers.get("HX-Request")),
    }


templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[_context])
templates.env.autoescape = select_autoescape(default=True, default_for_string=True)


def _tz(request: Request) -> ZoneInfo:
    ui = _ui(request)
    name = ui.account.timezone if ui and ui.account else "UTC"
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | None, tz: ZoneInfo, fmt: str = "%b %-d, %-I:%M %p") -> str:
    if value is None:
        return ""
    return value.astimezone(tz).strftime(fmt)


def short_time(value: datetime | None, tz: ZoneInfo, now: datetime | None = None) -> str:
    """Time today, else the date: what a list row shows."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    today = (now or datetime.now(tz)).astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%-I:%M %p")
    if local.year == today.year:
        return local.strftime("%b %-d")
    return local.strftime("%b %-d, %Y")


def money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return ""
    symbol = "$" if currency.upper() == "USD" else currency.upper() + " "
    return f"{symbol}{cents / 100:,.2f}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%b %-d, %Y")


templates.env.filters["money"] = money
templates.env.filters["day"] = day


def _sign(payload: str) -> str:
    secret = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(secret, b"flash|" + payload.encode(), hashlib.sha256).hexdigest()[:32]


def _read_flashes(request: Request) -> list[Flash]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or "." not in raw:
        return []
    signature, payload = raw.split(".", 1)
    if not hmac.compare_digest(signature, _sign(payload)):
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return [(kind, str(text)) for kind, text in items][:5]
    except (ValueError, TypeError):
        return []


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    flashes: list[Flash] | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a template with the common context; shows and clears pending flash messages."""
    pending = _read_flashes(request)
    shown = pending + list(flashes or [])
    tz = _tz(request)
    values = {
        "request": request,
        "flashes": shown,
        "tz": tz,
        "local_time": lambda v, fmt="%b %-d, %-I:%M %p": local_time(v, tz, fmt),
        "short_time": lambda v: short_time(v, tz),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, name, values, status_code=status_code, headers=headers
    )
    if pending:
        response.delete_cookie(FLASH_COOKIE, path="/app")
    if shown and request.headers.get("HX-Request") and name != "partials/flash_oob.html":
        # A partial cannot show flashes itself: update the page's flash area out of band.
        extra = templates.get_template("partials/flash_oob.html").render({"flashes": shown})
        response.body = bytes(response.body) + extra.encode()
        response.headers["content-length"] = str(len(response.body))
    return response


def redirect(request: Request, url: str, *, flash: Flash | None = None) -> Response:
    """After a successful post: 303 to ``url`` (htmx: ``HX-Redirect``), with a flash message."""
    response: Response
    if request.headers.get("HX-Request"):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash is not None:
        raw = json.dumps([list(flash)], separators=(",", ":")).encode()
        payload = base64.urlsafe_b64encode(raw).decode()
        ui = _ui(request)
        response.set_cookie(
            FLASH_COOKIE,
            f"{_sign(payload)}.{payload}",
            max_age=60,
            httponly=True,
            samesite="lax",
            secure=bool(ui and ui.secure_cookies),
            path="/app",
        )
    return response
