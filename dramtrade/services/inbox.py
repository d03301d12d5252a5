"""The staff inbox: list and search threads, reply to unknown contacts, link them to a
customer or a lead. Every query is scoped to one sub-account; nothing here commits."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from dramtrade import consent, conversations, outbound
from dramtrade import repositories as repo
from dramtrade.errors import Conflict, InvalidInput, NotFound
from dramtrade.models import (
    Channel,
    Conversation,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    Invoice,
    InvoiceStatus,
    Job,
    Lead,
    Membership,
    Message,
    SubAccount,
    User,
)
from dramtrade.services import require_customer
from dramtrade.services.messages import OptedOut, sanitize_email_html
from dramtrade.sms_segments import count_segments

Filter = Literal["open", "resolved", "flagged", "mine", "unassigned", "all"]
FILTERS: tuple[Filter, ...] = ("open", "mine", "unassigned", "flagged", "resolved", "all")
PAGE_SIZE = 25
THREAD_LIMIT = 200


@dataclass(frozen=True)
class ListQuery:
    filter: Filter = "open"
    channel: Channel | None = None
    q: str | None = None
    cursor: str | None = None


def _search(sub_account_id: uuid.UUID, text: str) -> ColumnElement[bool]:
    """Name (first, last, full, company), number (any digits of it) or email address."""
    pattern = repo._like(text.strip())
    digits = re.sub(r"\D", "", text)
    full_name = Customer.first_name + " " + Customer.last_name
    by_customer = select(Customer.id).where(
        Customer.sub_account_id == sub_account_id,
        or_(full_name.ilike(pattern, escape="\\"), Customer.company.ilike(pattern, escape="\\")),
    )
    by_email = select(CustomerEmail.customer_id).where(
        CustomerEmail.sub_account_id == sub_account_id,
        CustomerEmail.email.ilike(pattern, escape="\\"),
    )
    clauses = [
        Conversation.customer_id.in_(by_customer),
        Conversation.customer_id.in_(by_email),
        Conversation.contact_email.ilike(pattern, escape="\\"),
    ]
    if len(digits) >= 3:
        digit_pattern = f"%{digits}%"
        clauses.append(Conversation.contact_phone.like(digit_pattern))
        clauses.append(
            Conversation.customer_id.in_(
                select(CustomerPhone.customer_id).where(
                    CustomerPhone.sub_account_id == sub_account_id,
                    CustomerPhone.e164.like(digit_pattern),
                )
            )
        )
    return or_(*clauses)


def list_conversations(
    session: Session, sub_account_id: uuid.UUID, user_id: uuid.UUID, query: ListQuery
) -> tuple[list[Conversation], str | None]:
    stmt = select(Conversation).where(Conversation.sub_account_id == sub_account_id)
    if query.filter == "open":
        stmt = stmt.where(Conversation.status == "open")
    elif query.filter == "resolved":
        stmt = stmt.where(Conversation.status == "resolved")
    elif query.filter == "flagged":
        stmt = stmt.where(Conversation.flagged.is_(True))
    elif query.filter == "mine":
        stmt = stmt.where(Conversation.assignee_id == user_id, Conversation.status == "open")
    elif query.filter == "unassigned":
        stmt = stmt.where(Conversation.assignee_id.is_(None), Conversation.status == "open")
    if query.channel is not None:
        stmt = stmt.where(
            exists().where(
                Message.conversation_id == Conversation.id,
                Message.sub_account_id == sub_account_id,
                Message.channel == query.channel.value,
            )
        )
    if query.q and query.q.strip():
        stmt = stmt.where(_search(sub_account_id, query.q))
    return repo.paginate(
        session,
        stmt,
        sort=func.coalesce(Conversation.last_message_at, Conversation.created_at),
        row_id=Conversation.id,
        sort_value=lambda c: c.last_message_at or c.created_at,
        id_value=lambda c: c.id,
        limit=PAGE_SIZE,
        cursor=query.cursor,
        descending=True,
    )


@dataclass
class ConversationRow:
    conversation: Conversation
    name: str
    customer: Customer | None
    channels: list[str]
    last: Message | None
    preview: str
    assignee: User | None


def present_rows(
    session: Session, sub_account_id: uuid.UUID, rows: Sequence[Conversation]
) -> list[ConversationRow]:
    """Everything a list row shows, in four queries whatever the page size."""
    from dramtrade.services.conversations import display_name, preview

    ids = [c.id for c in rows]
    last = repo.last_messages(session, sub_account_id, ids)
    customers = repo.customers_by_id(
        session, sub_account_id, [c.customer_id for c in rows if c.customer_id]
    )
    channels: dict[uuid.UUID, set[str]] = defaultdict(set)
    if ids:
        for conv_id, channel in session.execute(
            select(Message.conversation_id, Message.channel)
            .where(Message.sub_account_id == sub_account_id, Message.conversation_id.in_(ids))
            .distinct()
        ):
            channels[conv_id].add(str(channel))
    assignees = users_by_id(session, sub_account_id, [c.assignee_id for c in rows if c.assignee_id])
    result = []
    for conv in rows:
        customer = customers.get(conv.customer_id) if conv.customer_id else None
        message = last.get(conv.id)
        result.append(
            ConversationRow(
                conversation=conv,
                name=display_name(conv, customer),
                customer=customer,
                channels=sorted(channels.get(conv.id, set())),
                last=message,
                preview=preview(message) or "",
                assignee=assignees.get(conv.assignee_id) if conv.assignee_id else None,
            )
        )
    return result


def users_by_id(
    session: Session, sub_account_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, User]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(User).where(User.sub_account_id == sub_account_id, User.id.in_(wanted))
    )
    return {u.id: u for u in rows}


def team(session: Session, sub_account_id: uuid.UUID) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.sub_account_id == sub_account_id, User.is_active.is_(True))
            .order_by(User.name)
        )
    )


def thread_messages(
    session: Session, sub_account_id: uuid.UUID, conversation_id: uuid.UUID
) -> list[Message]:
    """The newest ``THREAD_LIMIT`` messages, oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.sub_account_id == sub_account_id, Message.conversation_id == conversation_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(THREAD_LIMIT)
    )
    return list(reversed(list(rows)))


@dataclass
class AddressState:
    address: str
    label: str
    opted_out: bool


@dataclass
class Sidebar:
    customer: Customer | None
    phones: list[AddressState] = field(default_factory=list)
    emails: list[AddressState] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    technicians: dict[uuid.UUID, User] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    lead: Lead | None = None


def sidebar(session: Session, sub_account_id: uuid.UUID, conversation: Conversation) -> Sidebar:
    lead = session.get(Lead, conversation.lead_id) if conversation.lead_id else None
    if conversation.customer_id is None:
        result = Sidebar(customer=None, lead=lead)
        if conversation.contact_phone:
            result.phones.append(
                AddressState(
                    conversation.contact_phone,
                    "number",
                    consent.sms_opted_out(session, sub_account_id, conversation.contact_phone),
                )
            )
        if conversation.contact_email:
            result.emails.append(
                AddressState(
                    conversation.contact_email,
                    "email",
                    consent.email_suppressed(session, sub_account_id, conversation.contact_email),
                )
            )
        return result
    customer = repo.get_customer(session, sub_account_id, conversation.customer_id)
    if customer is None:
        return Sidebar(customer=None, lead=lead)
    phones = repo.phones_by_customer(session, sub_account_id, [customer.id])[customer.id]
    emails = repo.emails_by_customer(session, sub_account_id, [customer.id])[customer.id]
    jobs = list(
        session.scalars(
            select(Job)
            .where(Job.sub_account_id == sub_account_id, Job.customer_id == customer.id)
            .order_by(func.coalesce(Job.scheduled_start, Job.created_at).desc())
            .limit(5)
        )
    )
    invoices = list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.sub_account_id == sub_account_id,
                Invoice.customer_id == customer.id,
                Invoice.status == InvoiceStatus.sent,
            )
            .order_by(Invoice.due_date.asc().nulls_last(), Invoice.created_at)
            .limit(10)
        )
    )
    memberships = list(
        session.scalars(
            select(Membership)
            .where(
                Membership.sub_account_id == sub_account_id, Membership.customer_id == customer.id
            )
            .order_by(Membership.renewal_date.desc())
            .limit(3)
        )
    )
    technicians = users_by_id(
        session, sub_account_id, [j.technician_id for j in jobs if j.technician_id]
    )
    return Sidebar(
        customer=customer,
        phones=[
            AddressState(p.e164, p.label, consent.sms_opted_out(session, sub_account_id, p.e164))
            for p in phones
        ],
        emails=[
            AddressState(
                e.email, e.label, consent.email_suppressed(session, sub_account_id, e.email)
            )
            for e in emails
        ],
        jobs=jobs,
        technicians=technicians,
        invoices=invoices,
        memberships=memberships,
        lead=lead,
    )


def mark_read(conversation: Conversation) -> None:
    if conversation.unread_count:
        conversation.unread_count = 0


def reply_to_unknown(
    session: Session,
    account: SubAccount,
    conversation: Conversation,
    channel: Channel,
    body: str,
    subject: str | None,
    html: str | None,
    confirm_opted_out: bool,
    idempotency_key: str | None,
) -> Message:
    """A reply in the thread of an unknown number or address (no customer yet): the same row
    ``outbound.create`` writes, in that thread, sent by the same workflow."""
    key = f"manual:{idempotency_key}" if idempotency_key else None
    if key is not None:
        existing = outbound.by_idempotency_key(session, account.id, key)
        if existing is not None:
            return existing
    if not body.strip():
        raise InvalidInput("body", "write a message first")
    if channel == Channel.sms:
        to = conversation.contact_phone
        from_ = outbound.business_number(session, account.id)
        if to is None:
            raise InvalidInput("channel", "this contact has no phone number: reply by email")
        if from_ is None:
            raise Conflict("this sub-account has no phone number to send from")
        if consent.sms_opted_out(session, account.id, to) and not confirm_opted_out:
            raise OptedOut(f"{to} replied STOP and opted out of SMS; confirm to send anyway")
    else:
        to = conversation.contact_email
        from_ = account.from_email
        if to is None:
            raise InvalidInput("channel", "this contact has no email address: reply by SMS")
        if not subject or not subject.strip():
            raise InvalidInput("subject", "an email needs a subject")
        if consent.email_suppressed(session, account.id, to) and not confirm_opted_out:
            raise OptedOut(f"{to} is suppressed (bounced or unsubscribed); confirm to send anyway")
    message = Message(
        sub_account_id=account.id,
        conversation_id=conversation.id,
        customer_id=None,
        direction=Direction.outbound,
        channel=channel,
        source="manual",
        from_addr=from_,
        to_addr=to,
        subject=subject if channel == Channel.email else None,
        body=body,
        html=sanitize_email_html(html) if html and channel == Channel.email else None,
        status=outbound.PENDING,
        provider="twilio" if channel == Channel.sms else "sendgrid",
        idempotency_key=key,
    )
    if channel == Channel.sms:
        info = count_segments(body)
        message.segments, message.encoding = info.segments, info.encoding
    session.add(message)
    session.flush()
    conversations.touch(conversation, message.created_at, inbound=False)
    return message


def link_to_customer(
    session: Session, account: SubAccount, conversation: Conversation, customer_id: uuid.UUID
) -> Conversation:
    """Give the unknown number/address to the customer and move the thread to them.

    The number (or address) is added to the customer, so later messages map to them; the
    earlier messages move into the customer's conversation (merged if they already have one).
    A number already belonging to another customer is a conflict: one number, one customer.
    """
    if conversation.customer_id is not None:
        raise Conflict("this conversation already belongs to a customer")
    customer = require_customer(session, account.id, customer_id)
    if conversation.contact_phone:
        owner = repo.phone_owners(session, account.id, [conversation.contact_phone])
        other = owner.get(conversation.contact_phone)
        if other is not None and other != customer.id:
            raise Conflict(f"{conversation.contact_phone} already belongs to another customer")
        if other is None:
            position = session.scalar(
                select(func.count()).where(CustomerPhone.customer_id == customer.id)
            )
            session.add(
                CustomerPhone(
                    sub_account_id=account.id,
                    customer_id=customer.id,
                    e164=conversation.contact_phone,
                    label="mobile",
                    position=position or 0,
                )
            )
    if conversation.contact_email:
        owner = repo.email_owners(session, account.id, [conversation.contact_email])
        other = owner.get(conversation.contact_email)
        if other is not None and other != customer.id:
            raise Conflict(f"{conversation.contact_email} already belongs to another customer")
        if other is None:
            position = session.scalar(
                select(func.count()).where(CustomerEmail.customer_id == customer.id)
            )
            session.add(
                CustomerEmail(
                    sub_account_id=account.id,
                    customer_id=customer.id,
                    email=conversation.contact_email,
                    label="other",
                    position=position or 0,
                )
            )
    session.flush()
    consent.refresh_customer(session, customer)
    key = f"customer:{customer.id}"
    target = session.scalar(
        select(Conversation).where(
            Conversation.sub_account_id == account.id, Conversation.contact_key == key
        )
    )
    if target is None:
        # The thread itself becomes the customer's.
        conversation.contact_key = key
        conversation.customer_id = customer.id
        target = conversation
    else:
        session.execute(
            update(Message)
            .where(
                Message.sub_account_id == account.id,
                Message.conversation_id == conversation.id,
            )
            .values(conversation_id=target.id)
        )
        target.unread_count += conversation.unread_count
        times = [t for t in (target.last_message_at, conversation.last_message_at) if t]
        target.last_message_at = max(times) if times else None
        target.flagged = target.flagged or conversation.flagged
        if conversation.status == "open":
            target.status = "open"
        target.assignee_id = target.assignee_id or conversation.assignee_id
        target.lead_id = target.lead_id or conversation.lead_id
        token = conversation.reply_token
        session.execute(delete(Conversation).where(Conversation.id == conversation.id))
        if target.reply_token is None and token is not None:
            session.flush()
            target.reply_token = token
    session.execute(
        update(Message)
        .where(Message.sub_account_id == account.id, Message.conversation_id == target.id)
        .values(customer_id=customer.id)
    )
    session.flush()
    return target


def create_lead(
    session: Session, account: SubAccount, conversation: Conversation, name: str | None
) -> Lead:
    if conversation.customer_id is not None:
        raise Conflict("this conversation already belongs to a customer")
    if conversation.lead_id is not None:
        lead = session.get(Lead, conversation.lead_id)
        if lead is not None:
            return lead
    lead = Lead(
        sub_account_id=account.id,
        name=(name or "").strip()[:200] or None,
        phone=conversation.contact_phone,
        email=conversation.contact_email,
        source="inbound",
    )
    session.add(lead)
    session.flush()
    conversation.lead_id = lead.id
    return lead


def get_conversation(
    session: Session, sub_account_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    conversation = repo.get_conversation(session, sub_account_id, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


def customer_matches(
    session: Session, sub_account_id: uuid.UUID, text: str, limit: int = 8
) -> list[tuple[Customer, list[str]]]:
    """Customers whose name, number or email matches, with their numbers and addresses."""
    text = text.strip()
    if len(text) < 2:
        return []
    pattern = repo._like(text)
    digits = re.sub(r"\D", "", text)
    full_name = Customer.first_name + " " + Customer.last_name
    clauses = [
        full_name.ilike(pattern, escape="\\"),
        Customer.company.ilike(pattern, escape="\\"),
        Customer.id.in_(
            select(CustomerEmail.customer_id).where(
                CustomerEmail.sub_account_id == sub_account_id,
                CustomerEmail.email.ilike(pattern, escape="\\"),
            )
        ),
    ]
    if len(digits) >= 3:
        clauses.append(
            Customer.id.in_(
                select(CustomerPhone.customer_id).where(
                    CustomerPhone.sub_account_id == sub_account_id,
                    CustomerPhone.e164.like(f"%{digits}%"),
                )
            )
        )
    customers = list(
        session.scalars(
            select(Customer)
            .where(Customer.sub_account_id == sub_account_id, or_(*clauses))
            .order_by(Customer.first_name, Customer.last_name)
            .limit(limit)
        )
    )
    ids = [c.id for c in customers]
    phones = repo.phones_by_customer(session, sub_account_id, ids)
    emails = repo.emails_by_customer(session, sub_account_id, ids)
    return [
        (c, [p.e164 for p in phones[c.id]] + [e.email for e in emails[c.id]]) for c in customers
    ]
