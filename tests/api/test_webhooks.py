"""Provider webhooks: verified, recorded once, never moving a status backwards."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import consent, conversations
from dramtrade.config import get_settings
from dramtrade.models import (
    Channel,
    Customer,
    CustomerPhone,
    EmailSuppression,
    Message,
    WebhookEvent,
)
from dramtrade.outbound import Draft, create
from dramtrade.webhook_security import twilio_signature
from tests.conftest import Tenant

SMS_URL = "/webhooks/twilio/sms"
STATUS_URL = "/webhooks/twilio/status"


def signed_post(
    client: TestClient, path: str, params: dict[str, str], token: str | None = None
) -> object:
    settings = get_settings()
    url = settings.public_base_url.rstrip("/") + path
    sig = twilio_signature(token or settings.twilio_auth_token.get_secret_value(), url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": sig})


def inbound_params(tenant: Tenant, from_: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": get_settings().twilio_account_sid,
        "From": from_,
        "To": tenant.phone_number,
        "Body": body,
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def add_customer(session: Session, tenant: Tenant, phone: str) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana", last_name="W")
    session.add(customer)
    session.flush()
    session.add(
        CustomerPhone(sub_account_id=tenant.sub_account_id, customer_id=customer.id, e164=phone)
    )
    session.flush()
    return customer


def test_inbound_sms_from_known_number_lands_in_customer_conversation(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer = add_customer(db_session, tenant, "+15125550134")
    response = signed_post(client, SMS_URL, inbound_params(tenant, "+15125550134", "Thanks!"))
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "<Response/>" in response.text  # type: ignore[attr-defined]
    message = db_session.scalars(select(Message).where(Message.customer_id == customer.id)).one()
    assert (message.direction, message.body, message.status) == ("inbound", "Thanks!", "received")
    assert conversations.for_customer(db_session, customer).id == message.conversation_id


def test_inbound_sms_from_unknown_number_opens_unknown_contact_conversation(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    signed_post(client, SMS_URL, inbound_params(tenant, "+15125550177", "Do you do boilers?"))
    message = db_session.scalars(
        select(Message).where(Message.sub_account_id == tenant.sub_account_id)
    ).one()
    assert message.customer_id is None
    conversation = conversations.for_phone(db_session, tenant.sub_account_id, "+15125550177")
    assert conversation.id == message.conversation_id
    assert conversation.customer_id is None
    assert conversation.contact_phone == "+15125550177"
    assert conversation.unread_count == 1


def test_inbound_sms_is_recorded_once_per_message_sid(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    params = inbound_params(tenant, "+15125550178", "Hello")
    for _ in range(3):
        assert signed_post(client, SMS_URL, params).status_code == 200  # type: ignore[attr-defined]
    count = db_session.scalar(
        select(func.count()).select_from(Message).where(Message.provider_id == params["MessageSid"])
    )
    assert count == 1


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_forged_or_unsigned_inbound_sms_is_403_and_changes_nothing(
    client: TestClient, tenant: Tenant, db_session: Session, token: str | None
) -> None:
    params = inbound_params(tenant, "+15125550179", "forged")
    if token is None:
        response = client.post(SMS_URL, data=params)
    else:
        response = signed_post(client, SMS_URL, params, token=token)  # type: ignore[assignment]
    assert response.status_code == 403
    messages = select(func.count()).select_from(Message)
    events = select(func.count()).select_from(WebhookEvent)
    assert db_session.scalar(messages.where(Message.sub_account_id == tenant.sub_account_id)) == 0
    assert db_session.scalar(events.where(WebhookEvent.event_id == params["MessageSid"])) == 0


def test_signature_over_a_different_url_is_refused(client: TestClient, tenant: Tenant) -> None:
    params = inbound_params(tenant, "+15125550179", "replayed elsewhere")
    sig = twilio_signature(
        get_settings().twilio_auth_token.get_secret_value(), "https://evil.example/sms", params
    )
    response = client.post(SMS_URL, data=params, headers={"X-Twilio-Signature": sig})
    assert response.status_code == 403


def _outbound_sms(session: Session, tenant: Tenant, sid: str) -> Message:
    customer = add_customer(session, tenant, "+15125550190")
    message = create(
        session,
        Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=Channel.sms,
            to="+15125550190",
            from_=tenant.phone_number,
            body="On our way",
        ),
    )
    message.provider_id, message.status = sid, "queued"
    session.flush()
    return message


def _status(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, **extra}


def test_status_callbacks_never_move_backwards(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    sid = "SM" + uuid.uuid4().hex
    message = _outbound_sms(db_session, tenant, sid)
    path = f"{STATUS_URL}?message_id={message.id}"
    assert signed_post(client, path, _status(sid, "delivered")).status_code == 204  # type: ignore[attr-defined]
    signed_post(client, path, _status(sid, "sent"))  # arrives late
    db_session.refresh(message)
    assert message.status == "delivered"
    assert message.delivered_at is not None


def test_failed_status_records_the_error_code(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    sid = "SM" + uuid.uuid4().hex
    message = _outbound_sms(db_session, tenant, sid)
    signed_post(client, STATUS_URL, _status(sid, "undelivered", ErrorCode="30003"))
    db_session.refresh(message)
    assert (message.status, message.error_code) == ("undelivered", "30003")


def test_status_callback_cannot_touch_another_providers_message_by_id(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    message = _outbound_sms(db_session, tenant, "SM" + uuid.uuid4().hex)
    other_sid = "SM" + uuid.uuid4().hex
    signed_post(client, f"{STATUS_URL}?message_id={message.id}", _status(other_sid, "failed"))
    db_session.refresh(message)
    assert message.status == "queued"


# --- SendGrid signed events ------------------------------------------------------------------


@pytest.fixture
def sendgrid_key(client: TestClient) -> Iterator[ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = get_settings().model_copy(
        update={"sendgrid_webhook_public_key": base64.b64encode(der).decode()}
    )
    app = client.app
    app.dependency_overrides[get_settings] = lambda: settings  # type: ignore[attr-defined]
    yield key
    app.dependency_overrides.pop(get_settings)  # type: ignore[attr-defined]


def _sign(key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str) -> str:
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def _events_body(events: list[dict[str, object]]) -> bytes:
    return (json.dumps(events, separators=(",", ":")).replace("},{", "},\r\n{") + "\r\n").encode()


def _email(session: Session, tenant: Tenant, provider_id: str) -> Message:
    customer = add_customer(session, tenant, "+15125550191")
    message = create(
        session,
        Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=Channel.email,
            to="dana@example.com",
            from_="hello@example.com",
            subject="Booked",
            body="See you",
        ),
    )
    message.provider_id, message.status = provider_id, "processed"
    session.flush()
    return message


def test_signed_sendgrid_events_update_status_once_and_bounce_suppresses(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    sendgrid_key: ec.EllipticCurvePrivateKey,
) -> None:
    message = _email(db_session, tenant, "AbCdEf123")
    events: list[dict[str, object]] = [
        {
            "email": "dana@example.com",
            "event": "bounce",
            "type": "bounce",
            "reason": "550 5.1.1 no such user",
            "sg_event_id": uuid.uuid4().hex,
            "sg_message_id": "AbCdEf123.filterdrecv-1",
            "timestamp": int(time.time()),
            "message_id": str(message.id),
        }
    ]
    body = _events_body(events)
    ts = str(int(time.time()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": _sign(sendgrid_key, body, ts),
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        "Content-Type": "application/json",
    }
    for _ in range(2):
        assert (
            client.post("/webhooks/sendgrid/events", content=body, headers=headers).status_code
            == 204
        )
    db_session.expire_all()
    assert db_session.get_one(Message, message.id).status == "bounced"
    customer = db_session.get_one(Customer, message.customer_id)
    assert customer.email_suppressed and customer.email_suppressed_reason == "hard bounce"
    recorded = db_session.scalar(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.provider == "sendgrid")
    )
    assert recorded == 1


def test_tampered_or_stale_sendgrid_events_are_403(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    sendgrid_key: ec.EllipticCurvePrivateKey,
) -> None:
    message = _email(db_session, tenant, "Zz999")
    event = {
        "email": "dana@example.com",
        "event": "delivered",
        "sg_event_id": "e1",
        "sg_message_id": "Zz999.x",
        "timestamp": 1,
        "message_id": str(message.id),
    }
    body = _events_body([event])
    ts = str(int(time.time()))
    tampered = body.replace(b"delivered", b"spamreport")
    stale_ts = str(int(time.time()) - 3600)
    cases = [
        (tampered, _sign(sendgrid_key, body, ts), ts),
        (body, _sign(sendgrid_key, body, stale_ts), stale_ts),
        (body, "", ts),
    ]
    for payload, sig, stamp in cases:
        response = client.post(
            "/webhooks/sendgrid/events",
            content=payload,
            headers={
                "X-Twilio-Email-Event-Webhook-Signature": sig,
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            },
        )
        assert response.status_code == 403
    db_session.expire_all()
    assert db_session.get_one(Message, message.id).status == "processed"


def _post_events(
    client: TestClient, key: ec.EllipticCurvePrivateKey, events: list[dict[str, object]]
) -> int:
    body = _events_body(events)
    ts = str(int(time.time()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": _sign(key, body, ts),
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        "Content-Type": "application/json",
    }
    response = client.post("/webhooks/sendgrid/events", content=body, headers=headers)
    return response.status_code


def test_suppressing_events_without_a_message_row_use_the_sub_account_custom_arg(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    db_session: Session,
    sendgrid_key: ec.EllipticCurvePrivateKey,
) -> None:
    """A bounce or spam report for an email whose row is not found (no message_id match, no
    sg_message_id match) still suppresses the address in the sub-account it names, and only
    when that custom arg parses and names an existing sub-account."""

    def event(email: str, name: str, sub_account_id: object, **extra: object) -> dict[str, object]:
        return {
            "email": email,
            "event": name,
            "sg_event_id": uuid.uuid4().hex,
            "sg_message_id": f"Unknown{uuid.uuid4().hex[:8]}.filterdrecv-1",
            "timestamp": int(time.time()),
            "message_id": str(uuid.uuid4()),
            "sub_account_id": str(sub_account_id),
            **extra,
        }

    events = [
        event("bounced@example.com", "bounce", tenant.sub_account_id, type="bounce"),
        event("Spam@Example.com", "spamreport", tenant.sub_account_id),
        event("soft@example.com", "bounce", tenant.sub_account_id, type="blocked"),
        event("delivered@example.com", "delivered", tenant.sub_account_id),
        event("garbage@example.com", "spamreport", "not-a-uuid"),
        event("nobody@example.com", "spamreport", uuid.uuid4()),
    ]
    assert _post_events(client, sendgrid_key, events) == 204
    db_session.expire_all()
    suppressions = db_session.scalars(
        select(EmailSuppression).order_by(EmailSuppression.email)
    ).all()
    assert [(s.sub_account_id, s.email, s.reason) for s in suppressions] == [
        (tenant.sub_account_id, "bounced@example.com", "hard bounce"),
        (tenant.sub_account_id, "spam@example.com", "spamreport"),
    ]
    assert not consent.email_suppressed(db_session, other_tenant.sub_account_id, "spam@example.com")
