"""Jobs as the platform reports them. (Milestone events and their workflow signals are the
job events endpoint's business; this module only keeps the job record.)"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from dramtrade import repositories as repo
from dramtrade.errors import Conflict, InvalidInput, NotFound
from dramtrade.models import Job, utcnow
from dramtrade.schemas import JobCreate, JobUpdate
from dramtrade.services import require_customer, writes_or_conflict

_FIELDS = (
    "customer_id",
    "external_id",
    "job_type",
    "description",
    "status",
    "scheduled_start",
    "scheduled_end",
    "technician_id",
)


def _check_refs(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    job_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    technician_id: uuid.UUID | None,
    external_id: str | None,
) -> None:
    if customer_id is not None:
        require_customer(session, sub_account_id, customer_id)
    if technician_id is not None and repo.get_user(session, sub_account_id, technician_id) is None:
        raise InvalidInput("technician_id", "no such user in this sub-account")
    if external_id is not None:
        other = repo.get_job_by_external_id(session, sub_account_id, external_id)
        if other is not None and other.id != job_id:
            raise Conflict(
                f"external_id '{external_id}' is already used by job {other.id}",
                field="external_id",
            )


def get_job(session: Session, sub_account_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = repo.get_job(session, sub_account_id, job_id)
    if job is None:
        raise NotFound("job")
    return job


def create_job(session: Session, sub_account_id: uuid.UUID, data: JobCreate) -> Job:
    _check_refs(
        session,
        sub_account_id,
        job_id=None,
        customer_id=data.customer_id,
        technician_id=data.technician_id,
        external_id=data.external_id,
    )
    job = Job(sub_account_id=sub_account_id, **{name: getattr(data, name) for name in _FIELDS})
    with writes_or_conflict(session, f"external_id '{data.external_id}' is already in use"):
        session.add(job)
    return job


def update_job(
    session: Session, sub_account_id: uuid.UUID, job_id: uuid.UUID, data: JobUpdate
) -> Job:
    job = get_job(session, sub_account_id, job_id)
    sent = data.model_fields_set
    _check_refs(
        session,
        sub_account_id,
        job_id=job.id,
        customer_id=data.customer_id if "customer_id" in sent else None,
        technician_id=data.technician_id if "technician_id" in sent else None,
        external_id=data.external_id if "external_id" in sent else None,
    )
    start = data.scheduled_start if "scheduled_start" in sent else job.scheduled_start
    end = data.scheduled_end if "scheduled_end" in sent else job.scheduled_end
    if start is not None and end is not None and end <= start:
        raise InvalidInput("scheduled_end", "must be after scheduled_start")
    with writes_or_conflict(session, f"external_id '{data.external_id}' is already in use"):
        for name in _FIELDS:
            if name in sent:
                setattr(job, name, getattr(data, name))
        job.updated_at = utcnow()
    return job
