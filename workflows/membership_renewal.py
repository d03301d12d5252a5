"""One workflow per membership: the 30- and 7-day renewal reminders, one term per run.

Started (or woken) by signal-with-start from the membership create and update endpoints,
after the database commit. Signals carry no data: the row is the truth, and the workflow
re-reads it (``load_membership``) when it starts and on every wake, timer or signal.

- ``changed``: the row changed. A new renewal date moves the timers (updatable timer:
  ``wait_condition(..., timeout=...)`` woken by the signal); the next term's date (see
  ``renewal_schedule.is_next_term``) continues as new with a fresh run for that term; status
  cancelled or expired ends the workflow.
- ``renewed``: the platform says the membership was renewed; the next date change is then the
  next term whatever its size.

Reminder instants (10:00 local) are computed by the activity from the renewal date and the
customer's timezone; this code only compares them with ``workflow.now()``. Reminders already
past when a date is learnt are skipped, not sent late. When the renewal day has passed and
no change came for ``LAPSE_AFTER``, the workflow ends ("lapsed"); a later update starts it
again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.memberships import (
        MembershipRef,
        MembershipSnapshot,
        PreparedReminder,
        ReminderInput,
        load_membership,
        prepare_membership_reminder,
    )
    from activities.notifications import (
        DeliveryResult,
        DiscardInput,
        deliver_message,
        discard_message,
    )
    from dramtrade.renewal_schedule import is_next_term

CHANGED_SIGNAL = "changed"
RENEWED_SIGNAL = "renewed"
STATUS_QUERY = "status"

LAPSE_AFTER = timedelta(days=60)
# Continue as new (same term) well before history limits; a quiet membership wakes rarely.
MAX_WAKES_PER_RUN = 200
KEEP_PREVIOUS_TERMS = 5

DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["PermanentSendError"],
)


def workflow_id(sub_account_id: str, membership_id: str) -> str:
    return f"membership-{sub_account_id}-{membership_id}"


@dataclass
class SentMessage:
    message_id: str
    channel: str
    status: str


@dataclass
class Reminder:
    trigger: str
    at: str  # UTC instant, ISO
    state: str = "armed"  # armed | sent | skipped
    fired_at: str | None = None  # workflow time it fired
    messages: list[SentMessage] = field(default_factory=list)


@dataclass
class MembershipRenewalInput:
    sub_account_id: str
    membership_id: str
    # The term this run serves; None until the first read of the row.
    renewal_date: str | None = None
    renewal_at: str | None = None
    reminders: list[Reminder] = field(default_factory=list)
    term: int = 1
    previous_terms: list[str] = field(default_factory=list)
    renewed: bool = False


@dataclass
class RenewalOutcome:
    ending: str  # cancelled | expired | missing | lapsed
    renewal_date: str | None
    term: int
    reminders: list[Reminder]
    previous_terms: list[str]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@workflow.defn
class MembershipRenewalWorkflow:
    @workflow.init
    def __init__(self, inp: MembershipRenewalInput) -> None:
        self.state = inp
        self.changed = False

    @workflow.signal(name=CHANGED_SIGNAL)
    def on_changed(self) -> None:
        self.changed = True

    @workflow.signal(name=RENEWED_SIGNAL)
    def on_renewed(self) -> None:
        self.state.renewed = True
        self.changed = True

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> MembershipRenewalInput:
        return self.state

    @workflow.run
    async def run(self, inp: MembershipRenewalInput) -> RenewalOutcome:
        ref = MembershipRef(inp.sub_account_id, inp.membership_id)
        wakes = 0
        while True:
            self.changed = False
            snap: MembershipSnapshot = await workflow.execute_activity(
                load_membership,
                ref,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DB_RETRY,
            )
            if snap.status != "active" or snap.renewal_date is None:
                return self._outcome(snap.status)
            if self.state.renewal_date is None:
                self._arm(snap)
            elif snap.renewal_date != self.state.renewal_date:
                old, new = self.state.renewal_date, snap.renewal_date
                term_over = self.state.renewal_at is not None and workflow.now() >= _at(
                    self.state.renewal_at
                )
                if is_next_term(
                    date.fromisoformat(old),
                    date.fromisoformat(new),
                    renewed=self.state.renewed,
                    term_over=term_over,
                ):
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(
                        MembershipRenewalInput(
                            self.state.sub_account_id,
                            self.state.membership_id,
                            term=self.state.term + 1,
                            previous_terms=[*self.state.previous_terms, old][-KEEP_PREVIOUS_TERMS:],
                        )
                    )
                self._arm(snap)  # the same term, a corrected date: the timers move
            else:
                self._retime(snap)

            for reminder in self.state.reminders:
                if reminder.state == "armed" and _at(reminder.at) <= workflow.now():
                    await self._send(reminder)
                    if self.changed:
                        break  # re-read before sending anything else

            wakes += 1
            if wakes >= MAX_WAKES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

            if self.changed:
                continue
            armed = [_at(r.at) for r in self.state.reminders if r.state == "armed"]
            if armed:
                deadline = min(armed)
            else:
                assert self.state.renewal_at is not None
                deadline = _at(self.state.renewal_at) + LAPSE_AFTER
                if workflow.now() >= deadline:
                    return self._outcome("lapsed")
            # The updatable timer: the deadline passes, or a signal wakes us to re-read.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self.changed,
                    timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                )

    def _arm(self, snap: MembershipSnapshot) -> None:
        """A renewal date learnt now: arm its reminders, skipping any already past."""
        now = workflow.now()
        self.state.renewal_date = snap.renewal_date
        self.state.renewal_at = snap.renewal_at
        self.state.reminders = [
            Reminder(trigger, at, state="armed" if _at(at) > now else "skipped")
            for trigger, at in snap.reminders.items()
        ]

    def _retime(self, snap: MembershipSnapshot) -> None:
        """Same date, maybe another timezone: reminders not yet sent take the new instants."""
        self.state.renewal_at = snap.renewal_at
        for reminder in self.state.reminders:
            if reminder.state == "armed" and reminder.trigger in snap.reminders:
                reminder.at = snap.reminders[reminder.trigger]

    async def _send(self, reminder: Reminder) -> None:
        assert self.state.renewal_date is not None
        reminder.state = "sent"
        reminder.fired_at = workflow.now().isoformat()
        prepared: list[PreparedReminder] = await workflow.execute_activity(
            prepare_membership_reminder,
            ReminderInput(
                self.state.sub_account_id,
                self.state.membership_id,
                self.state.renewal_date,
                reminder.trigger,
                workflow.now().isoformat(),
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        # What may go now goes first; SMS held by quiet hours follow, earliest release first.
        for item in sorted(prepared, key=lambda p: p.hold_until or ""):
            if item.hold_until is not None:
                # Quiet hours: a durable timer, so a restart does not lose the held message.
                wait = _at(item.hold_until) - workflow.now()
                if wait > timedelta(0):
                    await workflow.sleep(wait)
                    # Hours may have passed: a membership cancelled meanwhile gets no reminder.
                    if workflow.patched("recheck-membership-after-hold"):
                        snap: MembershipSnapshot = await workflow.execute_activity(
                            load_membership,
                            MembershipRef(self.state.sub_account_id, self.state.membership_id),
                            start_to_close_timeout=timedelta(seconds=30),
                            retry_policy=DB_RETRY,
                        )
                        if snap.status != "active":
                            await workflow.execute_activity(
                                discard_message,
                                DiscardInput(item.message_id, f"membership {snap.status}"),
                                start_to_close_timeout=timedelta(seconds=30),
                                retry_policy=DB_RETRY,
                            )
                            reminder.messages.append(
                                SentMessage(item.message_id, item.channel, "canceled")
                            )
                            continue
            result: DeliveryResult = await workflow.execute_activity(
                deliver_message,
                item.message_id,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(hours=6),
                retry_policy=SEND_RETRY,
            )
            reminder.messages.append(SentMessage(item.message_id, item.channel, result.status))

    def _outcome(self, ending: str) -> RenewalOutcome:
        return RenewalOutcome(
            ending=ending,
            renewal_date=self.state.renewal_date,
            term=self.state.term,
            reminders=self.state.reminders,
            previous_terms=self.state.previous_terms,
        )
