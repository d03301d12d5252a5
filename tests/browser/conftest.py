"""Browser tests: Debian's Chromium driven by Playwright's sync API against the whole stack.

The ``stack`` (Temporal dev server, sandbox carrier, the API with the staff UI under /app, a
worker, each in a thread of this process) comes from tests/support/stack.py. Playwright's sync
API runs its own event loop and marks it running in this thread between calls, so it must not
share its lifetime with pytest-asyncio's session loop: the browser is package-scoped (stopped
after the last browser test, before any async test runs) and is started after the stack. Tests
here are plain ``def`` tests.

Each test gets a fresh browser context. ``staff`` is a sub-account of its own with an owner
whose password is known, so tests never see each other's conversations; ``demo`` is the demo
seed of ``dramtrade seed``, used by the screenshots.
"""

from __future__ import annotations

import functools
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from dramtrade.demo import DemoSeed
from tests.conftest import Tenant, make_tenant
from tests.support.stack import Stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}
REPO = Path(__file__).resolve().parents[2]
# The suite always draws the README's screenshots; it writes them over the committed ones only
# with UPDATE_SCREENSHOTS=1, so a plain `make test` leaves the checkout clean.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else REPO / "var" / "screenshots"
)
FAILURES = REPO / "var" / "browser-failures"
STAFF_PASSWORD = "correct-horse-battery-1"  # a test user's password
T = TypeVar("T")


@dataclass(frozen=True)
class Staff:
    """A sub-account of the test's own and its owner, who signs in with ``password``."""

    tenant: Tenant
    user_id: uuid.UUID
    name: str
    email: str
    password: str

    @property
    def business_number(self) -> str:
        return self.tenant.phone_number


def eventually(check: Callable[[], T | None], timeout: float = 10.0, poll: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy (for conditions outside the page)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(poll)


_phones_used: set[str] = set()


def unique_phone() -> str:
    """A valid US number (Austin's 737 area code) that no other test of this run uses."""
    while True:
        number = f"+1737{random.randint(200, 999)}{random.randint(0, 9999):04d}"
        if number not in _phones_used:
            _phones_used.add(number)
            return number


def inbound_sms(stack: Stack, from_: str, to: str, body: str) -> None:
    """A customer's handset texts the business through the sandbox carrier."""
    response = httpx.post(
        f"{stack.carrier_url}/_carrier/inbound/sms",
        json={"from": from_, "to": to, "body": body},
        timeout=10,
    )
    response.raise_for_status()
    assert response.json()["webhook_status"] == 200, response.text


def api(stack: Stack, tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers=tenant.headers, timeout=10)


def create_customer(
    stack: Stack, tenant: Tenant, first: str, last: str, phone: str, email: str | None = None
) -> str:
    payload: dict[str, object] = {
        "first_name": first,
        "last_name": last,
        "phones": [{"number": phone, "label": "mobile"}],
        "timezone": "America/Chicago",
    }
    if email:
        payload["emails"] = [{"email": email}]
    with api(stack, tenant) as client:
        response = client.post("/v1/customers", json=payload)
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the form, as a person does (fails the test if it does not land)."""
    page.goto("/app/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_url(re.compile(r"/app(?!/login)"))


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="package")
def playwright(stack: Stack) -> Iterator[Playwright]:
    # ``stack`` first: its async fixtures must be set up before Playwright marks its loop
    # running in this thread.
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)")
    # launch() gives Chromium a fresh, empty profile (user-data-dir) of its own every time.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[_failed] = report.failed
    return report


_failed = pytest.StashKey[bool]()


@pytest.fixture
def context(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=stack.api_url, viewport=DESKTOP)
    context.set_default_timeout(5_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = context.new_page()
    yield page
    if request.node.stash.get(_failed, False):
        # What the page looked like when the test failed (kept out of git, under var/).
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        try:
            page.screenshot(path=FAILURES / f"{name}.png", full_page=True)
        except Exception as exc:  # the page may be gone; the test's own error matters more
            print(f"could not screenshot the failed page: {exc}")


# --- people and data -----------------------------------------------------------------------


@functools.cache
def _staff_password_hash() -> str:
    from dramtrade.security import hash_password

    return hash_password(STAFF_PASSWORD)  # argon2 is slow on purpose: once per run


def make_staff(name: str = "Casey Morgan") -> Staff:
    """A fresh sub-account (its own business number) and its owner with a known password."""
    from dramtrade.db import session_scope
    from dramtrade.models import Role, User

    email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as session:
        tenant = make_tenant(session)
        user = User(
            sub_account_id=tenant.sub_account_id,
            email=email,
            name=name,
            role=Role.owner,
            password_hash=_staff_password_hash(),
        )
        session.add(user)
        session.flush()
        user_id = user.id
    return Staff(tenant, user_id, name, email, STAFF_PASSWORD)


@pytest.fixture
def staff(stack: Stack) -> Staff:
    return make_staff()


def add_session_cookie(context: BrowserContext, stack: Stack, staff: Staff) -> None:
    """Sign ``context`` in as ``staff``'s owner with the cookie the sign-in form would set,
    minted directly (the form is tested in test_sign_in.py; argon2 is slow on purpose)."""
    from api.ui import sessions
    from dramtrade.config import get_settings
    from dramtrade.db import session_scope
    from dramtrade.models import User

    with session_scope() as session:
        user = session.get(User, staff.user_id)
        assert user is not None
        cookie = sessions.issue(get_settings().secret_key.get_secret_value(), user)
    context.add_cookies(
        [
            {
                "name": sessions.SESSION_COOKIE,
                "value": cookie,
                "url": f"{stack.api_url}/app",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )


@pytest.fixture
def signed_in_page(page: Page, context: BrowserContext, stack: Stack, staff: Staff) -> Page:
    """A page signed in as ``staff``'s owner."""
    add_session_cookie(context, stack, staff)
    return page


@pytest.fixture(scope="session")
def demo(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> DemoSeed:
    """The demo sub-account of ``dramtrade seed`` (Lone Star Comfort), committed."""
    from dramtrade.config import get_settings
    from dramtrade.db import session_scope
    from dramtrade.demo import seed_demo

    settings = get_settings().model_copy(update={"data_dir": tmp_path_factory.mktemp("demo")})
    with session_scope() as session:
        seed = seed_demo(session, settings)
    return seed


@dataclass(frozen=True)
class DemoTraffic:
    """The demo after a morning's texts and emails; conversation ids by customer external id."""

    seed: DemoSeed
    conversations: dict[str, str]
    unknown_number: str


DEMO_UNKNOWN_NUMBER = "+15125550187"


@pytest.fixture(scope="session")
def demo_traffic(stack: Stack, demo: DemoSeed) -> DemoTraffic:
    """A morning's messages with the demo customers, sent the real way (carrier and API), so the
    screenshots show the demo's own people, not test data."""
    business = demo.business_number
    customer = demo.customer_ids
    client = httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {demo.api_key}"}, timeout=10
    )

    def send(external_id: str, **message: object) -> None:
        response = client.post(
            "/v1/messages", json={"customer_id": str(customer[external_id]), **message}
        )
        assert response.status_code == 202, response.text

    send(
        "demo-cust-4",
        channel="email",
        subject="Spring maintenance for 600 Congress Ave",
        body="Hi Sam, your rooftop units are due for their spring maintenance. Reply with a "
        "day that suits you and we will book it.",
        html="<p>Hi Sam,</p><p>Your rooftop units are due for their <strong>spring "
        "maintenance</strong>. Reply with a day that suits you and we will book it.</p>",
    )
    inbound_sms(
        stack,
        "+15125550133",
        business,
        "Do you service heat pumps? Ours started rattling last night.",
    )
    inbound_sms(
        stack,
        "+15125550122",
        business,
        "Got invoice INV-1001, thanks! Can I pay by card over the phone?",
    )
    inbound_sms(
        stack,
        DEMO_UNKNOWN_NUMBER,
        business,
        "Hi, a neighbor recommended you. Do you do duct cleaning?",
    )
    inbound_sms(
        stack,
        "+15125550111",
        business,
        "Hi! Is Marco still coming tomorrow at 9? I'll leave the side gate open.",
    )
    send(
        "demo-cust-1",
        channel="sms",
        body="Yes, Marco will be there between 9 and 11 AM. Thanks for the heads-up about "
        "the gate!",
    )

    def conversations() -> dict[str, str] | None:
        items = client.get("/v1/conversations", params={"limit": 50}).json()["items"]
        found = {
            ext: item["id"]
            for item in items
            for ext, cid in customer.items()
            if item.get("customer_id") == str(cid)
        }
        return found if len(found) == 4 and len(items) >= 5 else None

    found = eventually(conversations)

    def delivered() -> bool:
        rows = client.get(f"/v1/conversations/{found['demo-cust-1']}/messages").json()["items"]
        return any(m["direction"] == "outbound" and m["status"] == "delivered" for m in rows)

    eventually(delivered)
    client.close()
    return DemoTraffic(demo, found, DEMO_UNKNOWN_NUMBER)
