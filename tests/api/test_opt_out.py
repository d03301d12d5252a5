"""STOP, START and HELP through the signed Twilio webhook: recorded at once, at most one reply
per inbound message however often the webhook is delivered, the reply's send started after
commit. With ``sms_keyword_replies="provider"`` (the default) Twilio confirms STOP and START
itself, so we write no reply for them; with ``"app"`` we do. HELP is ours in both modes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade import consent, outbound
from dramtrade.config import KeywordReplies, get_settings
from dramtrade.models import (
    Channel,
    ConsentEvent,
    Customer,
    CustomerEmail,
    Message,
    SmsConsent,
)
from tests.api.test_webhooks import SMS_URL, add_customer, inbound_params, signed_post
from tests.conftest import Tenant

PHONE = "+15125550161"


@dataclass
class FakeTemporal:
    started: list[tuple[str, str]] = field(default_factory=list)
    fail: bool = False

    async def start_workflow(self, run: Any, arg: str, *, id: str, task_queue: str) -> None:
        if self.fail:
            raise RuntimeError("Temporal is down")
        self.started.append((id, arg))


@pytest.fixture
def temporal(client: TestClient) -> FakeTemporal:
    fake = FakeTemporal()
    client.app.state.temporal = fake  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def app_replies(client: TestClient) -> Iterator[None]:
    """The app, not the provider, confirms STOP and START."""
    yield from _keyword_replies(client, "app")


def _keyword_replies(client: TestClient, mode: KeywordReplies) -> Iterator[None]:
    settings = get_settings().model_copy(update={"sms_keyword_replies": mode})
    app = client.app
    app.dependency_overrides[get_settings] = lambda: settings  # type: ignore[attr-defined]
    yield
    app.dependency_overrides.pop(get_settings)  # type: ignore[attr-defined]


@pytest.fixture(params=["provider", "app"])
def either_mode(request: pytest.FixtureRequest, client: TestClient) -> Iterator[str]:
    mode: KeywordReplies = request.param
    for _ in _keyword_replies(client, mode):
        yield mode


def replies(session: Session, tenant: Tenant) -> list[Message]:
    session.expire_all()
    return list(
        session.scalars(
            select(Message)
            .where(Message.sub_account_id == tenant.sub_account_id, Message.source == "compliance")
            .order_by(Message.created_at)
        )
    )


def trail(session: Session, tenant: Tenant) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.sub_account_id == tenant.sub_account_id)
            .order_by(ConsentEvent.created_at)
        )
    )


def test_provider_mode_stop_delivered_three_times_is_recorded_once_and_not_answered(
    client: TestClient, tenant: Tenant, db_session: Session, temporal: FakeTemporal
) -> None:
    # The default: Twilio blocks the number and sends its own confirmation; ours would be a
    # second one (and Twilio would refuse it with 21610 anyway).
    assert get_settings().sms_keyword_replies == "provider"
    customer = add_customer(db_session, tenant, PHONE)
    params = inbound_params(tenant, PHONE, "Stop!")
    for _ in range(3):
        assert signed_post(client, SMS_URL, params).status_code == 200  # type: ignore[attr-defined]

    row = db_session.scalars(
        select(SmsConsent).where(SmsConsent.sub_account_id == tenant.sub_account_id)
    ).one()
    assert (row.e164, row.opted_out) == (PHONE, True)
    inbound = db_session.scalars(
        select(Message).where(Message.provider_id == params["MessageSid"])
    ).one()
    assert [
        (e.action, e.detail, e.message_id, e.customer_id) for e in trail(db_session, tenant)
    ] == [("opt_out", "STOP", inbound.id, customer.id)]
    db_session.refresh(customer)
    assert customer.sms_opted_out and customer.sms_opted_out_at == row.changed_at
    assert replies(db_session, tenant) == []
    assert temporal.started == []


def test_provider_mode_start_reverses_without_a_reply_of_ours(
    client: TestClient, tenant: Tenant, db_session: Session, temporal: FakeTemporal
) -> None:
    customer = add_customer(db_session, tenant, PHONE)
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "STOP"))
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "yes"))
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    db_session.refresh(customer)
    assert not customer.sms_opted_out
    assert [(e.action, e.detail) for e in trail(db_session, tenant)] == [
        ("opt_out", "STOP"),
        ("opt_in", "YES"),
    ]
    assert replies(db_session, tenant) == [] and temporal.started == []


def test_app_mode_stop_delivered_three_times_opts_out_once_with_one_reply(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
    app_replies: None,
) -> None:
    customer = add_customer(db_session, tenant, PHONE)
    params = inbound_params(tenant, PHONE, " Stop. ")
    for _ in range(3):
        assert signed_post(client, SMS_URL, params).status_code == 200  # type: ignore[attr-defined]

    row = db_session.scalars(
        select(SmsConsent).where(SmsConsent.sub_account_id == tenant.sub_account_id)
    ).one()
    assert (row.e164, row.opted_out) == (PHONE, True)
    inbound = db_session.scalars(
        select(Message).where(Message.provider_id == params["MessageSid"])
    ).one()
    events = trail(db_session, tenant)
    assert [(e.action, e.detail, e.message_id, e.customer_id) for e in events] == [
        ("opt_out", "STOP", inbound.id, customer.id)
    ]
    db_session.refresh(customer)
    assert customer.sms_opted_out and customer.sms_opted_out_at == row.changed_at

    [reply] = replies(db_session, tenant)
    assert (reply.to_addr, reply.from_addr, reply.status) == (PHONE, tenant.phone_number, "pending")
    assert reply.body.startswith("Lone Star Comfort: ")
    assert "unsubscribed" in reply.body and "Reply START to resubscribe" in reply.body
    assert reply.conversation_id == inbound.conversation_id
    # The send was started (once per delivery that saw it pending; the workflow id dedupes).
    assert {wf for wf, _ in temporal.started} == {f"message-{reply.id}"}
    assert {arg for _, arg in temporal.started} == {str(reply.id)}


def test_after_stop_automated_sms_is_suppressed_but_the_reply_goes(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
    app_replies: None,
) -> None:
    customer = add_customer(db_session, tenant, PHONE)
    reminder = outbound.create(
        db_session,
        outbound.Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=Channel.sms,
            to=PHONE,
            from_=tenant.phone_number,
            body="Your technician is on the way",
            source="notification",
        ),
    )
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "STOP"))
    assert outbound.claim(db_session, reminder.id) is None
    assert reminder.status == "suppressed"
    [reply] = replies(db_session, tenant)
    assert outbound.claim(db_session, reply.id) is not None


def test_app_mode_start_reverses_with_a_confirmation(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
    app_replies: None,
) -> None:
    customer = add_customer(db_session, tenant, PHONE)
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "STOP"))
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "unstop!"))
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    db_session.refresh(customer)
    assert not customer.sms_opted_out and customer.sms_opted_out_at is None
    assert [(e.action, e.detail) for e in trail(db_session, tenant)] == [
        ("opt_out", "STOP"),
        ("opt_in", "UNSTOP"),
    ]
    stop_reply, start_reply = replies(db_session, tenant)
    assert "resubscribed" in start_reply.body and "Reply STOP to unsubscribe" in start_reply.body
    assert (stop_reply.trigger, start_reply.trigger) == ("opt_out", "opt_in")
    assert len(temporal.started) == 2


def test_help_answers_with_the_business_name_and_number_in_either_mode(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
    either_mode: str,
) -> None:
    add_customer(db_session, tenant, PHONE)
    params = inbound_params(tenant, PHONE, "help")
    for _ in range(3):
        assert signed_post(client, SMS_URL, params).status_code == 200  # type: ignore[attr-defined]
    [reply] = replies(db_session, tenant)
    assert (reply.trigger, reply.to_addr, reply.from_addr) == ("help", PHONE, tenant.phone_number)
    assert {wf for wf, _ in temporal.started} == {f"message-{reply.id}"}
    assert reply.body == (
        f"Lone Star Comfort: For help, call {tenant.phone_number}. "
        "Reply STOP to unsubscribe. Msg&data rates may apply."
    )
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    assert [e.action for e in trail(db_session, tenant)] == ["help"]


def test_a_sentence_with_stop_in_it_is_just_a_message(
    client: TestClient, tenant: Tenant, db_session: Session, temporal: FakeTemporal
) -> None:
    add_customer(db_session, tenant, PHONE)
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "STOP PLEASE"))
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    assert replies(db_session, tenant) == [] and trail(db_session, tenant) == []
    assert temporal.started == []


def test_stop_from_an_unknown_number_is_honoured_and_answered_in_app_mode(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
    app_replies: None,
) -> None:
    signed_post(client, SMS_URL, inbound_params(tenant, "+15125550162", "QUIT"))
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, "+15125550162")
    [reply] = replies(db_session, tenant)
    assert reply.customer_id is None and reply.to_addr == "+15125550162"
    assert len(temporal.started) == 1


def test_stop_from_an_unknown_number_is_honoured_in_provider_mode(
    client: TestClient, tenant: Tenant, db_session: Session, temporal: FakeTemporal
) -> None:
    signed_post(client, SMS_URL, inbound_params(tenant, "+15125550163", "QUIT"))
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, "+15125550163")
    assert replies(db_session, tenant) == [] and temporal.started == []


def test_temporal_down_still_answers_200_and_a_redelivery_starts_the_send(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
    app_replies: None,
) -> None:
    add_customer(db_session, tenant, PHONE)
    params = inbound_params(tenant, PHONE, "STOP")
    temporal.fail = True
    assert signed_post(client, SMS_URL, params).status_code == 200  # type: ignore[attr-defined]
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    [reply] = replies(db_session, tenant)
    assert reply.status == "pending" and temporal.started == []
    temporal.fail = False
    assert signed_post(client, SMS_URL, params).status_code == 200  # type: ignore[attr-defined]
    assert temporal.started == [(f"message-{reply.id}", str(reply.id))]
    assert len(replies(db_session, tenant)) == 1


def test_forged_stop_changes_nothing(
    client: TestClient, tenant: Tenant, db_session: Session, temporal: FakeTemporal
) -> None:
    add_customer(db_session, tenant, PHONE)
    response = signed_post(
        client, SMS_URL, inbound_params(tenant, PHONE, "STOP"), token="not-the-token"
    )
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    assert replies(db_session, tenant) == [] and temporal.started == []


def test_consent_endpoint_shows_state_and_history(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    db_session: Session,
    temporal: FakeTemporal,
) -> None:
    customer = add_customer(db_session, tenant, PHONE)
    db_session.add(
        CustomerEmail(
            sub_account_id=tenant.sub_account_id, customer_id=customer.id, email="dana@example.com"
        )
    )
    db_session.flush()
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "STOP"))
    consent.suppress_email(db_session, tenant.sub_account_id, "dana@example.com", "spamreport")
    db_session.flush()

    response = client.get(f"/v1/customers/{customer.id}/consent", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sms_opted_out"] is True and body["sms_opted_out_at"] is not None
    assert body["email_suppressed"] is True and body["email_suppressed_reason"] == "spamreport"
    assert body["phones"] == [
        {"number": PHONE, "opted_out": True, "changed_at": body["sms_opted_out_at"]}
    ]
    assert [(h["action"], h["channel"], h["detail"]) for h in body["history"]] == [
        ("suppressed", "email", "spamreport"),
        ("opt_out", "sms", "STOP"),
    ]
    # The customer resource's summary agrees.
    summary = client.get(f"/v1/customers/{customer.id}", headers=tenant.headers).json()
    assert summary["sms_opted_out"] is True and summary["email_suppressed"] is True
    # Another tenant cannot see it.
    foreign = client.get(f"/v1/customers/{customer.id}/consent", headers=other_tenant.headers)
    assert foreign.status_code == 404
    missing = client.get(f"/v1/customers/{uuid.uuid4()}/consent", headers=tenant.headers)
    assert missing.status_code == 404


def test_a_customer_given_an_opted_out_number_or_suppressed_address_shows_it(
    client: TestClient, tenant: Tenant, db_session: Session, temporal: FakeTemporal
) -> None:
    # The number texted STOP, and the address bounced, before either was on file.
    signed_post(client, SMS_URL, inbound_params(tenant, PHONE, "STOP"))
    consent.suppress_email(db_session, tenant.sub_account_id, "dana@example.com", "hard bounce")
    db_session.flush()

    created = client.post(
        "/v1/customers",
        headers=tenant.headers,
        json={
            "first_name": "Dana",
            "phones": [{"number": PHONE}],
            "emails": [{"email": "dana@example.com"}],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sms_opted_out"] is True and body["sms_opted_out_at"] is not None
    assert body["email_suppressed"] is True and body["email_suppressed_reason"] == "hard bounce"
    customer_id = body["id"]
    stored = db_session.get_one(Customer, uuid.UUID(customer_id))
    db_session.refresh(stored)
    assert stored.sms_opted_out and stored.email_suppressed

    # Replaced by a number and an address in good standing: the summary follows.
    updated = client.patch(
        f"/v1/customers/{customer_id}",
        headers=tenant.headers,
        json={"phones": [{"number": "+15125550164"}], "emails": [{"email": "d@example.com"}]},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["sms_opted_out"] is False and body["sms_opted_out_at"] is None
    assert body["email_suppressed"] is False and body["email_suppressed_reason"] is None

    # And back to the opted-out number alone.
    again = client.patch(
        f"/v1/customers/{customer_id}", headers=tenant.headers, json={"phones": [{"number": PHONE}]}
    )
    assert again.json()["sms_opted_out"] is True
    assert again.json()["email_suppressed"] is False
