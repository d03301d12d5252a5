"""GET /v1/jobs/{id}/timeline from the database when Temporal does not answer; tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dramtrade.models import Customer, Job, JobEvent, Message
from tests.conftest import Tenant


def test_timeline_merges_events_and_notifications_with_reasons(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, db_session: Session
) -> None:
    from dramtrade import conversations

    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana")
    db_session.add(customer)
    db_session.flush()
    job = Job(sub_account_id=tenant.sub_account_id, customer_id=customer.id, job_type="Repair")
    db_session.add(job)
    db_session.flush()
    t0 = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    conversation = conversations.for_customer(db_session, customer)
    db_session.add_all(
        [
            JobEvent(
                sub_account_id=tenant.sub_account_id,
                job_id=job.id,
                type="job_booked",
                received_at=t0,
            ),
            Message(
                sub_account_id=tenant.sub_account_id,
                conversation_id=conversation.id,
                customer_id=customer.id,
                job_id=job.id,
                direction="outbound",
                channel="sms",
                source="notification",
                trigger="job_booked",
                from_addr="+15125550100",
                to_addr="+15125550134",
                body="Hi",
                status="suppressed",
                error_message="recipient opted out of SMS",
                provider="twilio",
                created_at=t0 + timedelta(seconds=1),
            ),
            JobEvent(
                sub_account_id=tenant.sub_account_id,
                job_id=job.id,
                type="technician_en_route",
                received_at=t0 + timedelta(hours=1),
            ),
        ]
    )
    db_session.flush()

    response = client.get(f"/v1/jobs/{job.id}/timeline", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == str(job.id)
    assert body["workflow_id"] == f"job-{tenant.sub_account_id}-{job.id}"
    assert body["workflow_status"] in ("unknown", "not_started")
    assert [(i["kind"], i["type"]) for i in body["items"]] == [
        ("event", "job_booked"),
        ("notification", "job_booked"),
        ("event", "technician_en_route"),
    ]
    note = body["items"][1]
    assert (note["channel"], note["status"], note["reason"], note["to"]) == (
        "sms",
        "suppressed",
        "recipient opted out of SMS",
        "+15125550134",
    )

    assert (
        client.get(f"/v1/jobs/{job.id}/timeline", headers=other_tenant.headers).status_code == 404
    )
    unknown = client.get(f"/v1/jobs/{uuid.uuid4()}/timeline", headers=tenant.headers)
    assert unknown.status_code == 404
