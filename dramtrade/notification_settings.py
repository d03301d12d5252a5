"""Which automated notifications a sub-account sends: a trigger x channel matrix.

Every cell has ``enabled``, an optional ``template_id`` (None: the trigger's default template)
and ``respect_quiet_hours``. Rows exist only for cells someone changed; a missing row means the
default below, so sub-accounts created before this table existed work without a migration.

Defaults follow DESIGN.md's table for the eight milestone and renewal triggers; the job's own
notices (reschedule, cancellation, the day-before appointment reminder) are on for SMS and
email except the reminder, which goes by SMS only unless switched on for email. Urgent triggers
(technician en route, on site) ignore quiet hours by default; everything else respects them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade.errors import InvalidInput
from dramtrade.models import NotificationSetting, SubAccount, Template

CHANNELS: tuple[str, ...] = ("sms", "email")

# DESIGN.md's table, in its order, then the job's own notices.
DEFAULT_ENABLED: dict[str, tuple[str, ...]] = {
    "job_booked": ("sms", "email"),
    "technician_en_route": ("sms",),
    "technician_on_site": ("sms",),
    "job_complete": ("sms", "email"),
    "invoice_sent": ("email", "sms"),
    "payment_received": ("email",),
    "membership_renewal_30d": ("email",),
    "membership_renewal_7d": ("sms", "email"),
    "job_rescheduled": ("sms", "email"),
    "job_cancelled": ("sms", "email"),
    "appointment_reminder": ("sms",),
}
TRIGGERS: tuple[str, ...] = tuple(DEFAULT_ENABLED)
URGENT_TRIGGERS = frozenset({"technician_en_route", "technician_on_site"})


@dataclass(frozen=True)
class Cell:
    trigger: str
    channel: str
    enabled: bool
    template_id: uuid.UUID | None
    respect_quiet_hours: bool


def default_cell(trigger: str, channel: str) -> Cell:
    return Cell(
        trigger=trigger,
        channel=channel,
        enabled=channel in DEFAULT_ENABLED.get(trigger, ()),
        template_id=None,
        respect_quiet_hours=trigger not in URGENT_TRIGGERS,
    )


def _from_row(row: NotificationSetting) -> Cell:
    return Cell(row.trigger, row.channel, row.enabled, row.template_id, row.respect_quiet_hours)


def effective(session: Session, sub_account_id: uuid.UUID) -> list[Cell]:
    """The whole matrix, trigger by trigger (sms before email), stored rows over defaults."""
    rows = {
        (row.trigger, row.channel): row
        for row in session.scalars(
            select(NotificationSetting).where(NotificationSetting.sub_account_id == sub_account_id)
        )
    }
    cells = []
    for trigger in TRIGGERS:
        for channel in CHANNELS:
            row = rows.get((trigger, channel))
            cells.append(_from_row(row) if row is not None else default_cell(trigger, channel))
    return cells


def cell(session: Session, sub_account_id: uuid.UUID, trigger: str, channel: str) -> Cell:
    row = session.scalar(
        select(NotificationSetting).where(
            NotificationSetting.sub_account_id == sub_account_id,
            NotificationSetting.trigger == trigger,
            NotificationSetting.channel == channel,
        )
    )
    return _from_row(row) if row is not None else default_cell(trigger, channel)


def enabled_channels(session: Session, sub_account_id: uuid.UUID, trigger: str) -> list[Cell]:
    return [c for c in (cell(session, sub_account_id, trigger, ch) for ch in CHANNELS) if c.enabled]


@dataclass(frozen=True)
class CellUpdate:
    """A cell as it should be after the update; None fields take the trigger's default."""

    trigger: str
    channel: str
    enabled: bool
    template_id: uuid.UUID | None = None
    respect_quiet_hours: bool | None = None


def update(
    session: Session,
    account: SubAccount,
    cells: Iterable[CellUpdate],
    *,
    field: str = "settings",
) -> list[Cell]:
    """Replace the given cells (validated first, all or nothing); returns the whole matrix.

    Errors are InvalidInput naming ``{field}[i].trigger``/``.channel``/``.template_id``.
    """
    cells = list(cells)
    seen: set[tuple[str, str]] = set()
    for i, change in enumerate(cells):
        if change.trigger not in DEFAULT_ENABLED:
            raise InvalidInput(
                f"{field}[{i}].trigger",
                f"'{change.trigger}' is not a trigger; use one of: {', '.join(TRIGGERS)}",
            )
        if change.channel not in CHANNELS:
            raise InvalidInput(f"{field}[{i}].channel", "must be 'sms' or 'email'")
        if (change.trigger, change.channel) in seen:
            raise InvalidInput(
                f"{field}[{i}]", f"{change.trigger}/{change.channel} is given more than once"
            )
        seen.add((change.trigger, change.channel))
        if change.template_id is not None:
            template = session.get(Template, change.template_id)
            if template is None or template.sub_account_id != account.id:
                raise InvalidInput(f"{field}[{i}].template_id", "no such template")
            if template.channel not in (change.channel, "both"):
                raise InvalidInput(
                    f"{field}[{i}].template_id",
                    f"is a {template.channel} template; it cannot be sent by {change.channel}",
                )
    for change in cells:
        default = default_cell(change.trigger, change.channel)
        row = session.scalar(
            select(NotificationSetting).where(
                NotificationSetting.sub_account_id == account.id,
                NotificationSetting.trigger == change.trigger,
                NotificationSetting.channel == change.channel,
            )
        )
        if row is None:
            row = NotificationSetting(
                sub_account_id=account.id, trigger=change.trigger, channel=change.channel
            )
            session.add(row)
        row.enabled = change.enabled
        row.template_id = change.template_id
        row.respect_quiet_hours = (
            default.respect_quiet_hours
            if change.respect_quiet_hours is None
            else change.respect_quiet_hours
        )
    session.flush()
    return effective(session, account.id)
