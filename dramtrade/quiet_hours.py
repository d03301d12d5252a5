"""Local wall-clock rules, as pure functions: quiet hours and "at HH:MM local on a day".

No clock is read here: every function is given the instant it reasons about, so workflow code
may call these with ``workflow.now()`` and activities with the workflow's ``now`` they were
given. Instants go in and come out timezone-aware (results in UTC).

Quiet hours are a local window ``start``-``end`` ("HH:MM", 24-hour): ``21:00``-``08:00``
crosses midnight, ``12:00``-``14:00`` does not, equal ends mean no window. Around daylight
saving changes, a wall time that does not exist (spring forward, e.g. 02:30) is read with the
offset before the change, i.e. it falls an hour later on the clock (03:30); a wall time that
happens twice (fall back) means its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: str) -> time:
    """``"21:00"`` -> ``time(21, 0)``; ValueError for anything else (``"7:00"``, ``"24:00"``)."""
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"'{value}' is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def local_instant(day: date, hhmm: str, tz: str) -> datetime:
    """The instant (UTC) when the wall clock in ``tz`` shows ``hhmm`` on ``day``."""
    wall = datetime.combine(day, parse_hhmm(hhmm), tzinfo=ZoneInfo(tz))
    # Round-tripping through UTC resolves a non-existent wall time to a real instant.
    return wall.astimezone(UTC)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a timezone-aware instant is required")
    return at


def is_quiet(at: datetime, start: str, end: str, tz: str) -> bool:
    """Whether ``at`` falls inside the local quiet window ``start``-``end`` in ``tz``."""
    return quiet_until(at, start, end, tz) is not None


def quiet_until(at: datetime, start: str, end: str, tz: str) -> datetime | None:
    """When the quiet window containing ``at`` ends (UTC), or None if ``at`` is not quiet."""
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    if begin == finish:
        return None
    local = _aware(at).astimezone(ZoneInfo(tz))
    wall, today = local.time().replace(tzinfo=None), local.date()
    if begin < finish:  # same-day window, e.g. 12:00-14:00
        if begin <= wall < finish:
            return local_instant(today, end, tz)
        return None
    if wall >= begin:  # evening part of a window crossing midnight
        return local_instant(today + timedelta(days=1), end, tz)
    if wall < finish:  # morning part
        return local_instant(today, end, tz)
    return None


def release_at(at: datetime, start: str, end: str, tz: str, *, enabled: bool = True) -> datetime:
    """When a message prepared at ``at`` may go out: ``at`` itself, or the end of quiet hours."""
    if not enabled:
        return _aware(at).astimezone(UTC)
    until = quiet_until(at, start, end, tz)
    return until if until is not None else _aware(at).astimezone(UTC)


def day_before_at(appointment: datetime, hhmm: str, tz: str) -> datetime:
    """``hhmm`` local on the day before the local date of ``appointment`` (the reminder)."""
    local_day = _aware(appointment).astimezone(ZoneInfo(tz)).date()
    return local_instant(local_day - timedelta(days=1), hhmm, tz)
