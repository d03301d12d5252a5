"""Consent: keyword parsing, the consent records and their audit trail, the send-time check,
and signed unsubscribe tokens."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import consent, conversations, outbound
from dramtrade.config import KeywordReplies, get_settings
from dramtrade.models import (
    Channel,
    ConsentEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    EmailSuppression,
    Message,
    SmsConsent,
)
from dramtrade.providers import PermanentSendError
from dramtrade.unsubscribe_tokens import (
    make_token,
    read_token,
    unsubscribe_headers,
)
from tests.conftest import Tenant

PHONE = "+15125550134"
EMAIL = "dana@example.com"

# --- keywords ---------------------------------------------------------------------------------

OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"]
OPT_IN = ["START", "YES", "UNSTOP"]
HELP = ["HELP", "INFO"]


@pytest.mark.parametrize(
    ("word", "kind"),
    [(w, "opt_out") for w in OPT_OUT]
    + [(w, "opt_in") for w in OPT_IN]
    + [(w, "help") for w in HELP],
)
def test_every_keyword_in_any_case(word: str, kind: str) -> None:
    assert consent.keyword_of(word) == kind
    assert consent.keyword_of(word.lower()) == kind
    assert consent.keyword_of(word.title()) == kind


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("  stop  ", "opt_out"),
        ("Stop.", "opt_out"),
        ("STOP!!!", "opt_out"),
        ('"stop"', "opt_out"),
        ("\tStop\r\n", "opt_out"),
        ("¡stop!", "opt_out"),
        ("opt out", "opt_out"),
        ("Opt   Out.", "opt_out"),
        ("opt\tout", "opt_out"),
        ("start!", "opt_in"),
        ("Yes.", "opt_in"),
        ("unstop", "opt_in"),
        ("help?", "help"),
        ("(info)", "help"),
        ("...", None),
        ("", None),
        ("   ", None),
        ("STOP PLEASE", None),
        ("please stop", None),
        ("stop it", None),
        ("stop stop", None),
        ("Yes please", None),
        ("help me", None),
        ("I want to unsubscribe", None),
        ("STOPP", None),
        ("S T O P", None),
        ("st-op", None),
        ("optout now", None),
        ("opt-out", None),
        ("yes, 3pm works", None),
        ("stop🛑", None),
    ],
)
def test_only_a_whole_message_that_is_one_keyword_counts(body: str, kind: str | None) -> None:
    assert consent.keyword_of(body) == kind


# --- keyword handling -------------------------------------------------------------------------


def inbound(session: Session, tenant: Tenant, body: str, sender: str = PHONE) -> Message:
    conversation = conversations.for_phone(session, tenant.sub_account_id, sender)
    message = Message(
        sub_account_id=tenant.sub_account_id,
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        direction="inbound",
        channel=Channel.sms,
        source="inbound",
        from_addr=sender,
        to_addr=tenant.phone_number,
        body=body,
        status="received",
        provider="twilio",
        provider_id="SM" + uuid.uuid4().hex,
    )
    session.add(message)
    session.flush()
    return message


@pytest.mark.parametrize("body", ["STOP", "start"])
def test_provider_mode_records_stop_and_start_but_writes_no_reply(
    db_session: Session, tenant: Tenant, body: str
) -> None:
    customer = customer_with(db_session, tenant)
    message = inbound(db_session, tenant, body)
    assert consent.handle_inbound_keyword(db_session, message, "provider") is None
    [event] = events(db_session, tenant)
    assert (event.action, event.detail, event.message_id, event.customer_id) == (
        "opt_out" if body == "STOP" else "opt_in",
        body.upper(),
        message.id,
        customer.id,
    )
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE) == (body == "STOP")
    outbound_rows = db_session.scalars(
        select(Message).where(
            Message.sub_account_id == tenant.sub_account_id, Message.direction == "outbound"
        )
    ).all()
    assert outbound_rows == []


@pytest.mark.parametrize(
    ("body", "trigger", "words"),
    [
        ("STOP", "opt_out", "Reply START to resubscribe"),
        ("unstop", "opt_in", "Reply STOP to unsubscribe"),
        ("HELP", "help", "For help, call"),
    ],
)
def test_app_mode_writes_one_reply_per_inbound_message(
    db_session: Session, tenant: Tenant, body: str, trigger: str, words: str
) -> None:
    customer_with(db_session, tenant)
    message = inbound(db_session, tenant, body)
    reply_id = consent.handle_inbound_keyword(db_session, message, "app")
    assert reply_id is not None
    assert consent.handle_inbound_keyword(db_session, message, "app") == reply_id  # redelivery
    reply = db_session.get_one(Message, reply_id)
    assert (reply.source, reply.trigger, reply.status) == ("compliance", trigger, "pending")
    assert (reply.to_addr, reply.from_addr) == (PHONE, tenant.phone_number)
    assert reply.body.startswith("Lone Star Comfort: ") and words in reply.body


@pytest.mark.parametrize("mode", ["provider", "app"])
def test_help_is_answered_by_us_with_business_name_and_number_in_both_modes(
    db_session: Session, tenant: Tenant, mode: KeywordReplies
) -> None:
    message = inbound(db_session, tenant, "info", sender="+15125550999")  # unknown number
    reply_id = consent.handle_inbound_keyword(db_session, message, mode)
    assert reply_id is not None
    reply = db_session.get_one(Message, reply_id)
    assert reply.body == (
        f"Lone Star Comfort: For help, call {tenant.phone_number}. "
        "Reply STOP to unsubscribe. Msg&data rates may apply."
    )
    assert [e.action for e in events(db_session, tenant)] == ["help"]


def test_a_normal_text_is_not_a_keyword_in_either_mode(db_session: Session, tenant: Tenant) -> None:
    message = inbound(db_session, tenant, "Stop by at 3?")
    assert consent.handle_inbound_keyword(db_session, message, "app") is None
    assert consent.handle_inbound_keyword(db_session, message, "provider") is None
    assert events(db_session, tenant) == []


# --- consent records --------------------------------------------------------------------------


def customer_with(
    session: Session, tenant: Tenant, phone: str = PHONE, email: str = EMAIL
) -> Customer:
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana", last_name="W")
    session.add(customer)
    session.flush()
    session.add_all(
        [
            CustomerPhone(
                sub_account_id=tenant.sub_account_id, customer_id=customer.id, e164=phone
            ),
            CustomerEmail(
                sub_account_id=tenant.sub_account_id, customer_id=customer.id, email=email
            ),
        ]
    )
    session.flush()
    return customer


def events(session: Session, tenant: Tenant) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.sub_account_id == tenant.sub_account_id)
            .order_by(ConsentEvent.created_at)
        )
    )


def test_opt_out_and_back_in_keeps_record_summary_and_trail_in_step(
    db_session: Session, tenant: Tenant
) -> None:
    customer = customer_with(db_session, tenant)
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)

    row = consent.opt_out_sms(db_session, tenant.sub_account_id, PHONE, detail="STOP")
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    assert customer.sms_opted_out and customer.sms_opted_out_at == row.changed_at
    first_change = row.changed_at

    # A second STOP is kept in the trail but is not a new change.
    consent.opt_out_sms(db_session, tenant.sub_account_id, PHONE, detail="STOP")
    assert row.changed_at == first_change
    tenant_consents = select(func.count()).select_from(SmsConsent)
    tenant_consents = tenant_consents.where(SmsConsent.sub_account_id == tenant.sub_account_id)
    assert db_session.scalar(tenant_consents) == 1

    consent.opt_in_sms(db_session, tenant.sub_account_id, PHONE, detail="START")
    assert not consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    assert not customer.sms_opted_out and customer.sms_opted_out_at is None
    trail = events(db_session, tenant)
    assert [(e.action, e.detail, e.customer_id) for e in trail] == [
        ("opt_out", "STOP", customer.id),
        ("opt_out", "STOP", customer.id),
        ("opt_in", "START", customer.id),
    ]


def test_consent_is_per_sub_account(
    db_session: Session, tenant: Tenant, other_tenant: Tenant
) -> None:
    consent.opt_out_sms(db_session, tenant.sub_account_id, PHONE)
    consent.suppress_email(db_session, tenant.sub_account_id, EMAIL, "spamreport")
    assert not consent.sms_opted_out(db_session, other_tenant.sub_account_id, PHONE)
    assert not consent.email_suppressed(db_session, other_tenant.sub_account_id, EMAIL)


def test_an_unknown_number_can_opt_out(db_session: Session, tenant: Tenant) -> None:
    consent.opt_out_sms(db_session, tenant.sub_account_id, "+15125550999", detail="STOP")
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, "+15125550999")
    assert events(db_session, tenant)[0].customer_id is None


def test_suppression_is_idempotent_case_blind_and_keeps_the_first_reason(
    db_session: Session, tenant: Tenant
) -> None:
    customer = customer_with(db_session, tenant)
    assert consent.suppress_email(
        db_session, tenant.sub_account_id, "Dana@Example.com ", "hard bounce"
    )
    assert not consent.suppress_email(db_session, tenant.sub_account_id, EMAIL, "spamreport")
    assert consent.email_suppressed(db_session, tenant.sub_account_id, "DANA@example.COM")
    rows = db_session.scalars(select(EmailSuppression)).all()
    assert [(r.email, r.reason) for r in rows] == [(EMAIL, "hard bounce")]
    assert customer.email_suppressed and customer.email_suppressed_reason == "hard bounce"
    assert [(e.action, e.detail) for e in events(db_session, tenant)] == [
        ("suppressed", "hard bounce"),
        ("suppressed", "spamreport"),
    ]


def test_history_finds_events_by_customer_or_by_their_addresses(
    db_session: Session, tenant: Tenant
) -> None:
    # The STOP came before the number was on file; it still belongs to the customer's history.
    consent.opt_out_sms(db_session, tenant.sub_account_id, PHONE, detail="STOP")
    customer = customer_with(db_session, tenant)
    consent.suppress_email(db_session, tenant.sub_account_id, EMAIL, "unsubscribe")
    consent.opt_out_sms(db_session, tenant.sub_account_id, "+15125550111")  # someone else
    found = consent.history(db_session, tenant.sub_account_id, customer)
    assert sorted(e.address for e in found) == [PHONE, EMAIL]


# --- the send-time check ----------------------------------------------------------------------


def pending(
    session: Session, tenant: Tenant, customer: Customer, channel: Channel, source: str
) -> Message:
    return outbound.create(
        session,
        outbound.Draft(
            sub_account_id=tenant.sub_account_id,
            customer=customer,
            channel=channel,
            to=PHONE if channel == Channel.sms else EMAIL,
            from_=tenant.phone_number if channel == Channel.sms else "hi@example.com",
            body="Hello",
            subject="Hi" if channel == Channel.email else None,
            source=source,
            idempotency_key=uuid.uuid4().hex,
        ),
    )


@pytest.mark.parametrize("source", ["notification", "campaign", "marketing"])
def test_claim_suppresses_automated_sms_to_an_opted_out_number(
    db_session: Session, tenant: Tenant, source: str
) -> None:
    customer = customer_with(db_session, tenant)
    message = pending(db_session, tenant, customer, Channel.sms, source)
    consent.opt_out_sms(db_session, tenant.sub_account_id, PHONE)  # after the row was written
    assert outbound.claim(db_session, message.id) is None
    assert (message.status, message.error_message) == ("suppressed", "recipient opted out of SMS")
    assert message.attempts == 0


@pytest.mark.parametrize("source", ["notification", "campaign"])
def test_claim_suppresses_automated_email_to_a_suppressed_address(
    db_session: Session, tenant: Tenant, source: str
) -> None:
    customer = customer_with(db_session, tenant)
    message = pending(db_session, tenant, customer, Channel.email, source)
    consent.suppress_email(db_session, tenant.sub_account_id, EMAIL, "spamreport")
    assert outbound.claim(db_session, message.id) is None
    assert message.status == "suppressed"
    assert message.error_message == "address suppressed: spamreport"


def test_the_check_reads_the_number_not_the_customer_flag(
    db_session: Session, tenant: Tenant
) -> None:
    customer = customer_with(db_session, tenant)
    customer.sms_opted_out = True  # a stale summary alone does not suppress
    message = pending(db_session, tenant, customer, Channel.sms, "notification")
    assert outbound.claim(db_session, message.id) is not None


@pytest.mark.parametrize("source", ["compliance", "manual"])
def test_compliance_replies_and_manual_sends_pass_the_check(
    db_session: Session, tenant: Tenant, source: str
) -> None:
    customer = customer_with(db_session, tenant)
    consent.opt_out_sms(db_session, tenant.sub_account_id, PHONE)
    message = pending(db_session, tenant, customer, Channel.sms, source)
    plan = outbound.claim(db_session, message.id)
    assert plan is not None and plan.to == PHONE


def test_a_21610_refusal_is_a_clear_failure_and_opts_the_number_out(
    db_session: Session, tenant: Tenant
) -> None:
    customer = customer_with(db_session, tenant)
    message = pending(db_session, tenant, customer, Channel.sms, "notification")
    error = PermanentSendError("The recipient replied STOP and has opted out.", "21610")
    outbound.record_failure(db_session, message.id, error)
    assert (message.status, message.error_code) == ("failed", "21610")
    assert "STOP" in (message.error_message or "")
    assert consent.sms_opted_out(db_session, tenant.sub_account_id, PHONE)
    assert customer.sms_opted_out
    trail = events(db_session, tenant)
    assert [(e.action, e.detail, e.message_id) for e in trail] == [
        ("opt_out", "provider error 21610", message.id)
    ]
    # Another refusal for an already opted-out number adds nothing.
    again = pending(db_session, tenant, customer, Channel.sms, "compliance")
    outbound.record_failure(db_session, again.id, error)
    assert len(events(db_session, tenant)) == 1


# --- unsubscribe tokens -----------------------------------------------------------------------


def test_token_round_trip_and_tamper() -> None:
    settings = get_settings()
    account = uuid.uuid4()
    token = make_token(settings, account, "Dana@Example.com")
    found = read_token(settings, token)
    assert found is not None and (found.sub_account_id, found.email) == (account, EMAIL)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    payload, mac = token.split(".")
    other = make_token(settings, account, "eve@example.com").split(".")[0]
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for bad in [
        f"{other}.{mac}",
        f"{flipped}.{mac}",
        f"{payload}.{mac[:-1]}",
        payload,
        f"{payload}.",
        "",
        "...",
        "not base64!.@@",
    ]:
        assert read_token(settings, bad) is None, bad
    rotated = settings.model_copy(update={"secret_key": SecretStr("another-secret")})
    assert read_token(rotated, token) is None


def test_unsubscribe_headers_follow_rfc_8058() -> None:
    settings = get_settings().model_copy(update={"public_base_url": "https://comms.example.com/"})
    account = uuid.uuid4()
    headers = unsubscribe_headers(settings, account, EMAIL, mailto="unsubscribe@mail.example.com")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url, mailto = headers["List-Unsubscribe"].split(", ")
    assert url.startswith("<https://comms.example.com/unsubscribe/") and url.endswith(">")
    found = read_token(settings, url[1:-1].rsplit("/", 1)[1])
    assert found is not None and found.email == EMAIL
    assert mailto == "<mailto:unsubscribe@mail.example.com?subject=unsubscribe>"
    assert unsubscribe_headers(settings, account, EMAIL)["List-Unsubscribe"].count("<") == 1


def test_only_campaign_email_carries_list_unsubscribe(
    db_session: Session, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, str] | None] = []
    custom_args: list[object] = []

    def fake_send_email(settings: object, **kwargs: object) -> str:
        sent.append(kwargs.get("headers"))  # type: ignore[arg-type]
        custom_args.append(kwargs.get("custom_args"))
        return "x-message-id"

    monkeypatch.setattr(outbound, "send_email", fake_send_email)
    customer = customer_with(db_session, tenant)
    for source in ("campaign", "notification", "manual"):
        plan = outbound.claim(
            db_session, pending(db_session, tenant, customer, Channel.email, source).id
        )
        assert plan is not None
        outbound.call_provider(get_settings(), plan)
    campaign, notification, manual = sent
    assert campaign is not None
    assert campaign["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in campaign["List-Unsubscribe"]
    for transactional in (notification, manual):
        assert "List-Unsubscribe" not in (transactional or {})
    # Every email names its row and its sub-account for SendGrid's events.
    assert all(
        isinstance(args, dict)
        and set(args) == {"message_id", "sub_account_id"}
        and args["sub_account_id"] == str(tenant.sub_account_id)
        for args in custom_args
    ), custom_args
