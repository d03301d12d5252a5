"""A person's manual send: validated and written as a row, sent by a workflow after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import nh3
from sqlalchemy.orm import Session

from dramtrade import (
    consent,
    email_layout,
    outbound,
    repositories,
    template_context,
    templating,
)
from dramtrade.errors import Conflict, InvalidInput, NotFound
from dramtrade.models import Channel, Customer, Message, SubAccount, Template
from dramtrade.phones import InvalidPhoneNumber, to_e164
from dramtrade.schemas import normalize_email
from dramtrade.services import require_customer

# Tags and attributes a staff-written email may keep; everything else (scripts, handlers,
# styles that could hide content) is stripped before the row is written.
EMAIL_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "span",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
EMAIL_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


class OptedOut(Conflict):
    """A manual SMS or email to an address that opted out, without explicit confirmation."""


@dataclass(frozen=True)
class ManualSend:
    customer_id: uuid.UUID
    channel: Channel
    body: str | None
    template_id: uuid.UUID | None
    subject: str | None
    html: str | None
    to: str | None
    confirm_opted_out: bool


def sanitize_email_html(html: str) -> str:
    return nh3.clean(
        html, tags=EMAIL_TAGS, attributes=EMAIL_ATTRIBUTES, url_schemes={"https", "http", "mailto"}
    )


def branded_email_html(
    account: SubAccount, html: str | None, body: str, subject: str | None
) -> str:
    """What a manual email sends as HTML: the sanitized HTML (or the plain body as paragraphs)
    in the sub-account's branded layout (logo, name, colour)."""
    content = sanitize_email_html(html) if html else email_layout.text_to_html(body)
    return email_layout.wrap(account, content, title=subject)


def _template(session: Session, account: SubAccount, template_id: uuid.UUID) -> Template:
    template = session.get(Template, template_id)
    if template is None or template.sub_account_id != account.id:
        raise InvalidInput("template_id", "template not found")
    return template


def create_manual(
    session: Session, account: SubAccount, request: ManualSend, idempotency_key: str | None
) -> tuple[Message, bool]:
    """Write the row; returns (message, created). A repeated Idempotency-Key returns the first."""
    key = f"manual:{idempotency_key}" if idempotency_key else None
    if key is not None:
        existing = outbound.by_idempotency_key(session, account.id, key)
        if existing is not None:
            if existing.customer_id != request.customer_id or existing.channel != request.channel:
                raise Conflict("Idempotency-Key was already used for a different message")
            return existing, False
    customer = require_customer(session, account.id, request.customer_id, field="customer_id")
    requested_to = _requested_address(session, account, customer, request)
    subject, body, html, template_id = request.subject, request.body, request.html, None
    if request.template_id is not None:
        template = _template(session, account, request.template_id)
        if template.channel not in (request.channel, "both"):
            raise InvalidInput(
                "template_id",
                f"template is for {template.channel}, not {request.channel}",
            )
        values = template_context.build(session, account, customer)
        body = templating.render(template.body, values)
        if request.channel == Channel.email:
            subject = subject or templating.render(template.subject or "", values)
            if template.html and html is None:
                html = templating.render(template.html, values, escape_html=True)
        template_id = template.id
    if not body or not body.strip():
        raise InvalidInput("body", "body is empty: give a body or a template_id")
    if request.channel == Channel.sms:
        to = requested_to or outbound.primary_phone(session, customer)
        from_ = outbound.business_number(session, account.id)
        if to is None:
            raise InvalidInput("customer_id", "the customer has no phone number")
        if from_ is None:
            raise Conflict("this sub-account has no phone number to send from")
        if consent.sms_opted_out(session, account.id, to) and not request.confirm_opted_out:
            raise OptedOut(
                f"{to} replied STOP and opted out of SMS; resend with confirm_opted_out=true "
                "only if the customer asked for this message"
            )
    else:
        to = requested_to or outbound.primary_email(session, customer)
        from_ = account.from_email
        if to is None:
            raise InvalidInput("customer_id", "the customer has no email address")
        if not subject or not subject.strip():
            raise InvalidInput("subject", "an email needs a subject")
        if consent.email_suppressed(session, account.id, to) and not request.confirm_opted_out:
            raise OptedOut(
                f"{to} is suppressed (bounced, complained or unsubscribed); resend with "
                "confirm_opted_out=true only if the customer asked for this message"
            )
    message = outbound.create(
        session,
        outbound.Draft(
            sub_account_id=account.id,
            customer=customer,
            channel=request.channel,
            to=to,
            from_=from_,
            body=body,
            subject=subject if request.channel == Channel.email else None,
            html=branded_email_html(account, html, body, subject)
            if request.channel == Channel.email
            else None,
            source="manual",
            template_id=template_id,
            idempotency_key=key,
        ),
    )
    return message, True


def _requested_address(
    session: Session, account: SubAccount, customer: Customer, request: ManualSend
) -> str | None:
    """The explicit `to`, normalised, and only if it is one of this customer's own."""
    if request.to is None:
        return None
    try:
        if request.channel == Channel.sms:
            to = to_e164(request.to, account.default_country)
        else:
            to = normalize_email(request.to)
    except (InvalidPhoneNumber, ValueError) as exc:
        raise InvalidInput("to", str(exc)) from exc
    if to not in _addresses(session, customer, request.channel):
        raise InvalidInput("to", f"{request.to} is not one of the customer's addresses")
    return to


def _addresses(session: Session, customer: Customer, channel: Channel) -> set[str]:
    if channel == Channel.sms:
        phones = repositories.phones_by_customer(session, customer.sub_account_id, [customer.id])
        return {p.e164 for p in phones[customer.id]}
    emails = repositories.emails_by_customer(session, customer.sub_account_id, [customer.id])
    return {e.email for e in emails[customer.id]}


def get_message(session: Session, sub_account_id: uuid.UUID, message_id: uuid.UUID) -> Message:
    message = session.get(Message, message_id)
    if message is None or message.sub_account_id != sub_account_id:
        raise NotFound("message")
    return message
