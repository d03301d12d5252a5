"""The job page in a real browser: the events received, the notifications they sent with their
delivery status, and the way to the workflow in Temporal's UI."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Staff, api, create_customer, eventually, unique_phone
from tests.support.stack import Stack, tomorrow_at


def test_the_job_page_shows_the_booking_and_its_delivered_notifications(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    phone, address = unique_phone(), f"omar.{uuid.uuid4().hex[:8]}@example.com"
    customer = create_customer(stack, staff.tenant, "Omar", "Haddad", phone, address)
    start = tomorrow_at(15)
    with api(stack, staff.tenant) as client:
        job = client.post(
            "/v1/jobs",
            json={
                "customer_id": customer,
                "job_type": "Heat pump install",
                "scheduled_start": start.isoformat(),
                "scheduled_end": start.replace(hour=18).isoformat(),
            },
        )
        assert job.status_code == 201, job.text
        job_id = job.json()["id"]
        booked = client.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
        assert booked.status_code == 202, booked.text
    eventually(lambda: stack.carrier_messages(channel="sms", to=phone))
    eventually(lambda: stack.carrier_messages(channel="email", to=address))

    page = signed_in_page
    page.goto(f"/app/customers/{customer}")
    page.get_by_role("link", name="Heat pump install").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Heat pump install")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text(re.compile("booked", re.I))
    expect(timeline).to_contain_text(phone)
    expect(timeline).to_contain_text(address)

    def both_delivered() -> bool:
        page.reload()  # the job page is not live: what a person does is reload
        text = timeline.inner_text()
        return text.count("delivered") >= 2

    eventually(both_delivered, timeout=10, poll=0.3)
    link = page.get_by_role("link", name=re.compile("Open in Temporal UI"))
    expect(link).to_have_attribute("href", re.compile(f"/workflows/[^/]*{re.escape(job_id)}"))
