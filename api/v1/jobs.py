"""``/v1/jobs``: jobs as the platform schedules them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from api.deps import CallerDep, SessionDep
from api.v1.routing import v1_router
from dramtrade import repositories as repo
from dramtrade.models import JobStatus
from dramtrade.schemas import JobCreate, JobOut, JobUpdate, Page
from dramtrade.services import jobs as service

router = v1_router("jobs")

Limit = Annotated[int, Query(ge=1, le=repo.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.post(
    "/jobs",
    status_code=status.HTTP_201_CREATED,
    summary="Create a job",
    responses={409: {"description": "external_id already in use"}},
)
def create_job(body: JobCreate, session: SessionDep, caller: CallerDep) -> JobOut:
    """`customer_id` and `technician_id` must belong to the caller's sub-account (else 422 on
    that field). Times need an offset; `scheduled_end` must be after `scheduled_start`."""
    return JobOut.model_validate(service.create_job(session, caller.sub_account_id, body))


@router.get("/jobs", summary="List jobs")
def list_jobs(
    session: SessionDep,
    caller: CallerDep,
    customer_id: uuid.UUID | None = None,
    status: JobStatus | None = None,
    limit: Limit = repo.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[JobOut]:
    rows, next_cursor = repo.list_jobs(
        session,
        caller.sub_account_id,
        customer_id=customer_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return Page[JobOut](items=[JobOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", summary="Get a job")
def get_job(job_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> JobOut:
    return JobOut.model_validate(service.get_job(session, caller.sub_account_id, job_id))


@router.patch(
    "/jobs/{job_id}",
    summary="Update a job",
    responses={409: {"description": "external_id already in use"}},
)
def update_job(
    job_id: uuid.UUID, body: JobUpdate, session: SessionDep, caller: CallerDep
) -> JobOut:
    """Only the fields sent change. Changing `status` here updates the record only; milestone
    notifications are driven by `POST /v1/jobs/{id}/events`."""
    return JobOut.model_validate(service.update_job(session, caller.sub_account_id, job_id, body))
