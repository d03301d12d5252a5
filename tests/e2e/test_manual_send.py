"""POST /v1/messages: a person's SMS or email reaches the carrier once, whatever the retries."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.conftest import Tenant
from tests.e2e.conftest import Stack
from tests.e2e.test_job_booked_flow import eventually, unique_phone


def _customer(api: httpx.Client, phone: str, email: str) -> str:
    response = api.post(
        "/v1/customers",
        json={
            "first_name": "Rosa",
            "last_name": "Diaz",
            "phones": [{"number": phone}],
            "emails": [{"email": email}],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_manual_sms_with_idempotency_key_is_sent_once(stack: Stack, live_tenant: Tenant) -> None:
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)
    phone = unique_phone()
    customer_id = _customer(api, phone, f"{uuid.uuid4().hex[:8]}@example.com")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    payload = {"customer_id": customer_id, "channel": "sms", "body": "Running 10 min late 🚐"}
    first = api.post("/v1/messages", json=payload, headers=key)
    assert first.status_code == 202, first.text
    second = api.post("/v1/messages", json=payload, headers=key)
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert first.json()["segments"] == 1  # the emoji makes it UCS-2, still one segment

    wire = eventually(lambda: stack.carrier_messages(channel="sms", to=phone))
    assert [m["body"] for m in wire] == ["Running 10 min late 🚐"]

    def delivered() -> bool:
        return api.get(f"/v1/messages/{first.json()['id']}").json()["status"] == "delivered"

    eventually(delivered)
    time.sleep(0.5)
    assert len(stack.carrier_messages(channel="sms", to=phone)) == 1


def test_manual_email_is_sanitized_and_threaded(stack: Stack, live_tenant: Tenant) -> None:
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)
    email = f"rosa.{uuid.uuid4().hex[:6]}@example.com"
    customer_id = _customer(api, unique_phone(), email)
    response = api.post(
        "/v1/messages",
        json={
            "customer_id": customer_id,
            "channel": "email",
            "subject": "Your estimate",
            "body": "Hi Rosa, your estimate is attached.",
            "html": '<p onclick="steal()">Hi <b>Rosa</b></p><script>alert(1)</script>',
        },
    )
    assert response.status_code == 202, response.text
    wire = eventually(lambda: stack.carrier_messages(channel="email", to=email))
    assert wire[0]["subject"] == "Your estimate"
    html = str(wire[0]["html"])
    assert "<b>Rosa</b>" in html
    assert "script" not in html and "onclick" not in html
    # The sub-account's branded layout (dramtrade.email_layout) goes over the wire.
    assert html.startswith("<!DOCTYPE html>")
    assert "background-color:#1f6feb" in html
    conversation = api.get("/v1/conversations", params={"customer_id": customer_id}).json()
    assert conversation["items"][0]["customer_id"] == customer_id
