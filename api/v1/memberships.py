"""``/v1/memberships``: maintenance plans and their renewal dates."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from api.deps import CallerDep, SessionDep
from api.v1.routing import v1_router
from dramtrade import repositories as repo
from dramtrade.models import MembershipStatus
from dramtrade.schemas import MembershipCreate, MembershipOut, MembershipUpdate, Page
from dramtrade.services import memberships as service

router = v1_router("memberships")

Limit = Annotated[int, Query(ge=1, le=repo.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/memberships",
    status_code=status.HTTP_201_CREATED,
    summary="Create a membership",
    responses={409: {"description": "external_id already in use"}},
)
def create_membership(
    body: MembershipCreate, session: SessionDep, caller: CallerDep
) -> MembershipOut:
    membership = service.create_membership(session, caller.sub_account_id, body)
    return MembershipOut.model_validate(membership)


@router.get("/memberships", summary="List memberships")
def list_memberships(
    session: SessionDep,
    caller: CallerDep,
    customer_id: uuid.UUID | None = None,
    status: MembershipStatus | None = None,
    limit: Limit = repo.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MembershipOut]:
    rows, next_cursor = repo.list_memberships(
        session,
        caller.sub_account_id,
        customer_id=customer_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return Page[MembershipOut](
        items=[MembershipOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/memberships/{membership_id}", summary="Get a membership")
def get_membership(
    membership_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> MembershipOut:
    membership = service.get_membership(session, caller.sub_account_id, membership_id)
    return MembershipOut.model_validate(membership)


@router.patch(
    "/memberships/{membership_id}",
    summary="Update a membership",
    responses={409: {"description": "external_id already in use"}},
)
def update_membership(
    membership_id: uuid.UUID, body: MembershipUpdate, session: SessionDep, caller: CallerDep
) -> MembershipOut:
    membership = service.update_membership(session, caller.sub_account_id, membership_id, body)
    return MembershipOut.model_validate(membership)
