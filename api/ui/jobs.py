"""The job page of the staff UI: what happened to one job and what its customer was told.

Events the platform reported and the notifications sent for the job (with their delivery
status) come from the database (``dramtrade.services.job_timeline``); messages held for the end
of quiet hours and the armed day-before reminder come from the job workflow's ``view`` query
(``api.job_workflow``); the page links to the workflow in the Temporal UI. When Temporal cannot
be reached the page still shows the database part.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, SettingsDep
from api.job_workflow import JobWorkflowState, Unavailable, job_workflow_state
from api.ui.deps import CurrentAccount, Permission, require
from api.ui.routing import ui_router
from api.ui.templating import render
from dramtrade.models import Message, User
from dramtrade.services.job_timeline import EventRecord, JobTimeline, load_job_timeline
from workflows.job_lifecycle import workflow_id

router = ui_router()

Viewer = Annotated[User, Depends(require(Permission.view_jobs))]

UNAVAILABLE: dict[Unavailable, str] = {
    "not_started": "No workflow has run for this job yet.",
    "failed": "The workflow could not be asked right now.",
    "unreachable": "The workflow engine is unreachable right now.",
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # event, notification, hold
    title: str
    message: Message | None = None
    detail: dict[str, Any] | None = None


def _label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _entries(timeline: JobTimeline, state: JobWorkflowState) -> list[Entry]:
    entries = [
        Entry(r.at, "event", _label(r.type), detail=r.event.data)
        if isinstance(r, EventRecord)
        else Entry(r.at, "notification", _label(r.type), message=r.message)
        for r in timeline.records
    ]
    entries += [
        Entry(
            p.until,
            "hold",
            f"{_label(p.trigger)} held for quiet hours",
            detail={"channel": p.channel, "message_id": p.message_id},
        )
        for p in state.pending
        if p.kind == "quiet_hours"
    ]
    return sorted(entries, key=lambda e: e.at)


@router.get("/jobs/{job_id}")
async def job_page(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
    _: Viewer,
) -> Response:
    timeline = await run_in_threadpool(load_job_timeline, session, account.id, job_id)
    wid = workflow_id(str(account.id), str(job_id))
    state = await job_workflow_state(request, wid, with_status=False)
    view_error = None
    if state.view is None:
        view_error = UNAVAILABLE[state.unavailable or "failed"]
    reminder_at = next((p.until for p in state.pending if p.kind == "reminder"), None)
    base = settings.temporal_ui_url.rstrip("/")
    return await run_in_threadpool(
        lambda: render(
            request,
            "jobs/show.html",
            {
                "active_nav": "customers",
                "job": timeline.job,
                "customer": timeline.customer,
                "technician": timeline.technician,
                "entries": _entries(timeline, state),
                "view": state.view,
                "view_error": view_error,
                "reminder_at": reminder_at,
                "workflow_id": wid,
                "workflow_url": f"{base}/namespaces/{settings.temporal_namespace}/workflows/{wid}",
            },
        )
    )
