"""A carrier and a receiver (standing in for our product's webhooks), both over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from twilio.rest import Client

from sandbox_carrier import CarrierConfig, create_app
from tests.support.servers import ServerThread

T = TypeVar("T")

ACCOUNT_SID = "AC" + "1234567890abcdef" * 2
AUTH_TOKEN = "test-auth-token"
SENDGRID_KEY = "SG.test-key"


@dataclass
class Hit:
    method: str
    path: str
    url: str
    headers: dict[str, str]
    body: str
    params: dict[str, str]


class Receiver:
    """Records every request; /fail* answers 500, everything else 200 with empty TwiML."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_api_route(
            "/{path:path}", self._handle, methods=["GET", "POST"], include_in_schema=False
        )

    async def _handle(self, request: Request, path: str) -> Response:
        body = (await request.body()).decode()
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            # keep_blank_values: Twilio signs empty parameters (ToState="") too.
            params = dict(parse_qsl(body, keep_blank_values=True))
        else:
            params = {}
        hit = Hit(request.method, "/" + path, str(request.url), dict(request.headers), body, params)
        with self._lock:
            self.hits.append(hit)
        if path.startswith("fail"):
            return Response("boom", status_code=500)
        return Response("<Response/>", media_type="application/xml")

    def at(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()


def wait_for(probe: Callable[[], T | None], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def wait_hits(recv: Receiver, path: str, count: int) -> list[Hit]:
    """Wait until ``path`` received at least ``count`` requests; return them all."""

    def probe() -> list[Hit] | None:
        hits = recv.at(path)
        return hits if len(hits) >= count else None

    return wait_for(probe)


@pytest.fixture(scope="session")
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with ServerThread(rec.app) as server:
        yield rec, server.url


@pytest.fixture(scope="session")
def carrier_url(receiver: tuple[Receiver, str]) -> Iterator[str]:
    _, receiver_url = receiver
    config = CarrierConfig(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        sendgrid_api_key=SENDGRID_KEY,
        sendgrid_event_webhook_url=f"{receiver_url}/sendgrid/events",
        default_sms_url=f"{receiver_url}/sms/default",
        callback_delay_seconds=0.01,
        webhook_retries=2,
    )
    with ServerThread(create_app(config)) as server:
        yield server.url


@pytest.fixture
def http(carrier_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=carrier_url, trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with an empty carrier and an empty receiver."""
    if "carrier_url" not in request.fixturenames:
        yield
        return
    carrier_url: str = request.getfixturevalue("carrier_url")
    rec, _ = request.getfixturevalue("receiver")
    httpx.delete(f"{carrier_url}/_carrier/state", trust_env=False).raise_for_status()
    rec.clear()
    yield


@pytest.fixture
def recv(receiver: tuple[Receiver, str]) -> Receiver:
    return receiver[0]


@pytest.fixture
def recv_url(receiver: tuple[Receiver, str]) -> str:
    return receiver[1]


@pytest.fixture
def twilio(carrier_url: str) -> Client:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = carrier_url
    return client


def carried(http: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    response = http.get("/_carrier/messages", params=filters)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return rows
