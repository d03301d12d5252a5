"""Errors of the staff UI, rendered as pages (or as htmx-friendly responses) by ``UIRoute``."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request


class UIError(Exception):
    """An error shown to a person: a page with a title and a message, and a status code."""

    status_code = 400
    default_title = "Something went wrong"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.title = title or self.default_title


class Forbidden(UIError):
    status_code = 403
    default_title = "Not allowed"


class PageNotFound(UIError):
    status_code = 404
    default_title = "Not found"


class TooManyAttempts(UIError):
    status_code = 429
    default_title = "Too many sign-in attempts"


class LoginRequired(Exception):
    """Nobody is signed in: redirect to the sign-in page, then back to where they were."""

    def __init__(self, request: Request) -> None:
        super().__init__("sign-in required")
        target = request.url.path
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        if request.headers.get("HX-Request"):
            # A partial's own URL is no page to come back to: return to the page shown.
            current = request.headers.get("HX-Current-URL", "")
            target = safe_next(_path_of(current)) or "/app/inbox"
        self.location = "/app/login?next=" + quote(target, safe="/")


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def safe_next(value: str | None) -> str | None:
    """A ``next`` that stays on this site under /app: never ``//host``, a scheme or ``\\``."""
    if not value or not value.startswith("/app") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 32 for c in value):
        return None
    if value != "/app" and not value.startswith(("/app/", "/app?")):
        return None
    return value
