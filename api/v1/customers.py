"""``/v1/customers``: the contractor's customers, with their phones and emails."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from api.deps import SessionDep, SubAccountDep
from api.v1.routing import v1_router
from dramtrade import repositories as repo
from dramtrade.schemas import CustomerCreate, CustomerOut, CustomerUpdate, Page
from dramtrade.services import customers as service

router = v1_router("customers")

Limit = Annotated[int, Query(ge=1, le=repo.MAX_LIMIT, description="Page size")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page")
]


@router.post(
    "/customers",
    status_code=status.HTTP_201_CREATED,
    summary="Create a customer",
    responses={409: {"description": "A phone, email or external_id is already in use"}},
)
def create_customer(
    body: CustomerCreate, session: SessionDep, account: SubAccountDep
) -> CustomerOut:
    """Phones are normalised to E.164 with the sub-account's country; emails are lower-cased.
    A phone or email that belongs to another customer is a 409: customers are never merged
    silently."""
    customer = service.create_customer(session, account, body)
    return service.present_one(session, customer)


@router.get("/customers", summary="List or search customers")
def list_customers(
    session: SessionDep,
    account: SubAccountDep,
    limit: Limit = repo.DEFAULT_LIMIT,
    cursor: Cursor = None,
    phone: Annotated[
        str | None, Query(max_length=40, description="A number as typed; matched in E.164")
    ] = None,
    email: Annotated[str | None, Query(max_length=320, description="Exact address")] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Part of the name, company or external id"),
    ] = None,
) -> Page[CustomerOut]:
    e164 = service.phone_search_term(phone, account.default_country) if phone else None
    rows, next_cursor = repo.list_customers(
        session, account.id, limit=limit, cursor=cursor, phone=e164, email=email, q=q
    )
    return Page[CustomerOut](
        items=service.present(session, account.id, rows), next_cursor=next_cursor
    )


@router.get("/customers/{customer_id}", summary="Get a customer")
def get_customer(
    customer_id: uuid.UUID, session: SessionDep, account: SubAccountDep
) -> CustomerOut:
    return service.present_one(session, service.get_customer(session, account.id, customer_id))


@router.patch(
    "/customers/{customer_id}",
    summary="Update a customer",
    responses={409: {"description": "A phone, email or external_id is already in use"}},
)
def update_customer(
    customer_id: uuid.UUID, body: CustomerUpdate, session: SessionDep, account: SubAccountDep
) -> CustomerOut:
    """Only the fields sent change. `phones`, `emails`, `tags` and `address` are replaced as a
    whole; `null` clears an optional field."""
    customer = service.update_customer(session, account, customer_id, body)
    return service.present_one(session, customer)
