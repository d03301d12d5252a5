"""Activities that turn a job milestone into sent messages.

They are synchronous (the Twilio and SendGrid SDKs are) and run in the worker's thread pool.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from dramtrade import outbound, reconcile
from dramtrade.config import get_settings
from dramtrade.db import session_scope
from dramtrade.models import Channel, Message
from dramtrade.providers import PermanentSendError, RetryableSendError


@dataclass
class JobNotificationInput:
    job_id: str
    trigger: str
    channel: str


@dataclass
class DeliveryResult:
    message_id: str
    status: str


@activity.defn
def prepare_job_notification(inp: JobNotificationInput) -> str | None:
    """Write the notification's message row (idempotent); its id, or None if nothing to send."""
    with session_scope() as session:
        message_id = outbound.prepare_job_notification(
            session, uuid.UUID(inp.job_id), inp.trigger, Channel(inp.channel)
        )
    return str(message_id) if message_id else None


def _heartbeat() -> None:
    if activity.in_activity():
        activity.heartbeat()


@activity.defn
def deliver_message(message_id: str) -> DeliveryResult:
    """Send one message row through its provider; a sent row is never sent again.

    claim (short transaction) -> on a retry, ask the provider whether an earlier attempt
    already landed (dramtrade.reconcile) -> the provider call -> record (short transaction).
    No transaction is open during a provider call; a worker that dies anywhere in between
    leaves the row as the truth, and Temporal's retry starts again from claim.
    """
    settings = get_settings()
    mid = uuid.UUID(message_id)
    with session_scope() as session:
        plan = outbound.claim(session, mid)
    if plan is None:
        with session_scope() as session:
            message = session.get(Message, mid)
            if message is None:
                # Nothing to send and nothing will appear by retrying.
                raise ApplicationError(f"message {message_id} does not exist", non_retryable=True)
            status = message.status
        return DeliveryResult(message_id, status)
    try:
        _heartbeat()
        found = reconcile.previous_send(settings, plan, heartbeat=_heartbeat)
        if found is not None:
            if found.provider_id is None:  # an event already moved the row on
                return DeliveryResult(message_id, found.status)
            with session_scope() as session:
                outbound.record_accepted(
                    session, mid, found.provider_id, found.status, found.segments
                )
            return DeliveryResult(message_id, found.status)
        _heartbeat()
        provider_id, status, segments = outbound.call_provider(settings, plan)
    except PermanentSendError as exc:
        with session_scope() as session:
            outbound.record_failure(session, mid, exc)
        return DeliveryResult(message_id, "failed")
    except RetryableSendError as exc:
        with session_scope() as session:
            outbound.record_failure(session, mid, exc)
        raise ApplicationError(
            str(exc),
            type="RetryableSendError",
            next_retry_delay=timedelta(seconds=exc.retry_after) if exc.retry_after else None,
        ) from exc
    with session_scope() as session:
        outbound.record_accepted(session, mid, provider_id, status, segments)
    return DeliveryResult(message_id, status)
