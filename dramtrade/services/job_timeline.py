"""What happened to a job, from the database: the record behind the API's timeline and the job page.

The platform's events (``job_events``) and the job's outbound messages, merged chronologically
(an event before a message of the same instant: the event is what caused it). What is still
waiting (held messages, the armed reminder) is the job workflow's to say; see
``api.job_workflow``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade.models import Customer, Direction, Job, JobEvent, Message, User
from dramtrade.services.jobs import get_job


@dataclass(frozen=True)
class EventRecord:
    """An event the platform reported for the job."""

    event: JobEvent

    @property
    def at(self) -> datetime:
        return self.event.received_at

    @property
    def type(self) -> str:
        return self.event.type


@dataclass(frozen=True)
class NotificationRecord:
    """A message sent (or held, suppressed, failed) for the job."""

    message: Message

    @property
    def at(self) -> datetime:
        return self.message.created_at

    @property
    def type(self) -> str:
        """The notification's trigger; its source when it has none."""
        return self.message.trigger or self.message.source


TimelineRecord = EventRecord | NotificationRecord


@dataclass(frozen=True)
class JobTimeline:
    job: Job
    customer: Customer | None
    technician: User | None
    records: list[TimelineRecord]


def load_job_timeline(
    session: Session, sub_account_id: uuid.UUID, job_id: uuid.UUID
) -> JobTimeline:
    """The job's events and outbound messages in time order; NotFound for another tenant's job."""
    job = get_job(session, sub_account_id, job_id)
    customer = session.get(Customer, job.customer_id)
    technician = session.get(User, job.technician_id) if job.technician_id else None
    events = session.scalars(
        select(JobEvent)
        .where(JobEvent.sub_account_id == sub_account_id, JobEvent.job_id == job.id)
        .order_by(JobEvent.received_at, JobEvent.id)
    )
    messages = session.scalars(
        select(Message)
        .where(
            Message.sub_account_id == sub_account_id,
            Message.job_id == job.id,
            Message.direction == Direction.outbound,
        )
        .order_by(Message.created_at, Message.id)
    )
    records: list[TimelineRecord] = [EventRecord(e) for e in events]
    records += [NotificationRecord(m) for m in messages]
    records.sort(key=lambda r: (r.at, isinstance(r, NotificationRecord)))
    return JobTimeline(job, customer, technician, records)
