"""Before any resend: does the provider already have this message?

A send can be accepted by the provider while its answer is lost (a timeout, a reset
connection, a 5xx from a proxy after the provider took it). The row then still says
``pending`` and the next attempt would send the message a second time. So every attempt after
the first asks first, and only sends when the provider has nothing:

- SMS: Twilio's Messages list, filtered by ``To`` and ``From``, newest first, back to a minute
  before the row was written; a message with the same body whose sid is no other row's
  ``provider_id`` is ours. The row takes that sid and nothing is sent.
- Email: SendGrid has no lookup API. Its event webhook carries our ``message_id`` custom arg,
  and the ``processed`` event moves the row on and gives it the X-Message-Id
  (``dramtrade.inbound.email_events``), after which ``outbound.claim`` never sends again. So a
  resend after an ambiguous failure first waits up to ``EMAIL_EVENT_WAIT_SECONDS`` for that
  event. Residual risk, stated plainly: if the response was lost AND the ``processed`` event
  does not reach us within that wait (SendGrid batches events, our webhook may be down), the
  email is sent twice. Nothing cheaper than a lookup API closes that gap.

Each step is a short transaction of its own; no transaction is held across a provider call.
Twilio's list is read outside any transaction, and ``heartbeat`` is called while waiting so
that Temporal can tell a waiting activity from a dead one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from dramtrade.config import Settings
from dramtrade.db import session_scope
from dramtrade.models import Channel, Message
from dramtrade.outbound import PENDING, SendPlan
from dramtrade.providers import recent_sms

# How far before the row's creation a provider's clock may put the message.
CLOCK_SKEW = timedelta(minutes=1)
# How long a resend of an email waits for the event that would show the first send landed.
EMAIL_EVENT_WAIT_SECONDS = 10.0
EMAIL_EVENT_POLL_SECONDS = 0.5
# Failures after which the provider certainly holds nothing: 429 is answered before the
# message is looked at. Everything else (5xx, timeouts, resets) is ambiguous.
NOT_ACCEPTED_CODES = frozenset({"429", "20429"})


@dataclass(frozen=True)
class Reconciled:
    """The provider already has the message: no resend."""

    provider_id: str | None  # None when the row itself moved on (an event reached it)
    status: str
    segments: int | None = None


@dataclass(frozen=True)
class _RowState:
    attempts: int
    created_at: datetime
    status: str
    provider_id: str | None
    error_code: str | None


def previous_send(
    settings: Settings,
    plan: SendPlan,
    *,
    heartbeat: Callable[[], None] = lambda: None,
) -> Reconciled | None:
    """What an earlier attempt of ``plan`` left at the provider; None means send now.

    Provider errors while asking propagate as ``RetryableSendError``: better to retry the
    question later than to send blind.
    """
    state = _read(plan.message_id)
    if state.attempts <= 1:
        return None  # the first attempt: nothing can have been accepted before
    if state.status != PENDING or state.provider_id is not None:
        return Reconciled(state.provider_id, state.status)
    if plan.channel == Channel.sms:
        return _find_sms(settings, plan, state)
    if state.error_code in NOT_ACCEPTED_CODES:
        return None
    return _wait_for_email_event(plan.message_id, heartbeat)


def _read(message_id: uuid.UUID) -> _RowState:
    with session_scope() as session:
        row = session.get_one(Message, message_id)
        return _RowState(row.attempts, row.created_at, row.status, row.provider_id, row.error_code)


def _find_sms(settings: Settings, plan: SendPlan, state: _RowState) -> Reconciled | None:
    candidates = [
        sms
        for sms in recent_sms(
            settings, from_=plan.from_, to=plan.to, created_after=state.created_at - CLOCK_SKEW
        )
        if sms.body == plan.body
    ]
    if not candidates:
        return None
    with session_scope() as session:
        taken = set(
            session.scalars(
                select(Message.provider_id).where(
                    Message.provider == "twilio",
                    Message.provider_id.in_([c.sid for c in candidates]),
                    Message.id != plan.message_id,
                )
            )
        )
    # Oldest first: with identical bodies to one number (two jobs, same template), each row
    # takes the earliest message no other row owns.
    free = sorted(
        (c for c in candidates if c.sid not in taken),
        key=lambda c: (c.date_created is None, c.date_created),
    )
    if not free:
        return None
    match = free[0]
    return Reconciled(match.sid, match.status, match.num_segments)


def _wait_for_email_event(
    message_id: uuid.UUID, heartbeat: Callable[[], None]
) -> Reconciled | None:
    deadline = time.monotonic() + EMAIL_EVENT_WAIT_SECONDS
    while time.monotonic() < deadline:
        heartbeat()
        time.sleep(EMAIL_EVENT_POLL_SECONDS)
        state = _read(message_id)
        if state.status != PENDING or state.provider_id is not None:
            return Reconciled(state.provider_id, state.status)
    return None
