"""Queries over tenant data. Every function takes ``sub_account_id`` and filters by it.

A row of another sub-account is never returned: ``get_*`` answers ``None`` for it exactly as
for an id that does not exist, so callers can turn both into the same 404. Nothing here
commits; list functions return ``(rows, next_cursor)`` with keyset paging.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.orm import Session

from dramtrade.errors import InvalidInput
from dramtrade.models import (
    Conversation,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Invoice,
    InvoiceStatus,
    Job,
    JobStatus,
    Membership,
    MembershipStatus,
    Message,
    User,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

R = TypeVar("R")


# --- keyset paging ---------------------------------------------------------------------------


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raise InvalidInput naming the ``cursor`` query parameter if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor", "not a cursor returned by this API", "query") from exc


def paginate(
    session: Session,
    stmt: Select[R],
    *,
    sort: SQLColumnExpression[datetime],
    row_id: SQLColumnExpression[uuid.UUID],
    sort_value: Callable[[R], datetime],
    id_value: Callable[[R], uuid.UUID],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[R], str | None]:
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        at, last_id = decode_cursor(cursor)
        if descending:
            stmt = stmt.where(or_(sort < at, and_(sort == at, row_id < last_id)))
        else:
            stmt = stmt.where(or_(sort > at, and_(sort == at, row_id > last_id)))
    order = (sort.desc(), row_id.desc()) if descending else (sort.asc(), row_id.asc())
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(sort_value(last), id_value(last))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- customers -------------------------------------------------------------------------------


def get_customer(
    session: Session, sub_account_id: uuid.UUID, customer_id: uuid.UUID
) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.sub_account_id == sub_account_id, Customer.id == customer_id
        )
    )


def get_customer_by_external_id(
    session: Session, sub_account_id: uuid.UUID, external_id: str
) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.sub_account_id == sub_account_id, Customer.external_id == external_id
        )
    )


def find_customer_by_phone(
    session: Session, sub_account_id: uuid.UUID, e164: str
) -> Customer | None:
    """The customer owning an E.164 number in this sub-account (one at most, by constraint)."""
    return session.scalar(
        select(Customer)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(
            Customer.sub_account_id == sub_account_id,
            CustomerPhone.sub_account_id == sub_account_id,
            CustomerPhone.e164 == e164,
        )
    )


def find_customer_by_email(
    session: Session, sub_account_id: uuid.UUID, email: str
) -> Customer | None:
    """The customer owning an address in this sub-account; the match ignores case."""
    return session.scalar(
        select(Customer)
        .join(CustomerEmail, CustomerEmail.customer_id == Customer.id)
        .where(
            Customer.sub_account_id == sub_account_id,
            CustomerEmail.sub_account_id == sub_account_id,
            CustomerEmail.email == email.strip().lower(),
        )
    )


def phone_owners(
    session: Session, sub_account_id: uuid.UUID, e164s: Iterable[str]
) -> dict[str, uuid.UUID]:
    """Which customer owns each of these numbers, for those that are taken."""
    numbers = list(e164s)
    if not numbers:
        return {}
    rows = session.execute(
        select(CustomerPhone.e164, CustomerPhone.customer_id).where(
            CustomerPhone.sub_account_id == sub_account_id, CustomerPhone.e164.in_(numbers)
        )
    )
    return {e164: customer_id for e164, customer_id in rows}


def email_owners(
    session: Session, sub_account_id: uuid.UUID, emails: Iterable[str]
) -> dict[str, uuid.UUID]:
    addresses = list(emails)
    if not addresses:
        return {}
    rows = session.execute(
        select(CustomerEmail.email, CustomerEmail.customer_id).where(
            CustomerEmail.sub_account_id == sub_account_id, CustomerEmail.email.in_(addresses)
        )
    )
    return {email: customer_id for email, customer_id in rows}


def phones_by_customer(
    session: Session, sub_account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CustomerPhone]]:
    """Each customer's numbers in their saved order (the first is the primary one)."""
    result: dict[uuid.UUID, list[CustomerPhone]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return result
    rows = session.scalars(
        select(CustomerPhone)
        .where(
            CustomerPhone.sub_account_id == sub_account_id,
            CustomerPhone.customer_id.in_(customer_ids),
        )
        .order_by(CustomerPhone.customer_id, CustomerPhone.position, CustomerPhone.id)
    )
    for row in rows:
        result[row.customer_id].append(row)
    return result


def emails_by_customer(
    session: Session, sub_account_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CustomerEmail]]:
    result: dict[uuid.UUID, list[CustomerEmail]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return result
    rows = session.scalars(
        select(CustomerEmail)
        .where(
            CustomerEmail.sub_account_id == sub_account_id,
            CustomerEmail.customer_id.in_(customer_ids),
        )
        .order_by(CustomerEmail.customer_id, CustomerEmail.position, CustomerEmail.id)
    )
    for row in rows:
        result[row.customer_id].append(row)
    return result


def list_customers(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    q: str | None = None,
) -> tuple[list[Customer], str | None]:
    """Oldest first. ``phone`` is an E.164 number, ``email`` an address (any case), ``q`` a
    case-insensitive substring of the name, company or external id."""
    stmt = select(Customer).where(Customer.sub_account_id == sub_account_id)
    if phone is not None:
        stmt = stmt.where(
            Customer.id.in_(
                select(CustomerPhone.customer_id).where(
                    CustomerPhone.sub_account_id == sub_account_id, CustomerPhone.e164 == phone
                )
            )
        )
    if email is not None:
        stmt = stmt.where(
            Customer.id.in_(
                select(CustomerEmail.customer_id).where(
                    CustomerEmail.sub_account_id == sub_account_id,
                    CustomerEmail.email == email.strip().lower(),
                )
            )
        )
    if q:
        pattern = _like(q.strip())
        full_name = Customer.first_name + " " + Customer.last_name
        stmt = stmt.where(
            or_(
                full_name.ilike(pattern, escape="\\"),
                Customer.company.ilike(pattern, escape="\\"),
                Customer.external_id.ilike(pattern, escape="\\"),
            )
        )
    return paginate(
        session,
        stmt,
        sort=Customer.created_at,
        row_id=Customer.id,
        sort_value=lambda c: c.created_at,
        id_value=lambda c: c.id,
        limit=limit,
        cursor=cursor,
    )


# --- users -------------------------------------------------------------------------------------


def get_user(session: Session, sub_account_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    return session.scalar(
        select(User).where(User.sub_account_id == sub_account_id, User.id == user_id)
    )


# --- jobs, invoices, memberships ------------------------------------------------------------


def get_job(session: Session, sub_account_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
    return session.scalar(select(Job).where(Job.sub_account_id == sub_account_id, Job.id == job_id))


def get_job_by_external_id(
    session: Session, sub_account_id: uuid.UUID, external_id: str
) -> Job | None:
    return session.scalar(
        select(Job).where(Job.sub_account_id == sub_account_id, Job.external_id == external_id)
    )


def list_jobs(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    status: JobStatus | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[Job], str | None]:
    stmt = select(Job).where(Job.sub_account_id == sub_account_id)
    if customer_id is not None:
        stmt = stmt.where(Job.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    return paginate(
        session,
        stmt,
        sort=Job.created_at,
        row_id=Job.id,
        sort_value=lambda j: j.created_at,
        id_value=lambda j: j.id,
        limit=limit,
        cursor=cursor,
    )


def get_invoice(
    session: Session, sub_account_id: uuid.UUID, invoice_id: uuid.UUID
) -> Invoice | None:
    return session.scalar(
        select(Invoice).where(Invoice.sub_account_id == sub_account_id, Invoice.id == invoice_id)
    )


def get_invoice_by_external_id(
    session: Session, sub_account_id: uuid.UUID, external_id: str
) -> Invoice | None:
    return session.scalar(
        select(Invoice).where(
            Invoice.sub_account_id == sub_account_id, Invoice.external_id == external_id
        )
    )


def list_invoices(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    status: InvoiceStatus | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[Invoice], str | None]:
    stmt = select(Invoice).where(Invoice.sub_account_id == sub_account_id)
    if customer_id is not None:
        stmt = stmt.where(Invoice.customer_id == customer_id)
    if job_id is not None:
        stmt = stmt.where(Invoice.job_id == job_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    return paginate(
        session,
        stmt,
        sort=Invoice.created_at,
        row_id=Invoice.id,
        sort_value=lambda i: i.created_at,
        id_value=lambda i: i.id,
        limit=limit,
        cursor=cursor,
    )


def get_membership(
    session: Session, sub_account_id: uuid.UUID, membership_id: uuid.UUID
) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.sub_account_id == sub_account_id, Membership.id == membership_id
        )
    )


def get_membership_by_external_id(
    session: Session, sub_account_id: uuid.UUID, external_id: str
) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.sub_account_id == sub_account_id, Membership.external_id == external_id
        )
    )


def list_memberships(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    status: MembershipStatus | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[Membership], str | None]:
    stmt = select(Membership).where(Membership.sub_account_id == sub_account_id)
    if customer_id is not None:
        stmt = stmt.where(Membership.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(Membership.status == status)
    return paginate(
        session,
        stmt,
        sort=Membership.created_at,
        row_id=Membership.id,
        sort_value=lambda m: m.created_at,
        id_value=lambda m: m.id,
        limit=limit,
        cursor=cursor,
    )


# --- conversations and messages -------------------------------------------------------------


def get_conversation(
    session: Session, sub_account_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(
            Conversation.sub_account_id == sub_account_id, Conversation.id == conversation_id
        )
    )


def _conversation_activity() -> ColumnElement[datetime]:
    return func.coalesce(Conversation.last_message_at, Conversation.created_at)


def list_conversations(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    status: str | None = None,
    customer_id: uuid.UUID | None = None,
    flagged: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[Conversation], str | None]:
    """Newest activity first (the last message, or creation for a thread without one)."""
    stmt = select(Conversation).where(Conversation.sub_account_id == sub_account_id)
    if status is not None:
        stmt = stmt.where(Conversation.status == status)
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == customer_id)
    if flagged is not None:
        stmt = stmt.where(Conversation.flagged.is_(flagged))
    return paginate(
        session,
        stmt,
        sort=_conversation_activity(),
        row_id=Conversation.id,
        sort_value=lambda c: c.last_message_at or c.created_at,
        id_value=lambda c: c.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )


def last_messages(
    session: Session, sub_account_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Message]:
    """The newest message of each conversation (one query, portable window function)."""
    if not conversation_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=Message.conversation_id,
            order_by=(Message.created_at.desc(), Message.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(Message.id.label("id"), rank)
        .where(
            Message.sub_account_id == sub_account_id,
            Message.conversation_id.in_(conversation_ids),
        )
        .subquery()
    )
    rows = session.scalars(
        select(Message).join(ranked, ranked.c.id == Message.id).where(ranked.c.rank == 1)
    )
    return {m.conversation_id: m for m in rows}


def list_messages(
    session: Session,
    sub_account_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[Message], str | None]:
    """A conversation's messages, oldest first."""
    stmt = select(Message).where(
        Message.sub_account_id == sub_account_id, Message.conversation_id == conversation_id
    )
    return paginate(
        session,
        stmt,
        sort=Message.created_at,
        row_id=Message.id,
        sort_value=lambda m: m.created_at,
        id_value=lambda m: m.id,
        limit=limit,
        cursor=cursor,
    )


def customers_by_id(
    session: Session, sub_account_id: uuid.UUID, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Customer]:
    ids = {cid for cid in customer_ids if cid is not None}
    if not ids:
        return {}
    rows = session.scalars(
        select(Customer).where(Customer.sub_account_id == sub_account_id, Customer.id.in_(ids))
    )
    return {c.id: c for c in rows}
