"""The job page of the staff UI: what happened to one job and what its customer was told.

Events the platform reported and the notifications sent for the job (with their delivery
status) come from the database; messages held for the end of quiet hours and the armed
day-before reminder come from the job workflow's ``view`` query; the page links to the workflow
in the Temporal UI. When Temporal cannot be reached the page still shows the database part.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError

from api.deps import SessionDep, SettingsDep, get_temporal
from api.ui.deps import CurrentAccount, Permission, require
from api.ui.routing import ui_router
from api.ui.templating import render
from dramtrade.models import Customer, Job, JobEvent, Message, User
from dramtrade.services.jobs import get_job
from workflows.job_lifecycle import workflow_id

log = logging.getLogger(__name__)

router = ui_router()

Viewer = Annotated[User, Depends(require(Permission.view_jobs))]
VIEW_QUERY = "view"
QUERY_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # event, notification, hold
    title: str
    message: Message | None = None
    detail: dict[str, Any] | None = None


@dataclass
class JobData:
    job: Job
    customer: Customer | None
    technician: User | None
    events: list[JobEvent]
    messages: list[Message]


def _load(session: Session, sub_account_id: uuid.UUID, job_id: uuid.UUID) -> JobData:
    job = get_job(session, sub_account_id, job_id)
    customer = session.get(Customer, job.customer_id)
    technician = session.get(User, job.technician_id) if job.technician_id else None
    events = list(
        session.scalars(
            select(JobEvent)
            .where(JobEvent.sub_account_id == sub_account_id, JobEvent.job_id == job.id)
            .order_by(JobEvent.received_at, JobEvent.id)
        )
    )
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.sub_account_id == sub_account_id, Message.job_id == job.id)
            .order_by(Message.created_at, Message.id)
        )
    )
    return JobData(job, customer, technician, events, messages)


async def _workflow_view(request: Request, wid: str) -> tuple[dict[str, Any] | None, str | None]:
    """The workflow's ``view`` query, or (None, why not)."""
    try:
        temporal = await asyncio.wait_for(get_temporal(request), QUERY_TIMEOUT_SECONDS)
        handle = temporal.get_workflow_handle(wid)
        view = await asyncio.wait_for(
            handle.query(VIEW_QUERY, rpc_timeout=timedelta(seconds=QUERY_TIMEOUT_SECONDS)),
            QUERY_TIMEOUT_SECONDS + 0.5,
        )
    except RPCError as exc:
        if "not found" in str(exc).lower():
            return None, "No workflow has run for this job yet."
        log.info("job workflow query failed for %s: %s", wid, exc)
        return None, "The workflow could not be asked right now."
    except (TimeoutError, HTTPException, RuntimeError) as exc:
        log.info("job workflow query failed for %s: %s", wid, exc)
        return None, "The workflow engine is unreachable right now."
    if not isinstance(view, dict):
        view = getattr(view, "__dict__", {})
    return view, None


def _label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _parse(iso: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _entries(data: JobData, view: dict[str, Any] | None) -> list[Entry]:
    entries = [Entry(e.received_at, "event", _label(e.type), detail=e.data) for e in data.events]
    entries += [
        Entry(
            m.created_at,
            "notification",
            _label(m.trigger or m.source),
            message=m,
        )
        for m in data.messages
    ]
    for hold in (view or {}).get("holds") or []:
        until = _parse(str(hold.get("until")))
        if until is not None:
            entries.append(
                Entry(
                    until,
                    "hold",
                    f"{_label(str(hold.get('trigger', '')))} held for quiet hours",
                    detail={"channel": hold.get("channel"), "message_id": hold.get("message_id")},
                )
            )
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
    data = await run_in_threadpool(_load, session, account.id, job_id)
    wid = workflow_id(str(account.id), str(job_id))
    view, view_error = await _workflow_view(request, wid)
    base = settings.temporal_ui_url.rstrip("/")
    return await run_in_threadpool(
        lambda: render(
            request,
            "jobs/show.html",
            {
                "active_nav": "customers",
                "job": data.job,
                "customer": data.customer,
                "technician": data.technician,
                "entries": _entries(data, view),
                "view": view,
                "view_error": view_error,
                "reminder_at": _parse((view or {}).get("reminder_at")),
                "workflow_id": wid,
                "workflow_url": f"{base}/namespaces/{settings.temporal_namespace}/workflows/{wid}",
            },
        )
    )
