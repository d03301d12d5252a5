"""Quiet hours and local reminder times: windows across midnight, same-day windows, DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dramtrade.quiet_hours import (
    day_before_at,
    is_quiet,
    local_instant,
    parse_hhmm,
    quiet_until,
    release_at,
)

CHI = "America/Chicago"


def chi(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return local_instant(datetime(y, mo, d).date(), f"{h:02d}:{mi:02d}", CHI)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (7, 59, True), (8, 0, False)],
)
def test_window_crossing_midnight(hour: int, minute: int, quiet: bool) -> None:
    assert is_quiet(chi(2026, 6, 10, hour, minute), "21:00", "08:00", CHI) is quiet


def test_window_end_is_the_next_morning_in_the_evening_and_the_same_morning_after_midnight() -> (
    None
):
    assert quiet_until(chi(2026, 6, 10, 22), "21:00", "08:00", CHI) == chi(2026, 6, 11, 8)
    assert quiet_until(chi(2026, 6, 11, 3), "21:00", "08:00", CHI) == chi(2026, 6, 11, 8)
    assert quiet_until(chi(2026, 6, 11, 9), "21:00", "08:00", CHI) is None


def test_same_day_window_and_empty_window() -> None:
    assert quiet_until(chi(2026, 6, 10, 13), "12:00", "14:00", CHI) == chi(2026, 6, 10, 14)
    assert not is_quiet(chi(2026, 6, 10, 23), "12:00", "14:00", CHI)
    assert not is_quiet(chi(2026, 6, 10, 23), "08:00", "08:00", CHI)


def test_release_at_is_now_outside_the_window_or_when_disabled() -> None:
    at = chi(2026, 6, 10, 22)
    assert release_at(at, "21:00", "08:00", CHI) == chi(2026, 6, 11, 8)
    assert release_at(at, "21:00", "08:00", CHI, enabled=False) == at
    noon = chi(2026, 6, 10, 12)
    assert release_at(noon, "21:00", "08:00", CHI) == noon


def test_dst_nights_end_at_eight_local_wall_time() -> None:
    # Spring forward (2026-03-08 02:00 -> 03:00 in Chicago): the night is an hour shorter.
    spring = quiet_until(chi(2026, 3, 7, 22), "21:00", "08:00", CHI)
    assert spring == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 08:00 CDT
    # Fall back (2026-11-01 02:00 -> 01:00): an hour longer.
    fall = quiet_until(chi(2026, 10, 31, 22), "21:00", "08:00", CHI)
    assert fall == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # 08:00 CST
    # A window ending at a wall time that does not exist that night ends an hour later.
    gap = quiet_until(chi(2026, 3, 7, 23), "21:00", "02:30", CHI)
    assert gap == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)  # 03:30 CDT


def test_day_before_reminder_uses_the_local_date_of_the_visit() -> None:
    # 00:30 local on the 12th is still the 12th in Chicago though the 12th 05:30 UTC.
    visit = chi(2026, 6, 12, 0, 30)
    assert day_before_at(visit, "10:00", CHI) == chi(2026, 6, 11, 10)
    # Across a DST change the reminder stays at 10:00 local.
    assert day_before_at(chi(2026, 3, 9, 9), "10:00", CHI) == datetime(
        2026, 3, 8, 15, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("bad", ["9:00", "24:00", "12:60", "noon", "", "12:00:00"])
def test_parse_hhmm_refuses_other_shapes(bad: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(bad)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_quiet(datetime(2026, 6, 10, 22), "21:00", "08:00", CHI)
