"""One workflow per job: each milestone the platform reports sends that milestone's messages.

Started by signal-with-start from the events endpoint, so the first event creates it and later
ones find it. The workflow holds orchestration state only; PostgreSQL holds the messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import (
        DeliveryResult,
        JobNotificationInput,
        deliver_message,
        prepare_job_notification,
    )
    from dramtrade.notifications import DEFAULT_CHANNELS

EVENT_SIGNAL = "event"
# Continue as new well before Temporal's 10k-event warning; a chatty job never gets close.
MAX_EVENTS_PER_RUN = 500

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
    at: str
    kind: str  # "event" or "notification"
    type: str
    channel: str | None = None
    message_id: str | None = None
    status: str | None = None


@dataclass
class JobWorkflowInput:
    sub_account_id: str
    job_id: str
    seen_event_ids: list[str] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    pending: list[JobEventSignal] = field(default_factory=list)
    milestones: list[str] = field(default_factory=list)


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

    @workflow.query
    def timeline(self) -> list[TimelineEntry]:
        return self.state.timeline

    @workflow.run
    async def run(self, inp: JobWorkflowInput) -> str:
        handled = 0
        while True:
            await workflow.wait_condition(lambda: bool(self.state.pending))
            ev = self.state.pending.pop(0)
            self.state.seen_event_ids.append(ev.event_id)
            self.state.timeline.append(TimelineEntry(at=ev.received_at, kind="event", type=ev.type))
            await self._notify(ev.type)
            self.state.milestones.append(ev.type)
            handled += 1
            if self._finished():
                return "cancelled" if "job_cancelled" in self.state.milestones else "completed"
            if handled >= MAX_EVENTS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

    def _finished(self) -> bool:
        done = self.state.milestones
        return "job_cancelled" in done or ("job_complete" in done and "payment_received" in done)

    async def _notify(self, trigger: str) -> None:
        for channel in DEFAULT_CHANNELS.get(trigger, ()):
            message_id = await workflow.execute_activity(
                prepare_job_notification,
                JobNotificationInput(self.state.job_id, trigger, channel),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DB_RETRY,
            )
            if message_id is None:
                continue
            result: DeliveryResult = await workflow.execute_activity(
                deliver_message,
                message_id,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(hours=6),
                retry_policy=SEND_RETRY,
            )
            self.state.timeline.append(
                TimelineEntry(
                    at=workflow.now().isoformat(),
                    kind="notification",
                    type=trigger,
                    channel=channel,
                    message_id=message_id,
                    status=result.status,
                )
            )
