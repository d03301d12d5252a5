"""Renewal reminder instants: 10:00 local, whatever daylight saving does in between."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dramtrade.renewal_schedule import is_next_term, reminder_instants, renewal_instant

CHICAGO = ZoneInfo("America/Chicago")


@pytest.mark.parametrize(
    ("renewal", "zone", "at_30d", "at_7d"),
    [
        # Spring forward 2027-03-14 falls between the reminders: CST then CDT.
        (
            "2027-03-25",
            CHICAGO,
            datetime(2027, 2, 23, 16, tzinfo=UTC),
            datetime(2027, 3, 18, 15, tzinfo=UTC),
        ),
        # Both before the change (7 days before 2027-03-20 is the 13th): CST twice.
        (
            "2027-03-20",
            CHICAGO,
            datetime(2027, 2, 18, 16, tzinfo=UTC),
            datetime(2027, 3, 13, 16, tzinfo=UTC),
        ),
        # Fall back 2027-11-07: CDT then CST.
        (
            "2027-11-20",
            CHICAGO,
            datetime(2027, 10, 21, 15, tzinfo=UTC),
            datetime(2027, 11, 13, 16, tzinfo=UTC),
        ),
        # Europe changes on the last Sunday of March (2027-03-28): GMT then BST.
        (
            "2027-04-01",
            ZoneInfo("Europe/London"),
            datetime(2027, 3, 2, 10, tzinfo=UTC),
            datetime(2027, 3, 25, 10, tzinfo=UTC),
        ),
        (
            "2027-04-10",
            ZoneInfo("Europe/London"),
            datetime(2027, 3, 11, 10, tzinfo=UTC),
            datetime(2027, 4, 3, 9, tzinfo=UTC),
        ),
    ],
)
def test_reminders_at_ten_local(
    renewal: str, zone: ZoneInfo, at_30d: datetime, at_7d: datetime
) -> None:
    instants = reminder_instants(date.fromisoformat(renewal), zone)
    assert instants == {"membership_renewal_30d": at_30d, "membership_renewal_7d": at_7d}
    for at in instants.values():
        assert at.astimezone(zone).hour == 10


def test_renewal_instant_is_local_midnight() -> None:
    assert renewal_instant(date(2027, 7, 1), CHICAGO) == datetime(2027, 7, 1, 5, tzinfo=UTC)


def test_next_term_or_a_correction() -> None:
    old = date(2027, 4, 10)
    assert is_next_term(old, date(2028, 4, 10), renewed=False, term_over=False)
    assert not is_next_term(old, date(2027, 5, 10), renewed=False, term_over=False)
    assert is_next_term(old, date(2027, 5, 10), renewed=True, term_over=False)
    assert is_next_term(old, date(2027, 5, 10), renewed=False, term_over=True)
    assert not is_next_term(old, date(2027, 3, 10), renewed=True, term_over=True)
