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
# Statuses only move forward, whatever order the platform's events arrive in: a late
# "on site" after "complete" is recorded (and notifies) but leaves the job completed.
# Completed and cancelled are final; a job can be cancelled from any status before completed.
_RANK: dict[JobStatus, int] = {
    JobStatus.scheduled: 0,
    JobStatus.en_route: 1,
    JobStatus.on_site: 2,
    JobStatus.completed: 3,
}


def next_status(current: JobStatus, event_type: str) -> JobStatus:
    """The job's status after ``event_type``: the new one only if it moves forward."""
    target = STATUS_AFTER.get(event_type)
    if target is None or current in (JobStatus.cancelled, JobStatus.completed):
        return current
    if target == JobStatus.cancelled:
        return target
    return target if _RANK[target] > _RANK.get(current, 0) else current


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
    job.status = next_status(JobStatus(job.status), event_type)
    if event_type == "job_rescheduled":
        if scheduled_start is not None:
            job.scheduled_start = scheduled_start
        if scheduled_end is not None:
            job.scheduled_end = scheduled_end
    session.flush()
    return event
