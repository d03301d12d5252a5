"""The inbox read through the platform API; threads and messages are inserted directly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dramtrade.models import Channel, Conversation, Customer, Direction, Message
from tests.conftest import Tenant

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def _conversation(
    db: Session,
    tenant: Tenant,
    *,
    customer: Customer | None = None,
    phone: str | None = None,
    status: str = "open",
    last: datetime | None = None,
) -> Conversation:
    key = f"customer:{customer.id}" if customer else f"phone:{phone}"
    conv = Conversation(
        sub_account_id=tenant.sub_account_id,
        contact_key=key,
        customer_id=customer.id if customer else None,
        contact_phone=phone,
        status=status,
        last_message_at=last,
        unread_count=1,
    )
    db.add(conv)
    db.flush()
    return conv


def _message(
    db: Session,
    tenant: Tenant,
    conv: Conversation,
    body: str,
    at: datetime,
    direction: Direction = Direction.inbound,
) -> Message:
    msg = Message(
        sub_account_id=tenant.sub_account_id,
        conversation_id=conv.id,
        customer_id=conv.customer_id,
        direction=direction,
        channel=Channel.sms,
        from_addr=conv.contact_phone or "+15125550134",
        to_addr=tenant.phone_number,
        body=body,
        status="received",
        provider="twilio",
        provider_id=f"SM{uuid.uuid4().hex}",
        created_at=at,
    )
    db.add(msg)
    db.flush()
    return msg


def _customer(db: Session, tenant: Tenant) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Pat", last_name="Lee")
    db.add(customer)
    db.flush()
    return customer


def test_list_newest_activity_first_with_preview_and_name(
    client: TestClient, tenant: Tenant, db_session: Session
):
    customer = _customer(db_session, tenant)
    known = _conversation(
        db_session, tenant, customer=customer, phone="+15125550134", last=T0 + timedelta(minutes=5)
    )
    _message(db_session, tenant, known, "old", T0)
    _message(db_session, tenant, known, "Is the tech  still\ncoming?", T0 + timedelta(minutes=5))
    unknown = _conversation(
        db_session, tenant, phone="+15125550199", last=T0 + timedelta(minutes=9), status="resolved"
    )
    _message(db_session, tenant, unknown, "x" * 300, T0 + timedelta(minutes=9))

    response = client.get("/v1/conversations", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [c["id"] for c in items] == [str(unknown.id), str(known.id)]
    assert items[1]["display_name"] == "Pat Lee"
    assert items[1]["last_message_preview"] == "Is the tech still coming?"
    assert items[1]["customer_id"] == str(customer.id)
    assert items[0]["display_name"] == "+15125550199"
    assert len(items[0]["last_message_preview"]) <= 140

    open_only = client.get(
        "/v1/conversations", params={"status": "open"}, headers=tenant.headers
    ).json()["items"]
    assert [c["id"] for c in open_only] == [str(known.id)]
    by_customer = client.get(
        "/v1/conversations", params={"customer_id": str(customer.id)}, headers=tenant.headers
    ).json()["items"]
    assert [c["id"] for c in by_customer] == [str(known.id)]
    bad = client.get("/v1/conversations", params={"status": "closed"}, headers=tenant.headers)
    assert bad.status_code == 422

    one = client.get(f"/v1/conversations/{known.id}", headers=tenant.headers)
    assert one.status_code == 200 and one.json() == items[1]


def test_messages_oldest_first_paged(client: TestClient, tenant: Tenant, db_session: Session):
    conv = _conversation(db_session, tenant, phone="+15125550134", last=T0)
    made = [
        _message(
            db_session,
            tenant,
            conv,
            f"m{i}",
            T0 + timedelta(seconds=i),
            Direction.outbound if i % 2 else Direction.inbound,
        )
        for i in range(5)
    ]
    seen: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(
            f"/v1/conversations/{conv.id}/messages", params=params, headers=tenant.headers
        )
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [m["id"] for m in seen] == [str(m.id) for m in made]
    first = seen[0]
    assert first["from"] == "+15125550134" and first["to"] == tenant.phone_number
    assert first["direction"] == "inbound" and first["channel"] == "sms"
    assert first["provider_id"] == made[0].provider_id
    for key in (
        "subject",
        "status",
        "error_code",
        "error_message",
        "created_at",
        "sent_at",
        "delivered_at",
        "source",
        "trigger",
        "job_id",
    ):
        assert key in first


def test_other_tenants_conversations_are_invisible(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, db_session: Session
):
    theirs = _conversation(db_session, other_tenant, phone="+15125550134", last=T0)
    _message(db_session, other_tenant, theirs, "secret", T0)
    assert client.get("/v1/conversations", headers=tenant.headers).json()["items"] == []
    for path in (f"/v1/conversations/{theirs.id}", f"/v1/conversations/{theirs.id}/messages"):
        response = client.get(path, headers=tenant.headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "conversation not found"}
        assert "secret" not in response.text
