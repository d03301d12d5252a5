"""A job's status only moves forward, whatever order the platform's events arrive in."""

from __future__ import annotations

import pytest

from dramtrade.job_events import next_status
from dramtrade.models import JobStatus as S


@pytest.mark.parametrize(
    ("current", "event", "after"),
    [
        (S.scheduled, "technician_en_route", S.en_route),
        (S.scheduled, "technician_on_site", S.on_site),  # en route never reported: fine
        (S.on_site, "technician_en_route", S.on_site),  # late: not backwards
        (S.completed, "technician_on_site", S.completed),
        (S.completed, "technician_en_route", S.completed),
        (S.on_site, "job_complete", S.completed),
        (S.en_route, "job_cancelled", S.cancelled),
        (S.completed, "job_cancelled", S.completed),  # final
        (S.cancelled, "job_complete", S.cancelled),  # final
        (S.scheduled, "job_rescheduled", S.scheduled),
        (S.en_route, "invoice_sent", S.en_route),
    ],
)
def test_status_moves_only_forward(current: S, event: str, after: S) -> None:
    assert next_status(current, event) == after
