"""The foundation's vertical slice: book a job, the customer gets an SMS and an email through
the official SDKs, texts back, and the reply lands in the conversation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import httpx
from twilio.request_validator import RequestValidator

from tests.conftest import Tenant
from tests.e2e.conftest import Stack, tomorrow_at

T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def create_customer_and_job(
    stack: Stack, tenant: Tenant, phone: str, email: str
) -> tuple[str, str]:
    api = httpx.Client(base_url=stack.api_url, headers=tenant.headers, timeout=10)
    customer = api.post(
        "/v1/customers",
        json={
            "first_name": "Dana",
            "last_name": "Whitfield",
            "phones": [{"number": phone, "label": "mobile"}],
            "emails": [{"email": email}],
            "timezone": "America/Chicago",
        },
    )
    assert customer.status_code == 201, customer.text
    start = tomorrow_at(15)  # 9:00 AM in Chicago
    job = api.post(
        "/v1/jobs",
        json={
            "customer_id": customer.json()["id"],
            "job_type": "AC tune-up",
            "scheduled_start": start.isoformat(),
            "scheduled_end": (start.replace(hour=17)).isoformat(),
        },
    )
    assert job.status_code == 201, job.text
    return customer.json()["id"], job.json()["id"]


def unique_phone() -> str:
    return f"+1737555{uuid.uuid4().int % 10_000:04d}"


def test_booking_sends_sms_and_email_and_reply_lands_in_conversation(
    stack: Stack, live_tenant: Tenant
) -> None:
    phone = unique_phone()
    email = f"dana.{uuid.uuid4().hex[:6]}@example.com"
    customer_id, job_id = create_customer_and_job(stack, live_tenant, phone, email)
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)

    booked = api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
    assert booked.status_code == 202, booked.text

    sms = eventually(lambda: stack.carrier_messages(channel="sms", to=phone))
    assert len(sms) == 1
    assert sms[0]["from"] == live_tenant.phone_number
    assert "Hi Dana, your AC tune-up with Lone Star Comfort is booked for" in str(sms[0]["body"])
    assert "9:00 AM - 11:00 AM" in str(sms[0]["body"])
    mail = eventually(lambda: stack.carrier_messages(channel="email", to=email))
    assert len(mail) == 1
    assert str(mail[0]["subject"]).startswith("Your AC tune-up is booked for")

    # Delivery callbacks move our rows forward, to delivered on both channels.
    def conversation_id() -> str | None:
        items = api.get("/v1/conversations", params={"customer_id": customer_id}).json()
        items = items.get("items", items) if isinstance(items, dict) else items
        return items[0]["id"] if items else None

    conv = eventually(conversation_id)

    def statuses() -> dict[str, str] | None:
        page = api.get(f"/v1/conversations/{conv}/messages").json()
        rows = page.get("items", page) if isinstance(page, dict) else page
        found = {m["channel"]: m["status"] for m in rows}
        return found if found == {"sms": "delivered", "email": "delivered"} else None

    eventually(statuses)

    # The customer texts back from the carrier's phone.
    reply = httpx.post(
        f"{stack.carrier_url}/_carrier/inbound/sms",
        json={"from": phone, "to": live_tenant.phone_number, "body": "Thanks!"},
    )
    assert reply.status_code in (200, 201), reply.text

    def inbound_bodies() -> list[str] | None:
        page = api.get(f"/v1/conversations/{conv}/messages").json()
        rows = page.get("items", page) if isinstance(page, dict) else page
        bodies = [m["body"] for m in rows if m["direction"] == "inbound"]
        return bodies or None

    assert eventually(inbound_bodies) == ["Thanks!"]

    # Repeating the same milestone sends nothing new.
    again = api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
    assert again.status_code == 202
    time.sleep(1.0)
    assert len(stack.carrier_messages(channel="sms", to=phone, direction="outbound")) == 1


def test_forged_inbound_webhook_is_refused_and_changes_nothing(
    stack: Stack, live_tenant: Tenant
) -> None:
    phone = unique_phone()
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": phone,
        "To": live_tenant.phone_number,
        "Body": "forged",
        "AccountSid": "AC" + "0" * 32,
    }
    url = f"{stack.api_url}/webhooks/twilio/sms"
    unsigned = httpx.post(url, data=params)
    assert unsigned.status_code == 403
    forged_sig = RequestValidator("not-the-token").compute_signature(url, params)
    forged = httpx.post(url, data=params, headers={"X-Twilio-Signature": forged_sig})
    assert forged.status_code == 403
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)
    page = api.get("/v1/conversations").json()
    rows = page.get("items", page) if isinstance(page, dict) else page
    assert rows == []


def test_a_cancelled_job_is_not_resurrected_by_a_late_event(
    stack: Stack, live_tenant: Tenant
) -> None:
    phone = unique_phone()
    _, job_id = create_customer_and_job(
        stack, live_tenant, phone, f"{uuid.uuid4().hex[:8]}@example.com"
    )
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)
    assert api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_cancelled"}).status_code == 202

    def finished() -> bool:
        late = api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
        assert late.status_code in (202, 409), late.text
        return late.status_code == 409

    eventually(finished)
    assert (
        "already finished"
        in api.post(f"/v1/jobs/{job_id}/events", json={"type": "technician_en_route"}).json()[
            "detail"
        ]
    )
    assert api.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_events_for_another_tenants_job_are_404(stack: Stack, live_tenant: Tenant) -> None:
    from dramtrade.db import session_scope
    from tests.conftest import make_tenant

    with session_scope() as session:
        other = make_tenant(session, name="Other Plumbing Co")
    _, job_id = create_customer_and_job(stack, other, unique_phone(), "x@example.com")
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)
    response = api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
    assert response.status_code == 404
    bad_type = api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_exploded"})
    assert bad_type.status_code == 422
    assert "type" in str(bad_type.json()["detail"])
