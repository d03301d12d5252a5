"""Twilio webhooks: inbound SMS and message status callbacks.

Verified against X-Twilio-Signature over the exact public URL, recorded once by MessageSid,
answered at once. A forged or unsigned request gets 403 and changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import SessionDep, SettingsDep, get_temporal
from dramtrade import inbound
from dramtrade.config import Settings
from dramtrade.webhook_security import verify_twilio_signature
from workflows.send_message import SendMessageWorkflow, workflow_id

log = logging.getLogger(__name__)

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


async def start_sends(request: Request, settings: Settings, message_ids: list[uuid.UUID]) -> None:
    """Start the send of each reply row (after the commit and the answer). If Temporal is
    unreachable the row stays pending, and a redelivery of the webhook starts it again."""
    try:
        temporal = await get_temporal(request)
        for message_id in message_ids:
            # Started by an earlier delivery: the row is sent once either way.
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await temporal.start_workflow(
                    SendMessageWorkflow.run,
                    str(message_id),
                    id=workflow_id(str(message_id)),
                    task_queue=settings.temporal_task_queue,
                )
    except Exception:
        log.exception("could not start the send of compliance replies %s", message_ids)


@router.post("/sms", response_class=Response)
def inbound_sms(
    params: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    background: BackgroundTasks,
) -> Response:
    received = inbound.receive_sms(session, params, settings.sms_keyword_replies)
    if received.to_send:
        # Runs after the session has committed and the answer has gone out.
        background.add_task(start_sends, request, settings, received.to_send)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/status", status_code=status.HTTP_204_NO_CONTENT)
def message_status(
    params: VerifiedForm, session: SessionDep, message_id: str | None = None
) -> None:
    inbound.sms_status(session, params, message_id)
