"""Replay: recorded histories of every workflow run against the current workflow code.

A change to workflow code that would break a running execution (a new activity call, a
removed timer, a reordered step) fails here. Such changes need ``workflow.patched(...)``
(or a new workflow type); after a deliberate, versioned change, re-record the histories:

    .venv/bin/python scripts/record_workflow_histories.py            # all
    .venv/bin/python scripts/record_workflow_histories.py membership  # a subset (-k)

which runs the ``test_record_*`` scenarios below with ``RECORD_WORKFLOW_HISTORIES=1`` on the
time-skipping test server, the real activities, the test database and the sandbox carrier,
and rewrites ``tests/workflows/histories/*.json``. Keep the old files that still matter for
executions in flight (rename them, e.g. ``membership_renewal.v1.json``): every file here is
replayed.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from tests.workflows.conftest import WorkerControl
from worker import WORKFLOWS
from workflows.membership_renewal import MembershipRenewalInput

HISTORIES = Path(__file__).parent / "histories"
RECORDING = os.environ.get("RECORD_WORKFLOW_HISTORIES") == "1"
# Every registered workflow type must have at least one recorded history: file name prefix.
HISTORY_PREFIX = {
    "JobLifecycleWorkflow": "job_lifecycle",
    "SendMessageWorkflow": "send_message",
    "MembershipRenewalWorkflow": "membership_renewal",
}


def history_files() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


@pytest.mark.skipif(RECORDING, reason="recording")
@pytest.mark.parametrize("path", history_files(), ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path) -> None:
    await Replayer(workflows=WORKFLOWS).replay_workflow(load(path))


@pytest.mark.skipif(RECORDING, reason="recording")
def test_every_workflow_has_a_recorded_history() -> None:
    names = {p.stem.split(".")[0] for p in history_files()}
    for wf in WORKFLOWS:
        defn = workflow._Definition.must_from_class(wf)  # type: ignore[attr-defined]
        assert HISTORY_PREFIX.get(defn.name or "") in names, f"no recorded history for {defn.name}"


@workflow.defn(name="MembershipRenewalWorkflow")
class ChangedMembershipRenewal:
    """The renewal workflow with a step added in front: what an unversioned change looks like."""

    @workflow.run
    async def run(self, inp: MembershipRenewalInput) -> None:
        await workflow.sleep(timedelta(seconds=1))


@pytest.mark.skipif(RECORDING, reason="recording")
async def test_a_non_deterministic_change_fails_the_replay() -> None:
    path = HISTORIES / "membership_renewal.json"
    with pytest.raises(NondeterminismError):
        # Unsandboxed: this test module itself is not importable inside the sandbox.
        replayer = Replayer(
            workflows=[ChangedMembershipRenewal], workflow_runner=UnsandboxedWorkflowRunner()
        )
        await replayer.replay_workflow(load(path))


# ------------------------------------------------------------------------------- recording

recording = pytest.mark.skipif(not RECORDING, reason="set RECORD_WORKFLOW_HISTORIES=1")


async def save(handle: WorkflowHandle, name: str) -> None:  # type: ignore[type-arg]
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())


@recording
async def test_record_membership_renewal(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl
) -> None:
    """Start, a moved date, the 30-day email, a 7-day SMS held by quiet hours, then the next
    term (continue-as-new): the first run's history."""
    from datetime import date

    from dramtrade.db import session_scope
    from dramtrade.models import SubAccount
    from tests.workflows.test_membership_renewal import make_member, skip_to, start, until
    from workflows.membership_renewal import CHANGED_SIGNAL

    task_queue = wf_worker.task_queue
    now = await ts_env.get_current_time()
    today = now.date()
    member = make_member(today + timedelta(days=60))
    with session_scope() as session:
        account = session.get_one(SubAccount, member.sub_account_id)
        account.quiet_hours_start, account.quiet_hours_end = "09:00", "12:00"
    handle = await start(ts_env.client, member, task_queue)
    first_run = (await handle.describe()).run_id
    await until(handle, lambda s: s.renewal_date is not None)
    moved: date = today + timedelta(days=70)
    member.update(renewal_date=moved)
    await handle.signal(CHANGED_SIGNAL)
    await until(handle, lambda s: s.renewal_date == moved.isoformat())
    seven_days = datetime.combine(moved - timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    await skip_to(ts_env, seven_days + timedelta(days=1))
    await until(handle, lambda s: all(r.state == "sent" and r.messages for r in s.reminders))
    member.update(renewal_date=moved + timedelta(days=365))
    await handle.signal(CHANGED_SIGNAL)
    await until(handle, lambda s: s.term == 2)
    await save(ts_env.client.get_workflow_handle(handle.id, run_id=first_run), "membership_renewal")


@recording
async def test_record_send_message(ts_env: WorkflowEnvironment, wf_worker: WorkerControl) -> None:
    from dramtrade import outbound
    from dramtrade.db import session_scope
    from dramtrade.models import Channel, Customer
    from tests.workflows.test_membership_renewal import make_member
    from workflows.send_message import SendMessageWorkflow, workflow_id

    task_queue = wf_worker.task_queue
    member = make_member((await ts_env.get_current_time()).date() + timedelta(days=90))
    with session_scope() as session:
        customer = session.get_one(Customer, member.customer_id)
        message = outbound.create(
            session,
            outbound.Draft(
                sub_account_id=member.sub_account_id,
                customer=customer,
                channel=Channel.sms,
                to=member.phone,
                from_=member.tenant.phone_number,
                body="Your technician is on the way.",
                idempotency_key=f"replay:{uuid.uuid4()}",
            ),
        )
        message_id = str(message.id)
    handle = await ts_env.client.start_workflow(
        SendMessageWorkflow.run, message_id, id=workflow_id(message_id), task_queue=task_queue
    )
    assert await handle.result() == "queued"
    await save(handle, "send_message")


@recording
async def test_record_job_lifecycle(
    ts_env: WorkflowEnvironment, wf_worker: WorkerControl, wf_carrier: str
) -> None:
    """Booked, the day-before reminder re-armed by a reschedule and fired, a repeated event,
    every milestone, paid: a whole job."""
    from tests.workflows.test_job_lifecycle import book, local, reschedule, skip_to

    now = await ts_env.get_current_time()
    booking = await book(ts_env, wf_worker, wf_carrier, start=local(3, 14, now))
    handle = await booking.event("job_booked", event_id="evt-booked")
    await booking.event("job_booked", event_id="evt-booked")  # the platform repeats itself
    reschedule(booking, local(4, 9, now))
    await booking.event("job_rescheduled")
    await skip_to(ts_env, local(3, 10, now) + timedelta(minutes=5))
    for milestone in (
        "technician_en_route",
        "technician_on_site",
        "job_complete",
        "invoice_sent",
        "payment_received",
    ):
        await booking.event(milestone)
    await handle.result()
    await save(handle, "job_lifecycle")
