"""Recording the platform's job milestones before any workflow acts on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dramtrade.models import Job, JobEvent, JobStatus

# The status a milestone moves the job to; other events leave it as it is.
STATUS_AFTER: dict[str, JobStatus] = {
    "technician_en_route": JobStatus.en_route,
    "technician_on_site": JobStatus.on_site,
    "job_complete": JobStatus.completed,
    "job_cancelled": JobStatus.cancelled,
}


def record(
    session: Session,
    job: Job,
    event_type: str,
    data: dict[str, Any],
    scheduled_start: datetime | None = None,
    scheduled_end: datetime | None = None,
) -> JobEvent:
    event = JobEvent(sub_account_id=job.sub_account_id, job_id=job.id, type=event_type, data=data)
    session.add(event)
    if event_type in STATUS_AFTER and job.status not in (JobStatus.cancelled,):
        job.status = STATUS_AFTER[event_type]
    if event_type == "job_rescheduled":
        if scheduled_start is not None:
            job.scheduled_start = scheduled_start
        if scheduled_end is not None:
            job.scheduled_end = scheduled_end
    session.flush()
    return event
