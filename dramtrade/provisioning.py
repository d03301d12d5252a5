"""Creating a sub-account with what it needs to work: a number, a key, default templates."""

from __future__ import annotations

from dataclasses import dataclass

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


DEFAULT_TEMPLATES: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        "job_booked",
        Channel.sms,
        "Job booked (SMS)",
        "Hi {{first_name}}, your {{job_type}} with {{business_name}} is booked for "
        "{{job_date}}, {{appointment_time}}. Reply here with any questions.",
    ),
    DefaultTemplate(
        "job_booked",
        Channel.email,
        "Job booked (email)",
        "Hi {{first_name}},\n\nThanks for choosing {{business_name}}. Your {{job_type}} is "
        "booked for {{job_date}}, {{appointment_time}}.\n\nQuestions? Reply to this email "
        "or call {{business_phone}}.",
        subject="Your {{job_type}} is booked for {{job_date}}",
    ),
)


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
    for tpl in DEFAULT_TEMPLATES:
        session.add(
            Template(
                sub_account_id=account.id,
                name=tpl.name,
                channel=tpl.channel,
                category="notification",
                trigger=tpl.trigger,
                subject=tpl.subject,
                body=tpl.body,
            )
        )
    key = issue_api_key(session, account, "default")
    return account, key


def issue_api_key(session: Session, account: SubAccount, name: str) -> str:
    key, prefix, key_hash = new_api_key()
    session.add(ApiKey(sub_account_id=account.id, name=name, prefix=prefix, key_hash=key_hash))
    session.flush()
    return key
