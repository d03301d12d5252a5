"""Invoices as the platform reports them; amounts are integer cents."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from dramtrade import repositories as repo
from dramtrade.errors import Conflict, InvalidInput, NotFound
from dramtrade.models import Invoice, utcnow
from dramtrade.schemas import InvoiceCreate, InvoiceUpdate
from dramtrade.services import require_customer, writes_or_conflict

_FIELDS = (
    "customer_id",
    "job_id",
    "external_id",
    "number",
    "total_cents",
    "currency",
    "status",
    "due_date",
    "link",
)


def _value(data: InvoiceCreate | InvoiceUpdate, name: str) -> Any:
    value = getattr(data, name)
    return str(value) if name == "link" and value is not None else value


def _check(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    invoice_id: uuid.UUID | None,
    customer_id: uuid.UUID,
    job_id: uuid.UUID | None,
    check_customer: bool,
    external_id: str | None,
) -> None:
    if check_customer:
        require_customer(session, sub_account_id, customer_id)
    if job_id is not None:
        job = repo.get_job(session, sub_account_id, job_id)
        if job is None:
            raise InvalidInput("job_id", "job not found")
        if job.customer_id != customer_id:
            raise InvalidInput("job_id", "the job belongs to another customer")
    if external_id is not None:
        other = repo.get_invoice_by_external_id(session, sub_account_id, external_id)
        if other is not None and other.id != invoice_id:
            raise Conflict(
                f"external_id '{external_id}' is already used by invoice {other.id}",
                field="external_id",
            )


def get_invoice(session: Session, sub_account_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice:
    invoice = repo.get_invoice(session, sub_account_id, invoice_id)
    if invoice is None:
        raise NotFound("invoice")
    return invoice


def create_invoice(session: Session, sub_account_id: uuid.UUID, data: InvoiceCreate) -> Invoice:
    _check(
        session,
        sub_account_id,
        invoice_id=None,
        customer_id=data.customer_id,
        job_id=data.job_id,
        check_customer=True,
        external_id=data.external_id,
    )
    invoice = Invoice(
        sub_account_id=sub_account_id, **{name: _value(data, name) for name in _FIELDS}
    )
    with writes_or_conflict(session, f"external_id '{data.external_id}' is already in use"):
        session.add(invoice)
    return invoice


def update_invoice(
    session: Session, sub_account_id: uuid.UUID, invoice_id: uuid.UUID, data: InvoiceUpdate
) -> Invoice:
    invoice = get_invoice(session, sub_account_id, invoice_id)
    sent = data.model_fields_set
    customer_id = data.customer_id if data.customer_id is not None else invoice.customer_id
    job_id = data.job_id if "job_id" in sent else invoice.job_id
    _check(
        session,
        sub_account_id,
        invoice_id=invoice.id,
        customer_id=customer_id,
        job_id=job_id,
        check_customer="customer_id" in sent,
        external_id=data.external_id if "external_id" in sent else None,
    )
    with writes_or_conflict(session, f"external_id '{data.external_id}' is already in use"):
        for name in _FIELDS:
            if name in sent:
                setattr(invoice, name, _value(data, name))
        invoice.updated_at = utcnow()
    return invoice
