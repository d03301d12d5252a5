"""SendGrid Inbound Parse: authenticated by the URL secret, threaded, sanitized, stored once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import outbound
from dramtrade.config import get_settings
from dramtrade.models import (
    Attachment,
    Channel,
    Conversation,
    Customer,
    CustomerEmail,
    Message,
    SubAccount,
    WebhookEvent,
)
from tests.conftest import Tenant

SECRET = "inbound-" + uuid.uuid4().hex
URL = f"/webhooks/email/inbound/{SECRET}"
MAX_ATTACHMENT = 1_000


@pytest.fixture
def email_client(client: TestClient) -> TestClient:
    settings = get_settings().model_copy(
        update={
            "inbound_email_secret": SecretStr(SECRET),
            "max_attachment_bytes": MAX_ATTACHMENT,
        }
    )
    client.app.dependency_overrides[get_settings] = lambda: settings  # type: ignore[attr-defined]
    return client


def domain_of(session: Session, tenant: Tenant) -> str:
    return session.get_one(SubAccount, tenant.sub_account_id).sending_domain


def add_customer(session: Session, tenant: Tenant, email: str) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana", last_name="W")
    session.add(customer)
    session.flush()
    session.add(
        CustomerEmail(sub_account_id=tenant.sub_account_id, customer_id=customer.id, email=email)
    )
    session.flush()
    return customer


def email_fields(
    *,
    from_: str,
    to: str,
    subject: str = "Re: Your AC tune-up",
    text: str = "Thursday works for me.",
    html: str | None = None,
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    envelope_to: list[str] | None = None,
) -> dict[str, str]:
    """The fields SendGrid posts (default parse mode), in its formats."""
    if message_id == "auto":
        message_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    headers = [f"From: {from_}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        headers.append(f"Message-ID: {message_id}")
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: <older@x.example> {in_reply_to}"]
    fields = {
        "headers": "\n".join(headers) + "\n",
        "dkim": "{@example.com : pass}",
        "to": to,
        "from": from_,
        "text": text,
        "sender_ip": "203.0.113.5",
        "envelope": json.dumps(
            {"to": envelope_to or [to.split("<")[-1].rstrip(">")], "from": "bounce@example.com"}
        ),
        "attachments": "0",
        "subject": subject,
        "charsets": json.dumps(
            {"to": "UTF-8", "html": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}
        ),
        "SPF": "pass",
    }
    if html is not None:
        fields["html"] = html
    return fields


def post(
    client: TestClient,
    fields: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    url: str = URL,
) -> httpx.Response:
    """Multipart/form-data, as SendGrid posts it."""
    if files:
        return client.post(url, data=fields, files=files)
    body, content_type = raw_multipart({k: v.encode() for k, v in fields.items()})
    return client.post(url, content=body, headers={"Content-Type": content_type})


def messages_of(session: Session, tenant: Tenant) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.sub_account_id == tenant.sub_account_id)
            .order_by(Message.created_at)
        )
    )


def sent_email(session: Session, tenant: Tenant, customer: Customer) -> Message:
    """An email we sent the customer, claimed for sending (reply address and Message-ID set)."""
    message = outbound.create(
        session,
        outbound.Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=Channel.email,
            to="dana@example.com",
            from_=f"hello@{domain_of(session, tenant)}",
            subject="Your AC tune-up",
            body="See you Thursday.",
        ),
    )
    session.flush()
    assert outbound.claim(session, message.id) is not None
    return message


def test_reply_to_our_reply_address_lands_in_that_conversation(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer = add_customer(db_session, tenant, "dana@example.com")
    ours = sent_email(db_session, tenant, customer)
    conversation = db_session.get_one(Conversation, ours.conversation_id)
    address = f"reply+{conversation.reply_token}@{domain_of(db_session, tenant)}"
    # Sent from another address (a spouse's): the reply address alone decides the thread.
    fields = email_fields(from_='"Sam W" <sam@example.net>', to=f'"Lone Star" <{address}>')
    response = post(email_client, fields)
    assert response.status_code == 200
    assert response.json() == {"stored": True}
    reply = messages_of(db_session, tenant)[-1]
    assert reply.conversation_id == conversation.id
    assert reply.customer_id == customer.id
    assert (reply.direction, reply.channel, reply.status) == ("inbound", "email", "received")
    assert (reply.from_addr, reply.to_addr) == ("sam@example.net", address)
    assert reply.body == "Thursday works for me."
    assert reply.subject == "Re: Your AC tune-up"
    assert reply.provider == "sendgrid"
    assert conversation.unread_count == 1


def test_in_reply_to_our_message_id_threads_without_the_reply_address(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer = add_customer(db_session, tenant, "dana@example.com")
    ours = sent_email(db_session, tenant, customer)
    assert ours.rfc_message_id
    fields = email_fields(
        from_="someone@example.org",
        to=f"hello@{domain_of(db_session, tenant)}",
        in_reply_to=ours.rfc_message_id,
    )
    post(email_client, fields)
    reply = messages_of(db_session, tenant)[-1]
    assert reply.direction == "inbound"
    assert reply.conversation_id == ours.conversation_id


def test_known_customer_is_found_by_sender_address(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer = add_customer(db_session, tenant, "dana@example.com")
    message_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    fields = email_fields(
        from_='"Dana" <Dana@Example.com>',
        to=f"hello@{domain_of(db_session, tenant)}",
        message_id=message_id,
    )
    post(email_client, fields)
    (message,) = messages_of(db_session, tenant)
    conversation = db_session.get_one(Conversation, message.conversation_id)
    assert conversation.contact_key == f"customer:{customer.id}"
    assert message.customer_id == customer.id
    assert message.from_addr == "dana@example.com"
    assert message.rfc_message_id == message_id


def test_unknown_sender_opens_an_unknown_contact_conversation(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    fields = email_fields(
        from_="New Person <new.person@example.org>", to=f"hello@{domain_of(db_session, tenant)}"
    )
    post(email_client, fields)
    (message,) = messages_of(db_session, tenant)
    conversation = db_session.get_one(Conversation, message.conversation_id)
    assert conversation.contact_key == "email:new.person@example.org"
    assert conversation.contact_email == "new.person@example.org"
    assert conversation.customer_id is None and message.customer_id is None


def test_mail_for_a_domain_we_do_not_send_from_is_dropped_with_200(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    fields = email_fields(from_="a@example.org", to="hello@not-ours.example")
    response = post(email_client, fields)
    assert response.status_code == 200
    assert response.json() == {"stored": False}
    assert messages_of(db_session, tenant) == []


def test_html_is_sanitized_and_the_text_kept(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    html = (
        "<html><head><style>body{display:none}</style><title>t</title></head><body>"
        "<p onclick='steal()'>Hi <b>there</b></p><script>alert(1)</script>"
        "<img src='https://tracker.example/p.gif' onerror='alert(2)'>"
        "<a href='javascript:alert(3)'>click</a> <a href='https://example.com/x'>site</a>"
        "</body></html>"
    )
    fields = email_fields(
        from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}", html=html
    )
    post(email_client, fields)
    (message,) = messages_of(db_session, tenant)
    assert message.body == "Thursday works for me."
    stored = message.html or ""
    for banned in ("<script", "alert", "onerror", "onclick", "javascript:", "<style", "<img"):
        assert banned not in stored
    assert "<b>there</b>" in stored
    assert '<a href="https://example.com/x" rel="noopener noreferrer">site</a>' in stored


def test_html_only_email_gets_a_plain_text_body(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    fields = email_fields(
        from_="a@example.org",
        to=f"hello@{domain_of(db_session, tenant)}",
        text="",
        html="<p>Line one &amp; more</p><p>Line <i>two</i></p><script>x()</script>",
    )
    post(email_client, fields)
    (message,) = messages_of(db_session, tenant)
    assert message.body == "Line one & more\n\nLine two"


def test_attachments_are_stored_and_an_oversized_one_is_skipped(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    fields = email_fields(from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}")
    fields["attachments"] = "2"
    fields["attachment-info"] = json.dumps(
        {
            "attachment1": {"filename": "unit.jpg", "name": "unit.jpg", "type": "image/jpeg"},
            "attachment2": {
                "filename": "manual.pdf",
                "name": "manual.pdf",
                "type": "application/pdf",
            },
        }
    )
    photo = bytes(range(256)) * 2  # binary, 512 bytes
    manual = b"%PDF" + b"x" * (MAX_ATTACHMENT + 1)
    files = [
        ("attachment1", ("unit.jpg", photo, "image/jpeg")),
        ("attachment2", ("manual.pdf", manual, "application/pdf")),
    ]
    response = post(email_client, fields, files)
    assert response.status_code == 200
    (message,) = messages_of(db_session, tenant)
    (attachment,) = db_session.scalars(
        select(Attachment).where(Attachment.message_id == message.id)
    ).all()
    assert (attachment.filename, attachment.content_type) == ("unit.jpg", "image/jpeg")
    assert (attachment.size, attachment.content) == (512, photo)
    assert attachment.sub_account_id == tenant.sub_account_id
    assert message.body.startswith("Thursday works for me.")
    assert "[Attachment not stored: manual.pdf" in message.body


def test_a_duplicate_post_is_stored_once(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    fields = email_fields(from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}")
    assert post(email_client, fields).json() == {"stored": True}
    again = post(email_client, fields)
    assert again.status_code == 200
    assert again.json() == {"stored": False}
    assert len(messages_of(db_session, tenant)) == 1


def test_without_a_message_id_duplicates_are_told_apart_by_content(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    to = f"hello@{domain_of(db_session, tenant)}"
    fields = email_fields(from_="a@example.org", to=to, message_id=None)
    post(email_client, fields)
    post(email_client, fields)
    post(email_client, {**fields, "text": "Something else."})
    assert [m.body for m in messages_of(db_session, tenant)] == [
        "Thursday works for me.",
        "Something else.",
    ]


@pytest.mark.parametrize("secret", ["wrong", SECRET + "x", ""])
def test_a_wrong_secret_is_404_and_stores_nothing(
    email_client: TestClient, tenant: Tenant, db_session: Session, secret: str
) -> None:
    fields = email_fields(from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}")
    events_before = db_session.scalar(select(func.count()).select_from(WebhookEvent))
    response = post(email_client, fields, url=f"/webhooks/email/inbound/{secret}")
    assert response.status_code == 404
    assert messages_of(db_session, tenant) == []
    assert db_session.scalar(select(func.count()).select_from(WebhookEvent)) == events_before


def test_the_endpoint_is_closed_while_no_secret_is_configured(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    settings = get_settings().model_copy(update={"inbound_email_secret": None})
    client.app.dependency_overrides[get_settings] = lambda: settings  # type: ignore[attr-defined]
    fields = email_fields(from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}")
    assert post(client, fields).status_code == 404
    assert messages_of(db_session, tenant) == []


def raw_multipart(parts: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "xYzZY" + uuid.uuid4().hex
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name.encode(), value)
        for name, value in parts.items()
    )
    return body + b"--%s--\r\n" % boundary.encode(), f"multipart/form-data; boundary={boundary}"


def test_fields_are_decoded_in_the_charsets_sendgrid_names(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    to = f"hello@{domain_of(db_session, tenant)}"
    fields: dict[str, Any] = email_fields(from_="a@example.org", to=to)
    fields["charsets"] = json.dumps(
        {"to": "UTF-8", "from": "UTF-8", "subject": "iso-8859-1", "text": "UTF-8"}
    )
    parts = {k: v.encode() for k, v in fields.items()}
    parts["subject"] = "Réparation du chauffe-eau".encode("iso-8859-1")
    parts["text"] = "Merci, à jeudi ☀".encode()
    body, content_type = raw_multipart(parts)
    response = email_client.post(URL, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    (message,) = messages_of(db_session, tenant)
    assert message.subject == "Réparation du chauffe-eau"
    assert message.body == "Merci, à jeudi ☀"


def test_invalid_utf8_and_unknown_charsets_do_not_fail(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    to = f"hello@{domain_of(db_session, tenant)}"
    fields = email_fields(from_="a@example.org", to=to)
    fields["charsets"] = json.dumps({"subject": "x-no-such-charset", "text": "UTF-8"})
    parts = {k: v.encode() for k, v in fields.items()}
    parts["text"] = b"caf\xe9 \xff\xfe ok"
    parts["subject"] = b"Hello \xc3"
    body, content_type = raw_multipart(parts)
    response = email_client.post(URL, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200
    (message,) = messages_of(db_session, tenant)
    assert message.body.startswith("caf\ufffd") and message.body.endswith(" ok")
    assert message.subject is not None and message.subject.startswith("Hello")


def test_a_body_that_is_not_a_form_is_a_clear_4xx(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    response = email_client.post(URL, content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    broken = email_client.post(
        URL,
        content=b"--b\r\nContent-Disposition: form-data\r\n\r\n",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert broken.status_code == 400
    assert messages_of(db_session, tenant) == []


def test_emails_larger_than_the_general_body_limit_are_accepted(
    email_client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    fields = email_fields(from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}")
    big = b"\0" * (get_settings().max_request_bytes + 10)
    response = post(email_client, fields, [("attachment1", ("big.bin", big, "x/y"))])
    assert response.status_code == 200
    (message,) = messages_of(db_session, tenant)
    assert "[Attachment not stored: big.bin" in message.body


def test_a_body_over_the_inbound_email_limit_is_413(
    email_client: TestClient,
    tenant: Tenant,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.webhooks import inbound_email

    monkeypatch.setattr(inbound_email, "MAX_INBOUND_EMAIL_BYTES", 5_000)
    fields = email_fields(from_="a@example.org", to=f"hello@{domain_of(db_session, tenant)}")
    files = [("attachment1", ("big.bin", b"\0" * 6_000, "x/y"))]
    assert post(email_client, fields, files).status_code == 413
    assert messages_of(db_session, tenant) == []
