"""The values behind ``{{variables}}``, formatted for people in the customer's timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade.models import Customer, Invoice, InvoiceStatus, Job, Membership, SubAccount, User
from dramtrade.phones import for_display


def _time(dt: datetime) -> str:
    return dt.strftime("%I:%M %p").lstrip("0")


def _day(d: date) -> str:
    return d.strftime("%A, %B ") + str(d.day)


def _long_date(d: date) -> str:
    return d.strftime("%B ") + f"{d.day}, {d.year}"


def money(cents: int, currency: str = "USD") -> str:
    symbol = "$" if currency.upper() == "USD" else f"{currency.upper()} "
    return f"{symbol}{cents / 100:,.2f}"


def customer_zone(customer: Customer | None, account: SubAccount) -> ZoneInfo:
    """The customer's timezone, else the sub-account's; UTC if neither name is known."""
    for name in ((customer.timezone if customer else None), account.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def build(
    session: Session,
    account: SubAccount,
    customer: Customer,
    job: Job | None = None,
    membership: Membership | None = None,
) -> dict[str, str]:
    values: dict[str, str] = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "customer_name": customer.full_name,
        "business_name": account.name,
        "business_phone": for_display(account.business_phone) if account.business_phone else "",
    }
    zone = customer_zone(customer, account)
    if job is not None:
        values["job_type"] = job.job_type
        if job.scheduled_start is not None:
            start = job.scheduled_start.astimezone(zone)
            values["job_date"] = _day(start.date())
            window = _time(start)
            if job.scheduled_end is not None:
                window += " - " + _time(job.scheduled_end.astimezone(zone))
            values["appointment_time"] = window
        if job.technician_id is not None:
            tech = session.get(User, job.technician_id)
            if tech is not None:
                values["technician_name"] = tech.name
                values["technician_phone"] = for_display(tech.phone) if tech.phone else ""
    invoice = session.scalar(
        select(Invoice)
        .where(
            Invoice.sub_account_id == account.id,
            Invoice.customer_id == customer.id,
            Invoice.status != InvoiceStatus.void,
            *([Invoice.job_id == job.id] if job is not None else []),
        )
        .order_by(Invoice.created_at.desc())
        .limit(1)
    )
    if invoice is not None:
        values["invoice_total"] = money(invoice.total_cents, invoice.currency)
        if invoice.due_date is not None:
            values["invoice_due_date"] = _long_date(invoice.due_date)
        values["invoice_link"] = invoice.link or ""
    # A membership's own reminder speaks of that membership; anything else, the latest.
    membership = membership or session.scalar(
        select(Membership)
        .where(Membership.sub_account_id == account.id, Membership.customer_id == customer.id)
        .order_by(Membership.renewal_date.desc())
        .limit(1)
    )
    if membership is not None:
        values["membership_plan"] = membership.plan
        values["renewal_date"] = _long_date(membership.renewal_date)
    return values
