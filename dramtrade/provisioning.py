"""Creating a sub-account with what it needs to work: a number, a key, default templates."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade.models import ApiKey, Channel, PhoneNumber, SubAccount, Template
from dramtrade.security import new_api_key


@dataclass(frozen=True)
class DefaultTemplate:
    trigger: str
    channel: Channel
    name: str
    body: str
    subject: str | None = None


def _sms(trigger: str, name: str, body: str) -> DefaultTemplate:
    return DefaultTemplate(trigger, Channel.sms, f"{name} (SMS)", body)


def _email(trigger: str, name: str, subject: str, body: str) -> DefaultTemplate:
    return DefaultTemplate(trigger, Channel.email, f"{name} (email)", body, subject=subject)


_SIGN_OFF = (
    "\n\nQuestions? Reply to this email or call us at {{business_phone}}.\n\n{{business_name}}"
)

# One SMS and one email per notification. Each uses only values its trigger always has: job
# milestones the customer and job (the visit's date and window for booking, reschedule and
# reminder), invoice notices the job's invoice total, renewals the membership. SMS stay within
# one GSM-7 segment for typical names (tests/unit/test_default_templates.py checks them).
DEFAULT_TEMPLATES: tuple[DefaultTemplate, ...] = (
    _sms(
        "job_booked",
        "Job booked",
        "Hi {{first_name}}, your {{job_type}} with {{business_name}} is booked for "
        "{{job_date}}, {{appointment_time}}. Reply here with any questions.",
    ),
    _email(
        "job_booked",
        "Job booked",
        "Your {{job_type}} is booked for {{job_date}}",
        "Hi {{first_name}},\n\nThanks for choosing {{business_name}}. Your {{job_type}} is "
        "booked for {{job_date}}, {{appointment_time}}.\n\nQuestions? Reply to this email "
        "or call {{business_phone}}.",
    ),
    _sms(
        "technician_en_route",
        "Technician en route",
        "Hi {{first_name}}, your {{business_name}} technician is on the way for your "
        "{{job_type}}. See you soon!",
    ),
    _email(
        "technician_en_route",
        "Technician en route",
        "Your {{business_name}} technician is on the way",
        "Hi {{first_name}},\n\nYour technician is on the way for your {{job_type}} and will "
        "be with you shortly." + _SIGN_OFF,
    ),
    _sms(
        "technician_on_site",
        "Technician on site",
        "Hi {{first_name}}, your {{business_name}} technician has arrived for your {{job_type}}.",
    ),
    _email(
        "technician_on_site",
        "Technician on site",
        "Your {{business_name}} technician has arrived",
        "Hi {{first_name}},\n\nYour technician has arrived for your {{job_type}}." + _SIGN_OFF,
    ),
    _sms(
        "job_complete",
        "Job complete",
        "Hi {{first_name}}, your {{job_type}} is complete. Thanks for choosing "
        "{{business_name}}! Questions? Just reply here.",
    ),
    _email(
        "job_complete",
        "Job complete",
        "Your {{job_type}} is complete",
        "Hi {{first_name}},\n\nYour {{job_type}} is complete. Thank you for choosing "
        "{{business_name}}; we appreciate your business." + _SIGN_OFF,
    ),
    _sms(
        "invoice_sent",
        "Invoice sent",
        "Hi {{first_name}}, {{business_name}} has sent your invoice for {{invoice_total}}. "
        "Questions? Reply here or call {{business_phone}}.",
    ),
    _email(
        "invoice_sent",
        "Invoice sent",
        "Your invoice from {{business_name}}: {{invoice_total}}",
        "Hi {{first_name}},\n\nYour invoice for your {{job_type}} is ready. The total is "
        "{{invoice_total}}." + _SIGN_OFF,
    ),
    _sms(
        "payment_received",
        "Payment received",
        "Thanks, {{first_name}}! {{business_name}} received your payment for the "
        "{{invoice_total}} invoice.",
    ),
    _email(
        "payment_received",
        "Payment received",
        "Payment received, thank you",
        "Hi {{first_name}},\n\nWe received your payment for the {{invoice_total}} invoice "
        "for your {{job_type}}. Thank you!" + _SIGN_OFF,
    ),
    _sms(
        "membership_renewal_30d",
        "Membership renews in 30 days",
        "Hi {{first_name}}, your {{membership_plan}} membership with {{business_name}} "
        "renews on {{renewal_date}}. Questions? Reply here.",
    ),
    _email(
        "membership_renewal_30d",
        "Membership renews in 30 days",
        "Your {{membership_plan}} membership renews on {{renewal_date}}",
        "Hi {{first_name}},\n\nYour {{membership_plan}} membership with {{business_name}} "
        "renews on {{renewal_date}}. There is nothing you need to do to keep your benefits."
        + _SIGN_OFF,
    ),
    _sms(
        "membership_renewal_7d",
        "Membership renews in 7 days",
        "Hi {{first_name}}, your {{membership_plan}} membership with {{business_name}} "
        "renews in one week, on {{renewal_date}}. Questions? Reply here.",
    ),
    _email(
        "membership_renewal_7d",
        "Membership renews in 7 days",
        "Your {{membership_plan}} membership renews in one week",
        "Hi {{first_name}},\n\nA quick reminder: your {{membership_plan}} membership with "
        "{{business_name}} renews on {{renewal_date}}." + _SIGN_OFF,
    ),
    _sms(
        "job_rescheduled",
        "Job rescheduled",
        "Hi {{first_name}}, your {{job_type}} with {{business_name}} is now {{job_date}}, "
        "{{appointment_time}}. Reply here if that doesn't work.",
    ),
    _email(
        "job_rescheduled",
        "Job rescheduled",
        "Your {{job_type}} is now on {{job_date}}",
        "Hi {{first_name}},\n\nYour {{job_type}} has moved to {{job_date}}, "
        "{{appointment_time}}. If that time doesn't work for you, just let us know." + _SIGN_OFF,
    ),
    _sms(
        "job_cancelled",
        "Job cancelled",
        "Hi {{first_name}}, your {{job_type}} with {{business_name}} has been cancelled. "
        "To rebook, reply here or call {{business_phone}}.",
    ),
    _email(
        "job_cancelled",
        "Job cancelled",
        "Your {{job_type}} has been cancelled",
        "Hi {{first_name}},\n\nYour {{job_type}} with {{business_name}} has been cancelled. "
        "Whenever you'd like to rebook, reply to this email or call us at {{business_phone}}."
        "\n\n{{business_name}}",
    ),
    _sms(
        "appointment_reminder",
        "Appointment reminder",
        "Reminder: {{business_name}} will see you tomorrow, {{job_date}}, "
        "{{appointment_time}}, for your {{job_type}}. Reply here to reschedule.",
    ),
    _email(
        "appointment_reminder",
        "Appointment reminder",
        "Reminder: your {{job_type}} is tomorrow",
        "Hi {{first_name}},\n\nA reminder that {{business_name}} will see you tomorrow, "
        "{{job_date}}, {{appointment_time}}, for your {{job_type}}. Need another time? "
        "Reply to this email or call us at {{business_phone}}.\n\n{{business_name}}",
    ),
)


def ensure_default_templates(session: Session, account: SubAccount) -> int:
    """Add the default templates this sub-account lacks; returns how many were added.

    Idempotent: a trigger and channel that already has a template (its own or a "both" one)
    is left alone, as is a default whose name is taken, so edits and deletions of names stay.
    """
    existing = session.execute(
        select(Template.trigger, Template.channel, Template.name).where(
            Template.sub_account_id == account.id
        )
    ).all()
    covered = {(t, c) for t, c, _ in existing if t}
    names = {(n, c) for _, c, n in existing}
    added = 0
    for tpl in DEFAULT_TEMPLATES:
        channel = tpl.channel.value
        if (tpl.trigger, channel) in covered or (tpl.trigger, "both") in covered:
            continue
        if (tpl.name, channel) in names:
            continue
        session.add(
            Template(
                sub_account_id=account.id,
                name=tpl.name,
                channel=channel,
                category="notification",
                trigger=tpl.trigger,
                subject=tpl.subject,
                body=tpl.body,
            )
        )
        added += 1
    session.flush()
    return added


def create_sub_account(
    session: Session,
    *,
    name: str,
    sending_domain: str,
    phone_number: str,
    timezone: str = "America/Chicago",
    provider_sid: str | None = None,
) -> tuple[SubAccount, str]:
    """Create a sub-account with its number, default templates and an API key (returned once)."""
    account = SubAccount(
        name=name,
        timezone=timezone,
        sending_domain=sending_domain,
        from_email=f"hello@{sending_domain}",
        from_name=name,
        business_phone=phone_number,
    )
    session.add(account)
    session.flush()
    session.add(
        PhoneNumber(sub_account_id=account.id, e164=phone_number, provider_sid=provider_sid)
    )
    ensure_default_templates(session, account)
    key = issue_api_key(session, account, "default")
    return account, key


def issue_api_key(session: Session, account: SubAccount, name: str) -> str:
    key, prefix, key_hash = new_api_key()
    session.add(ApiKey(sub_account_id=account.id, name=name, prefix=prefix, key_hash=key_hash))
    session.flush()
    return key
