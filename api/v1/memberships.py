"""``/v1/memberships``: maintenance plans and their renewal dates."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import Query, Request, status
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDReusePolicy

from api.deps import CallerDep, SessionDep, SettingsDep, get_temporal
from api.v1.routing import v1_router
from dramtrade import repositories as repo
from dramtrade.config import Settings
from dramtrade.models import Membership, MembershipStatus
from dramtrade.schemas import MembershipCreate, MembershipOut, MembershipUpdate, Page
from dramtrade.services import memberships as service
from workflows.membership_renewal import (
    CHANGED_SIGNAL,
    MembershipRenewalInput,
    MembershipRenewalWorkflow,
    workflow_id,
)

log = logging.getLogger(__name__)

router = v1_router("memberships")

Limit = Annotated[int, Query(ge=1, le=repo.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/memberships",
    status_code=status.HTTP_201_CREATED,
    summary="Create a membership",
    responses={409: {"description": "external_id already in use"}},
)
async def create_membership(
    body: MembershipCreate,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    request: Request,
) -> MembershipOut:
    def write() -> MembershipOut:
        membership = service.create_membership(session, caller.sub_account_id, body)
        session.commit()  # the row is the truth: stored before any workflow hears of it
        return MembershipOut.model_validate(membership)

    out = await run_in_threadpool(write)
    await signal_renewal_workflow(request, settings, caller.sub_account_id, out.id)
    return out


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
async def update_membership(
    membership_id: uuid.UUID,
    body: MembershipUpdate,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    request: Request,
) -> MembershipOut:
    def write() -> MembershipOut:
        membership = service.update_membership(session, caller.sub_account_id, membership_id, body)
        session.commit()
        return MembershipOut.model_validate(membership)

    out = await run_in_threadpool(write)
    await signal_renewal_workflow(request, settings, caller.sub_account_id, out.id)
    return out


async def signal_renewal_workflow(
    request: Request, settings: Settings, sub_account_id: uuid.UUID, membership_id: uuid.UUID
) -> bool:
    """Signal-with-start the membership's renewal workflow: it re-reads the row and re-arms.

    Best effort, after the commit: with Temporal unreachable the change is stored all the
    same and the answer is still a success; the workflow catches up at its next start or
    wake, since it reads the row rather than the signal (``resync_renewal_workflows``).
    """
    try:
        client = await get_temporal(request)
        await client.start_workflow(
            MembershipRenewalWorkflow.run,
            MembershipRenewalInput(str(sub_account_id), str(membership_id)),
            id=workflow_id(str(sub_account_id), str(membership_id)),
            task_queue=settings.temporal_task_queue,
            start_signal=CHANGED_SIGNAL,
            # A lapsed or cancelled membership that is updated again gets a new run.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            rpc_timeout=timedelta(seconds=5),
        )
    except Exception:
        log.warning(
            "membership %s saved, but its renewal workflow could not be signalled",
            membership_id,
            exc_info=True,
        )
        return False
    return True


class ResyncOut(BaseModel):
    active: int
    signalled: int


@router.post(
    "/memberships/renewal-workflows/resync",
    summary="Signal every active membership's renewal workflow (catch up after an outage)",
)
async def resync_renewal_workflows(
    session: SessionDep, caller: CallerDep, settings: SettingsDep, request: Request
) -> ResyncOut:
    def active_ids() -> list[uuid.UUID]:
        return list(
            session.scalars(
                select(Membership.id).where(
                    Membership.sub_account_id == caller.sub_account_id,
                    Membership.status == MembershipStatus.active,
                )
            )
        )

    ids = await run_in_threadpool(active_ids)
    signalled = 0
    for membership_id in ids:
        signalled += await signal_renewal_workflow(
            request, settings, caller.sub_account_id, membership_id
        )
    return ResyncOut(active=len(ids), signalled=signalled)
