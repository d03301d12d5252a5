"""``POST /v1/jobs/{id}/events``: the platform reports a milestone; the job's workflow acts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import CallerDep, SessionDep, SettingsDep, TemporalDep
from dramtrade import job_events, repositories
from dramtrade.models import JobEvent
from workflows.job_lifecycle import (
    EVENT_SIGNAL,
    JobEventSignal,
    JobLifecycleWorkflow,
    JobWorkflowInput,
    workflow_id,
)

router = APIRouter(tags=["jobs"])

JobEventType = Literal[
    "job_booked",
    "technician_en_route",
    "technician_on_site",
    "job_complete",
    "invoice_sent",
    "payment_received",
    "job_rescheduled",
    "job_cancelled",
]


class JobEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: JobEventType
    scheduled_start: AwareDatetime | None = Field(None, description="job_rescheduled only")
    scheduled_end: AwareDatetime | None = Field(None, description="job_rescheduled only")
    data: dict[str, Any] = Field(default_factory=dict, description="free-form details to keep")

    @model_validator(mode="after")
    def _window(self) -> JobEventIn:
        if (
            self.scheduled_start
            and self.scheduled_end
            and self.scheduled_end <= self.scheduled_start
        ):
            raise ValueError("scheduled_end must be after scheduled_start")
        if self.type != "job_rescheduled" and (self.scheduled_start or self.scheduled_end):
            raise ValueError("scheduled_start/scheduled_end are only for job_rescheduled")
        return self


class JobEventOut(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID
    type: str
    received_at: datetime
    workflow_id: str


@router.post("/jobs/{job_id}/events", status_code=status.HTTP_202_ACCEPTED)
async def post_job_event(
    job_id: Annotated[uuid.UUID, Path(description="the job's id")],
    body: JobEventIn,
    caller: CallerDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> JobEventOut:
    def record() -> JobEvent:
        job = repositories.get_job(session, caller.sub_account_id, job_id)
        if job is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="job not found")
        event = job_events.record(
            session, job, body.type, body.data, body.scheduled_start, body.scheduled_end
        )
        # The event is durable before the workflow hears of it: commit first, then signal.
        session.commit()
        return event

    event = await run_in_threadpool(record)
    wf_id = workflow_id(str(caller.sub_account_id), str(job_id))
    signal = JobEventSignal(str(event.id), body.type, event.received_at.isoformat())
    try:
        await temporal.start_workflow(
            JobLifecycleWorkflow.run,
            JobWorkflowInput(sub_account_id=str(caller.sub_account_id), job_id=str(job_id)),
            id=wf_id,
            task_queue=settings.temporal_task_queue,
            start_signal=EVENT_SIGNAL,
            start_signal_args=[signal],
            # A finished job stays finished: a late event must not start it again.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError as exc:
        described = await temporal.get_workflow_handle(wf_id).describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail="the job is already finished; the event was recorded but not acted on",
            ) from exc
        raise
    return JobEventOut(
        id=event.id,
        job_id=job_id,
        type=event.type,
        received_at=event.received_at,
        workflow_id=wf_id,
    )
