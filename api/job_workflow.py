"""What a job's workflow says is still waiting, for the timeline API and the staff job page.

The workflow's ``view`` query answers the messages held for the end of quiet hours and the armed
day-before reminder. Every call to Temporal is bounded by ``TEMPORAL_TIMEOUT_SECONDS``; when
Temporal cannot be reached or does not answer, the state says why instead of raising, so the
callers still answer from the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import HTTPException, Request
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.converter import value_to_type
from temporalio.service import RPCError, RPCStatusCode

from api.deps import get_temporal
from workflows.job_lifecycle import VIEW_QUERY, JobWorkflowView

log = logging.getLogger(__name__)

TEMPORAL_TIMEOUT_SECONDS = 2.0

# Why there is no view: no workflow has run for the job yet; Temporal answered with an error;
# Temporal could not be reached in time.
Unavailable = Literal["not_started", "failed", "unreachable"]


@dataclass(frozen=True)
class Pending:
    """Something the workflow will still do at ``until``."""

    kind: Literal["quiet_hours", "reminder"]
    until: datetime
    description: str
    trigger: str
    channel: str | None = None
    message_id: uuid.UUID | None = None


@dataclass(frozen=True)
class JobWorkflowState:
    # Temporal's execution status in lower case (running, completed, terminated, ...) when it
    # was asked for, "not_started" when no workflow has run, "unknown" when Temporal did not
    # answer; None when only the view was asked for and it answered.
    status: str | None
    view: JobWorkflowView | None
    unavailable: Unavailable | None = None

    @property
    def pending(self) -> list[Pending]:
        """Held messages and the reminder, soonest first; empty without a view."""
        return _pending(self.view) if self.view is not None else []


async def job_workflow_state(
    request: Request, wf_id: str, *, with_status: bool
) -> JobWorkflowState:
    """Ask the job workflow ``wf_id`` for its view.

    ``with_status`` first describes the execution for its status and asks for the view only
    while it runs (one more round trip); without it the view is asked for whatever the status,
    so a finished workflow still tells its milestones.
    """
    try:
        client = await asyncio.wait_for(get_temporal(request), TEMPORAL_TIMEOUT_SECONDS)
        handle = client.get_workflow_handle(wf_id)
        rpc_timeout = timedelta(seconds=TEMPORAL_TIMEOUT_SECONDS)
        status: str | None = None
        if with_status:
            described = await asyncio.wait_for(
                handle.describe(rpc_timeout=rpc_timeout), TEMPORAL_TIMEOUT_SECONDS + 0.5
            )
            status = described.status.name.lower() if described.status is not None else "unknown"
            if described.status != WorkflowExecutionStatus.RUNNING:
                return JobWorkflowState(status, None)
        raw = await asyncio.wait_for(
            handle.query(VIEW_QUERY, rpc_timeout=rpc_timeout), TEMPORAL_TIMEOUT_SECONDS + 0.5
        )
        view = _view(raw)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return JobWorkflowState("not_started", None, "not_started")
        log.info("job workflow %s did not answer: %s", wf_id, exc)
        return JobWorkflowState("unknown", None, "failed")
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError, TypeError, ValueError) as exc:
        log.info("job workflow %s did not answer: %s", wf_id, exc)
        return JobWorkflowState("unknown", None, "failed")
    except (TimeoutError, HTTPException, RuntimeError) as exc:
        log.info("job workflow %s unreachable: %s", wf_id, exc)
        return JobWorkflowState("unknown", None, "unreachable")
    return JobWorkflowState(status, view)


def _view(raw: Any) -> JobWorkflowView:
    """The query's JSON answer as the workflow's dataclass."""
    if isinstance(raw, JobWorkflowView):
        return raw
    view: JobWorkflowView = value_to_type(JobWorkflowView, raw)
    return view


def _instant(iso: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _pending(view: JobWorkflowView) -> list[Pending]:
    out = [
        Pending(
            kind="quiet_hours",
            until=until,
            description=f"{h.trigger} {h.channel} held for quiet hours until {h.until}",
            trigger=h.trigger,
            channel=h.channel,
            message_id=_uuid(h.message_id),
        )
        for h in view.holds
        if (until := _instant(h.until)) is not None
    ]
    if (reminder_at := _instant(view.reminder_at)) is not None:
        out.append(
            Pending(
                kind="reminder",
                until=reminder_at,
                description=f"appointment reminder scheduled for {view.reminder_at}",
                trigger="appointment_reminder",
            )
        )
    return sorted(out, key=lambda p: p.until)
