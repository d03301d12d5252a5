"""``/v1/invoices``: invoices as the platform issues them (amounts in integer cents)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from api.deps import CallerDep, SessionDep
from api.v1.routing import v1_router
from dramtrade import repositories as repo
from dramtrade.models import InvoiceStatus
from dramtrade.schemas import InvoiceCreate, InvoiceOut, InvoiceUpdate, Page
from dramtrade.services import invoices as service

router = v1_router("invoices")

Limit = Annotated[int, Query(ge=1, le=repo.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/invoices",
    status_code=status.HTTP_201_CREATED,
    summary="Create an invoice",
    responses={409: {"description": "external_id already in use"}},
)
def create_invoice(body: InvoiceCreate, session: SessionDep, caller: CallerDep) -> InvoiceOut:
    """`total_cents` is a non-negative integer (12550 = $125.50). `customer_id` and `job_id`
    must belong to the caller's sub-account, and the job to that customer (else 422)."""
    return InvoiceOut.model_validate(service.create_invoice(session, caller.sub_account_id, body))


@router.get("/invoices", summary="List invoices")
def list_invoices(
    session: SessionDep,
    caller: CallerDep,
    customer_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    status: InvoiceStatus | None = None,
    limit: Limit = repo.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[InvoiceOut]:
    rows, next_cursor = repo.list_invoices(
        session,
        caller.sub_account_id,
        customer_id=customer_id,
        job_id=job_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return Page[InvoiceOut](
        items=[InvoiceOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/invoices/{invoice_id}", summary="Get an invoice")
def get_invoice(invoice_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> InvoiceOut:
    return InvoiceOut.model_validate(
        service.get_invoice(session, caller.sub_account_id, invoice_id)
    )


@router.patch(
    "/invoices/{invoice_id}",
    summary="Update an invoice",
    responses={409: {"description": "external_id already in use"}},
)
def update_invoice(
    invoice_id: uuid.UUID, body: InvoiceUpdate, session: SessionDep, caller: CallerDep
) -> InvoiceOut:
    invoice = service.update_invoice(session, caller.sub_account_id, invoice_id, body)
    return InvoiceOut.model_validate(invoice)
