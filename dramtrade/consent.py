"""SMS consent and email suppression: the one place that records and answers them.

``SmsConsent`` (per sub-account and number) and ``EmailSuppression`` (per sub-account and
address) are authoritative: the send-time check in ``outbound.claim`` and the manual-send
check read them. Every change is also written to the ``ConsentEvent`` audit trail, and the
per-customer summary columns (``Customer.sms_opted_out``/``email_suppressed``) are kept in
step for display.
"""

from __future__ import annotations

import unicodedata
import uuid
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dramtrade import conversations, outbound, repositories
from dramtrade.config import KeywordReplies
from dramtrade.models import (
    Channel,
    ConsentEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    EmailSuppression,
    Message,
    SmsConsent,
    SubAccount,
    utcnow,
)

Keyword = Literal["opt_out", "opt_in", "help"]

# Twilio's default keywords (protocol/twilio_messaging.md §5), plus "OPT OUT" as issue 3 asks.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

# Outbound sources whose sends are compliance replies: they go even to an opted-out number.
COMPLIANCE_SOURCE = "compliance"


def _is_edge_noise(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")


def normalise_keyword(body: str) -> str:
    """The body without surrounding whitespace and punctuation, inner spaces collapsed,
    upper-cased: ``"  Stop! "`` -> ``"STOP"``, ``"opt   out."`` -> ``"OPT OUT"``."""
    start, end = 0, len(body)
    while start < end and _is_edge_noise(body[start]):
        start += 1
    while end > start and _is_edge_noise(body[end - 1]):
        end -= 1
    return " ".join(body[start:end].split()).upper()


def keyword_of(body: str) -> Keyword | None:
    """Which compliance keyword a whole message is, if it is exactly one ("STOP PLEASE" is not)."""
    word = normalise_keyword(body)
    if word in OPT_OUT_KEYWORDS:
        return "opt_out"
    if word in OPT_IN_KEYWORDS:
        return "opt_in"
    if word in HELP_KEYWORDS:
        return "help"
    return None


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- answers ----------------------------------------------------------------------------------


def sms_opted_out(session: Session, sub_account_id: uuid.UUID, e164: str) -> bool:
    """True when this number has opted out of SMS from this sub-account."""
    opted_out = session.scalar(
        select(SmsConsent.opted_out).where(
            SmsConsent.sub_account_id == sub_account_id, SmsConsent.e164 == e164
        )
    )
    return bool(opted_out)


def sms_consent(session: Session, sub_account_id: uuid.UUID, e164: str) -> SmsConsent | None:
    return session.scalar(
        select(SmsConsent).where(
            SmsConsent.sub_account_id == sub_account_id, SmsConsent.e164 == e164
        )
    )


def email_suppression(
    session: Session, sub_account_id: uuid.UUID, email: str
) -> EmailSuppression | None:
    return session.scalar(
        select(EmailSuppression).where(
            EmailSuppression.sub_account_id == sub_account_id,
            EmailSuppression.email == normalise_email(email),
        )
    )


def email_suppressed(session: Session, sub_account_id: uuid.UUID, email: str) -> bool:
    """True when this address gets no automated or campaign email from this sub-account."""
    return email_suppression(session, sub_account_id, email) is not None


# --- changes ----------------------------------------------------------------------------------


def _event(
    session: Session,
    sub_account_id: uuid.UUID,
    customer: Customer | None,
    channel: Channel,
    address: str,
    action: str,
    detail: str | None,
    message_id: uuid.UUID | None,
) -> ConsentEvent:
    event = ConsentEvent(
        sub_account_id=sub_account_id,
        customer_id=customer.id if customer is not None else None,
        channel=channel,
        address=address,
        action=action,
        detail=detail[:200] if detail else None,
        message_id=message_id,
    )
    session.add(event)
    return event


def _set_sms(session: Session, sub_account_id: uuid.UUID, e164: str, opted_out: bool) -> SmsConsent:
    """Upsert the number's consent row under a row lock; ``changed_at`` moves only on a change."""
    query = (
        select(SmsConsent)
        .where(SmsConsent.sub_account_id == sub_account_id, SmsConsent.e164 == e164)
        .with_for_update()
    )
    row = session.scalar(query)
    if row is None:
        try:
            # Two webhooks for the same number may race; the unique key settles it.
            with session.begin_nested():
                row = SmsConsent(
                    sub_account_id=sub_account_id,
                    e164=e164,
                    opted_out=opted_out,
                    changed_at=utcnow(),
                )
                session.add(row)
            return row
        except IntegrityError:
            row = session.scalars(query).one()
    if row.opted_out != opted_out:
        row.opted_out = opted_out
        row.changed_at = utcnow()
    return row


def refresh_customer_sms(session: Session, customer: Customer) -> None:
    """The customer's SMS summary: opted out when any of their numbers is."""
    rows = session.scalars(
        select(SmsConsent)
        .join(
            CustomerPhone,
            (CustomerPhone.sub_account_id == SmsConsent.sub_account_id)
            & (CustomerPhone.e164 == SmsConsent.e164),
        )
        .where(CustomerPhone.customer_id == customer.id, SmsConsent.opted_out.is_(True))
    ).all()
    customer.sms_opted_out = bool(rows)
    customer.sms_opted_out_at = max((r.changed_at for r in rows), default=None)


def refresh_customer_email(session: Session, customer: Customer) -> None:
    """The customer's email summary: suppressed when any of their addresses is."""
    rows = session.scalars(
        select(EmailSuppression)
        .join(
            CustomerEmail,
            (CustomerEmail.sub_account_id == EmailSuppression.sub_account_id)
            & (CustomerEmail.email == EmailSuppression.email),
        )
        .where(CustomerEmail.customer_id == customer.id)
        .order_by(EmailSuppression.created_at.desc())
    ).all()
    customer.email_suppressed = bool(rows)
    customer.email_suppressed_reason = rows[0].reason if rows else None


def refresh_customer(session: Session, customer: Customer) -> None:
    """Recompute both summaries, e.g. after the customer's phones or emails changed."""
    refresh_customer_sms(session, customer)
    refresh_customer_email(session, customer)


def opt_out_sms(
    session: Session,
    sub_account_id: uuid.UUID,
    e164: str,
    *,
    detail: str | None = None,
    message_id: uuid.UUID | None = None,
) -> SmsConsent:
    """The number opts out now: later automated and campaign SMS to it are suppressed."""
    return _change_sms(session, sub_account_id, e164, True, detail, message_id)


def opt_in_sms(
    session: Session,
    sub_account_id: uuid.UUID,
    e164: str,
    *,
    detail: str | None = None,
    message_id: uuid.UUID | None = None,
) -> SmsConsent:
    """The number opts back in (START, YES, UNSTOP)."""
    return _change_sms(session, sub_account_id, e164, False, detail, message_id)


def _change_sms(
    session: Session,
    sub_account_id: uuid.UUID,
    e164: str,
    opted_out: bool,
    detail: str | None,
    message_id: uuid.UUID | None,
) -> SmsConsent:
    """Record the number's new consent, its audit event and the customer's summary."""
    row = _set_sms(session, sub_account_id, e164, opted_out)
    customer = repositories.find_customer_by_phone(session, sub_account_id, e164)
    action = "opt_out" if opted_out else "opt_in"
    _event(session, sub_account_id, customer, Channel.sms, e164, action, detail, message_id)
    if customer is not None:
        session.flush()
        refresh_customer_sms(session, customer)
    return row


def record_help(
    session: Session,
    sub_account_id: uuid.UUID,
    e164: str,
    *,
    detail: str | None = None,
    message_id: uuid.UUID | None = None,
) -> None:
    customer = repositories.find_customer_by_phone(session, sub_account_id, e164)
    _event(session, sub_account_id, customer, Channel.sms, e164, "help", detail, message_id)


def suppress_email(
    session: Session,
    sub_account_id: uuid.UUID,
    email: str,
    reason: str,
    *,
    message_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
) -> bool:
    """Suppress the address (idempotent); True when it was not suppressed before.

    Every call is kept in the audit trail; the first reason stays on the suppression. The
    customer is the address's owner, else ``customer_id`` (the one the message went to).
    """
    address = normalise_email(email)
    created = False
    if email_suppression(session, sub_account_id, address) is None:
        try:
            with session.begin_nested():
                session.add(
                    EmailSuppression(
                        sub_account_id=sub_account_id, email=address, reason=reason[:50]
                    )
                )
            created = True
        except IntegrityError:
            created = False  # a concurrent event suppressed it first
    customer = repositories.find_customer_by_email(session, sub_account_id, address)
    owner = customer
    if owner is None and customer_id is not None:
        owner = session.get(Customer, customer_id)
    _event(session, sub_account_id, owner, Channel.email, address, "suppressed", reason, message_id)
    if customer is not None:
        session.flush()
        refresh_customer_email(session, customer)
    elif owner is not None and not owner.email_suppressed:
        # Sent to an address no longer (or never) on file: the summary still shows it.
        owner.email_suppressed, owner.email_suppressed_reason = True, reason[:200]
    return created


# --- keyword handling -------------------------------------------------------------------------


def reply_text(kind: Keyword, business_name: str, business_phone: str) -> str:
    if kind == "opt_out":
        return (
            f"{business_name}: You have been unsubscribed and will not receive any more "
            "messages from this number. Reply START to resubscribe."
        )
    if kind == "opt_in":
        return (
            f"{business_name}: You have been resubscribed to messages from this number. "
            "Reply HELP for help. Reply STOP to unsubscribe. Msg&data rates may apply."
        )
    return (
        f"{business_name}: For help, call {business_phone}. "
        "Reply STOP to unsubscribe. Msg&data rates may apply."
    )


def handle_inbound_keyword(
    session: Session, inbound: Message, keyword_replies: KeywordReplies
) -> uuid.UUID | None:
    """Act on an inbound SMS that is a keyword: record it and write our compliance reply.

    The customer gets exactly one confirmation of a STOP or START: with ``"provider"``
    keyword replies Twilio sends its own (and refuses ours to an opted-out number with
    21610), so we only record the change; with ``"app"`` we write the reply. HELP is always
    answered here, with the business name and number Twilio's generic reply lacks.

    Returns the id of the reply row to send (its idempotency key derives from the inbound
    MessageSid, so a redelivered webhook never writes a second one), or None when there is
    nothing for us to send.
    """
    kind = keyword_of(inbound.body)
    if kind is None:
        return None
    sub_account_id, sender = inbound.sub_account_id, inbound.from_addr
    word = normalise_keyword(inbound.body)
    if kind == "opt_out":
        opt_out_sms(session, sub_account_id, sender, detail=word, message_id=inbound.id)
    elif kind == "opt_in":
        opt_in_sms(session, sub_account_id, sender, detail=word, message_id=inbound.id)
    else:
        record_help(session, sub_account_id, sender, detail=word, message_id=inbound.id)
    if kind != "help" and keyword_replies == "provider":
        return None  # the provider's auto-reply is the one confirmation
    account = session.get_one(SubAccount, sub_account_id)
    body = reply_text(kind, account.name, account.business_phone or inbound.to_addr)
    return _compliance_reply(session, inbound, kind, body).id


def reply_key(provider: str, inbound_id: str) -> str:
    """The compliance reply's idempotency key: one reply per inbound message, ever."""
    return f"compliance:{provider}:{inbound_id}"


def pending_reply(session: Session, sub_account_id: uuid.UUID, sid: str) -> list[uuid.UUID]:
    """The reply to an inbound SMS that is still unsent (its send was never started)."""
    found = session.scalar(
        select(Message.id).where(
            Message.sub_account_id == sub_account_id,
            Message.idempotency_key == reply_key("twilio", sid),
            Message.status == outbound.PENDING,
        )
    )
    return [found] if found is not None else []


def _compliance_reply(session: Session, inbound: Message, kind: Keyword, body: str) -> Message:
    key = reply_key(inbound.provider, inbound.provider_id or str(inbound.id))
    customer = session.get(Customer, inbound.customer_id) if inbound.customer_id else None
    if customer is not None:
        return outbound.create(
            session,
            outbound.Draft(
                sub_account_id=inbound.sub_account_id,
                customer=customer,
                channel=Channel.sms,
                to=inbound.from_addr,
                from_=inbound.to_addr,
                body=body,
                source=COMPLIANCE_SOURCE,
                trigger=kind,
                idempotency_key=key,
            ),
        )
    # An unknown number: outbound.Draft needs a customer, so the row goes in the number's
    # own thread here, under the same idempotency rule as outbound.create.
    existing = session.scalar(
        select(Message).where(
            Message.sub_account_id == inbound.sub_account_id, Message.idempotency_key == key
        )
    )
    if existing is not None:
        return existing
    conversation = conversations.for_phone(session, inbound.sub_account_id, inbound.from_addr)
    message = Message(
        sub_account_id=inbound.sub_account_id,
        conversation_id=conversation.id,
        direction=Direction.outbound,
        channel=Channel.sms,
        source=COMPLIANCE_SOURCE,
        trigger=kind,
        from_addr=inbound.to_addr,
        to_addr=inbound.from_addr,
        body=body,
        status=outbound.PENDING,
        provider="twilio",
        idempotency_key=key,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return session.scalars(
            select(Message).where(
                Message.sub_account_id == inbound.sub_account_id, Message.idempotency_key == key
            )
        ).one()
    conversations.touch(conversation, message.created_at, inbound=False)
    return message


def after_send_failure(session: Session, message: Message, code: str | None) -> None:
    """Twilio's 21610 means the recipient opted out at the carrier: record it here too."""
    if (
        code == "21610"
        and message.channel == Channel.sms
        and not sms_opted_out(session, message.sub_account_id, message.to_addr)
    ):
        opt_out_sms(
            session,
            message.sub_account_id,
            message.to_addr,
            detail="provider error 21610",
            message_id=message.id,
        )


def history(
    session: Session, sub_account_id: uuid.UUID, customer: Customer, limit: int = 20
) -> list[ConsentEvent]:
    """The customer's latest consent events, newest first: by customer id or by their
    current numbers and addresses (events recorded before the number was theirs count too)."""
    phones = select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer.id)
    emails = select(CustomerEmail.email).where(CustomerEmail.customer_id == customer.id)
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.sub_account_id == sub_account_id,
                (ConsentEvent.customer_id == customer.id)
                | ((ConsentEvent.channel == Channel.sms) & ConsentEvent.address.in_(phones))
                | ((ConsentEvent.channel == Channel.email) & ConsentEvent.address.in_(emails)),
            )
            .order_by(ConsentEvent.created_at.desc(), ConsentEvent.id)
            .limit(limit)
        ).all()
    )
