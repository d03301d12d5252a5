"""``/v1/notification-settings``: which automated notifications go out, by which channel.

``GET`` answers the whole trigger x channel matrix (a cell nobody changed shows its default)
and the sub-account's quiet hours and day-before appointment reminder. ``PUT`` replaces the
cells it is given (a cell's omitted ``template_id`` / ``respect_quiet_hours`` go back to the
default) and the options it is given; the rest stay as they are. A bad trigger, channel,
template or time is a 422 naming the field (``settings[2].template_id``, ``quiet_hours_start``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, Field

from api.deps import SessionDep, SubAccountDep
from api.v1.routing import v1_router
from dramtrade import notification_settings as service
from dramtrade import quiet_hours
from dramtrade.models import SubAccount
from dramtrade.schemas import InputModel

router = v1_router("notification settings")

Trigger = Literal[
    "job_booked",
    "technician_en_route",
    "technician_on_site",
    "job_complete",
    "invoice_sent",
    "payment_received",
    "membership_renewal_30d",
    "membership_renewal_7d",
    "job_rescheduled",
    "job_cancelled",
    "appointment_reminder",
]
assert set(get_args(Trigger)) == set(service.TRIGGERS)
NotificationChannel = Literal["sms", "email"]


def _hhmm(value: str) -> str:
    quiet_hours.parse_hhmm(value)
    return value


LocalTime = Annotated[
    str, AfterValidator(_hhmm), Field(examples=["21:00"], description="local time, HH:MM")
]


class SettingOut(BaseModel):
    trigger: str
    channel: str
    enabled: bool
    template_id: uuid.UUID | None = Field(description="null: the trigger's default template")
    respect_quiet_hours: bool


class NotificationSettingsOut(BaseModel):
    settings: list[SettingOut]
    quiet_hours_enabled: bool
    quiet_hours_start: str
    quiet_hours_end: str
    appointment_reminder_enabled: bool
    appointment_reminder_time: str


class SettingIn(InputModel):
    trigger: Trigger
    channel: NotificationChannel
    enabled: bool
    template_id: uuid.UUID | None = Field(
        None, description="a template of yours for this channel (or both); null: the default"
    )
    respect_quiet_hours: bool | None = Field(
        None, description="null: the trigger's default (false for en route and on site)"
    )


class NotificationSettingsIn(InputModel):
    settings: list[SettingIn] = Field(default_factory=list, max_length=100)
    quiet_hours_enabled: bool | None = None
    quiet_hours_start: LocalTime | None = None
    quiet_hours_end: LocalTime | None = None
    appointment_reminder_enabled: bool | None = None
    appointment_reminder_time: LocalTime | None = None


def _present(account: SubAccount, cells: list[service.Cell]) -> NotificationSettingsOut:
    return NotificationSettingsOut(
        settings=[
            SettingOut(
                trigger=c.trigger,
                channel=c.channel,
                enabled=c.enabled,
                template_id=c.template_id,
                respect_quiet_hours=c.respect_quiet_hours,
            )
            for c in cells
        ],
        quiet_hours_enabled=account.quiet_hours_enabled,
        quiet_hours_start=account.quiet_hours_start,
        quiet_hours_end=account.quiet_hours_end,
        appointment_reminder_enabled=account.appointment_reminder_enabled,
        appointment_reminder_time=account.appointment_reminder_time,
    )


@router.get("/notification-settings", summary="The notification matrix and options")
def get_notification_settings(
    session: SessionDep, account: SubAccountDep
) -> NotificationSettingsOut:
    return _present(account, service.effective(session, account.id))


@router.put(
    "/notification-settings",
    summary="Replace some notification cells and options",
    responses={422: {"description": "A field is invalid; `loc` names it"}},
)
def put_notification_settings(
    body: NotificationSettingsIn, session: SessionDep, account: SubAccountDep
) -> NotificationSettingsOut:
    cells = service.update(
        session,
        account,
        [
            service.CellUpdate(
                trigger=s.trigger,
                channel=s.channel,
                enabled=s.enabled,
                template_id=s.template_id,
                respect_quiet_hours=s.respect_quiet_hours,
            )
            for s in body.settings
        ],
    )
    for name in (
        "quiet_hours_enabled",
        "quiet_hours_start",
        "quiet_hours_end",
        "appointment_reminder_enabled",
        "appointment_reminder_time",
    ):
        value = getattr(body, name)
        if value is not None:
            setattr(account, name, value)
    session.flush()
    return _present(account, cells)
