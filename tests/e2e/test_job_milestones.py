"""A job through every milestone over the API, as a new user would: each enabled notification
reaches the carrier, each step shows on the job's timeline, and a setting switched off sends
nothing for that milestone."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import Tenant
from tests.e2e.test_job_booked_flow import create_customer_and_job, eventually, unique_phone
from tests.support.stack import Stack, tomorrow_at


def test_every_milestone_notifies_and_shows_on_the_timeline(
    stack: Stack, live_tenant: Tenant
) -> None:
    phone = unique_phone()
    email = f"m.{uuid.uuid4().hex[:8]}@example.com"
    customer_id, job_id = create_customer_and_job(stack, live_tenant, phone, email)
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=10)

    # On site: switched off for SMS, so that milestone sends nothing.
    put = api.put(
        "/v1/notification-settings",
        json={"settings": [{"trigger": "technician_on_site", "channel": "sms", "enabled": False}]},
    )
    assert put.status_code == 200, put.text

    def sms() -> list[dict[str, Any]]:
        return stack.carrier_messages(channel="sms", to=phone)

    def mail() -> list[dict[str, Any]]:
        return stack.carrier_messages(channel="email", to=email)

    def post(type_: str, **extra: Any) -> None:
        response = api.post(f"/v1/jobs/{job_id}/events", json={"type": type_, **extra})
        assert response.status_code == 202, response.text

    post("job_booked")
    eventually(lambda: len(sms()) == 1 and len(mail()) == 1)
    start = tomorrow_at(18)
    post(
        "job_rescheduled",
        scheduled_start=start.isoformat(),
        scheduled_end=start.replace(hour=20).isoformat(),
    )
    eventually(lambda: len(sms()) == 2 and len(mail()) == 2)
    assert any("is now" in str(m["body"]) for m in sms())  # the reschedule notice
    post("technician_en_route")
    eventually(lambda: len(sms()) == 3)
    post("technician_on_site")
    post("job_complete")
    eventually(lambda: len(sms()) == 4 and len(mail()) == 3)
    invoice = api.post(
        "/v1/invoices",
        json={
            "customer_id": customer_id,
            "job_id": job_id,
            "number": f"INV-{uuid.uuid4().hex[:6]}",
            "total_cents": 24_900,
            "status": "sent",
        },
    )
    assert invoice.status_code == 201, invoice.text
    post("invoice_sent")
    eventually(lambda: len(sms()) == 5 and len(mail()) == 4)
    post("payment_received")
    eventually(lambda: len(mail()) == 5)

    bodies = [str(m["body"]) for m in sms()]
    assert not any("has arrived" in b for b in bodies)  # on site: off
    assert any("on the way" in b for b in bodies)
    assert any("$249.00" in b for b in bodies)

    def timeline() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v1/jobs/{job_id}/timeline").json()
        return body if body["workflow_status"] == "completed" else None

    body = eventually(timeline)
    events = [i["type"] for i in body["items"] if i["kind"] == "event"]
    assert events == [
        "job_booked",
        "job_rescheduled",
        "technician_en_route",
        "technician_on_site",
        "job_complete",
        "invoice_sent",
        "payment_received",
    ]
    notes = {(i["type"], i["channel"]) for i in body["items"] if i["kind"] == "notification"}
    assert notes == {
        ("job_booked", "sms"),
        ("job_booked", "email"),
        ("job_rescheduled", "sms"),
        ("job_rescheduled", "email"),
        ("technician_en_route", "sms"),
        ("job_complete", "sms"),
        ("job_complete", "email"),
        ("invoice_sent", "sms"),
        ("invoice_sent", "email"),
        ("payment_received", "email"),
    }
    assert all(i["status"] != "pending" for i in body["items"] if i["kind"] == "notification")
    assert body["pending"] == []
    assert api.get(f"/v1/jobs/{job_id}").json()["status"] == "completed"
