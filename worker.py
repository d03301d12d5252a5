"""The Temporal worker: registers workflows and activities, nothing else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.memberships import load_membership, prepare_membership_reminder
from activities.notifications import (
    appointment_reminder_at,
    deliver_message,
    discard_message,
    prepare_job_notification,
    prepare_job_notifications,
)
from dramtrade.config import Settings, get_settings
from workflows.job_lifecycle import JobLifecycleWorkflow
from workflows.membership_renewal import MembershipRenewalWorkflow
from workflows.send_message import SendMessageWorkflow

WORKFLOWS: list[type] = [JobLifecycleWorkflow, SendMessageWorkflow, MembershipRenewalWorkflow]
ACTIVITIES: list[Callable[..., Any]] = [
    prepare_job_notification,
    deliver_message,
    load_membership,
    prepare_membership_reminder,
    prepare_job_notifications,
    appointment_reminder_at,
    discard_message,
]


def build_worker(client: Client, task_queue: str, executor: ThreadPoolExecutor) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES,
        activity_executor=executor,
        max_concurrent_activities=32,
    )


async def run_worker(settings: Settings) -> None:
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    with ThreadPoolExecutor(max_workers=32) as executor:
        await build_worker(client, settings.temporal_task_queue, executor).run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The Twilio SDK logs every request at INFO, including message bodies.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    asyncio.run(run_worker(get_settings()))


if __name__ == "__main__":
    main()
