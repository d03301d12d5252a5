"""RFC 8058 one-click unsubscribe and the page for people: signed tokens, idempotent POST."""

from __future__ import annotations

import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import consent
from dramtrade.config import get_settings
from dramtrade.models import ConsentEvent, Customer, CustomerEmail, EmailSuppression
from dramtrade.unsubscribe_tokens import make_token
from tests.api.test_webhooks import _email, _events_body, _sign, sendgrid_key  # noqa: F401
from tests.conftest import Tenant

EMAIL = "dana@example.com"


def token_for(tenant: Tenant, email: str = EMAIL) -> str:
    return make_token(get_settings(), tenant.sub_account_id, email)


def one_click(client: TestClient, token: str) -> object:
    return client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_one_click_post_suppresses_once(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana")
    db_session.add(customer)
    db_session.flush()
    db_session.add(
        CustomerEmail(sub_account_id=tenant.sub_account_id, customer_id=customer.id, email=EMAIL)
    )
    db_session.flush()
    token = token_for(tenant)
    for _ in range(2):
        response = one_click(client, token)
        assert response.status_code == 200  # type: ignore[attr-defined]
        assert "location" not in response.headers  # type: ignore[attr-defined]
    assert consent.email_suppressed(db_session, tenant.sub_account_id, EMAIL)
    suppression = db_session.scalars(
        select(EmailSuppression).where(EmailSuppression.sub_account_id == tenant.sub_account_id)
    ).one()
    assert suppression.reason == "unsubscribe link"
    count = db_session.scalar(
        select(func.count())
        .select_from(ConsentEvent)
        .where(ConsentEvent.sub_account_id == tenant.sub_account_id)
    )
    assert count == 1  # the repeat changed nothing
    db_session.refresh(customer)
    assert customer.email_suppressed and customer.email_suppressed_reason == "unsubscribe link"


def test_the_page_shows_the_address_escaped_and_changes_nothing(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    address = 'o"brien<script>@example.com'
    response = client.get(f"/unsubscribe/{token_for(tenant, address)}")
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert "o&quot;brien&lt;script&gt;@example.com" in response.text
    assert 'method="post"' in response.text
    assert "Lone Star Comfort" in response.text
    assert not consent.email_suppressed(db_session, tenant.sub_account_id, address)


def test_the_pages_form_posts_and_then_shows_unsubscribed(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    token = token_for(tenant)
    response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "unsubscribed" in response.text
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert "You are unsubscribed" in page.text and "<form" not in page.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tampered_or_foreign_token_is_404(
    client: TestClient, tenant: Tenant, db_session: Session, method: str
) -> None:
    token = token_for(tenant)
    payload, mac = token.split(".")
    forged = make_token(get_settings(), tenant.sub_account_id, "eve@example.com").split(".")[0]
    bad = [
        f"{forged}.{mac}",
        f"{payload}.{mac[:-2]}xx",
        payload,
        "garbage",
        make_token(get_settings(), uuid.uuid4(), EMAIL),  # a sub-account that does not exist
    ]
    for candidate in bad:
        response = client.request(method, f"/unsubscribe/{candidate}")
        assert response.status_code == 404, candidate
    suppressed = select(func.count()).select_from(EmailSuppression)
    assert db_session.scalar(suppressed.where(EmailSuppression.email == EMAIL)) == 0


def test_the_token_is_scoped_to_its_sub_account(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, db_session: Session
) -> None:
    assert one_click(client, token_for(tenant)).status_code == 200  # type: ignore[attr-defined]
    assert consent.email_suppressed(db_session, tenant.sub_account_id, EMAIL)
    assert not consent.email_suppressed(db_session, other_tenant.sub_account_id, EMAIL)


# --- SendGrid events that suppress --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "suppressed", "reason"),
    [
        ({"event": "bounce", "type": "bounce"}, True, "hard bounce"),
        ({"event": "bounce", "type": "blocked"}, False, None),
        ({"event": "spamreport"}, True, "spamreport"),
        ({"event": "unsubscribe"}, True, "unsubscribe"),
        ({"event": "group_unsubscribe", "asm_group_id": 1}, True, "group_unsubscribe"),
        ({"event": "dropped", "reason": "Bounced Address"}, True, "dropped"),
        ({"event": "deferred"}, False, None),
        ({"event": "open"}, False, None),
    ],
)
def test_sendgrid_events_that_suppress_the_address(
    client: TestClient,
    tenant: Tenant,
    db_session: Session,
    sendgrid_key: ec.EllipticCurvePrivateKey,  # noqa: F811 - the fixture imported above
    event: dict[str, object],
    suppressed: bool,
    reason: str | None,
) -> None:
    message = _email(db_session, tenant, "Pv" + uuid.uuid4().hex[:10])
    payload = {
        "email": "dana@example.com",
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": f"{message.provider_id}.filterdrecv-1",
        "timestamp": int(time.time()),
        "message_id": str(message.id),
        **event,
    }
    body = _events_body([payload])
    ts = str(int(time.time()))
    response = client.post(
        "/webhooks/sendgrid/events",
        content=body,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": _sign(sendgrid_key, body, ts),
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 204
    db_session.expire_all()
    assert consent.email_suppressed(db_session, tenant.sub_account_id, EMAIL) is suppressed
    customer = db_session.get_one(Customer, message.customer_id)
    assert customer.email_suppressed is suppressed
    assert customer.email_suppressed_reason == reason
    events = db_session.scalars(select(ConsentEvent)).all()
    assert [(e.action, e.detail, e.message_id) for e in events] == (
        [("suppressed", reason, message.id)] if suppressed else []
    )
