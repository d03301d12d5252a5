"""Email unsubscribe: RFC 8058 one-click POST and a page for people.

``POST /unsubscribe/{token}`` is what a mailbox provider sends for
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; it suppresses the address and answers
200 (no redirect, as RFC 8058 requires), and repeating it changes nothing. ``GET`` only shows
the address and a confirm button, because link scanners fetch URLs on their own. Both answer
404 for a token that does not verify.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep
from dramtrade import consent
from dramtrade.models import SubAccount
from dramtrade.unsubscribe_tokens import Unsubscribe, read_token

router = APIRouter()

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>
<body><h1>{title}</h1>{content}</body></html>"""


def _page(title: str, content: str) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=escape(title), content=content),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _resolve(session: SessionDep, settings: SettingsDep, token: str) -> tuple[Unsubscribe, str]:
    found = read_token(settings, token)
    account = session.get(SubAccount, found.sub_account_id) if found is not None else None
    if found is None or account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="unknown unsubscribe link")
    return found, account.name


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="Unsubscribe page")
def unsubscribe_page(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    found, business = _resolve(session, settings, token)
    address = escape(found.email)
    if consent.email_suppressed(session, found.sub_account_id, found.email):
        return _page(
            "You are unsubscribed",
            f"<p><strong>{address}</strong> gets no more marketing email from "
            f"{escape(business)}.</p>",
        )
    action = escape(f"/unsubscribe/{token}", quote=True)
    return _page(
        "Unsubscribe",
        f"<p>Stop marketing email from {escape(business)} to <strong>{address}</strong>?</p>"
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


@router.post(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    summary="One-click unsubscribe (RFC 8058)",
    responses={404: {"description": "The token does not verify"}},
)
def unsubscribe(token: str, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """The body (``List-Unsubscribe=One-Click`` from a mailbox provider, the same field from
    the page's form) is not needed: the signed token names the address. Idempotent."""
    found, business = _resolve(session, settings, token)
    if not consent.email_suppressed(session, found.sub_account_id, found.email):
        consent.suppress_email(session, found.sub_account_id, found.email, "unsubscribe link")
    return _page(
        "You are unsubscribed",
        f"<p><strong>{escape(found.email)}</strong> gets no more marketing email from "
        f"{escape(business)}.</p>",
    )
