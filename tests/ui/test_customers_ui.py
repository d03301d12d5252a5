"""Customer list and record: profile, timeline, the SMS and email composers."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade import consent, outbound
from dramtrade.config import Settings
from dramtrade.demo import DEMO_PASSWORD, seed_demo
from dramtrade.models import (
    Channel,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Job,
    Message,
    SubAccount,
    Template,
    User,
    utcnow,
)
from tests.conftest import Tenant
from tests.ui.support import sign_in
from workflows.send_message import workflow_id


@dataclass
class FakeTemporal:
    """Stands in for the Temporal client: records the workflows the UI starts."""

    started: list[tuple[Any, ...]] = field(default_factory=list)

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        self.started.append((*args, kwargs.get("id")))


@pytest.fixture
def temporal(client: TestClient) -> FakeTemporal:
    fake = FakeTemporal()
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.temporal = fake
    return fake


def _customer(
    session: Session,
    tenant: Tenant,
    *,
    first: str = "Rosa",
    phone: str | None = None,
    email: str | None = None,
) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name=first, last_name="Diaz")
    session.add(customer)
    session.flush()
    session.add(
        CustomerPhone(
            sub_account_id=tenant.sub_account_id,
            customer_id=customer.id,
            e164=phone or f"+1512555{uuid.uuid4().int % 10_000:04d}",
        )
    )
    session.add(
        CustomerEmail(
            sub_account_id=tenant.sub_account_id,
            customer_id=customer.id,
            email=email or f"rosa.{uuid.uuid4().hex[:6]}@example.com",
        )
    )
    # Committed (a savepoint of the test's transaction): a request that rolls back after a
    # refused send must not take the fixture with it.
    session.commit()
    return customer


@pytest.fixture
def customer(db_session: Session, tenant: Tenant) -> Customer:
    return _customer(db_session, tenant)


def _csrf(client: TestClient) -> str:
    token: str = client.csrf  # type: ignore[attr-defined]
    return token


def _messages(session: Session, customer: Customer) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.customer_id == customer.id).order_by(Message.created_at)
        )
    )


# --- pages and roles ---------------------------------------------------------------------------


def test_record_shows_profile_timeline_and_composers(
    office_client: TestClient, db_session: Session, tenant: Tenant, customer: Customer
) -> None:
    job = Job(
        sub_account_id=tenant.sub_account_id,
        customer_id=customer.id,
        job_type="AC tune-up",
        scheduled_start=utcnow() + timedelta(days=1),
    )
    db_session.add(job)
    db_session.flush()
    phone = db_session.scalars(
        select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer.id)
    ).one()
    outbound.create(
        db_session,
        outbound.Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=Channel.sms,
            to=phone,
            from_=tenant.phone_number,
            body="See you <tomorrow> & thanks",
        ),
    )
    page = office_client.get(f"/app/customers/{customer.id}")
    assert page.status_code == 200
    assert 'data-testid="customer-name">Rosa Diaz<' in page.text
    assert phone in page.text
    assert "See you &lt;tomorrow&gt; &amp; thanks" in page.text  # escaped
    assert f'href="/app/jobs/{job.id}"' in page.text
    assert 'data-testid="sms-form"' in page.text and 'data-testid="email-form"' in page.text
    assert 'data-sms-counter="sms-count"' in page.text
    assert 'role="toolbar" aria-label="Formatting"' in page.text
    # Every input of the composers has a label.
    for input_id in (
        "sms-body",
        "sms-template",
        "email-subject",
        "email-template",
        "email-link-url",
    ):
        assert f'<label for="{input_id}"' in page.text, input_id
    # The pickers offer this sub-account's templates.
    templates = db_session.scalars(
        select(Template).where(Template.sub_account_id == tenant.sub_account_id)
    ).all()
    for t in templates:
        assert f'<option value="{t.id}">' in page.text


def test_technician_reads_but_cannot_send(
    client: TestClient, technician_user: User, customer: Customer
) -> None:
    token = sign_in(client, technician_user.email)
    page = client.get(f"/app/customers/{customer.id}")
    assert page.status_code == 200
    assert 'data-testid="sms-form"' not in page.text
    response = client.post(
        f"/app/customers/{customer.id}/sms", data={"csrf_token": token, "body": "hi"}
    )
    assert response.status_code == 403


def test_foreign_customer_is_404(
    office_client: TestClient, db_session: Session, other_tenant: Tenant
) -> None:
    foreign = _customer(db_session, other_tenant)
    assert office_client.get(f"/app/customers/{foreign.id}").status_code == 404
    response = office_client.post(
        f"/app/customers/{foreign.id}/sms", data={"csrf_token": _csrf(office_client), "body": "x"}
    )
    assert response.status_code == 404
    assert _messages(db_session, foreign) == []


def test_signed_out_goes_to_sign_in(client: TestClient, customer: Customer) -> None:
    response = client.get(f"/app/customers/{customer.id}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/app/login?next=/app/customers/")


def test_customer_list_and_search(
    office_client: TestClient, db_session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    rosa = _customer(db_session, tenant, first="Rosalind", phone="+15125550177")
    _customer(db_session, tenant, first="Marco")
    foreign = _customer(db_session, other_tenant, first="Rosalind")
    page = office_client.get("/app/customers", params={"q": "rosal"})
    assert page.status_code == 200
    assert f"/app/customers/{rosa.id}" in page.text
    assert "Marco" not in page.text
    assert str(foreign.id) not in page.text
    by_phone = office_client.get("/app/customers", params={"q": "(512) 555-0177"})
    assert f"/app/customers/{rosa.id}" in by_phone.text
    assert '<label for="customer-search">' in page.text


# --- SMS ---------------------------------------------------------------------------------------


def test_send_sms_writes_the_row_and_starts_the_workflow(
    office_client: TestClient, db_session: Session, customer: Customer, temporal: FakeTemporal
) -> None:
    key = uuid.uuid4().hex
    data = {
        "csrf_token": _csrf(office_client),
        "body": "Running 10 min late",
        "idempotency_key": key,
    }
    response = office_client.post(
        f"/app/customers/{customer.id}/sms", data=data, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/app/customers/{customer.id}#timeline"
    again = office_client.post(f"/app/customers/{customer.id}/sms", data=data)  # double submit
    assert again.status_code == 200
    (message,) = _messages(db_session, customer)
    assert (message.channel, message.body, message.segments) == ("sms", "Running 10 min late", 1)
    assert message.source == "manual"
    assert [s[-1] for s in temporal.started] == [workflow_id(str(message.id))] * 2
    assert "Message sent to" in again.text
    assert "Running 10 min late" in again.text  # in the timeline


def test_opted_out_number_needs_explicit_confirmation(
    office_client: TestClient,
    db_session: Session,
    tenant: Tenant,
    customer: Customer,
    temporal: FakeTemporal,
) -> None:
    phone = db_session.scalars(
        select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer.id)
    ).one()
    consent.opt_out_sms(db_session, tenant.sub_account_id, phone, detail="STOP")
    db_session.flush()
    page = office_client.get(f"/app/customers/{customer.id}")
    assert 'data-testid="sms-optout-warning"' in page.text
    assert 'name="confirm_opted_out" value="true" required' in page.text
    refused = office_client.post(
        f"/app/customers/{customer.id}/sms",
        data={"csrf_token": _csrf(office_client), "body": "Your part arrived"},
    )
    assert refused.status_code == 409
    assert "opted out of SMS" in refused.text
    assert "Your part arrived" in refused.text  # the text is kept
    assert _messages(db_session, customer) == []
    assert temporal.started == []
    sent = office_client.post(
        f"/app/customers/{customer.id}/sms",
        data={
            "csrf_token": _csrf(office_client),
            "body": "Your part arrived",
            "confirm_opted_out": "true",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert [m.body for m in _messages(db_session, customer)] == ["Your part arrived"]


def test_empty_sms_shows_the_error(office_client: TestClient, customer: Customer) -> None:
    response = office_client.post(
        f"/app/customers/{customer.id}/sms", data={"csrf_token": _csrf(office_client), "body": " "}
    )
    assert response.status_code == 422
    assert 'data-testid="sms-error"' in response.text and "body is empty" in response.text


def test_template_renders_for_this_customer(
    office_client: TestClient, db_session: Session, tenant: Tenant, customer: Customer
) -> None:
    template = Template(
        sub_account_id=tenant.sub_account_id,
        name="Hello",
        channel="both",
        subject="For {{first_name}}",
        body="Hi {{first_name}} from {{business_name}}",
        html="<p>Hi <b>{{first_name}}</b></p>",
    )
    db_session.add(template)
    db_session.flush()
    response = office_client.get(f"/app/customers/{customer.id}/templates/{template.id}/render")
    assert response.status_code == 200
    assert response.json() == {
        "subject": "For Rosa",
        "body": "Hi Rosa from Lone Star Comfort",
        "html": "<p>Hi <b>Rosa</b></p>",
    }


def test_template_of_another_tenant_does_not_render(
    office_client: TestClient, db_session: Session, other_tenant: Tenant, customer: Customer
) -> None:
    foreign = db_session.scalars(
        select(Template).where(Template.sub_account_id == other_tenant.sub_account_id)
    ).first()
    assert foreign is not None
    response = office_client.get(f"/app/customers/{customer.id}/templates/{foreign.id}/render")
    assert response.status_code == 404


# --- email -------------------------------------------------------------------------------------


def _brand(session: Session, tenant: Tenant) -> SubAccount:
    account = session.get_one(SubAccount, tenant.sub_account_id)
    account.brand_color = "#0a7d4f"
    account.logo_url = "https://cdn.example.com/logo.png"
    session.flush()
    return account


def test_email_send_wraps_the_body_in_the_branded_layout(
    office_client: TestClient,
    db_session: Session,
    tenant: Tenant,
    customer: Customer,
    temporal: FakeTemporal,
) -> None:
    _brand(db_session, tenant)
    response = office_client.post(
        f"/app/customers/{customer.id}/email",
        data={
            "csrf_token": _csrf(office_client),
            "subject": "Your estimate",
            "html": '<p onclick="steal()">Hi <strong>Rosa</strong>, <a href="javascript:x()">x</a>'
            '<a href="https://pay.example.com/1">pay</a></p><script>alert(1)</script>'
            "<ul><li>filter</li></ul>",
            "body": "Hi Rosa, pay",
            "idempotency_key": uuid.uuid4().hex,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    (message,) = _messages(db_session, customer)
    html = message.html or ""
    assert message.subject == "Your estimate" and message.body == "Hi Rosa, pay"
    assert html.startswith("<!DOCTYPE html>")
    assert '<img src="https://cdn.example.com/logo.png" alt="Lone Star Comfort"' in html
    assert "background-color:#0a7d4f" in html
    assert "Hi <strong>Rosa</strong>" in html
    assert 'href="https://pay.example.com/1" style="color:#0a7d4f;' in html
    assert "<li>filter</li>" in html
    assert "onclick" not in html and "alert" not in html and "javascript" not in html
    assert len(temporal.started) == 1


def test_email_without_script_gets_a_text_part(
    office_client: TestClient, db_session: Session, customer: Customer, temporal: FakeTemporal
) -> None:
    response = office_client.post(
        f"/app/customers/{customer.id}/email",
        data={
            "csrf_token": _csrf(office_client),
            "subject": "Hi",
            "html": "<p>Line &amp; one</p><p>two</p>",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    (message,) = _messages(db_session, customer)
    assert message.body == "Line & one\ntwo"


def test_email_needs_a_subject(
    office_client: TestClient, db_session: Session, customer: Customer
) -> None:
    response = office_client.post(
        f"/app/customers/{customer.id}/email",
        data={"csrf_token": _csrf(office_client), "subject": "", "html": "<p>Hi <b>there</b></p>"},
    )
    assert response.status_code == 422
    assert "an email needs a subject" in response.text
    assert "<p>Hi <b>there</b></p>" in response.text  # the editor keeps the (sanitized) text
    assert _messages(db_session, customer) == []


def test_suppressed_address_needs_confirmation(
    office_client: TestClient,
    db_session: Session,
    tenant: Tenant,
    customer: Customer,
    temporal: FakeTemporal,
) -> None:
    email = db_session.scalars(
        select(CustomerEmail.email).where(CustomerEmail.customer_id == customer.id)
    ).one()
    consent.suppress_email(db_session, tenant.sub_account_id, email, "bounce")
    db_session.flush()
    page = office_client.get(f"/app/customers/{customer.id}")
    assert 'data-testid="email-optout-warning"' in page.text
    data = {"csrf_token": _csrf(office_client), "subject": "s", "html": "<p>x</p>"}
    assert office_client.post(f"/app/customers/{customer.id}/email", data=data).status_code == 409
    ok = office_client.post(
        f"/app/customers/{customer.id}/email",
        data={**data, "confirm_opted_out": "true"},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_email_preview_is_the_branded_email(
    office_client: TestClient, db_session: Session, tenant: Tenant, customer: Customer
) -> None:
    _brand(db_session, tenant)
    response = office_client.post(
        f"/app/customers/{customer.id}/email/preview",
        data={"subject": "Hello", "html": "<p>Hi <b>Rosa</b></p><script>x</script>"},
        headers={"HX-Request": "true", "X-CSRF-Token": _csrf(office_client)},
    )
    assert response.status_code == 200
    assert 'sandbox srcdoc="&lt;!DOCTYPE html&gt;' in response.text
    assert "https://cdn.example.com/logo.png" in response.text
    assert "#0a7d4f" in response.text
    assert "&lt;b&gt;Rosa&lt;/b&gt;" in response.text and "script" not in response.text


def test_sent_when_temporal_is_down_says_so(
    office_client: TestClient, db_session: Session, customer: Customer
) -> None:
    # No fake: the client cannot connect, the row stays pending and the page says so.
    app = office_client.app
    assert isinstance(app, FastAPI)
    app.state.settings = app.state.settings.model_copy(update={"temporal_address": "127.0.0.1:9"})
    response = office_client.post(
        f"/app/customers/{customer.id}/sms",
        data={"csrf_token": _csrf(office_client), "body": "hello"},
    )
    assert response.status_code == 200
    assert "sending service is unreachable" in response.text
    assert [m.status for m in _messages(db_session, customer)] == ["pending"]


# --- speed -------------------------------------------------------------------------------------


def test_customer_page_is_fast_on_demo_data(
    client: TestClient, db_session: Session, tmp_path: Path
) -> None:
    demo = seed_demo(db_session, Settings(data_dir=tmp_path))
    db_session.flush()
    owner = db_session.get_one(User, demo.owner_user_id)
    sign_in(client, owner.email, DEMO_PASSWORD)
    customer_id = next(iter(demo.customer_ids.values()))
    customer = db_session.get_one(Customer, customer_id)
    phone = outbound.primary_phone(db_session, customer) or demo.business_number
    for i in range(120):  # a long history: the page shows the latest 50
        outbound.create(
            db_session,
            outbound.Draft(
                sub_account_id=demo.sub_account_id,
                customer=customer,
                channel=Channel.sms,
                to=phone,
                from_=demo.business_number,
                body=f"Message {i}",
            ),
        )
    db_session.flush()
    client.get(f"/app/customers/{customer_id}")  # warm up templates and caches
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(f"/app/customers/{customer_id}")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    assert len(re.findall(r'<li class="msg ', response.text)) == 50
    assert min(timings) < 0.2, timings
    started = time.perf_counter()
    assert client.get("/app/customers").status_code == 200
    assert time.perf_counter() - started < 0.2
