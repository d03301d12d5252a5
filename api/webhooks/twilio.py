"""Twilio webhooks: inbound SMS and message status callbacks.

Verified against X-Twilio-Signature over the exact public URL, recorded once by MessageSid,
answered at once. A forged or unsigned request gets 403 and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from api.deps import SessionDep, SettingsDep
from dramtrade import inbound
from dramtrade.config import Settings
from dramtrade.webhook_security import verify_twilio_signature

router = APIRouter()

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio called: our configured public base, then the path and query as received."""
    url = settings.public_base_url.rstrip("/") + request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{url}?{query}" if query else url


async def verified_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    try:
        form = await request.form()
    except Exception as exc:  # multipart/urlencoded parse errors come in several types
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="body is not a form") from exc
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    token = settings.twilio_auth_token.get_secret_value()
    signature = request.headers.get("X-Twilio-Signature")
    if not verify_twilio_signature(token, public_url(request, settings), pairs, signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid Twilio signature")
    return dict(pairs)


VerifiedForm = Annotated[dict[str, str], Depends(verified_form)]


@router.post("/sms", response_class=Response)
def inbound_sms(params: VerifiedForm, session: SessionDep) -> Response:
    inbound.receive_sms(session, params)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", status_code=status.HTTP_204_NO_CONTENT)
def message_status(
    params: VerifiedForm, session: SessionDep, message_id: str | None = None
) -> None:
    inbound.sms_status(session, params, message_id)
