"""``/v1/messages``: a person sends an SMS or an email to a customer."""

from __future__ import annotations

import contextlib
import uuid
from typing import Annotated, Literal, Self

from fastapi import Header, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import CallerDep, SessionDep, SettingsDep, SubAccountDep, get_temporal
from api.v1.routing import v1_router
from dramtrade.models import Channel
from dramtrade.schemas import MessageOut
from dramtrade.services import messages as service
from workflows.send_message import SendMessageWorkflow, workflow_id

router = v1_router("messages")


class MessageSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: uuid.UUID
    channel: Literal["sms", "email"]
    body: str | None = Field(None, max_length=20_000, description="free text, or use template_id")
    template_id: uuid.UUID | None = None
    subject: str | None = Field(None, max_length=998, description="email only")
    html: str | None = Field(None, max_length=500_000, description="email only; sanitized")
    to: str | None = Field(None, max_length=320, description="one of the customer's own addresses")
    confirm_opted_out: bool = Field(
        False, description="send even though the address opted out (the customer asked for it)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.channel == "sms" and (self.subject is not None or self.html is not None):
            raise ValueError("subject and html are for email only")
        if self.channel == "sms" and self.body is not None and len(self.body) > 1600:
            raise ValueError("an SMS body is at most 1600 characters")
        return self


@router.post(
    "/messages",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send an SMS or email to a customer",
    responses={409: {"description": "opted out (confirm to send) or Idempotency-Key reused"}},
)
async def send_message(
    body: MessageSendIn,
    session: SessionDep,
    account: SubAccountDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(max_length=255, description="the same key twice sends once")
    ] = None,
) -> MessageOut:
    # Database work runs in the thread pool: this handler is async to await Temporal.
    message, _created = await run_in_threadpool(
        service.create_manual,
        session,
        account,
        service.ManualSend(
            customer_id=body.customer_id,
            channel=Channel(body.channel),
            body=body.body,
            template_id=body.template_id,
            subject=body.subject,
            html=body.html,
            to=body.to,
            confirm_opted_out=body.confirm_opted_out,
        ),
        idempotency_key,
    )
    # The row is durable before the workflow exists; starting it again for a replayed key is a
    # no-op, and it also repairs a first request that died between commit and start.
    await run_in_threadpool(session.commit)
    # Temporal is reached only now: bad input is refused even while it is down. If it is down
    # the row stays pending and the 503 tells the caller to retry with the same key.
    temporal = await get_temporal(request)
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await temporal.start_workflow(
            SendMessageWorkflow.run,
            str(message.id),
            id=workflow_id(str(message.id)),
            task_queue=settings.temporal_task_queue,
        )
    return MessageOut.model_validate(message)


@router.get("/messages/{message_id}", summary="Get a message and its delivery status")
def get_message(message_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> MessageOut:
    return MessageOut.model_validate(
        service.get_message(session, caller.sub_account_id, message_id)
    )
