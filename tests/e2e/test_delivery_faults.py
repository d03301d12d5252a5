"""Promises 1 and 2 under fire: N messages, each sent by its own SendMessageWorkflow, while
the carrier answers 20% of sends with 5xx, some with 429 + Retry-After, loses some responses
after accepting the message, goes down for an outage window, and the worker is stopped and
restarted mid-way. The carrier's wire log must show each message exactly once, and every row
must end delivered with the sid the carrier gave it.

``FAULT_TEST_N`` sets N (default 120); ``bench/send_under_faults.py`` runs the same driver
with 1,000 messages and a 30-second outage.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client

from dramtrade import outbound
from dramtrade.db import session_scope
from dramtrade.models import Channel, Customer, Message
from tests.conftest import Tenant
from tests.e2e.conftest import Stack
from workflows.send_message import SendMessageWorkflow, workflow_id

FAULTS: dict[str, Any] = {
    "error_rate": 0.2,
    "error_status": 500,
    # A short Retry-After on the 5xx keeps the retries (and the test) short without touching
    # the production backoff; the outage's 503s say how long is left themselves.
    "error_retry_after": 1,
    "rate_limit_rate": 0.05,
    "rate_limit_retry_after": 1,
    "lost_response_rate": 0.05,
    "latency_seconds": 0.01,
    # Status callbacks later than the retry: otherwise the first callback would give the row
    # its sid before the retry and the lookup before a resend would never be exercised.
    "callback_delay_seconds": 2.5,
}
SETTLED = {"delivered", "undelivered", "failed", "suppressed"}


@dataclass
class FaultRun:
    n: int
    wire_counts: dict[str, int]  # outbound SMS per `to` on the carrier's wire log
    statuses: Counter[str]
    retried: int  # rows that needed more than one attempt
    mismatched_sids: int  # rows whose provider_id is not the carrier's sid for their `to`
    elapsed: float  # first workflow start to the last row settled
    phones: list[str] = field(default_factory=list)

    @property
    def sent_once(self) -> int:
        return sum(1 for p in self.phones if self.wire_counts.get(p, 0) == 1)

    @property
    def duplicates(self) -> int:
        return sum(max(0, self.wire_counts.get(p, 0) - 1) for p in self.phones)

    @property
    def lost(self) -> int:
        return sum(1 for p in self.phones if self.wire_counts.get(p, 0) == 0)

    def summary(self) -> str:
        return (
            f"n={self.n} sent_once={self.sent_once} duplicates={self.duplicates} "
            f"lost={self.lost} statuses={dict(self.statuses)} retried={self.retried} "
            f"mismatched_sids={self.mismatched_sids} "
            f"elapsed={self.elapsed:.1f}s throughput={self.n / self.elapsed:.1f} msg/s"
        )


def create_rows(tenant: Tenant, n: int) -> list[tuple[uuid.UUID, str]]:
    """N customers of the tenant, each with one pending SMS row (idempotency-keyed)."""
    run = uuid.uuid4().hex[:8]
    prefix = f"+1738{random.randrange(1000):03d}"  # +1738 is used by no other test
    rows: list[tuple[uuid.UUID, str]] = []
    with session_scope() as session:
        for i in range(n):
            phone = f"{prefix}{i:04d}"
            customer = Customer(
                sub_account_id=tenant.sub_account_id, first_name=f"Fault{i}", last_name=run
            )
            session.add(customer)
            session.flush()
            message = outbound.create(
                session,
                outbound.Draft(
                    sub_account_id=tenant.sub_account_id,
                    customer=customer,
                    channel=Channel.sms,
                    to=phone,
                    from_=tenant.phone_number,
                    body=f"Your technician is on the way ({run}-{i})",
                    source="notification",
                    trigger="tech_en_route",
                    idempotency_key=f"fault:{run}:{i}",
                ),
            )
            session.flush()
            rows.append((message.id, phone))
    return rows


def _post_faults(carrier_url: str, faults: dict[str, Any]) -> None:
    httpx.post(f"{carrier_url}/_carrier/faults", json=faults, timeout=10).raise_for_status()


async def run_under_faults(
    *,
    client: Client,
    task_queue: str,
    carrier_url: str,
    tenant: Tenant,
    n: int,
    outage_seconds: float,
    outage_at: float,
    restart_at: float,
    worker_down_seconds: float,
    stop_worker: Callable[[], None],
    start_worker: Callable[[], None],
    seed: int = 20261203,
    settle_timeout: float = 120.0,
    log: Callable[[str], None] = lambda _: None,
) -> FaultRun:
    """Send N rows through SendMessageWorkflow under the carrier's faults; count the wire."""
    rows = create_rows(tenant, n)
    log(f"{n} rows written")
    _post_faults(carrier_url, {**FAULTS, "seed": seed})
    try:
        started = time.monotonic()

        async def chaos() -> None:
            await asyncio.sleep(outage_at)
            log(f"outage for {outage_seconds}s")
            await asyncio.to_thread(_post_faults, carrier_url, {"outage_seconds": outage_seconds})
            await asyncio.sleep(max(0.0, restart_at - outage_at))
            log("worker stopping")
            await asyncio.to_thread(stop_worker)
            await asyncio.sleep(worker_down_seconds)
            await asyncio.to_thread(start_worker)
            log("worker restarted")

        chaos_task = asyncio.create_task(chaos())
        handles = await asyncio.gather(
            *(
                client.start_workflow(
                    SendMessageWorkflow.run,
                    str(message_id),
                    id=workflow_id(str(message_id)),
                    task_queue=task_queue,
                )
                for message_id, _ in rows
            )
        )
        log("workflows started")
        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), timeout=settle_timeout
        )
        await chaos_task
        log(f"workflows done: {Counter(results)}")
        statuses = await _settled_statuses([m for m, _ in rows], settle_timeout)
        elapsed = time.monotonic() - started
    finally:
        httpx.delete(f"{carrier_url}/_carrier/faults", timeout=10).raise_for_status()

    wire = httpx.get(
        f"{carrier_url}/_carrier/messages",
        params={"direction": "outbound", "channel": "sms"},
        timeout=30,
    ).json()
    ours = {phone for _, phone in rows}
    counts = Counter(str(m["to"]) for m in wire if m["to"] in ours)
    sid_by_to = {str(m["to"]): str(m["provider_id"]) for m in wire if m["to"] in ours}
    with session_scope() as session:
        messages = session.scalars(select(Message).where(Message.id.in_([m for m, _ in rows])))
        by_id = {m.id: m for m in messages}
        retried = sum(1 for m in by_id.values() if m.attempts > 1)
        mismatched = sum(1 for m, phone in rows if by_id[m].provider_id != sid_by_to.get(phone))
    return FaultRun(
        n=n,
        wire_counts=dict(counts),
        statuses=statuses,
        retried=retried,
        mismatched_sids=mismatched,
        elapsed=elapsed,
        phones=[phone for _, phone in rows],
    )


async def _settled_statuses(ids: list[uuid.UUID], timeout: float) -> Counter[str]:
    """Wait for the status callbacks to bring every row to a final state."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            statuses = Counter(session.scalars(select(Message.status).where(Message.id.in_(ids))))
        if set(statuses) <= SETTLED or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.25)


async def test_each_message_once_under_faults_and_a_worker_restart(
    stack: Stack, live_tenant: Tenant
) -> None:
    n = int(os.environ.get("FAULT_TEST_N", "120"))

    result = await run_under_faults(
        client=stack.env.client,
        task_queue=stack.task_queue,
        carrier_url=stack.carrier_url,
        tenant=live_tenant,
        n=n,
        outage_seconds=5,
        outage_at=0.5,
        restart_at=2.0,
        worker_down_seconds=1.5,
        stop_worker=stack.stop_worker,
        start_worker=stack.start_worker,
        settle_timeout=90,
    )

    print(result.summary())
    assert result.lost == 0, result.summary()
    assert result.duplicates == 0, result.summary()
    assert result.sent_once == n
    assert result.statuses == Counter({"delivered": n}), result.summary()
    assert result.mismatched_sids == 0, result.summary()
    assert result.retried > 0  # the faults did bite


async def test_email_whose_response_was_lost_is_not_sent_again(
    stack: Stack, live_tenant: Tenant
) -> None:
    """SendGrid has no lookup: the retry waits for the `processed` event of the first send."""
    address = f"lost.{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        customer = Customer(sub_account_id=live_tenant.sub_account_id, first_name="Lost")
        session.add(customer)
        session.flush()
        message_id = outbound.create(
            session,
            outbound.Draft(
                sub_account_id=live_tenant.sub_account_id,
                customer=customer,
                channel=Channel.email,
                to=address,
                from_="office@example.com",
                subject="Your invoice",
                body="Thanks for your business",
                source="notification",
                trigger="invoice_sent",
                idempotency_key=f"lost-email:{address}",
            ),
        ).id
    # The answer is lost after acceptance and says "retry in 1 s"; the events come later.
    _post_faults(
        stack.carrier_url,
        {
            "http_errors": [
                {"api": "sendgrid", "status": 500, "retry_after": 1, "after_accept": True}
            ],
            "callback_delay_seconds": 2.5,
        },
    )
    try:
        status = await stack.env.client.execute_workflow(
            SendMessageWorkflow.run,
            str(message_id),
            id=workflow_id(str(message_id)),
            task_queue=stack.task_queue,
        )
    finally:
        httpx.delete(f"{stack.carrier_url}/_carrier/faults").raise_for_status()

    wire = stack.carrier_messages(channel="email", to=address)
    assert len(wire) == 1
    assert status == "processed"
    with session_scope() as session:
        row = session.get_one(Message, message_id)
        assert row.attempts == 2
        assert row.provider_id == wire[0]["provider_id"]
