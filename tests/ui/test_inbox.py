"""The inbox over HTTP: list, filters, search, thread, reply, actions, unknown contacts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade import conversations
from dramtrade.models import (
    Channel,
    Conversation,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    Lead,
    Message,
    Role,
    SmsConsent,
    User,
    utcnow,
)
from tests.conftest import Tenant, make_tenant
from tests.ui.support import make_user, sign_in


def add_customer(
    session: Session, tenant: Tenant, first: str, last: str, phone: str, email: str | None = None
) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name=first, last_name=last)
    session.add(customer)
    session.flush()
    session.add(
        CustomerPhone(sub_account_id=tenant.sub_account_id, customer_id=customer.id, e164=phone)
    )
    if email:
        session.add(
            CustomerEmail(
                sub_account_id=tenant.sub_account_id, customer_id=customer.id, email=email
            )
        )
    session.flush()
    return customer


def add_message(
    session: Session,
    conversation: Conversation,
    body: str,
    *,
    channel: Channel = Channel.sms,
    inbound: bool = True,
    subject: str | None = None,
    html: str | None = None,
    ago: int = 0,
) -> Message:
    at = utcnow() - timedelta(minutes=ago)
    message = Message(
        sub_account_id=conversation.sub_account_id,
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        direction=Direction.inbound if inbound else Direction.outbound,
        channel=channel,
        source="inbound" if inbound else "manual",
        from_addr="+15125550999" if inbound else "+15125550100",
        to_addr="+15125550100" if inbound else "+15125550999",
        subject=subject,
        body=body,
        html=html,
        status="received" if inbound else "delivered",
        provider="twilio" if channel == Channel.sms else "sendgrid",
        created_at=at,
        updated_at=at,
    )
    session.add(message)
    session.flush()
    conversations.touch(conversation, at, inbound=inbound)
    session.flush()
    return message


@pytest.fixture
def inbox_data(db_session: Session, tenant: Tenant, office_user: User):
    jane = add_customer(db_session, tenant, "Jane", "Alvarez", "+15125550111", "jane@example.com")
    bob = add_customer(db_session, tenant, "Bob", "Nguyen", "+15125550122", "bob@example.com")
    jane_conv = conversations.for_customer(db_session, jane)
    bob_conv = conversations.for_customer(db_session, bob)
    unknown = conversations.for_phone(db_session, tenant.sub_account_id, "+15125550177")
    add_message(db_session, jane_conv, "Is the tech still coming today?", ago=5)
    add_message(
        db_session,
        bob_conv,
        "Invoice question",
        channel=Channel.email,
        subject="Invoice 1001",
        ago=30,
    )
    add_message(db_session, unknown, "Hi who is this", ago=1)
    bob_conv.status = "resolved"
    jane_conv.assignee_id = office_user.id
    unknown.flagged = True
    db_session.flush()
    return {
        "jane": jane,
        "bob": bob,
        "jane_conv": jane_conv,
        "bob_conv": bob_conv,
        "unknown": unknown,
    }


def conv_ids(html: str) -> list[str]:
    return re.findall(r'data-conversation-id="([0-9a-f-]+)"', html)


def test_inbox_lists_open_conversations_newest_first(office_client: TestClient, inbox_data):
    page = office_client.get("/app/inbox")
    assert page.status_code == 200
    ids = conv_ids(page.text)
    assert ids == [str(inbox_data["unknown"].id), str(inbox_data["jane_conv"].id)]
    assert "Jane Alvarez" in page.text
    assert "+15125550177" in page.text  # the unknown number stands in for a name
    assert "Is the tech still coming today?" in page.text
    assert "Assigned to Olive Office" in page.text
    assert 'title="Flagged"' in page.text
    assert "Unread (1)" in page.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("filter=resolved", ["bob_conv"]),
        ("filter=flagged", ["unknown"]),
        ("filter=mine", ["jane_conv"]),
        ("filter=unassigned", ["unknown"]),
        ("filter=all", ["unknown", "jane_conv", "bob_conv"]),
        ("filter=all&channel=email", ["bob_conv"]),
        ("filter=all&channel=sms", ["unknown", "jane_conv"]),
        ("filter=all&q=alvarez", ["jane_conv"]),
        ("filter=all&q=550122", ["bob_conv"]),
        ("filter=all&q=(512) 555-0177", ["unknown"]),
        ("filter=all&q=jane@example", ["jane_conv"]),
        ("filter=all&q=nomatch", []),
    ],
)
def test_filters_and_search(office_client: TestClient, inbox_data, params, expected):
    page = office_client.get(f"/app/inbox/list?{params}")
    assert page.status_code == 200
    assert conv_ids(page.text) == [str(inbox_data[k].id) for k in expected]


def test_paging(office_client: TestClient, db_session: Session, tenant: Tenant):
    for i in range(30):
        conv = conversations.for_phone(db_session, tenant.sub_account_id, f"+1512555{i:04d}")
        add_message(db_session, conv, f"hello {i}", ago=i)
    first = office_client.get("/app/inbox/list")
    assert len(conv_ids(first.text)) == 25
    match = re.search(r'href="/app/inbox\?([^"]*cursor=[^"]+)"', first.text)
    assert match
    second = office_client.get("/app/inbox/list?" + match.group(1).replace("&amp;", "&"))
    assert len(conv_ids(second.text)) == 5
    assert not set(conv_ids(first.text)) & set(conv_ids(second.text))


def test_thread_shows_timeline_sidebar_and_marks_read(
    office_client: TestClient, db_session: Session, inbox_data
):
    conv = inbox_data["jane_conv"]
    add_message(
        db_session,
        conv,
        "<script>alert(1)</script>",
        channel=Channel.email,
        subject="Photos",
        html='<p onclick="x()">See <b>photos</b></p>',
    )
    assert conv.unread_count == 2
    page = office_client.get(f"/app/inbox/{conv.id}")
    assert page.status_code == 200
    text = page.text
    assert "Is the tech still coming today?" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" not in text or "<script>alert(1)" not in text
    assert "<script>alert(1)</script>" not in text
    # Email HTML only inside a sandboxed iframe, escaped into srcdoc.
    assert re.search(r'<iframe class="msg-html" sandbox title="Email: Photos" srcdoc="&lt;p', text)
    assert 'data-status="received"' in text
    assert "Recent jobs" in text and "Outstanding invoices" in text and "SMS ok" in text
    db_session.refresh(conv)
    assert conv.unread_count == 0


def test_foreign_conversation_is_404(office_client: TestClient, db_session: Session):
    other = make_tenant(db_session, "Other Co")
    conv = conversations.for_phone(db_session, other.sub_account_id, "+15125550188")
    add_message(db_session, conv, "secret")
    page = office_client.get(f"/app/inbox/{conv.id}")
    assert page.status_code == 404
    assert "secret" not in page.text
    assert office_client.get(f"/app/inbox/{uuid.uuid4()}").status_code == 404


def set_temporal(client: TestClient, temporal: object) -> None:
    client.app.state.temporal = temporal  # type: ignore[attr-defined]


class FakeTemporal:
    def __init__(self, fail: bool = False):
        self.fail = fail
        self.started: list[tuple[str, str]] = []

    async def start_workflow(self, run, arg, *, id, task_queue):
        if self.fail:
            raise RuntimeError("temporal is down")
        self.started.append((arg, id))


def reply(client: TestClient, conv: Conversation, **data):
    form = {
        "csrf_token": client.csrf,
        "channel": "sms",
        "body": "On our way!",
        "idempotency_key": uuid.uuid4().hex,
        **data,
    }
    return client.post(f"/app/inbox/{conv.id}/reply", data=form, headers={"HX-Request": "true"})


def test_reply_by_sms_writes_the_row_then_starts_the_workflow(
    office_client: TestClient, db_session: Session, inbox_data
):
    temporal = FakeTemporal()
    set_temporal(office_client, temporal)
    conv = inbox_data["jane_conv"]
    response = reply(office_client, conv, idempotency_key="k1")
    assert response.status_code == 200, response.text
    assert response.headers["HX-Trigger"] == "replySent"
    assert "Sent." in response.text
    row = db_session.scalar(select(Message).where(Message.body == "On our way!"))
    assert row is not None
    assert row.conversation_id == conv.id and row.to_addr == "+15125550111"
    assert row.status == "pending" and row.segments == 1 and row.encoding == "GSM-7"
    assert row.idempotency_key == "manual:k1"
    assert temporal.started == [(str(row.id), f"message-{row.id}")]
    # The same form sent twice (double click) is one message.
    reply(office_client, conv, idempotency_key="k1")
    rows = db_session.scalars(select(Message).where(Message.body == "On our way!")).all()
    assert len(rows) == 1


def test_reply_when_temporal_is_down_is_queued_not_500(
    office_client: TestClient, db_session: Session, inbox_data
):
    set_temporal(office_client, FakeTemporal(fail=True))
    conv = inbox_data["jane_conv"]
    response = reply(office_client, conv, body="Queued one")
    assert response.status_code == 200
    assert "queued" in response.text and "Retry sending" in response.text
    row = db_session.scalar(select(Message).where(Message.body == "Queued one"))
    assert row is not None and row.status == "pending"
    # Retrying starts the workflow for the same row.
    temporal = FakeTemporal()
    set_temporal(office_client, temporal)
    retry = office_client.post(
        f"/app/inbox/{conv.id}/messages/{row.id}/retry",
        data={"csrf_token": office_client.csrf},
        headers={"HX-Request": "true"},
    )
    assert retry.status_code == 200
    assert temporal.started == [(str(row.id), f"message-{row.id}")]


def test_reply_by_email_needs_a_subject(office_client: TestClient, db_session: Session, inbox_data):
    set_temporal(office_client, FakeTemporal())
    conv = inbox_data["jane_conv"]
    response = reply(office_client, conv, channel="email", body="Hello by email")
    assert response.status_code == 200
    assert "an email needs a subject" in response.text
    assert "HX-Trigger" not in response.headers
    response = reply(
        office_client, conv, channel="email", body="Hello by email", subject="Your visit"
    )
    assert response.headers["HX-Trigger"] == "replySent"
    row = db_session.scalar(select(Message).where(Message.body == "Hello by email"))
    assert row is not None and row.channel == "email" and row.to_addr == "jane@example.com"


def test_reply_to_opted_out_number_needs_confirmation(
    office_client: TestClient, db_session: Session, tenant: Tenant, inbox_data
):
    set_temporal(office_client, FakeTemporal())
    db_session.add(
        SmsConsent(sub_account_id=tenant.sub_account_id, e164="+15125550111", opted_out=True)
    )
    db_session.flush()
    conv = inbox_data["jane_conv"]
    page = office_client.get(f"/app/inbox/{conv.id}")
    assert "This number opted out of SMS" in page.text
    assert "SMS opted out" in page.text
    response = reply(office_client, conv, body="Despite STOP")
    assert "opted out" in response.text
    assert db_session.scalar(select(Message).where(Message.body == "Despite STOP")) is None
    response = reply(office_client, conv, body="Despite STOP", confirm_opted_out="true")
    assert response.headers["HX-Trigger"] == "replySent"
    assert db_session.scalar(select(Message).where(Message.body == "Despite STOP")) is not None


def test_reply_to_unknown_number(office_client: TestClient, db_session: Session, inbox_data):
    set_temporal(office_client, FakeTemporal())
    conv = inbox_data["unknown"]
    response = reply(office_client, conv, body="Who's asking?")
    assert response.headers["HX-Trigger"] == "replySent"
    row = db_session.scalar(select(Message).where(Message.body == "Who's asking?"))
    assert row is not None
    assert row.conversation_id == conv.id and row.to_addr == "+15125550177"
    assert row.customer_id is None


def test_technician_sees_but_cannot_act(
    client: TestClient, db_session: Session, technician_user: User, inbox_data
):
    csrf = sign_in(client, technician_user.email)
    conv = inbox_data["jane_conv"]
    page = client.get(f"/app/inbox/{conv.id}")
    assert page.status_code == 200
    assert 'id="composer"' not in page.text
    assert f'action="/app/inbox/{conv.id}/status"' not in page.text
    for path, data in [
        ("reply", {"body": "x"}),
        ("status", {"status": "resolved"}),
        ("assign", {"assignee_id": ""}),
        ("flag", {"flagged": "true"}),
    ]:
        response = client.post(f"/app/inbox/{conv.id}/{path}", data={"csrf_token": csrf, **data})
        assert response.status_code == 403, path


def test_actions_need_csrf(office_client: TestClient, inbox_data):
    conv = inbox_data["jane_conv"]
    response = office_client.post(f"/app/inbox/{conv.id}/status", data={"status": "resolved"})
    assert response.status_code == 403


def test_assign_resolve_reopen_flag(
    office_client: TestClient, db_session: Session, tenant: Tenant, inbox_data
):
    conv = inbox_data["unknown"]
    mate = make_user(db_session, tenant.sub_account_id, Role.office, name="Mary Mate")
    post = lambda path, **data: office_client.post(  # noqa: E731
        f"/app/inbox/{conv.id}/{path}",
        data={"csrf_token": office_client.csrf, **data},
        headers={"HX-Request": "true"},
    )
    assert post("assign", assignee_id=str(mate.id)).status_code == 200
    db_session.refresh(conv)
    assert conv.assignee_id == mate.id
    outsider = make_user(db_session, make_tenant(db_session, "X").sub_account_id)
    assert post("assign", assignee_id=str(outsider.id)).status_code == 422
    assert post("status", status="resolved").status_code == 200
    db_session.refresh(conv)
    assert conv.status == "resolved"
    response = post("status", status="open")
    assert "Reopened." in response.text
    db_session.refresh(conv)
    assert conv.status == "open"
    post("flag", flagged="false")
    db_session.refresh(conv)
    assert conv.flagged is False
    # Without htmx the forms redirect back to the thread with a flash message.
    response = office_client.post(
        f"/app/inbox/{conv.id}/flag",
        data={"csrf_token": office_client.csrf, "flagged": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/app/inbox/{conv.id}"
    assert "Flagged for follow-up." in office_client.get(f"/app/inbox/{conv.id}").text


def test_link_unknown_number_creates_ownership_and_moves_thread(
    office_client: TestClient, db_session: Session, tenant: Tenant, office_user: User
):
    # A customer without a conversation: the unknown thread becomes theirs.
    sam = add_customer(db_session, tenant, "Sam", "Ortiz", "+15125550133")
    unknown = conversations.for_phone(db_session, tenant.sub_account_id, "+15125550144")
    first = add_message(db_session, unknown, "first from unknown")
    search = office_client.get(f"/app/inbox/{unknown.id}/customer-search?q=ortiz")
    assert "Sam Ortiz" in search.text and str(sam.id) in search.text
    response = office_client.post(
        f"/app/inbox/{unknown.id}/link",
        data={"csrf_token": office_client.csrf, "customer_id": str(sam.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db_session.expire_all()
    phones = {
        p.e164
        for p in db_session.scalars(
            select(CustomerPhone).where(CustomerPhone.customer_id == sam.id)
        )
    }
    assert phones == {"+15125550133", "+15125550144"}
    conv = db_session.get(Conversation, unknown.id)
    assert conv is not None and conv.customer_id == sam.id
    assert conv.contact_key == f"customer:{sam.id}"
    assert db_session.get_one(Message, first.id).customer_id == sam.id
    # Later messages from that number land with Sam.
    assert conversations.for_phone(db_session, tenant.sub_account_id, "+15125550144").id == conv.id


def test_link_merges_into_the_customers_existing_thread(
    office_client: TestClient, db_session: Session, tenant: Tenant
):
    jane = add_customer(db_session, tenant, "Jane", "Alvarez", "+15125550111")
    jane_conv = conversations.for_customer(db_session, jane)
    old = add_message(db_session, jane_conv, "old message", ago=60)
    unknown = conversations.for_phone(db_session, tenant.sub_account_id, "+15125550155")
    moved = add_message(db_session, unknown, "from her other phone")
    unknown.flagged = True
    db_session.flush()
    response = office_client.post(
        f"/app/inbox/{unknown.id}/link",
        data={"csrf_token": office_client.csrf, "customer_id": str(jane.id)},
        follow_redirects=False,
    )
    assert response.headers["location"] == f"/app/inbox/{jane_conv.id}"
    db_session.expire_all()
    assert db_session.get(Conversation, unknown.id) is None
    merged = db_session.get_one(Conversation, jane_conv.id)
    assert merged.flagged and merged.unread_count == 2
    assert db_session.get_one(Message, moved.id).conversation_id == jane_conv.id
    assert db_session.get_one(Message, moved.id).customer_id == jane.id
    assert db_session.get_one(Message, old.id).conversation_id == jane_conv.id
    page = office_client.get(f"/app/inbox/{jane_conv.id}")
    assert "old message" in page.text and "from her other phone" in page.text


def test_link_refuses_a_number_of_another_customer(
    office_client: TestClient, db_session: Session, tenant: Tenant
):
    a = add_customer(db_session, tenant, "Ann", "A", "+15125550161")
    b = add_customer(db_session, tenant, "Ben", "B", "+15125550162")
    # A thread keyed by a number that meanwhile became Ann's.
    conv = Conversation(
        sub_account_id=tenant.sub_account_id,
        contact_key="phone:+15125550161",
        contact_phone="+15125550161",
    )
    db_session.add(conv)
    db_session.flush()
    response = office_client.post(
        f"/app/inbox/{conv.id}/link",
        data={"csrf_token": office_client.csrf, "customer_id": str(b.id)},
    )
    assert response.status_code == 409
    assert "already belongs to another customer" in response.text
    assert a.id != b.id


def test_create_lead_links_the_conversation(
    office_client: TestClient, db_session: Session, inbox_data
):
    conv = inbox_data["unknown"]
    page = office_client.get(f"/app/inbox/{conv.id}")
    assert "Link to an existing customer" in page.text and "Create a lead" in page.text
    response = office_client.post(
        f"/app/inbox/{conv.id}/lead",
        data={"csrf_token": office_client.csrf, "name": "Pat Prospect"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db_session.refresh(conv)
    lead = db_session.get(Lead, conv.lead_id)
    assert lead is not None and lead.name == "Pat Prospect" and lead.phone == "+15125550177"
    assert "Lead: Pat Prospect" in office_client.get(f"/app/inbox/{conv.id}").text
