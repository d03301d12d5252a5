"""One workflow per job: each milestone the platform reports sends that milestone's messages.

Started by signal-with-start from the events endpoint, so the first event creates it and later
ones find it. The workflow holds orchestration state only; PostgreSQL holds the messages (the
timeline the staff see is read from there, plus this workflow's ``view`` query for what is
still waiting).

Rules:

* Each milestone notifies once per job, whatever the order events arrive in and however often
  the platform repeats them (event ids are deduplicated, a milestone type is acted on once, and
  the message rows' idempotency keys make a retried activity find its row). Statuses only move
  forward; that rule is the database's (``dramtrade.job_events``), not this workflow's.
* ``job_rescheduled`` sends a notice each time (keyed by its event id) and re-arms the
  day-before reminder; ``job_cancelled`` drops held messages, sends its notice and ends.
* The day-before reminder is an updatable timer: the main loop waits for a signal with a timeout
  at the earliest due instant (reminder or quiet-hours release), so a new appointment time
  simply changes the next timeout. The instant comes from an activity (time-zone math is not
  done here); the reminder is skipped when it is already past or the technician is on the way.
* An SMS prepared in the customer's quiet hours is held in the state and delivered when the
  window ends: a Temporal timer, so a worker restart loses nothing.
* The job is done on ``job_complete`` + ``payment_received``, or ``job_cancelled``, once no
  message is held; it continues as new before its history grows large.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import (
        DiscardInput,
        JobNotifyInput,
        PreparedMessage,
        appointment_reminder_at,
        deliver_message,
        discard_message,
        prepare_job_notifications,
    )

EVENT_SIGNAL = "event"
VIEW_QUERY = "view"
# Continue as new well before Temporal's 10k-event warning; a chatty job never gets close.
MAX_EVENTS_PER_RUN = 500
# Event ids kept for deduplication across continue-as-new (a repeat older than this is still
# harmless: milestones act once by type and message rows are idempotent).
MAX_SEEN_EVENT_IDS = 200
# Once the technician is on the way, a reminder about the visit makes no sense.
REMINDER_TOO_LATE = ("technician_en_route", "technician_on_site", "job_complete", "job_cancelled")
REPEATABLE = ("job_rescheduled",)

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
# Provider calls back off longer; permanent refusals are recorded by the activity, not raised
# (and would not be retried if they were). A provider's Retry-After overrides the interval.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["PermanentSendError"],
)


def workflow_id(sub_account_id: str, job_id: str) -> str:
    return f"job-{sub_account_id}-{job_id}"


@dataclass
class JobEventSignal:
    event_id: str
    type: str
    received_at: str


@dataclass
class TimelineEntry:
    """No longer written; kept so that runs started by older code still decode."""

    at: str
    kind: str
    type: str
    channel: str | None = None
    message_id: str | None = None
    status: str | None = None


@dataclass
class Hold:
    """A message waiting for the end of the customer's quiet hours."""

    message_id: str
    trigger: str
    channel: str
    until: str  # UTC, ISO


@dataclass
class JobWorkflowInput:
    sub_account_id: str
    job_id: str
    seen_event_ids: list[str] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    pending: list[JobEventSignal] = field(default_factory=list)
    milestones: list[str] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    reminder_at: str | None = None  # the armed day-before reminder (UTC, ISO)
    reminder_checked: bool = False


@dataclass
class JobWorkflowView:
    """What the ``view`` query answers: small, for the timeline's "waiting" section."""

    milestones: list[str]
    finished: bool
    reminder_at: str | None
    holds: list[Hold]


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@workflow.defn
class JobLifecycleWorkflow:
    @workflow.init
    def __init__(self, inp: JobWorkflowInput) -> None:
        self.state = inp

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, ev: JobEventSignal) -> None:
        # The platform may repeat an event; each is acted on once.
        if ev.event_id in self.state.seen_event_ids:
            return
        if any(p.event_id == ev.event_id for p in self.state.pending):
            return
        self.state.pending.append(ev)

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> JobWorkflowView:
        return JobWorkflowView(
            milestones=list(self.state.milestones),
            finished=self._finished(),
            reminder_at=self.state.reminder_at,
            holds=list(self.state.holds),
        )

    @workflow.run
    async def run(self, inp: JobWorkflowInput) -> str:
        handled = 0
        while True:
            timeout = self._until_next_wake()
            if timeout is None or timeout > timedelta(0):
                # A timeout is the next reminder or release falling due.
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: bool(self.state.pending), timeout=timeout)
            await self._release_due_holds()
            await self._remind_if_due()
            while self.state.pending:
                ev = self.state.pending.pop(0)
                await self._handle(ev)
                handled += 1
            if self._finished() and not self.state.holds:
                return "cancelled" if "job_cancelled" in self.state.milestones else "completed"
            if handled >= MAX_EVENTS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

    def _finished(self) -> bool:
        done = self.state.milestones
        return "job_cancelled" in done or ("job_complete" in done and "payment_received" in done)

    def _until_next_wake(self) -> timedelta | None:
        due = [_at(h.until) for h in self.state.holds]
        if self.state.reminder_at is not None:
            due.append(_at(self.state.reminder_at))
        if not due:
            return None
        return min(due) - workflow.now()

    async def _handle(self, ev: JobEventSignal) -> None:
        seen = self.state.seen_event_ids
        seen.append(ev.event_id)
        del seen[:-MAX_SEEN_EVENT_IDS]
        if self._finished():
            return  # finished, only waiting for held messages: a late event changes nothing
        if ev.type in self.state.milestones and ev.type not in REPEATABLE:
            return  # a repeat under a new id, or out of order after its own first delivery
        if ev.type == "job_cancelled":
            self.state.reminder_at = None
            await self._drop_holds("job cancelled before quiet hours ended")
        await self._notify(ev.type, occurrence=ev.event_id if ev.type in REPEATABLE else None)
        if ev.type not in self.state.milestones:
            self.state.milestones.append(ev.type)
        if ev.type in REMINDER_TOO_LATE:
            self.state.reminder_at = None
        elif ev.type == "job_rescheduled" or not self.state.reminder_checked:
            await self._arm_reminder()

    async def _arm_reminder(self) -> None:
        self.state.reminder_checked = True
        at = await workflow.execute_activity(
            appointment_reminder_at,
            self.state.job_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        late = any(m in self.state.milestones for m in REMINDER_TOO_LATE)
        self.state.reminder_at = (
            at if at is not None and not late and _at(at) > workflow.now() else None
        )

    async def _remind_if_due(self) -> None:
        at = self.state.reminder_at
        if at is None or _at(at) > workflow.now():
            return
        self.state.reminder_at = None
        await self._notify("appointment_reminder", occurrence=at)

    async def _notify(self, trigger: str, occurrence: str | None = None) -> None:
        prepared: list[PreparedMessage] = await workflow.execute_activity(
            prepare_job_notifications,
            JobNotifyInput(self.state.job_id, trigger, workflow.now().isoformat(), occurrence),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        now = workflow.now()
        ready = []
        for p in prepared:
            if p.hold_until is not None and _at(p.hold_until) > now:
                self.state.holds.append(Hold(p.message_id, trigger, p.channel, p.hold_until))
            else:
                ready.append(p.message_id)
        await self._deliver(ready)

    async def _deliver(self, message_ids: list[str]) -> None:
        # Channels go out side by side: an email does not wait for the SMS's provider call.
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    deliver_message,
                    message_id,
                    start_to_close_timeout=timedelta(seconds=60),
                    schedule_to_close_timeout=timedelta(hours=6),
                    retry_policy=SEND_RETRY,
                )
                for message_id in message_ids
            )
        )

    async def _release_due_holds(self) -> None:
        now = workflow.now()
        due = [h for h in self.state.holds if _at(h.until) <= now]
        if not due:
            return
        self.state.holds = [h for h in self.state.holds if _at(h.until) > now]
        await self._deliver([h.message_id for h in due])

    async def _drop_holds(self, reason: str) -> None:
        held, self.state.holds = self.state.holds, []
        for hold in held:
            await workflow.execute_activity(
                discard_message,
                DiscardInput(hold.message_id, reason),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DB_RETRY,
            )
