"""Outbound messages: a row first, then one provider call made from that row.

``prepare_*`` writes the row under an idempotency key (the same key returns the same row),
``deliver`` sends it. ``deliver`` is safe to retry: a row that already has a provider id is
never sent again, and opt-outs are checked at send time, not when the row was written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dramtrade import consent, conversations, email_threading, template_context, templating
from dramtrade.config import Settings
from dramtrade.models import (
    Channel,
    Conversation,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    Job,
    Message,
    PhoneNumber,
    SubAccount,
    Template,
    utcnow,
)
from dramtrade.providers import PermanentSendError, send_email, send_sms
from dramtrade.sms_segments import count_segments
from dramtrade.unsubscribe_tokens import NON_TRANSACTIONAL_SOURCES, unsubscribe_headers

PENDING = "pending"


@dataclass(frozen=True)
class Draft:
    sub_account_id: uuid.UUID
    customer: Customer
    channel: Channel
    to: str
    from_: str
    body: str
    subject: str | None = None
    html: str | None = None
    source: str = "manual"
    trigger: str | None = None
    job_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = None
    idempotency_key: str | None = None


def by_idempotency_key(session: Session, sub_account_id: uuid.UUID, key: str) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.sub_account_id == sub_account_id, Message.idempotency_key == key
        )
    )


def create(session: Session, draft: Draft) -> Message:
    """Insert the message row, or return the existing one for the same idempotency key."""
    if draft.idempotency_key:
        existing = by_idempotency_key(session, draft.sub_account_id, draft.idempotency_key)
        if existing is not None:
            return existing
    conversation = conversations.for_customer(session, draft.customer)
    message = Message(
        sub_account_id=draft.sub_account_id,
        conversation_id=conversation.id,
        customer_id=draft.customer.id,
        job_id=draft.job_id,
        direction=Direction.outbound,
        channel=draft.channel,
        source=draft.source,
        trigger=draft.trigger,
        from_addr=draft.from_,
        to_addr=draft.to,
        subject=draft.subject,
        body=draft.body,
        html=draft.html,
        status=PENDING,
        provider="twilio" if draft.channel == Channel.sms else "sendgrid",
        idempotency_key=draft.idempotency_key,
        template_id=draft.template_id,
    )
    if draft.channel == Channel.sms:
        info = count_segments(draft.body)
        message.segments, message.encoding = info.segments, info.encoding
    try:
        # A concurrent retry may insert the same key first; then that row is the answer.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        assert draft.idempotency_key is not None
        existing = by_idempotency_key(session, draft.sub_account_id, draft.idempotency_key)
        if existing is None:
            raise
        return existing
    conversations.touch(conversation, message.created_at, inbound=False)
    return message


def business_number(session: Session, sub_account_id: uuid.UUID) -> str | None:
    return session.scalar(
        select(PhoneNumber.e164)
        .where(PhoneNumber.sub_account_id == sub_account_id)
        .order_by(PhoneNumber.is_default.desc(), PhoneNumber.created_at)
        .limit(1)
    )


def primary_phone(session: Session, customer: Customer) -> str | None:
    return session.scalar(
        select(CustomerPhone.e164)
        .where(CustomerPhone.customer_id == customer.id)
        .order_by(CustomerPhone.position)
        .limit(1)
    )


def primary_email(session: Session, customer: Customer) -> str | None:
    return session.scalar(
        select(CustomerEmail.email)
        .where(CustomerEmail.customer_id == customer.id)
        .order_by(CustomerEmail.position)
        .limit(1)
    )


def notification_template(
    session: Session, sub_account_id: uuid.UUID, trigger: str, channel: Channel
) -> Template | None:
    return session.scalar(
        select(Template)
        .where(
            Template.sub_account_id == sub_account_id,
            Template.trigger == trigger,
            Template.channel.in_([channel.value, "both"]),
        )
        .order_by(Template.created_at)
        .limit(1)
    )


def _job_template(
    session: Session,
    sub_account_id: uuid.UUID,
    trigger: str,
    channel: Channel,
    template_id: uuid.UUID | None,
) -> Template | None:
    """The setting's template when it is still this sub-account's and serves the channel,
    else the trigger's default template."""
    if template_id is not None:
        chosen = session.get(Template, template_id)
        if (
            chosen is not None
            and chosen.sub_account_id == sub_account_id
            and chosen.channel in (channel.value, "both")
        ):
            return chosen
    return notification_template(session, sub_account_id, trigger, channel)


def missing_values(template: Template, values: dict[str, str]) -> list[str]:
    """Variables the template uses that have no value for this customer/job."""
    texts = [template.body, template.subject or "", template.html or ""]
    used = {name for text in texts for name in templating.variables_in(text)}
    return sorted(name for name in used if not values.get(name))


def prepare_job_notification(
    session: Session,
    job_id: uuid.UUID,
    trigger: str,
    channel: Channel,
    *,
    template_id: uuid.UUID | None = None,
    occurrence: str | None = None,
) -> uuid.UUID | None:
    """Write the job notification's row; None when there is no template or no recipient.

    The idempotency key is job, trigger, channel and recipient, so a repeated milestone finds
    the row it wrote the first time; ``occurrence`` tells apart notices a job may get more than
    once (each reschedule, the reminder for each appointment time). A template that would leave
    a variable blank for this job is not sent: the row is written as failed, naming the value.
    """
    job = session.get(Job, job_id)
    if job is None:
        return None
    account = session.get_one(SubAccount, job.sub_account_id)
    customer = session.get_one(Customer, job.customer_id)
    template = _job_template(session, account.id, trigger, channel, template_id)
    if template is None:
        return None
    if channel == Channel.sms:
        to, from_ = primary_phone(session, customer), business_number(session, account.id)
    else:
        to, from_ = primary_email(session, customer), account.from_email
    if to is None or from_ is None:
        return None
    key = f"job:{job.id}:{trigger}:{channel.value}:{to}"
    if occurrence:
        key += f":{occurrence}"
    existing = by_idempotency_key(session, account.id, key)
    if existing is not None:
        return existing.id
    values = template_context.build(session, account, customer, job)
    message = create(
        session,
        Draft(
            sub_account_id=account.id,
            customer=customer,
            channel=channel,
            to=to,
            from_=from_,
            body=templating.render(template.body, values),
            subject=templating.render(template.subject, values) if template.subject else None,
            html=templating.render(template.html, values, escape_html=True)
            if template.html
            else None,
            source="notification",
            trigger=trigger,
            job_id=job.id,
            template_id=template.id,
            idempotency_key=key,
        ),
    )
    missing = missing_values(template, values)
    if missing and message.status == PENDING and message.provider_id is None:
        message.status = "failed"
        message.error_message = "not sent: no value for " + ", ".join(
            "{{" + name + "}}" for name in missing
        )
    return message.id


def discard(session: Session, message_id: uuid.UUID, reason: str) -> bool:
    """Cancel a row that was never handed to a provider (e.g. held, then the job cancelled)."""
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.status != PENDING or message.provider_id is not None:
        return False
    message.status, message.error_message = "canceled", reason[:500]
    return True


@dataclass(frozen=True)
class SendPlan:
    """What the provider call needs, read in one short transaction."""

    message_id: uuid.UUID
    channel: Channel
    from_: str
    to: str
    body: str
    subject: str | None
    html: str | None
    from_name: str
    sub_account_id: uuid.UUID | None = None
    source: str = "manual"
    # Email only: Reply-To (the conversation's reply address) and our Message-ID header.
    reply_to: str | None = None
    rfc_message_id: str | None = None


def claim(session: Session, message_id: uuid.UUID) -> SendPlan | None:
    """Decide, at send time, whether this row still needs a provider call."""
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.status != PENDING or message.provider_id is not None:
        return None  # already sent (or suppressed, or failed for good): never send twice
    # Opt-outs win, checked now rather than when the row was written. Manual sends were
    # checked (and, if need be, confirmed) by the API; compliance replies always go.
    if message.source not in ("manual", consent.COMPLIANCE_SOURCE):
        sub_account_id, to = message.sub_account_id, message.to_addr
        if message.channel == Channel.sms and consent.sms_opted_out(session, sub_account_id, to):
            message.status, message.error_message = "suppressed", "recipient opted out of SMS"
            return None
        suppression = (
            consent.email_suppression(session, sub_account_id, to)
            if message.channel == Channel.email
            else None
        )
        if suppression is not None:
            message.status = "suppressed"
            message.error_message = f"address suppressed: {suppression.reason}"
            return None
    message.attempts += 1
    account = session.get_one(SubAccount, message.sub_account_id)
    reply_to = None
    if message.channel == Channel.email:
        # Stored before the provider call, and reused by every retry of this row.
        if message.rfc_message_id is None:
            message.rfc_message_id = email_threading.new_message_id(account.sending_domain)
        conversation = session.get_one(Conversation, message.conversation_id)
        token = email_threading.ensure_reply_token(session, conversation)
        reply_to = email_threading.reply_address(token, account.sending_domain)
    return SendPlan(
        sub_account_id=message.sub_account_id,
        source=message.source,
        message_id=message.id,
        channel=Channel(message.channel),
        from_=message.from_addr,
        to=message.to_addr,
        body=message.body,
        subject=message.subject,
        html=message.html,
        from_name=account.from_name,
        reply_to=reply_to,
        rfc_message_id=message.rfc_message_id,
    )


def email_custom_args(plan: SendPlan) -> dict[str, str]:
    """SendGrid echoes these in every event: the row, and the sub-account for an event whose
    row cannot be found (so a bounce or spam report still suppresses in the right one)."""
    args = {"message_id": str(plan.message_id)}
    if plan.sub_account_id is not None:
        args["sub_account_id"] = str(plan.sub_account_id)
    return args


def call_provider(settings: Settings, plan: SendPlan) -> tuple[str, str, int | None]:
    """Make the provider call; returns (provider id, status, segments)."""
    if plan.channel == Channel.sms:
        callback = f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/status"
        accepted = send_sms(
            settings,
            from_=plan.from_,
            to=plan.to,
            body=plan.body,
            status_callback=f"{callback}?message_id={plan.message_id}",
        )
        return accepted.sid, accepted.status, accepted.num_segments
    headers: dict[str, str] = {}
    if plan.rfc_message_id:
        headers["Message-ID"] = plan.rfc_message_id
    if plan.source in NON_TRANSACTIONAL_SOURCES and plan.sub_account_id is not None:
        headers.update(unsubscribe_headers(settings, plan.sub_account_id, plan.to))
    message_id = send_email(
        settings,
        from_email=plan.from_,
        from_name=plan.from_name,
        to=plan.to,
        subject=plan.subject or "",
        text=plan.body,
        html=plan.html,
        custom_args=email_custom_args(plan),
        reply_to=plan.reply_to,
        headers=headers or None,
    )
    return message_id, "processed", None


def record_accepted(
    session: Session, message_id: uuid.UUID, provider_id: str, status: str, segments: int | None
) -> None:
    message = session.get_one(Message, message_id)
    message.provider_id = provider_id
    # A fast status callback may already have moved the row on; keep the later state.
    if message.status == PENDING:
        message.status = "queued" if message.channel == Channel.sms else status
    message.sent_at = message.sent_at or utcnow()
    if segments is not None:
        message.segments = segments


def record_failure(session: Session, message_id: uuid.UUID, error: Exception) -> None:
    message = session.get_one(Message, message_id)
    code = getattr(error, "code", None)
    message.error_code = str(code) if code else None
    message.error_message = str(error)[:500]
    if isinstance(error, PermanentSendError):
        message.status = "failed"
        consent.after_send_failure(session, message, message.error_code)
