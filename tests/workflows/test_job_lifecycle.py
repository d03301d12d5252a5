"""The job lifecycle workflow on the time-skipping test server: real activities against the
test database, real provider calls to the sandbox carrier. Instants asserted are the workflow's
(skipped) time; the carrier's wire log proves what went out and how many times."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from dramtrade import notification_settings
from dramtrade.db import session_scope
from dramtrade.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    Invoice,
    Job,
    Message,
    SmsConsent,
    SubAccount,
)
from tests.conftest import make_tenant
from tests.workflows.conftest import WorkerControl, carried, eventually
from workflows.job_lifecycle import (
    EVENT_SIGNAL,
    VIEW_QUERY,
    JobEventSignal,
    JobLifecycleWorkflow,
    JobWorkflowInput,
    JobWorkflowView,
    workflow_id,
)

CHICAGO = ZoneInfo("America/Chicago")


@dataclass
class Booking:
    sub_account_id: uuid.UUID
    job_id: uuid.UUID
    phone: str
    email: str
    env: WorkflowEnvironment
    worker: WorkerControl
    carrier: str

    @property
    def wf_id(self) -> str:
        return workflow_id(str(self.sub_account_id), str(self.job_id))

    async def event(self, type_: str, event_id: str | None = None) -> WorkflowHandle[Any, Any]:
        """Signal-with-start, as the events endpoint does."""
        signal = JobEventSignal(event_id or uuid.uuid4().hex, type_, datetime.now(UTC).isoformat())
        self.worker.track(self.wf_id)
        return await self.env.client.start_workflow(
            JobLifecycleWorkflow.run,
            JobWorkflowInput(sub_account_id=str(self.sub_account_id), job_id=str(self.job_id)),
            id=self.wf_id,
            task_queue=self.worker.task_queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[signal],
        )

    async def view_until(
        self, check: Callable[[JobWorkflowView], bool], timeout: float = 15.0
    ) -> JobWorkflowView:
        """The workflow's view once ``check`` holds (it acts a moment after a signal)."""
        deadline = time.monotonic() + timeout
        while True:
            view = await self.view()
            if check(view):
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"view never matched: {view}")
            await asyncio.sleep(0.05)

    async def view(self) -> JobWorkflowView:
        handle = self.env.client.get_workflow_handle(self.wf_id)
        result: JobWorkflowView = await handle.query(VIEW_QUERY, result_type=JobWorkflowView)
        return result

    def sms(self, trigger: str | None = None) -> list[dict[str, Any]]:
        return self._rows("sms", self.phone, trigger)

    def emails(self, trigger: str | None = None) -> list[dict[str, Any]]:
        return self._rows("email", self.email, trigger)

    def _rows(self, channel: str, to: str, trigger: str | None) -> list[dict[str, Any]]:
        """What reached the carrier, matched to our rows' triggers by provider id."""
        wire = [m for m in carried(self.carrier, to=to) if m.get("channel") == channel]
        if trigger is None:
            return wire
        with session_scope() as session:
            ids = set(
                session.scalars(
                    select(Message.provider_id).where(
                        Message.job_id == self.job_id, Message.trigger == trigger
                    )
                )
            )
        return [m for m in wire if m.get("sid") in ids or m.get("id") in ids]


def local(day_offset: int, hour: int, now: datetime, minute: int = 0) -> datetime:
    """``hour``:``minute`` Chicago time, ``day_offset`` local days after ``now``'s local date."""
    d = now.astimezone(CHICAGO).date() + timedelta(days=day_offset)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


async def book(
    env: WorkflowEnvironment,
    worker: WorkerControl,
    carrier: str,
    *,
    start: datetime,
    quiet_hours: bool = False,
    **account_options: Any,
) -> Booking:
    """A committed sub-account, customer and job of this test's own."""
    phone = f"+1737{uuid.uuid4().int % 10_000_000:07d}"
    email = f"wf.{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as session:
        tenant = make_tenant(session)
        account = session.get_one(SubAccount, tenant.sub_account_id)
        account.quiet_hours_enabled = quiet_hours
        for name, value in account_options.items():
            setattr(account, name, value)
        customer = Customer(
            sub_account_id=account.id,
            first_name="Dana",
            last_name="Whitfield",
            timezone="America/Chicago",
        )
        session.add(customer)
        session.flush()
        session.add_all(
            [
                CustomerPhone(sub_account_id=account.id, customer_id=customer.id, e164=phone),
                CustomerEmail(sub_account_id=account.id, customer_id=customer.id, email=email),
            ]
        )
        job = Job(
            sub_account_id=account.id,
            customer_id=customer.id,
            job_type="AC tune-up",
            scheduled_start=start,
            scheduled_end=start + timedelta(hours=2),
        )
        session.add(job)
        session.flush()
        return Booking(account.id, job.id, phone, email, env, worker, carrier)


def reschedule(booking: Booking, start: datetime) -> None:
    with session_scope() as session:
        job = session.get_one(Job, booking.job_id)
        job.scheduled_start, job.scheduled_end = start, start + timedelta(hours=2)


def rows(booking: Booking, trigger: str) -> list[Message]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(Message).where(Message.job_id == booking.job_id, Message.trigger == trigger)
            )
        )


async def skip_to(env: WorkflowEnvironment, at: datetime) -> None:
    now = await env.get_current_time()
    if at > now:
        await env.sleep(at - now)


async def test_day_before_reminder_fires_at_ten_local(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    await b.event("job_booked")
    await eventually(lambda: len(b.sms()) == 1 and len(b.emails()) == 1)
    expected = local(2, 10, now)
    await b.view_until(lambda v: v.reminder_at == expected.isoformat())

    await skip_to(ts_env, expected - timedelta(minutes=1))
    assert rows(b, "appointment_reminder") == []
    await skip_to(ts_env, expected + timedelta(minutes=1))
    await eventually(lambda: len(b.sms()) == 2)
    (reminder,) = rows(b, "appointment_reminder")
    assert reminder.channel == "sms"  # email reminders are off by default
    assert reminder.body.startswith("Reminder: Lone Star Comfort will see you tomorrow,")
    assert (await b.view()).reminder_at is None


async def test_reschedule_rearms_the_reminder(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    await b.event("job_booked")
    await eventually(lambda: len(b.sms()) == 1)
    reschedule(b, local(5, 9, now))
    await b.event("job_rescheduled")
    await eventually(lambda: len(b.sms()) == 2 and len(b.emails()) == 2)
    (notice,) = [r for r in rows(b, "job_rescheduled") if r.channel == "sms"]
    assert "9:00 AM - 11:00 AM" in notice.body
    new = local(4, 10, now)
    await b.view_until(lambda v: v.reminder_at == new.isoformat())

    await skip_to(ts_env, local(2, 10, now) + timedelta(hours=1))  # the old time passes
    assert rows(b, "appointment_reminder") == []
    await skip_to(ts_env, new + timedelta(minutes=1))
    await eventually(lambda: len(rows(b, "appointment_reminder")) == 1)
    await eventually(lambda: len(b.sms()) == 3)

    # A second reschedule is a second notice, not a repeat of the first.
    reschedule(b, local(6, 9, now))
    await b.event("job_rescheduled")
    await eventually(lambda: len([r for r in rows(b, "job_rescheduled") if r.sent_at]) == 4)
    await b.view_until(lambda v: v.reminder_at == local(5, 10, now).isoformat())


async def test_duplicated_and_out_of_order_events_never_double_send(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    handle = await b.event("job_booked", event_id="evt-1")
    await b.event("job_booked", event_id="evt-1")  # the same delivery, repeated
    await b.event("job_booked", event_id="evt-2")  # the platform re-sent the milestone
    await b.event("technician_en_route")
    await b.event("job_complete")
    await b.event("technician_on_site")  # late: after complete
    await b.event("technician_en_route")  # again
    await eventually(lambda: len(b.sms()) == 4 and len(b.emails()) == 2)
    with session_scope() as session:
        job = session.get_one(Job, b.job_id)
        session.add(
            Invoice(
                sub_account_id=b.sub_account_id,
                customer_id=job.customer_id,
                job_id=job.id,
                number="INV-1",
                total_cents=24_900,
                status="sent",
            )
        )
    await b.event("invoice_sent")
    await b.event("payment_received")
    await b.event("invoice_sent")
    assert await handle.result() == "completed"
    await eventually(lambda: len(b.sms()) == 5 and len(b.emails()) == 4)
    per_trigger = {
        trigger: len(rows(b, trigger))
        for trigger in (
            "job_booked",
            "technician_en_route",
            "technician_on_site",
            "job_complete",
            "invoice_sent",
            "payment_received",
        )
    }
    assert per_trigger == {
        "job_booked": 2,
        "technician_en_route": 1,
        "technician_on_site": 1,
        "job_complete": 2,
        "invoice_sent": 2,
        "payment_received": 1,
    }
    assert "$249.00" in rows(b, "invoice_sent")[0].body
    assert len(b.sms()) == 5 and len(b.emails()) == 4  # nothing twice on the wire
    assert (await b.view()).reminder_at is None  # the technician came: no reminder left


async def test_quiet_hours_hold_a_reminder_until_eight(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(
        ts_env,
        wf_worker,
        wf_carrier,
        start=local(3, 14, now),
        quiet_hours=True,
        appointment_reminder_time="22:00",
    )
    with session_scope() as session:  # the booking itself may be made at any hour
        notification_settings.update(
            session,
            session.get_one(SubAccount, b.sub_account_id),
            [notification_settings.CellUpdate("job_booked", "sms", True, None, False)],
        )
    await b.event("job_booked")
    await eventually(lambda: len(b.sms()) == 1)
    await skip_to(ts_env, local(2, 22, now) + timedelta(minutes=1))
    (reminder,) = await eventually(lambda: rows(b, "appointment_reminder"))
    held = (await b.view_until(lambda v: bool(v.holds))).holds
    assert [(h.trigger, h.until) for h in held] == [
        ("appointment_reminder", local(3, 8, now).isoformat())
    ]
    assert reminder.status == "pending" and reminder.sent_at is None
    await skip_to(ts_env, local(3, 7, now, minute=59))
    assert rows(b, "appointment_reminder")[0].sent_at is None
    await skip_to(ts_env, local(3, 8, now, minute=1))
    await eventually(lambda: len(b.sms()) == 2)
    await b.view_until(lambda v: v.holds == [])


async def test_en_route_sms_goes_out_at_23_local(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now), quiet_hours=True)
    await skip_to(ts_env, local(1, 23, now))
    await b.event("technician_en_route")
    await eventually(lambda: len(b.sms()) == 1)
    await b.view_until(lambda v: v.holds == [])


async def test_cancellation_sends_one_notice_and_ends_the_workflow(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    handle = await b.event("job_booked")
    await eventually(lambda: len(b.sms()) == 1)
    await b.event("job_cancelled")
    await b.event("job_cancelled")
    assert await handle.result() == "cancelled"
    await eventually(lambda: len(b.sms()) == 2 and len(b.emails()) == 2)
    assert len(rows(b, "job_cancelled")) == 2
    assert "has been cancelled" in rows(b, "job_cancelled")[0].body
    assert rows(b, "appointment_reminder") == []


async def test_a_held_message_is_dropped_when_the_job_is_cancelled(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now), quiet_hours=True)
    with session_scope() as session:  # the cancellation notice itself goes out at once
        notification_settings.update(
            session,
            session.get_one(SubAccount, b.sub_account_id),
            [notification_settings.CellUpdate("job_cancelled", "sms", True, None, False)],
        )
    await skip_to(ts_env, local(1, 22, now))
    handle = await b.event("job_booked")
    await eventually(lambda: len(b.emails()) == 1)  # email is never held
    view = await b.view_until(lambda v: bool(v.holds))
    assert [h.trigger for h in view.holds] == ["job_booked"]
    await b.event("job_cancelled")
    assert await handle.result() == "cancelled"
    booked_sms = [r for r in rows(b, "job_booked") if r.channel == "sms"]
    assert [(r.status, r.error_message) for r in booked_sms] == [
        ("canceled", "job cancelled before quiet hours ended")
    ]
    assert [m["body"] for m in b.sms()] == [rows(b, "job_cancelled")[0].body] or len(b.sms()) == 1


async def test_an_opted_out_number_is_suppressed_with_its_reason(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    with session_scope() as session:
        session.add(SmsConsent(sub_account_id=b.sub_account_id, e164=b.phone, opted_out=True))
    await b.event("job_booked")
    await eventually(lambda: len(b.emails()) == 1)
    sms = await eventually(
        lambda: [r for r in rows(b, "job_booked") if r.channel == "sms" and r.status != "pending"]
    )
    assert [(r.status, r.error_message) for r in sms] == [
        ("suppressed", "recipient opted out of SMS")
    ]
    assert b.sms() == []
    await b.view_until(lambda v: v.reminder_at is not None)


async def test_a_worker_restart_mid_workflow_loses_nothing(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    now = await ts_env.get_current_time()
    b = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    await b.event("job_booked")
    await eventually(lambda: len(b.sms()) == 1)

    # The worker stops between tasks (the test server would otherwise wait out the lost
    # activity's timeout in real time before skipping any), and signals wait for it meanwhile.
    await eventually(lambda: len(b.emails()) == 1)
    await b.view_until(lambda v: v.reminder_at == local(2, 10, now).isoformat())
    await wf_worker.stop()
    reschedule(b, local(4, 9, now))
    await b.event("job_rescheduled")
    await asyncio.sleep(1.0)
    assert len(b.sms()) == 1
    await wf_worker.start()
    await eventually(lambda: len(b.sms()) == 2)  # the reschedule notice

    # A fresh worker (nothing cached: it replays the history) keeps the re-armed timer.
    await eventually(lambda: len(b.emails()) == 2)
    await b.view_until(lambda v: v.reminder_at == local(3, 10, now).isoformat())
    await wf_worker.stop()
    await wf_worker.start()
    await skip_to(ts_env, local(3, 10, now) + timedelta(minutes=1))
    await eventually(lambda: len(b.sms()) == 3)
    assert len(rows(b, "appointment_reminder")) == 1
    assert len(rows(b, "job_rescheduled")) == 2
