"""Activities that turn a job milestone into sent messages.

They are synchronous (the Twilio and SendGrid SDKs are) and run in the worker's thread pool.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from dramtrade import notification_settings, outbound, quiet_hours, reconcile
from dramtrade.config import get_settings
from dramtrade.db import session_scope
from dramtrade.models import Channel, Customer, Job, Message, SubAccount
from dramtrade.providers import PermanentSendError, RetryableSendError
from dramtrade.template_context import customer_zone


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


@dataclass
class JobNotifyInput:
    job_id: str
    trigger: str
    now: str  # the workflow's time (ISO): quiet hours are judged by it, not this machine's clock
    # Tells apart notices a job may get more than once (a reschedule's event id, a reminder's
    # instant); None for milestones, which notify once per job.
    occurrence: str | None = None


@dataclass
class PreparedMessage:
    message_id: str
    channel: str
    # An SMS prepared in the customer's quiet hours: not before this UTC instant (ISO).
    hold_until: str | None = None


@activity.defn
def prepare_job_notifications(inp: JobNotifyInput) -> list[PreparedMessage]:
    """Write the rows of one job notification, one per channel enabled in the sub-account's
    settings (idempotent), and say which SMS must wait for the end of quiet hours."""
    now = datetime.fromisoformat(inp.now)
    prepared: list[PreparedMessage] = []
    with session_scope() as session:
        job = session.get(Job, uuid.UUID(inp.job_id))
        if job is None:
            return []
        account = session.get_one(SubAccount, job.sub_account_id)
        if inp.trigger == "appointment_reminder" and not account.appointment_reminder_enabled:
            return []
        customer = session.get_one(Customer, job.customer_id)
        for cell in notification_settings.enabled_channels(session, account.id, inp.trigger):
            message_id = outbound.prepare_job_notification(
                session,
                job.id,
                inp.trigger,
                Channel(cell.channel),
                template_id=cell.template_id,
                occurrence=inp.occurrence,
            )
            if message_id is None:
                continue
            hold = None
            if cell.channel == Channel.sms and cell.respect_quiet_hours:
                release = quiet_hours.release_at(
                    now,
                    account.quiet_hours_start,
                    account.quiet_hours_end,
                    customer_zone(customer, account).key,
                    enabled=account.quiet_hours_enabled,
                )
                hold = release.isoformat() if release > now else None
            prepared.append(PreparedMessage(str(message_id), cell.channel, hold))
    return prepared


@activity.defn
def appointment_reminder_at(job_id: str) -> str | None:
    """When the day-before reminder is due (UTC, ISO): the sub-account's reminder time, local
    to the customer, on the day before the visit; None if off or the job has no visit time."""
    with session_scope() as session:
        job = session.get(Job, uuid.UUID(job_id))
        if job is None or job.scheduled_start is None:
            return None
        account = session.get_one(SubAccount, job.sub_account_id)
        if not account.appointment_reminder_enabled:
            return None
        customer = session.get_one(Customer, job.customer_id)
        return quiet_hours.day_before_at(
            job.scheduled_start,
            account.appointment_reminder_time,
            customer_zone(customer, account).key,
        ).isoformat()


@dataclass
class DiscardInput:
    message_id: str
    reason: str


@activity.defn
def discard_message(inp: DiscardInput) -> bool:
    """Cancel a held row that should no longer go out; False if it already went."""
    with session_scope() as session:
        return outbound.discard(session, uuid.UUID(inp.message_id), inp.reason)


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
