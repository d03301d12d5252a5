"""``GET /v1/jobs/{id}/timeline``: what happened to a job and what is still waiting.

The database is the record: the platform's events (``job_events``) and the job's outbound
messages (channel, trigger, status, the reason a send was suppressed or failed, times), merged
chronologically. The job's workflow adds what is still waiting (messages held for quiet hours,
the armed day-before reminder) through its ``view`` query while it runs. If Temporal cannot be
reached the answer still comes, from the database, with ``workflow_status`` "unknown".
Both parts are shared with the staff job page: ``dramtrade.services.job_timeline`` and
``api.job_workflow``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, SessionDep
from api.job_workflow import job_workflow_state
from api.v1.routing import v1_router
from dramtrade.services.job_timeline import EventRecord, TimelineRecord, load_job_timeline
from workflows.job_lifecycle import workflow_id

router = v1_router("jobs")


class TimelineItem(BaseModel):
    at: datetime
    kind: Literal["event", "notification"]
    type: str  # the event type, or the notification's trigger
    data: dict[str, Any] | None = None  # events: the platform's details
    message_id: uuid.UUID | None = None
    channel: str | None = None
    status: str | None = None
    reason: str | None = None  # why it was suppressed, failed or cancelled
    to: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None


class PendingItem(BaseModel):
    kind: Literal["quiet_hours", "reminder"]
    until: datetime
    description: str
    trigger: str
    channel: str | None = None
    message_id: uuid.UUID | None = None


class TimelineOut(BaseModel):
    job_id: uuid.UUID
    status: str
    workflow_id: str
    # running, completed, terminated, ... ; "not_started" before the first event; "unknown"
    # when Temporal did not answer.
    workflow_status: str
    items: list[TimelineItem]
    pending: list[PendingItem]


def _item(record: TimelineRecord) -> TimelineItem:
    if isinstance(record, EventRecord):
        e = record.event
        return TimelineItem(at=record.at, kind="event", type=record.type, data=e.data or None)
    m = record.message
    return TimelineItem(
        at=record.at,
        kind="notification",
        type=record.type,
        message_id=m.id,
        channel=m.channel,
        status=m.status,
        reason=m.error_message,
        to=m.to_addr,
        created_at=m.created_at,
        sent_at=m.sent_at,
        delivered_at=m.delivered_at,
    )


@router.get("/jobs/{job_id}/timeline", summary="A job's events and notifications")
async def get_job_timeline(
    job_id: uuid.UUID, request: Request, caller: CallerDep, session: SessionDep
) -> TimelineOut:
    def load() -> tuple[str, list[TimelineItem]]:
        timeline = load_job_timeline(session, caller.sub_account_id, job_id)
        return str(timeline.job.status), [_item(r) for r in timeline.records]

    job_status, items = await run_in_threadpool(load)
    wf_id = workflow_id(str(caller.sub_account_id), str(job_id))
    state = await job_workflow_state(request, wf_id, with_status=True)
    return TimelineOut(
        job_id=job_id,
        status=job_status,
        workflow_id=wf_id,
        workflow_status=state.status or "unknown",
        items=items,
        pending=[PendingItem.model_validate(p, from_attributes=True) for p in state.pending],
    )
