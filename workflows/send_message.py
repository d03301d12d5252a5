"""One workflow per outbound message that no other workflow owns (a person's manual send).

The row already exists; the workflow only makes the delivery durable: the activity retries
through provider outages and worker restarts, and the row guarantees it is sent once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notifications import DeliveryResult, deliver_message
    from workflows.job_lifecycle import SEND_RETRY


def workflow_id(message_id: str) -> str:
    return f"message-{message_id}"


@workflow.defn
class SendMessageWorkflow:
    @workflow.run
    async def run(self, message_id: str) -> str:
        result: DeliveryResult = await workflow.execute_activity(
            deliver_message,
            message_id,
            start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=timedelta(hours=6),
            retry_policy=SEND_RETRY,
        )
        return result.status
