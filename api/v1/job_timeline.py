"""``GET /v1/jobs/{id}/timeline``: what happened to a job and what is still waiting.

The database is the record: the platform's events (``job_events``) and the job's outbound
messages (channel, trigger, status, the reason a send was suppressed or failed, times), merged
chronologically. The job's workflow adds what is still waiting (messages held for quiet hours,
the armed day-before reminder) through its ``view`` query while it runs. If Temporal cannot be
reached the answer still comes, from the database, with ``workflow_status`` "unknown".
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CallerDep, SessionDep, get_temporal
from api.v1.routing import v1_router
from dramtrade import repositories
from dramtrade.errors import NotFound
from dramtrade.models import Direction, JobEvent, Message
from workflows.job_lifecycle import VIEW_QUERY, JobWorkflowView, workflow_id

router = v1_router("jobs")

TEMPORAL_TIMEOUT_SECONDS = 2.0


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


def _pending(view: JobWorkflowView) -> list[PendingItem]:
    out = [
        PendingItem(
            kind="quiet_hours",
            until=datetime.fromisoformat(h.until),
            description=f"{h.trigger} {h.channel} held for quiet hours until {h.until}",
            trigger=h.trigger,
            channel=h.channel,
            message_id=uuid.UUID(h.message_id),
        )
        for h in view.holds
    ]
    if view.reminder_at is not None:
        out.append(
            PendingItem(
                kind="reminder",
                until=datetime.fromisoformat(view.reminder_at),
                description=f"appointment reminder scheduled for {view.reminder_at}",
                trigger="appointment_reminder",
            )
        )
    return sorted(out, key=lambda p: p.until)


async def _workflow_state(request: Request, wf_id: str) -> tuple[str, list[PendingItem]]:
    try:
        client = await get_temporal(request)
        handle = client.get_workflow_handle(wf_id)
        described = await asyncio.wait_for(handle.describe(), TEMPORAL_TIMEOUT_SECONDS)
        status = described.status
        name = status.name.lower() if status is not None else "unknown"
        if status != WorkflowExecutionStatus.RUNNING:
            return name, []
        view = await asyncio.wait_for(
            handle.query(VIEW_QUERY, result_type=JobWorkflowView), TEMPORAL_TIMEOUT_SECONDS
        )
        return name, _pending(view)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "not_started", []
        return "unknown", []
    except (HTTPException, TimeoutError, RuntimeError):
        return "unknown", []


@router.get("/jobs/{job_id}/timeline", summary="A job's events and notifications")
async def get_job_timeline(
    job_id: uuid.UUID, request: Request, caller: CallerDep, session: SessionDep
) -> TimelineOut:
    def load() -> tuple[str, list[TimelineItem]]:
        job = repositories.get_job(session, caller.sub_account_id, job_id)
        if job is None:
            raise NotFound("job")
        events = session.scalars(
            select(JobEvent).where(
                JobEvent.sub_account_id == caller.sub_account_id, JobEvent.job_id == job.id
            )
        ).all()
        messages = session.scalars(
            select(Message).where(
                Message.sub_account_id == caller.sub_account_id,
                Message.job_id == job.id,
                Message.direction == Direction.outbound,
            )
        ).all()
        items = [
            TimelineItem(at=e.received_at, kind="event", type=e.type, data=e.data or None)
            for e in events
        ] + [
            TimelineItem(
                at=m.created_at,
                kind="notification",
                type=m.trigger or m.source,
                message_id=m.id,
                channel=m.channel,
                status=m.status,
                reason=m.error_message,
                to=m.to_addr,
                created_at=m.created_at,
                sent_at=m.sent_at,
                delivered_at=m.delivered_at,
            )
            for m in messages
        ]
        items.sort(key=lambda i: (i.at, i.kind != "event"))
        return str(job.status), items

    job_status, items = await run_in_threadpool(load)
    wf_id = workflow_id(str(caller.sub_account_id), str(job_id))
    wf_status, pending = await _workflow_state(request, wf_id)
    return TimelineOut(
        job_id=job_id,
        status=job_status,
        workflow_id=wf_id,
        workflow_status=wf_status,
        items=items,
        pending=pending,
    )
