"""The system of record. Every tenant-owned row carries ``sub_account_id``."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both PostgreSQL and SQLite (which drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("sub_accounts.id", ondelete="CASCADE"), index=True)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


class StrEnum(enum.StrEnum):
    pass


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    office = "office"
    technician = "technician"


class Channel(StrEnum):
    sms = "sms"
    email = "email"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class JobStatus(StrEnum):
    scheduled = "scheduled"
    en_route = "en_route"
    on_site = "on_site"
    completed = "completed"
    cancelled = "cancelled"


class InvoiceStatus(StrEnum):
    draft = "draft"
    sent = "sent"
    paid = "paid"
    void = "void"


class MembershipStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"
    expired = "expired"


class SubAccount(Base):
    __tablename__ = "sub_accounts"
    id: Mapped[uuid.UUID] = _id()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    default_country: Mapped[str] = mapped_column(String(2), default="US")
    sending_domain: Mapped[str] = mapped_column(String(253))
    from_email: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(200))
    business_phone: Mapped[str | None] = mapped_column(String(20))
    brand_color: Mapped[str] = mapped_column(String(7), default="#1f6feb")
    logo_url: Mapped[str | None] = mapped_column(String(1000))
    # Non-urgent automated SMS wait out this local window (customer's timezone), "HH:MM".
    quiet_hours_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_hours_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_hours_end: Mapped[str] = mapped_column(String(5), default="08:00")
    # The day-before appointment reminder, sent at this local time.
    appointment_reminder_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    appointment_reminder_time: Mapped[str] = mapped_column(String(5), default="10:00")
    created_at: Mapped[datetime] = _created()


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(20), default=Role.office)
    phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    # Only a SHA-256 of the key is stored; the key has 256 bits of entropy, so no slow hash
    # is needed, and the prefix lets people tell keys apart without the secret.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("sub_account_id", "external_id"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    external_id: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    company: Mapped[str | None] = mapped_column(String(200))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    zip: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(default=list)
    segment: Mapped[str | None] = mapped_column(String(100))
    membership_status: Mapped[str | None] = mapped_column(String(20))
    last_service_date: Mapped[date | None] = mapped_column(Date)
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_opted_out_at: Mapped[datetime | None]
    email_suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    email_suppressed_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomerPhone(Base):
    __tablename__ = "customer_phones"
    # One number belongs to at most one customer of a sub-account: inbound SMS map by it.
    __table_args__ = (UniqueConstraint("sub_account_id", "e164"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(20), default="mobile")
    position: Mapped[int] = mapped_column(Integer, default=0)


class CustomerEmail(Base):
    __tablename__ = "customer_emails"
    __table_args__ = (UniqueConstraint("sub_account_id", "email"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    label: Mapped[str] = mapped_column(String(20), default="primary")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Lead(Base):
    __tablename__ = "leads"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(50), default="inbound")
    status: Mapped[str] = mapped_column(String(20), default="new")
    created_at: Mapped[datetime] = _created()


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("sub_account_id", "external_id"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    job_type: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[JobStatus] = mapped_column(String(20), default=JobStatus.scheduled)
    scheduled_start: Mapped[datetime | None]
    scheduled_end: Mapped[datetime | None]
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobEvent(Base):
    __tablename__ = "job_events"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("sub_account_id", "external_id"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(50))
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[InvoiceStatus] = mapped_column(String(20), default=InvoiceStatus.draft)
    due_date: Mapped[date | None] = mapped_column(Date)
    link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("sub_account_id", "external_id"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    plan: Mapped[str] = mapped_column(String(100))
    renewal_date: Mapped[date] = mapped_column(Date)
    status: Mapped[MembershipStatus] = mapped_column(String(20), default=MembershipStatus.active)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PhoneNumber(Base):
    __tablename__ = "phone_numbers"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    # Globally unique: an inbound message's To decides the tenant.
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    friendly_name: Mapped[str | None] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class Conversation(Base):
    __tablename__ = "conversations"
    # contact_key is "customer:<uuid>", "phone:+1..." or "email:addr": one thread per contact.
    __table_args__ = (
        UniqueConstraint("sub_account_id", "contact_key"),
        Index("ix_conversations_sub_account_updated", "sub_account_id", "updated_at"),
    )
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    contact_key: Mapped[str] = mapped_column(String(400))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="open")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None]
    # Email replies to reply+<token>@<sending domain> land in this thread.
    reply_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = _created()
    # Any change (assignment, status, flag, new message) moves this; live inbox updates poll it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("sub_account_id", "idempotency_key"),
        UniqueConstraint("provider", "provider_id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_sub_account_updated", "sub_account_id", "updated_at"),
    )
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    direction: Mapped[Direction] = mapped_column(String(10))
    channel: Mapped[Channel] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20), default="manual")
    trigger: Mapped[str | None] = mapped_column(String(40))
    from_addr: Mapped[str] = mapped_column(String(320))
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str | None] = mapped_column(String(300))
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL")
    )
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(10))
    # RFC 5322 Message-ID of an email, ours or the sender's: replies thread by In-Reply-To.
    rfc_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class Template(Base):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("sub_account_id", "name", "channel"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10))  # "sms", "email" or "both"
    category: Mapped[str | None] = mapped_column(String(50))
    # The notification this template is the default for, e.g. "job_booked".
    trigger: Mapped[str | None] = mapped_column(String(40), index=True)
    subject: Mapped[str | None] = mapped_column(String(998))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookEvent(Base):
    """Every provider webhook, recorded once by the provider's own id before it is acted on."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)
    id: Mapped[uuid.UUID] = _id()
    provider: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsConsent(Base):
    """The current SMS consent of one number: the send-time opt-out check reads this."""

    __tablename__ = "sms_consents"
    __table_args__ = (UniqueConstraint("sub_account_id", "e164"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    e164: Mapped[str] = mapped_column(String(20))
    opted_out: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailSuppression(Base):
    """An address that gets no automated or campaign email (bounce, spam report, unsubscribe)."""

    __tablename__ = "email_suppressions"
    __table_args__ = (UniqueConstraint("sub_account_id", "email"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    email: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = _created()


class ConsentEvent(Base):
    """Audit trail of every opt-out, opt-in, help request and suppression."""

    __tablename__ = "consent_events"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(20))  # opt_out, opt_in, help, suppressed
    detail: Mapped[str | None] = mapped_column(String(200))  # keyword or provider reason
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()


class NotificationSetting(Base):
    """One trigger x channel of a sub-account's notifications: on or off, and which template."""

    __tablename__ = "notification_settings"
    __table_args__ = (UniqueConstraint("sub_account_id", "trigger", "channel"),)
    id: Mapped[uuid.UUID] = _id()
    sub_account_id: Mapped[uuid.UUID] = _tenant()
    trigger: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("templates.id", ondelete="SET NULL")
    )
    # Urgent triggers (technician en route, on site) go out even in quiet hours.
    respect_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LoginAttempt(Base):
    """Failed sign-ins, counted per address and per client to slow down guessing."""

    __tablename__ = "login_attempts"
    id: Mapped[uuid.UUID] = _id()
    email: Mapped[str] = mapped_column(String(320), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
