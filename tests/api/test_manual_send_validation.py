"""POST /v1/messages refuses bad requests with a 4xx naming the problem, and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import consent
from dramtrade.models import Message
from tests.conftest import Tenant


def _customer(client: TestClient, tenant: Tenant, phone: str = "+15125550160") -> str:
    response = client.post(
        "/v1/customers",
        json={
            "first_name": "Rosa",
            "phones": [{"number": phone}],
            "emails": [{"email": f"rosa.{uuid.uuid4().hex[:6]}@example.com"}],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def tenant_messages(tenant: Tenant) -> Any:
    return (
        select(func.count())
        .select_from(Message)
        .where(Message.sub_account_id == tenant.sub_account_id)
    )


def _locs(response: Any) -> list[str]:
    return [str(d["loc"][-1]) for d in response.json()["detail"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channel": "sms", "body": "   "}, "body"),
        ({"channel": "sms"}, "body"),
        ({"channel": "email", "body": "Hi"}, "subject"),
        ({"channel": "sms", "body": "Hi", "to": "+15125550999"}, "to"),
        ({"channel": "sms", "body": "Hi", "to": "not a number"}, "to"),
        ({"channel": "sms", "body": "Hi", "template_id": str(uuid.uuid4())}, "template_id"),
    ],
)
def test_bad_manual_send_is_422_naming_the_field(
    client: TestClient, tenant: Tenant, db_session: Session, payload: dict[str, Any], field: str
) -> None:
    customer_id = _customer(client, tenant)
    response = client.post(
        "/v1/messages", json={"customer_id": customer_id, **payload}, headers=tenant.headers
    )
    assert response.status_code == 422, response.text
    assert field in _locs(response)
    assert db_session.scalar(tenant_messages(tenant)) == 0


def test_sms_with_email_fields_and_foreign_customer_are_422(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    customer_id = _customer(client, tenant)
    mixed = client.post(
        "/v1/messages",
        json={"customer_id": customer_id, "channel": "sms", "body": "Hi", "subject": "x"},
        headers=tenant.headers,
    )
    assert mixed.status_code == 422
    foreign = client.post(
        "/v1/messages",
        json={"customer_id": customer_id, "channel": "sms", "body": "Hi"},
        headers=other_tenant.headers,
    )
    assert foreign.status_code == 422
    assert "customer_id" in _locs(foreign)


def test_manual_sms_to_an_opted_out_number_needs_confirmation(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer_id = _customer(client, tenant, phone="+15125550161")
    consent.opt_out_sms(db_session, tenant.sub_account_id, "+15125550161", detail="STOP")
    response = client.post(
        "/v1/messages",
        json={"customer_id": customer_id, "channel": "sms", "body": "Your part arrived"},
        headers=tenant.headers,
    )
    assert response.status_code == 409
    assert "opted out" in response.json()["detail"]
    assert "confirm_opted_out" in response.json()["detail"]
    assert db_session.scalar(tenant_messages(tenant)) == 0


def test_idempotency_key_reused_for_another_customer_is_409(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    first = _customer(client, tenant, phone="+15125550162")
    second = _customer(client, tenant, phone="+15125550163")
    key = {"Idempotency-Key": "abc-123", **tenant.headers}
    # The first send is written even without Temporal (503 asks the caller to retry the key).
    client.post(
        "/v1/messages", json={"customer_id": first, "channel": "sms", "body": "A"}, headers=key
    )
    reused = client.post(
        "/v1/messages", json={"customer_id": second, "channel": "sms", "body": "B"}, headers=key
    )
    assert reused.status_code == 409
    assert "Idempotency-Key" in reused.json()["detail"]
