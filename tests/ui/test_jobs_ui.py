"""The job page: events received, notifications with delivery status, held messages from the
workflow's query, and the link to the workflow in the Temporal UI."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from temporalio.service import RPCError, RPCStatusCode

from dramtrade import outbound
from dramtrade.models import Channel, Customer, CustomerPhone, Job, JobEvent, Role, User, utcnow
from tests.conftest import Tenant
from tests.ui.support import make_user, sign_in


@dataclass
class FakeHandle:
    view: dict[str, Any] | None
    queries: list[str] = field(default_factory=list)

    async def query(self, name: str, **_: Any) -> dict[str, Any]:
        self.queries.append(name)
        if self.view is None:
            raise RPCError("workflow not found", RPCStatusCode.NOT_FOUND, b"")
        return self.view


@dataclass
class FakeTemporal:
    handle: FakeHandle
    ids: list[str] = field(default_factory=list)

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        self.ids.append(workflow_id)
        return self.handle


def _use(client: TestClient, view: dict[str, Any] | None) -> FakeTemporal:
    fake = FakeTemporal(FakeHandle(view))
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.temporal = fake
    return fake


@pytest.fixture
def job(db_session: Session, tenant: Tenant) -> Job:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Rosa", last_name="Diaz")
    db_session.add(customer)
    db_session.flush()
    db_session.add(
        CustomerPhone(
            sub_account_id=tenant.sub_account_id, customer_id=customer.id, e164="+15125550188"
        )
    )
    job = Job(
        sub_account_id=tenant.sub_account_id,
        customer_id=customer.id,
        job_type="Furnace repair",
        scheduled_start=utcnow() + timedelta(days=1),
    )
    db_session.add(job)
    db_session.flush()
    now = utcnow()
    for minutes, kind in ((-30, "job_booked"), (-5, "technician_en_route")):
        db_session.add(
            JobEvent(
                sub_account_id=tenant.sub_account_id,
                job_id=job.id,
                type=kind,
                received_at=now + timedelta(minutes=minutes),
            )
        )
    sent = (("job_booked", "delivered", -29), ("technician_en_route", "undelivered", -4))
    for trigger, status, minutes in sent:
        message = outbound.create(
            db_session,
            outbound.Draft(
                sub_account_id=tenant.sub_account_id,
                customer=customer,
                channel=Channel.sms,
                to="+15125550188",
                from_=tenant.phone_number,
                body=f"{trigger} <notice>",
                source="notification",
                trigger=trigger,
                job_id=job.id,
            ),
        )
        message.status = status
        message.created_at = now + timedelta(minutes=minutes)
    db_session.commit()
    return job


def test_job_page_shows_events_notifications_holds_and_the_workflow_link(
    office_client: TestClient, tenant: Tenant, job: Job
) -> None:
    until = (utcnow() + timedelta(hours=9)).isoformat()
    fake = _use(
        office_client,
        {
            "milestones": ["job_booked", "technician_en_route"],
            "finished": False,
            "reminder_at": (utcnow() + timedelta(hours=20)).isoformat(),
            "holds": [
                {
                    "message_id": str(uuid.uuid4()),
                    "trigger": "job_booked",
                    "channel": "email",
                    "until": until,
                }
            ],
        },
    )
    page = office_client.get(f"/app/jobs/{job.id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'data-testid="job-title">Furnace repair<' in text
    assert text.count('data-kind="event"') == 2
    assert "Technician en route" in text
    assert 'data-testid="job-notification" data-status="delivered"' in text
    assert 'data-testid="job-notification" data-status="undelivered"' in text
    assert "job_booked &lt;notice&gt;" in text  # escaped
    assert 'data-testid="job-hold"' in text and "held for quiet hours" in text
    assert 'data-testid="job-reminder"' in text
    wid = f"job-{tenant.sub_account_id}-{job.id}"
    assert fake.ids == [wid] and fake.handle.queries == ["view"]
    assert f'href="http://127.0.0.1:8233/namespaces/default/workflows/{wid}"' in text
    # Events and notifications in time order: booked, its SMS, en route, its SMS, the hold.
    marks = (
        "Job booked</strong> <span",
        'data-status="delivered"',
        "Technician en route</strong> <span",
        'data-status="undelivered"',
        'data-testid="job-hold"',
    )
    order = [text.index(mark) for mark in marks]
    assert order == sorted(order)


def test_job_page_without_a_workflow_still_shows_the_database(
    office_client: TestClient, job: Job
) -> None:
    _use(office_client, None)
    page = office_client.get(f"/app/jobs/{job.id}")
    assert page.status_code == 200
    assert "No workflow has run for this job yet." in page.text
    assert page.text.count('data-kind="notification"') == 2


def test_job_page_when_temporal_is_unreachable(office_client: TestClient, job: Job) -> None:
    app = office_client.app
    assert isinstance(app, FastAPI)
    app.state.settings = app.state.settings.model_copy(update={"temporal_address": "127.0.0.1:9"})
    page = office_client.get(f"/app/jobs/{job.id}")
    assert page.status_code == 200
    assert 'data-testid="workflow-unavailable"' in page.text
    assert page.text.count('data-kind="event"') == 2


def test_technicians_see_jobs_and_other_tenants_do_not(
    client: TestClient, db_session: Session, technician_user: User, job: Job, other_tenant: Tenant
) -> None:
    sign_in(client, technician_user.email)
    _use(client, None)
    assert client.get(f"/app/jobs/{job.id}").status_code == 200
    stranger = make_user(db_session, other_tenant.sub_account_id, Role.owner)
    sign_in(client, stranger.email)
    assert client.get(f"/app/jobs/{job.id}").status_code == 404
    assert client.get(f"/app/jobs/{uuid.uuid4()}").status_code == 404
