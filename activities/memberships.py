"""Activities of the membership renewal workflow: read the membership, write reminder rows.

The membership row is the truth: the workflow re-reads it through ``load_membership`` when it
starts and on every wake, so a signal that never arrived (Temporal unreachable when the API
committed a change) is caught up at the next wake. Sending is ``deliver_message``'s job.

Times come in from the workflow (``now``), never from this machine's clock: under Temporal's
time-skipping test server, and after a worker outage, the workflow's time is the one that
counts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from dramtrade import (
    notification_settings,
    outbound,
    quiet_hours,
    renewal_schedule,
    template_context,
    templating,
)
from dramtrade.db import session_scope
from dramtrade.models import (
    Channel,
    Customer,
    Membership,
    MembershipStatus,
    SubAccount,
    Template,
)
from dramtrade.template_context import customer_zone

MISSING = "missing"


@dataclass
class MembershipRef:
    sub_account_id: str
    membership_id: str


@dataclass
class MembershipSnapshot:
    """What the workflow needs from the row, with the reminder instants already computed."""

    status: str  # active | cancelled | expired | missing
    renewal_date: str | None = None  # ISO date
    timezone: str | None = None
    # trigger -> UTC instant (ISO); renewal_at: the local start of the renewal day (UTC, ISO).
    reminders: dict[str, str] = field(default_factory=dict)
    renewal_at: str | None = None


@dataclass
class ReminderInput:
    sub_account_id: str
    membership_id: str
    renewal_date: str
    trigger: str
    now: str  # the workflow's time, ISO


@dataclass
class PreparedReminder:
    message_id: str
    channel: str
    # SMS in the quiet-hours window: not before this UTC instant (ISO).
    hold_until: str | None = None


def _membership(session: Session, ref_sub: str, ref_id: str) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.sub_account_id == uuid.UUID(ref_sub), Membership.id == uuid.UUID(ref_id)
        )
    )


@activity.defn
def load_membership(ref: MembershipRef) -> MembershipSnapshot:
    with session_scope() as session:
        membership = _membership(session, ref.sub_account_id, ref.membership_id)
        if membership is None:
            return MembershipSnapshot(status=MISSING)
        account = session.get_one(SubAccount, membership.sub_account_id)
        customer = session.get(Customer, membership.customer_id)
        zone = customer_zone(customer, account)
        instants = renewal_schedule.reminder_instants(membership.renewal_date, zone)
        return MembershipSnapshot(
            status=str(membership.status),
            renewal_date=membership.renewal_date.isoformat(),
            timezone=zone.key,
            reminders={trigger: at.isoformat() for trigger, at in instants.items()},
            renewal_at=renewal_schedule.renewal_instant(membership.renewal_date, zone).isoformat(),
        )


def enabled_channels(
    session: Session, sub_account_id: uuid.UUID, trigger: str
) -> list[tuple[Channel, Template | None, bool]]:
    """(channel, template, respects quiet hours) for each channel the settings enable."""
    out: list[tuple[Channel, Template | None, bool]] = []
    for cell in notification_settings.enabled_channels(session, sub_account_id, trigger):
        channel = Channel(cell.channel)
        template = session.get(Template, cell.template_id) if cell.template_id else None
        template = template or outbound.notification_template(
            session, sub_account_id, trigger, channel
        )
        out.append((channel, template, cell.respect_quiet_hours))
    return out


def quiet_hours_release(account: SubAccount, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When an SMS that is due ``now`` may go: None if now is outside the quiet window."""
    if not account.quiet_hours_enabled:
        return None
    return quiet_hours.quiet_until(
        now, account.quiet_hours_start, account.quiet_hours_end, zone.key
    )


@activity.defn
def prepare_membership_reminder(inp: ReminderInput) -> list[PreparedReminder]:
    """Write the reminder's message rows (one per enabled channel; idempotent by key).

    Nothing when the membership is no longer active or its date is no longer this one: the
    workflow will hear of the change and re-arm.
    """
    now = datetime.fromisoformat(inp.now)
    prepared: list[PreparedReminder] = []
    with session_scope() as session:
        membership = _membership(session, inp.sub_account_id, inp.membership_id)
        if (
            membership is None
            or membership.status != MembershipStatus.active
            or membership.renewal_date != date.fromisoformat(inp.renewal_date)
        ):
            return []
        account = session.get_one(SubAccount, membership.sub_account_id)
        customer = session.get_one(Customer, membership.customer_id)
        zone = customer_zone(customer, account)
        values: dict[str, str] | None = None
        for channel, template, respects_quiet in enabled_channels(session, account.id, inp.trigger):
            if template is None:
                continue
            if channel == Channel.sms:
                to = outbound.primary_phone(session, customer)
                from_ = outbound.business_number(session, account.id)
            else:
                to, from_ = outbound.primary_email(session, customer), account.from_email
            if to is None or from_ is None:
                continue
            if values is None:
                values = template_context.build(session, account, customer, membership=membership)
            key = (
                f"membership:{membership.id}:{membership.renewal_date.isoformat()}:"
                f"{inp.trigger}:{channel.value}:{to}"
            )
            message = outbound.create(
                session,
                outbound.Draft(
                    sub_account_id=account.id,
                    customer=customer,
                    channel=channel,
                    to=to,
                    from_=from_,
                    body=templating.render(template.body, values),
                    subject=templating.render(template.subject, values)
                    if template.subject
                    else None,
                    html=templating.render(template.html, values, escape_html=True)
                    if template.html
                    else None,
                    source="notification",
                    trigger=inp.trigger,
                    template_id=template.id,
                    idempotency_key=key,
                ),
            )
            hold = (
                quiet_hours_release(account, zone, now)
                if channel == Channel.sms and respects_quiet
                else None
            )
            prepared.append(
                PreparedReminder(str(message.id), channel.value, hold.isoformat() if hold else None)
            )
    return prepared
