"""Reply addresses, our Message-IDs, and what every outbound email carries because of them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dramtrade import email_threading, outbound, providers
from dramtrade.config import get_settings
from dramtrade.inbound_email import decode_fields, html_to_text, sanitize_html
from dramtrade.models import Channel, Conversation, Customer, CustomerEmail, Message, SubAccount
from dramtrade.providers import RetryableSendError
from tests.conftest import Tenant


def test_reply_address_round_trips_and_survives_case_folding() -> None:
    token = email_threading.new_reply_token()
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    address = email_threading.reply_address(token, "Mail.Example.COM")
    assert address == f"reply+{token}@mail.example.com"
    assert email_threading.reply_token_of(address) == token
    assert email_threading.reply_token_of(address.upper()) == token
    for other in ("hello@mail.example.com", "reply@x.com", "reply+@x.com", "xreply+abc@x.com"):
        assert email_threading.reply_token_of(other) is None


def test_message_ids_are_ours_and_unique() -> None:
    first = email_threading.new_message_id("Mail.Example.com")
    assert re.fullmatch(r"<[0-9a-f-]{36}@mail\.example\.com>", first)
    assert first != email_threading.new_message_id("mail.example.com")


def test_message_ids_are_read_from_in_reply_to_and_references() -> None:
    header = " <a@x.example>\n\t<b.c@y.example> garbage <d@z>"
    assert email_threading.message_ids(header) == ["<a@x.example>", "<b.c@y.example>", "<d@z>"]
    assert email_threading.message_ids(None) == []


def customer_with_email(session: Session, tenant: Tenant) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana")
    session.add(customer)
    session.flush()
    session.add(
        CustomerEmail(
            sub_account_id=tenant.sub_account_id, customer_id=customer.id, email="dana@example.com"
        )
    )
    session.flush()
    return customer


def email_row(session: Session, tenant: Tenant, customer: Customer, key: str) -> Message:
    message = outbound.create(
        session,
        outbound.Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=Channel.email,
            to="dana@example.com",
            from_="hello@example.com",
            subject="Hello",
            body="Hi",
            idempotency_key=key,
        ),
    )
    session.flush()
    return message


def test_the_reply_token_is_made_once_per_conversation(db_session: Session, tenant: Tenant) -> None:
    customer = customer_with_email(db_session, tenant)
    first, second = (email_row(db_session, tenant, customer, k) for k in ("k1", "k2"))
    plan_one = outbound.claim(db_session, first.id)
    plan_two = outbound.claim(db_session, second.id)
    assert plan_one is not None and plan_two is not None
    conversation = db_session.get_one(Conversation, first.conversation_id)
    domain = db_session.get_one(SubAccount, tenant.sub_account_id).sending_domain
    assert conversation.reply_token
    expected = f"reply+{conversation.reply_token}@{domain}"
    assert plan_one.reply_to == plan_two.reply_to == expected
    assert email_threading.ensure_reply_token(db_session, conversation) == conversation.reply_token
    found = email_threading.conversation_for_addresses(db_session, ["x@y.z", expected.upper()])
    assert found is not None and found.id == conversation.id


def test_the_message_id_is_stored_before_the_call_and_reused_by_retries(
    db_session: Session, tenant: Tenant
) -> None:
    customer = customer_with_email(db_session, tenant)
    message = email_row(db_session, tenant, customer, "k1")
    plan = outbound.claim(db_session, message.id)
    assert plan is not None and plan.rfc_message_id
    domain = db_session.get_one(SubAccount, tenant.sub_account_id).sending_domain
    assert message.rfc_message_id == plan.rfc_message_id
    assert plan.rfc_message_id.endswith(f"@{domain}>")
    outbound.record_failure(db_session, message.id, RetryableSendError("timeout"))
    retry = outbound.claim(db_session, message.id)
    assert retry is not None and retry.rfc_message_id == plan.rfc_message_id
    # Threading by In-Reply-To finds it; a sub-account scope that excludes it does not.
    found = email_threading.conversation_for_references(db_session, [plan.rfc_message_id])
    assert found is not None and found.id == message.conversation_id
    assert (
        email_threading.conversation_for_references(
            db_session, [plan.rfc_message_id], {customer.id}
        )
        is None
    )


class _Accepted:
    status_code = 202
    headers = {"X-Message-Id": "sg-123"}
    body = b""


class _Client:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, mail: Any) -> _Accepted:
        self.sent.append(mail.get())
        return _Accepted()


def test_the_mail_sent_carries_reply_to_and_our_message_id(
    db_session: Session, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _Client()
    monkeypatch.setattr(providers, "sendgrid_client", lambda settings: client)
    customer = customer_with_email(db_session, tenant)
    message = email_row(db_session, tenant, customer, "k1")
    plan = outbound.claim(db_session, message.id)
    assert plan is not None
    provider_id, status, _ = outbound.call_provider(get_settings(), plan)
    assert (provider_id, status) == ("sg-123", "processed")
    (mail,) = client.sent
    assert mail["reply_to"] == {"email": plan.reply_to}
    assert mail["headers"]["Message-ID"] == message.rfc_message_id


def test_sanitize_html_keeps_formatting_and_drops_code() -> None:
    cleaned = sanitize_html(
        '<div style="x" onmouseover="a()"><b>Hi</b> <a href="JaVaScRiPt:alert(1)">x</a>'
        '<a href="mailto:a@b.c">mail</a><iframe src="https://e.vil"></iframe>'
        '<img src="https://t.example/p.gif"><form><input name="p"></form></div>'
    )
    assert cleaned == (
        '<div><b>Hi</b> <a rel="noopener noreferrer">x</a>'
        '<a href="mailto:a@b.c" rel="noopener noreferrer">mail</a></div>'
    )


def test_html_to_text() -> None:
    html = "<style>p{}</style><h1>Quote</h1><ul><li>One&nbsp;item</li><li>Two</li></ul>x<br>y"
    html += "<p>Hello\n  <b>big</b>\n world</p>"
    assert html_to_text(html) == "Quote\n\nOne item\nTwo\n\nx\ny\n\nHello big world"


def test_decode_fields_honours_charsets() -> None:
    raw = {
        "charsets": b'{"subject": "windows-1252", "text": "utf-8", "from": "bogus"}',
        "subject": b"\x93Quote\x94",
        "text": b"ok \xff",
        "from": b"a@b.c",
        "to": b"x@y.z",
    }
    fields = decode_fields(raw)
    assert fields["subject"] == "\u201cQuote\u201d"
    assert fields["text"] == "ok \ufffd"
    assert (fields["from"], fields["to"]) == ("a@b.c", "x@y.z")
    assert decode_fields({"charsets": b"not json", "text": b"hi"})["text"] == "hi"
