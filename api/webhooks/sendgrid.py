"""SendGrid's signed Event Webhook: ECDSA over the raw body, deduplicated by sg_event_id."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from api.deps import SessionDep, SettingsDep
from dramtrade import inbound
from dramtrade.webhook_security import verify_sendgrid_signature

router = APIRouter()

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


async def verified_events(request: Request, settings: SettingsDep) -> list[dict[str, Any]]:
    # Verify the bytes exactly as received: re-serialised JSON would not match the signature.
    raw = await request.body()
    key = settings.sendgrid_webhook_public_key
    if not key or not verify_sendgrid_signature(
        key,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
        raw,
        max_age_seconds=settings.sendgrid_webhook_max_age_seconds,
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid SendGrid signature")
    try:
        payload: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="body is not JSON") from exc
    if not isinstance(payload, list) or not all(isinstance(e, dict) for e in payload):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="body must be a JSON array of event objects"
        )
    return payload


@router.post("/events", status_code=status.HTTP_204_NO_CONTENT)
def events(
    payload: Annotated[list[dict[str, Any]], Depends(verified_events)], session: SessionDep
) -> None:
    inbound.email_events(session, payload)
