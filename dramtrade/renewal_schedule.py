"""When a membership's renewal reminders go out. Pure functions: no I/O, no clock.

A reminder is due ``days_before`` calendar days before the renewal date, at 10:00 local time
in the customer's timezone (else the sub-account's). Local calendar arithmetic, then one
conversion to UTC, so a daylight-saving change between the two reminders moves their UTC
instants, not their local hour: renewal 2027-03-25 in America/Chicago gives the 30-day
reminder at 2027-02-23 10:00 CST (16:00Z) and the 7-day one at 2027-03-18 10:00 CDT (15:00Z).

Reminders that are already past when the workflow learns of a renewal date (at creation, or
when the date moves) are skipped, never sent late: with 20 days left only the 7-day reminder
goes out; with 5 days left, none does. A reminder that falls due while the worker is down is
still sent when it comes back (it was armed in time).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TRIGGER_30D = "membership_renewal_30d"
TRIGGER_7D = "membership_renewal_7d"
# (trigger, days before the renewal date), in firing order.
REMINDERS: tuple[tuple[str, int], ...] = ((TRIGGER_30D, 30), (TRIGGER_7D, 7))
LOCAL_SEND_TIME = time(10, 0)

# A date change of at least this much is the next term (a renewal), not a correction.
RENEWAL_MIN_SHIFT = timedelta(days=180)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at local ``at`` in ``zone``, as a UTC instant (a time in a DST gap moves on)."""
    local = datetime.combine(day, at, tzinfo=zone)
    # Round-trip through UTC normalises a non-existent local time (spring-forward gap).
    return local.astimezone(UTC)


def reminder_instants(
    renewal_date: date, zone: ZoneInfo, at: time = LOCAL_SEND_TIME
) -> dict[str, datetime]:
    """Each reminder's UTC send instant for a renewal date."""
    return {
        trigger: local_instant(renewal_date - timedelta(days=days), at, zone)
        for trigger, days in REMINDERS
    }


def renewal_instant(renewal_date: date, zone: ZoneInfo) -> datetime:
    """The start of the renewal day, local time: from then on the term is over."""
    return local_instant(renewal_date, time(0, 0), zone)


def is_next_term(old: date, new: date, *, renewed: bool, term_over: bool) -> bool:
    """Whether a new renewal date starts the next term rather than moving this one.

    The next term: the platform said so (``renewed``), or the old date has already come
    (``term_over``), or the date jumped forward by half a year or more (a yearly renewal).
    Anything else is a correction of the current term's date.
    """
    if new <= old:
        return False
    return renewed or term_over or new - old >= RENEWAL_MIN_SHIFT
