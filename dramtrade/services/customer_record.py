"""What the staff UI's customer record shows, loaded in a fixed number of queries.

Profile, numbers and addresses with their opt-out state, jobs (with technicians), outstanding
invoices, memberships, consent history, the communication timeline (every message of the
customer, whatever conversation it is in) and the templates the composers offer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import consent
from dramtrade import repositories as repo
from dramtrade.models import (
    ConsentEvent,
    Customer,
    EmailSuppression,
    Invoice,
    InvoiceStatus,
    Job,
    Membership,
    Message,
    SmsConsent,
    Template,
    User,
)
from dramtrade.services.customers import get_customer

TIMELINE_LIMIT = 50
JOBS_LIMIT = 20


@dataclass(frozen=True)
class Address:
    address: str
    label: str
    opted_out: bool
    reason: str | None = None


@dataclass
class CustomerRecord:
    customer: Customer
    phones: list[Address]
    emails: list[Address]
    jobs: list[Job]
    technicians: dict[uuid.UUID, User]
    invoices: list[Invoice]
    memberships: list[Membership]
    consent_events: list[ConsentEvent]
    messages: list[Message]
    has_older_messages: bool
    sms_templates: list[Template] = field(default_factory=list)
    email_templates: list[Template] = field(default_factory=list)

    @property
    def sms_opted_out(self) -> bool:
        """The number a manual SMS goes to (the first) has opted out."""
        return bool(self.phones) and self.phones[0].opted_out

    @property
    def email_suppressed(self) -> bool:
        return bool(self.emails) and self.emails[0].opted_out


def _phones(session: Session, sub_account_id: uuid.UUID, customer: Customer) -> list[Address]:
    rows = repo.phones_by_customer(session, sub_account_id, [customer.id])[customer.id]
    numbers = [p.e164 for p in rows]
    opted = set(
        session.scalars(
            select(SmsConsent.e164).where(
                SmsConsent.sub_account_id == sub_account_id,
                SmsConsent.e164.in_(numbers),
                SmsConsent.opted_out.is_(True),
            )
        )
    )
    return [Address(p.e164, p.label, p.e164 in opted) for p in rows]


def _emails(session: Session, sub_account_id: uuid.UUID, customer: Customer) -> list[Address]:
    rows = repo.emails_by_customer(session, sub_account_id, [customer.id])[customer.id]
    wanted = {consent.normalise_email(e.email): e for e in rows}
    rows_ = session.execute(
        select(EmailSuppression.email, EmailSuppression.reason).where(
            EmailSuppression.sub_account_id == sub_account_id,
            EmailSuppression.email.in_(list(wanted)),
        )
    )
    reasons: dict[str, str] = {email: reason for email, reason in rows_}
    return [
        Address(
            e.email,
            e.label,
            consent.normalise_email(e.email) in reasons,
            reasons.get(consent.normalise_email(e.email)),
        )
        for e in rows
    ]


def timeline(
    session: Session, sub_account_id: uuid.UUID, customer_id: uuid.UUID, limit: int
) -> tuple[list[Message], bool]:
    """The customer's latest ``limit`` messages, oldest first; and whether there are older."""
    rows = list(
        session.scalars(
            select(Message)
            .where(Message.sub_account_id == sub_account_id, Message.customer_id == customer_id)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit + 1)
        )
    )
    return list(reversed(rows[:limit])), len(rows) > limit


def templates_for(session: Session, sub_account_id: uuid.UUID) -> list[Template]:
    return list(
        session.scalars(
            select(Template)
            .where(Template.sub_account_id == sub_account_id)
            .order_by(Template.name, Template.channel)
        )
    )


def load(session: Session, sub_account_id: uuid.UUID, customer_id: uuid.UUID) -> CustomerRecord:
    """The whole record; a customer of another sub-account is NotFound."""
    customer = get_customer(session, sub_account_id, customer_id)
    jobs = list(
        session.scalars(
            select(Job)
            .where(Job.sub_account_id == sub_account_id, Job.customer_id == customer.id)
            .order_by(func.coalesce(Job.scheduled_start, Job.created_at).desc())
            .limit(JOBS_LIMIT)
        )
    )
    tech_ids = {j.technician_id for j in jobs if j.technician_id}
    technicians = (
        {
            u.id: u
            for u in session.scalars(
                select(User).where(User.sub_account_id == sub_account_id, User.id.in_(tech_ids))
            )
        }
        if tech_ids
        else {}
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
            .limit(20)
        )
    )
    memberships = list(
        session.scalars(
            select(Membership)
            .where(
                Membership.sub_account_id == sub_account_id, Membership.customer_id == customer.id
            )
            .order_by(Membership.renewal_date.desc())
            .limit(5)
        )
    )
    messages, older = timeline(session, sub_account_id, customer.id, TIMELINE_LIMIT)
    templates = templates_for(session, sub_account_id)
    return CustomerRecord(
        customer=customer,
        phones=_phones(session, sub_account_id, customer),
        emails=_emails(session, sub_account_id, customer),
        jobs=jobs,
        technicians=technicians,
        invoices=invoices,
        memberships=memberships,
        consent_events=consent.history(session, sub_account_id, customer, limit=10),
        messages=messages,
        has_older_messages=older,
        sms_templates=[t for t in templates if t.channel in ("sms", "both")],
        email_templates=[t for t in templates if t.channel in ("email", "both")],
    )
