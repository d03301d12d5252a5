"""The membership renewal workflow on Temporal's time-skipping test server, with the real
activities against the test database and the sandbox carrier over HTTP (official SDKs).

Times asserted are the workflow's (skipped) time at which each reminder fired; the carrier's
wire log proves what went out, and how many times.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from dramtrade.models import Membership, Message
from tests.conftest import Tenant, make_tenant
from tests.workflows.conftest import WorkerControl, carried
from workflows.membership_renewal import (
    CHANGED_SIGNAL,
    MembershipRenewalInput,
    MembershipRenewalWorkflow,
    RenewalOutcome,
    workflow_id,
)

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
CHICAGO = "America/Chicago"


@pytest_asyncio.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server of each test's own (not the shared ``ts_env``): the tests below assert
    absolute instants around given daylight-saving changes, years ahead of the real now."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def worker(time_env: WorkflowEnvironment, wf_carrier: str) -> AsyncIterator[WorkerControl]:
    """The production worker's registrations, on a task queue of this test's own."""
    control = WorkerControl(time_env, f"renewal-{uuid.uuid4().hex[:8]}")
    await control.start()
    try:
        yield control
    finally:
        await control.stop()


@pytest.fixture
def carrier(wf_carrier: str) -> str:
    return wf_carrier


class Member:
    def __init__(
        self,
        tenant: Tenant,
        membership_id: uuid.UUID,
        customer_id: uuid.UUID,
        phone: str,
        email: str,
    ) -> None:
        self.tenant, self.sub_account_id = tenant, tenant.sub_account_id
        self.membership_id, self.customer_id = membership_id, customer_id
        self.phone, self.email = phone, email

    @property
    def wf_id(self) -> str:
        return workflow_id(str(self.sub_account_id), str(self.membership_id))

    def update(self, **values: Any) -> None:
        from dramtrade.db import session_scope

        with session_scope() as session:
            membership = session.get_one(Membership, self.membership_id)
            for name, value in values.items():
                setattr(membership, name, value)

    def messages(self) -> list[Message]:
        from dramtrade.db import session_scope

        with session_scope() as session:
            return list(
                session.scalars(
                    select(Message).where(Message.sub_account_id == self.sub_account_id)
                ).all()
            )


_counter = iter(range(1000))


def make_member(renewal: date, timezone: str = CHICAGO, status: str = "active") -> Member:
    from dramtrade.db import session_scope
    from dramtrade.models import Customer, CustomerEmail, CustomerPhone, Template
    from dramtrade.provisioning import DEFAULT_TEMPLATES

    n = next(_counter)
    phone = f"+1737{os.getpid() % 1000:03d}{n:04d}"
    email = f"member{n}-{uuid.uuid4().hex[:6]}@example.net"
    with session_scope() as session:
        tenant = make_tenant(session, name="Lone Star Comfort")
        seeded = {(t.trigger, t.channel.value) for t in DEFAULT_TEMPLATES}
        for trigger in ("membership_renewal_30d", "membership_renewal_7d"):
            for channel in ("sms", "email"):
                if (trigger, channel) in seeded:
                    continue  # provisioning seeds it
                session.add(
                    Template(
                        sub_account_id=tenant.sub_account_id,
                        name=f"{trigger} {channel}",
                        channel=channel,
                        category="notification",
                        trigger=trigger,
                        subject="Your {{membership_plan}} renews {{renewal_date}}"
                        if channel == "email"
                        else None,
                        body="Hi {{first_name}}, your {{membership_plan}} membership renews on "
                        "{{renewal_date}}.",
                    )
                )
        customer = Customer(
            sub_account_id=tenant.sub_account_id,
            first_name="Dana",
            last_name="Whitfield",
            timezone=timezone,
        )
        session.add(customer)
        session.flush()
        session.add(
            CustomerPhone(sub_account_id=tenant.sub_account_id, customer_id=customer.id, e164=phone)
        )
        session.add(
            CustomerEmail(
                sub_account_id=tenant.sub_account_id, customer_id=customer.id, email=email
            )
        )
        membership = Membership(
            sub_account_id=tenant.sub_account_id,
            customer_id=customer.id,
            plan="Comfort Club",
            renewal_date=renewal,
            status=status,
        )
        session.add(membership)
        session.flush()
        return Member(tenant, membership.id, customer.id, phone, email)


async def start(
    client: Client, member: Member, task_queue: str
) -> WorkflowHandle[MembershipRenewalWorkflow, RenewalOutcome]:
    """Signal-with-start, as the API does."""
    return await client.start_workflow(
        MembershipRenewalWorkflow.run,
        MembershipRenewalInput(str(member.sub_account_id), str(member.membership_id)),
        id=member.wf_id,
        task_queue=task_queue,
        start_signal=CHANGED_SIGNAL,
    )


async def state_of(handle: WorkflowHandle[Any, Any]) -> MembershipRenewalInput:
    return await handle.query(MembershipRenewalWorkflow.status)


async def until(handle: WorkflowHandle[Any, Any], check: Any, timeout: float = 20) -> Any:
    """Poll the workflow's state (real time) until ``check(state)`` is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            state = await state_of(handle)
        except Exception:  # the run may be continuing as new between polls
            state = None
        if state is not None and check(state):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met; last state {state}")
        await asyncio.sleep(0.1)


def utc(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value).astimezone(UTC)


def fired(outcome: RenewalOutcome | MembershipRenewalInput) -> dict[str, datetime]:
    """When each sent reminder fired, to the minute (the wake itself takes milliseconds)."""
    return {
        r.trigger: utc(r.fired_at).replace(second=0, microsecond=0)
        for r in outcome.reminders
        if r.state == "sent"
    }


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)


# ------------------------------------------------------------------------------------ tests


async def test_reminders_fire_at_ten_local_across_spring_forward(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    # Chicago springs forward on 2035-03-11. 30 days before 2035-03-20 is 2035-02-18 (CST,
    # UTC-6); 7 days before is 2035-03-13 (CDT, UTC-5): 10:00 local is 16:00Z, then 15:00Z.
    # (Dates years ahead: the test server's clock starts at the real now.)
    member = make_member(date(2035, 3, 20))
    handle = await start(time_env.client, member, worker.task_queue)
    outcome: RenewalOutcome = await handle.result()

    assert outcome.ending == "lapsed"
    assert fired(outcome) == {
        "membership_renewal_30d": datetime(2035, 2, 18, 16, 0, tzinfo=UTC),
        "membership_renewal_7d": datetime(2035, 3, 13, 15, 0, tzinfo=UTC),
    }
    by_trigger = {r.trigger: sorted(m.channel for m in r.messages) for r in outcome.reminders}
    assert by_trigger == {
        "membership_renewal_30d": ["email"],
        "membership_renewal_7d": ["email", "sms"],
    }
    sms, emails = carried(carrier, to=member.phone), carried(carrier, to=member.email)
    assert len(sms) == 1 and len(emails) == 2
    assert "March 20, 2035" in str(sms[0]["body"])
    keys = sorted(m.idempotency_key or "" for m in member.messages())
    assert keys == sorted(
        f"membership:{member.membership_id}:2035-03-20:{trigger}:{channel}:{to}"
        for trigger, channel, to in [
            ("membership_renewal_30d", "email", member.email),
            ("membership_renewal_7d", "email", member.email),
            ("membership_renewal_7d", "sms", member.phone),
        ]
    )


async def test_fall_back_keeps_ten_local(
    time_env: WorkflowEnvironment, worker: WorkerControl
) -> None:
    # Chicago falls back on 2035-11-04: 30 days before 2035-11-15 is 2035-10-16 (CDT, 15:00Z),
    # 7 days before is 2035-11-08 (CST, 16:00Z).
    member = make_member(date(2035, 11, 15))
    handle = await start(time_env.client, member, worker.task_queue)
    outcome: RenewalOutcome = await handle.result()
    assert fired(outcome) == {
        "membership_renewal_30d": datetime(2035, 10, 16, 15, 0, tzinfo=UTC),
        "membership_renewal_7d": datetime(2035, 11, 8, 16, 0, tzinfo=UTC),
    }


async def test_moving_the_date_re_arms_the_timers(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    member = make_member(date(2035, 6, 15))
    handle = await start(time_env.client, member, worker.task_queue)
    await until(handle, lambda s: s.renewal_date == "2035-06-15")
    # A correction before anything fired: the same term, new instants.
    member.update(renewal_date=date(2035, 7, 20))
    await handle.signal(CHANGED_SIGNAL)
    await until(handle, lambda s: s.renewal_date == "2035-07-20")
    outcome: RenewalOutcome = await handle.result()
    assert outcome.term == 1
    assert fired(outcome) == {
        "membership_renewal_30d": datetime(2035, 6, 20, 15, 0, tzinfo=UTC),
        "membership_renewal_7d": datetime(2035, 7, 13, 15, 0, tzinfo=UTC),
    }
    assert all("2035-07-20" in (m.idempotency_key or "") for m in member.messages())
    assert len(carried(carrier, to=member.phone)) == 1


async def test_cancelling_ends_without_sending(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    member = make_member(date(2035, 5, 1))
    handle = await start(time_env.client, member, worker.task_queue)
    await until(handle, lambda s: s.renewal_date == "2035-05-01")
    member.update(status="cancelled")
    await handle.signal(CHANGED_SIGNAL)
    outcome: RenewalOutcome = await handle.result()
    assert outcome.ending == "cancelled"
    assert member.messages() == []
    assert carried(carrier, to=member.phone) == [] and carried(carrier, to=member.email) == []


async def test_renewal_continues_as_new_into_the_next_term(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    member = make_member(date(2035, 4, 10))
    handle = await start(time_env.client, member, worker.task_queue)
    first_run = (await handle.describe()).run_id
    # Past the 7-day reminder: both of this term's reminders went out.
    await skip_to(time_env, datetime(2035, 4, 3, 15, 30, tzinfo=UTC))
    await until(handle, lambda s: all(r.state == "sent" and r.messages for r in s.reminders))
    # The platform renews: the date moves a year on.
    member.update(renewal_date=date(2036, 4, 10))
    await handle.signal(CHANGED_SIGNAL)
    state = await until(handle, lambda s: s.term == 2 and s.renewal_date == "2036-04-10")
    assert state.previous_terms == ["2035-04-10"]
    assert (await handle.describe()).run_id != first_run
    outcome: RenewalOutcome = await handle.result()
    assert outcome.term == 2
    assert fired(outcome) == {
        "membership_renewal_30d": datetime(2036, 3, 11, 15, 0, tzinfo=UTC),
        "membership_renewal_7d": datetime(2036, 4, 3, 15, 0, tzinfo=UTC),
    }
    assert len(carried(carrier, to=member.phone)) == 2  # one 7-day SMS per term
    assert len(carried(carrier, to=member.email)) == 4


async def test_late_creation_skips_reminders_already_past(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    today = (await time_env.get_current_time()).date()
    twenty = make_member(today + timedelta(days=20))
    five = make_member(today + timedelta(days=5))
    h20 = await start(time_env.client, twenty, worker.task_queue)
    h5 = await start(time_env.client, five, worker.task_queue)
    out20: RenewalOutcome = await h20.result()
    out5: RenewalOutcome = await h5.result()
    assert {r.trigger: r.state for r in out20.reminders} == {
        "membership_renewal_30d": "skipped",
        "membership_renewal_7d": "sent",
    }
    assert {r.state for r in out5.reminders} == {"skipped"}
    assert len(carried(carrier, to=twenty.phone)) == 1
    assert len(carried(carrier, to=twenty.email)) == 1
    assert five.messages() == []


async def test_duplicates_never_double_send(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    member = make_member(date(2035, 9, 30))
    handle = await start(time_env.client, member, worker.task_queue)
    # The API may retry its signal-with-start; the platform may PATCH the same values again.
    for _ in range(3):
        await start(time_env.client, member, worker.task_queue)
        await handle.signal(CHANGED_SIGNAL)
    await skip_to(time_env, datetime(2035, 9, 23, 15, 0, 30, tzinfo=UTC))
    await asyncio.gather(*(handle.signal(CHANGED_SIGNAL) for _ in range(5)))
    state = await until(
        handle, lambda s: all(r.state == "sent" and r.messages for r in s.reminders)
    )
    assert sum(len(r.messages) for r in state.reminders) == 3

    # An activity retried after its answer was lost writes the same rows and sends nothing.
    from activities.memberships import ReminderInput, prepare_membership_reminder
    from activities.notifications import deliver_message

    again = prepare_membership_reminder(
        ReminderInput(
            str(member.sub_account_id),
            str(member.membership_id),
            "2035-09-30",
            "membership_renewal_7d",
            datetime(2035, 9, 23, 15, 1, tzinfo=UTC).isoformat(),
        )
    )
    assert {p.message_id for p in again} == {
        m.message_id for r in state.reminders for m in r.messages if r.trigger.endswith("7d")
    }
    for prepared in again:
        deliver_message(prepared.message_id)
    assert len(carried(carrier, to=member.phone)) == 1
    assert len(carried(carrier, to=member.email)) == 2
    assert len(member.messages()) == 3


async def test_sms_waits_out_quiet_hours_and_settings_pick_the_channels(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    from dramtrade import notification_settings
    from dramtrade.db import session_scope
    from dramtrade.models import SubAccount

    member = make_member(date(2035, 9, 30))
    with session_scope() as session:
        account = session.get_one(SubAccount, member.sub_account_id)
        # A quiet window over the 10:00 send time; the 30-day reminder by SMS only.
        account.quiet_hours_start, account.quiet_hours_end = "09:00", "12:00"
        notification_settings.update(
            session,
            account,
            [
                notification_settings.CellUpdate("membership_renewal_30d", "email", False),
                notification_settings.CellUpdate("membership_renewal_30d", "sms", True),
            ],
        )
    handle = await start(time_env.client, member, worker.task_queue)
    # 7-day reminder: 2035-09-23 10:00 CDT (15:00Z); the email goes, the SMS waits for 12:00.
    await skip_to(time_env, datetime(2035, 9, 23, 16, 0, tzinfo=UTC))
    await until(
        handle, lambda s: any(m.channel == "email" for r in s.reminders for m in r.messages)
    )
    assert len(carried(carrier, to=member.email)) == 1
    # The 30-day SMS was held too, and went at noon local on 2035-08-31.
    assert len(carried(carrier, to=member.phone)) == 1
    await skip_to(time_env, datetime(2035, 9, 23, 17, 1, tzinfo=UTC))
    await until(handle, lambda s: all(len(r.messages) for r in s.reminders))
    assert len(carried(carrier, to=member.phone)) == 2
    assert len(carried(carrier, to=member.email)) == 1
    history = await handle.fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]
    assert any(timedelta(hours=1, minutes=59) < t <= timedelta(hours=2) for t in timers)


async def test_an_sms_held_for_quiet_hours_is_dropped_if_the_membership_is_cancelled(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    from dramtrade import notification_settings
    from dramtrade.db import session_scope
    from dramtrade.models import Membership, MembershipStatus, Message, SubAccount

    member = make_member(date(2035, 9, 30))
    with session_scope() as session:
        account = session.get_one(SubAccount, member.sub_account_id)
        account.quiet_hours_start, account.quiet_hours_end = "09:00", "12:00"
        notification_settings.update(
            session,
            account,
            [
                notification_settings.CellUpdate("membership_renewal_30d", "email", False),
                notification_settings.CellUpdate("membership_renewal_30d", "sms", False),
            ],
        )
    handle = await start(time_env.client, member, worker.task_queue)
    # 7-day reminder at 10:00 local: the email goes, the SMS waits for 12:00.
    await skip_to(time_env, datetime(2035, 9, 23, 16, 0, tzinfo=UTC))
    await until(
        handle, lambda s: any(m.channel == "email" for r in s.reminders for m in r.messages)
    )
    with session_scope() as session:
        session.get_one(Membership, member.membership_id).status = MembershipStatus.cancelled
    await skip_to(time_env, datetime(2035, 9, 23, 17, 1, tzinfo=UTC))
    state = await until(handle, lambda s: len(s.reminders[-1].messages) == 2)
    assert [m.status for m in state.reminders[-1].messages] == ["processed", "canceled"]
    assert carried(carrier, to=member.phone) == []
    with session_scope() as session:
        sms = session.scalars(
            select(Message).where(Message.to_addr == member.phone, Message.channel == "sms")
        ).one()
        assert sms.status == "canceled"


async def test_a_worker_down_at_the_due_time_loses_nothing(
    time_env: WorkflowEnvironment, worker: WorkerControl, carrier: str
) -> None:
    member = make_member(date(2035, 6, 15))
    handle = await start(time_env.client, member, worker.task_queue)
    await until(handle, lambda s: s.renewal_date == "2035-06-15")
    await skip_to(time_env, datetime(2035, 5, 16, 14, 59, tzinfo=UTC))
    await worker.stop()
    # The 30-day timer fires with no worker (the server's clock then waits for a worker: a
    # pending workflow task stops time skipping, so only a couple of real seconds pass).
    await skip_to(time_env, datetime(2035, 5, 16, 15, 0, 2, tzinfo=UTC))
    assert member.messages() == []
    await worker.start()
    state = await until(handle, lambda s: s.reminders[0].messages)
    assert [m.channel for m in state.reminders[0].messages] == ["email"]
    assert state.reminders[1].state == "armed"
    outcome = await handle.result()
    assert fired(outcome)["membership_renewal_7d"] == datetime(2035, 6, 8, 15, 0, tzinfo=UTC)
    assert len(carried(carrier, to=member.email)) == 2
    assert len(carried(carrier, to=member.phone)) == 1


# ------------------------------------------------------------------------------ API wiring


@pytest.fixture
def api_settings(time_env: WorkflowEnvironment, worker: WorkerControl) -> Iterator[dict[str, str]]:
    """Point the API at this test's Temporal server and task queue."""
    from dramtrade.config import get_settings

    values = {
        "DRAMTRADE_TEMPORAL_ADDRESS": time_env.client.service_client.config.target_host,
        "DRAMTRADE_TEMPORAL_TASK_QUEUE": worker.task_queue,
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield values
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


async def test_api_create_and_update_signal_the_workflow(
    time_env: WorkflowEnvironment, worker: WorkerControl, api_settings: dict[str, str]
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app

    member = make_member(date(2035, 8, 1))  # its customer and tenant; a second membership:
    with TestClient(create_app()) as api:
        created = await asyncio.to_thread(
            api.post,
            "/v1/memberships",
            headers=member.tenant.headers,
            json={
                "customer_id": str(member.customer_id),
                "plan": "Gold",
                "renewal_date": "2035-09-01",
            },
        )
        assert created.status_code == 201, created.text
        new_id = created.json()["id"]
        handle = time_env.client.get_workflow_handle_for(
            MembershipRenewalWorkflow.run, workflow_id(str(member.sub_account_id), new_id)
        )
        await until(handle, lambda s: s.renewal_date == "2035-09-01")

        moved = await asyncio.to_thread(
            api.patch,
            f"/v1/memberships/{new_id}",
            headers=member.tenant.headers,
            json={"renewal_date": "2035-10-01"},
        )
        assert moved.status_code == 200, moved.text
        await until(handle, lambda s: s.renewal_date == "2035-10-01")

        cancelled = await asyncio.to_thread(
            api.patch,
            f"/v1/memberships/{new_id}",
            headers=member.tenant.headers,
            json={"status": "cancelled"},
        )
        assert cancelled.status_code == 200, cancelled.text
        outcome = await handle.result()
        assert outcome.ending == "cancelled"

        # The untouched first membership gets its workflow from the resync endpoint.
        resync = await asyncio.to_thread(
            api.post, "/v1/memberships/renewal-workflows/resync", headers=member.tenant.headers
        )
        assert resync.json() == {"active": 1, "signalled": 1}
        first = time_env.client.get_workflow_handle_for(MembershipRenewalWorkflow.run, member.wf_id)
        await until(first, lambda s: s.renewal_date == "2035-08-01")


def test_api_stores_the_change_when_temporal_is_unreachable(
    carrier: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from dramtrade.config import get_settings
    from tests.support.servers import free_port

    member = make_member(date(2035, 8, 1))
    monkeypatch.setenv("DRAMTRADE_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as api:
            moved = api.patch(
                f"/v1/memberships/{member.membership_id}",
                headers=member.tenant.headers,
                json={"renewal_date": "2035-09-15"},
            )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert moved.status_code == 200, moved.text
    from dramtrade.db import session_scope

    with session_scope() as session:
        assert session.get_one(Membership, member.membership_id).renewal_date == date(2035, 9, 15)
