"""Pydantic models at the platform API boundary: what the API accepts and what it returns.

Inputs forbid unknown fields (a typo'd field is a 422 naming it) and strip whitespace; outputs
read from ORM rows (``from_attributes``). Rules that need the database or the sub-account (phone
normalisation with the sub-account's country, uniqueness, ownership of referenced ids) live in
``dramtrade.services``, not here.

Conventions of the API, documented once:

* Money is ``total_cents``: a non-negative JSON integer of the currency's minor unit.
* Date-times must carry an offset (``2025-03-01T09:00:00-06:00`` or ``...Z``); naive ones are a
  422. They are returned in UTC.
* Ids in the path that are unknown or belong to another sub-account are a 404
  (``{"detail": "customer not found"}``). Ids in a request *body* (``customer_id``, ``job_id``,
  ``technician_id``) that are unknown or foreign are a 422 naming the field.
* Lists are keyset-paged: ``?limit=`` (1-100, default 50) and ``?cursor=`` taken from the previous
  page's ``next_cursor`` (``null`` on the last page).
* ``PATCH`` changes only the fields sent; ``phones``, ``emails``, ``tags`` and ``address`` are
  replaced as a whole when sent; ``null`` clears an optional field.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    UrlConstraints,
    field_validator,
    model_validator,
)

from dramtrade.models import (
    Channel,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Direction,
    InvoiceStatus,
    JobStatus,
    MembershipStatus,
)

# --- building blocks ------------------------------------------------------------------------


def _text(max_length: int, min_length: int = 1) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


ExternalId = Annotated[str, _text(100)]
Name = Annotated[str, _text(100)]
Label = Annotated[str, _text(20)]
Tag = Annotated[str, _text(50)]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s\"(),:;<>\[\]\\]+@{_LABEL}(?:\.{_LABEL})+$")


def normalize_email(value: str) -> str:
    """Lower-case and check an address; raise ValueError naming it when it is not one."""
    email = value.strip().lower()
    local, _, _domain = email.partition("@")
    if len(email) > 320 or len(local) > 64 or not _EMAIL.match(email):
        raise ValueError(f"'{value}' is not a valid email address")
    return email


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str) -> str:
    """Accept IANA time zone names only (``America/Chicago``)."""
    zones = _timezones()
    if zones:
        if value in zones:
            return value
    else:  # no zone list on this system: fall back to loading it
        try:
            ZoneInfo(value)
            return value
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"'{value}' is not an IANA time zone name (like 'America/Chicago')")


def _upper(value: str) -> str:
    return value.upper()


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Email = Annotated[str, _text(320), AfterValidator(normalize_email)]
TimeZone = Annotated[str, _text(64), AfterValidator(check_timezone)]
CountryCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{2}$"), AfterValidator(_upper)
]
Currency = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{3}$"), AfterValidator(_upper)
]
Tags = Annotated[list[Tag], Field(max_length=50), AfterValidator(_dedupe)]
Cents = Annotated[int, Field(strict=True, ge=0, le=2_147_483_647)]
Link = Annotated[HttpUrl, UrlConstraints(max_length=1000)]
# An offset is required (naive is a 422); stored and returned in UTC.
UTCDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Fields that may be omitted from a PATCH but not set to null.
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail at the INSERT.
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in items):
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value

    @model_validator(mode="after")
    def _reject_null(self) -> Self:
        for name in self.NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``?cursor=`` for the next one."""

    items: list[T]
    next_cursor: str | None = None


# --- customers ------------------------------------------------------------------------------


class PhoneIn(InputModel):
    number: Annotated[str, _text(40)] = Field(
        description="As people type it; stored in E.164 using the sub-account's country.",
        examples=["(512) 555-0134"],
    )
    label: Label = "mobile"


class EmailIn(InputModel):
    email: Email = Field(examples=["pat@example.com"])
    label: Label = "primary"


class Address(InputModel):
    line1: Annotated[str, _text(200)] | None = None
    line2: Annotated[str, _text(200)] | None = None
    city: Annotated[str, _text(100)] | None = None
    state: Annotated[str, _text(100)] | None = None
    zip: Annotated[str, _text(20)] | None = None
    country: CountryCode | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. US")


class _CustomerFields(InputModel):
    external_id: ExternalId | None = Field(
        default=None, description="The platform's own id; unique within the sub-account."
    )
    last_name: Annotated[str, _text(100, min_length=0)] | None = None
    company: Annotated[str, _text(200)] | None = None
    address: Address | None = None
    timezone: TimeZone | None = None
    segment: Annotated[str, _text(100)] | None = None
    membership_status: MembershipStatus | None = None
    last_service_date: date | None = None


class CustomerCreate(_CustomerFields):
    first_name: Name
    last_name: Annotated[str, _text(100, min_length=0)] | None = ""
    phones: Annotated[list[PhoneIn], Field(max_length=10)] = []
    emails: Annotated[list[EmailIn], Field(max_length=10)] = []
    tags: Tags = []


class CustomerUpdate(_CustomerFields):
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset({"first_name", "phones", "emails", "tags"})

    first_name: Name | None = None
    phones: Annotated[list[PhoneIn], Field(max_length=10)] | None = None
    emails: Annotated[list[EmailIn], Field(max_length=10)] | None = None
    tags: Tags | None = None


class PhoneOut(OutputModel):
    number: str = Field(validation_alias="e164", examples=["+15125550134"])
    label: str


class EmailOut(OutputModel):
    email: str
    label: str


class AddressOut(OutputModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class CustomerOut(OutputModel):
    id: uuid.UUID
    external_id: str | None
    first_name: str
    last_name: str
    company: str | None
    phones: list[PhoneOut]
    emails: list[EmailOut]
    address: AddressOut | None
    timezone: str | None
    tags: list[str]
    segment: str | None
    membership_status: str | None
    last_service_date: date | None
    sms_opted_out: bool
    sms_opted_out_at: datetime | None
    email_suppressed: bool
    email_suppressed_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(
        cls,
        customer: Customer,
        phones: list[CustomerPhone],
        emails: list[CustomerEmail],
    ) -> CustomerOut:
        address = AddressOut(
            line1=customer.address_line1,
            line2=customer.address_line2,
            city=customer.city,
            state=customer.state,
            zip=customer.zip,
            country=customer.country,
        )
        has_address = any(v is not None for v in address.model_dump().values())
        return cls(
            id=customer.id,
            external_id=customer.external_id,
            first_name=customer.first_name,
            last_name=customer.last_name,
            company=customer.company,
            phones=[PhoneOut.model_validate(p) for p in phones],
            emails=[EmailOut.model_validate(e) for e in emails],
            address=address if has_address else None,
            timezone=customer.timezone,
            tags=list(customer.tags or []),
            segment=customer.segment,
            membership_status=customer.membership_status,
            last_service_date=customer.last_service_date,
            sms_opted_out=customer.sms_opted_out,
            sms_opted_out_at=customer.sms_opted_out_at,
            email_suppressed=customer.email_suppressed,
            email_suppressed_reason=customer.email_suppressed_reason,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )


# --- jobs -----------------------------------------------------------------------------------


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError("scheduled_end must be after scheduled_start")


class JobCreate(InputModel):
    customer_id: uuid.UUID
    external_id: ExternalId | None = None
    job_type: Annotated[str, _text(100)] = Field(examples=["AC repair"])
    description: Annotated[str, _text(10_000, min_length=0)] | None = None
    status: JobStatus = JobStatus.scheduled
    scheduled_start: UTCDateTime | None = None
    scheduled_end: UTCDateTime | None = None
    technician_id: uuid.UUID | None = Field(default=None, description="A user of the sub-account.")

    @model_validator(mode="after")
    def _window(self) -> Self:
        _check_window(self.scheduled_start, self.scheduled_end)
        return self


class JobUpdate(InputModel):
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset({"customer_id", "job_type", "status"})

    customer_id: uuid.UUID | None = None
    external_id: ExternalId | None = None
    job_type: Annotated[str, _text(100)] | None = None
    description: Annotated[str, _text(10_000, min_length=0)] | None = None
    status: JobStatus | None = None
    scheduled_start: UTCDateTime | None = None
    scheduled_end: UTCDateTime | None = None
    technician_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        _check_window(self.scheduled_start, self.scheduled_end)
        return self


class JobOut(OutputModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    external_id: str | None
    job_type: str
    description: str | None
    status: JobStatus
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    technician_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


# --- invoices -------------------------------------------------------------------------------


class InvoiceCreate(InputModel):
    customer_id: uuid.UUID
    job_id: uuid.UUID | None = Field(
        default=None, description="A job of the same customer in this sub-account."
    )
    external_id: ExternalId | None = None
    number: Annotated[str, _text(50)] = Field(examples=["INV-1042"])
    total_cents: Cents = Field(description="Total in the currency's minor unit: 12550 = $125.50")
    currency: Currency = "USD"
    status: InvoiceStatus = InvoiceStatus.draft
    due_date: date | None = None
    link: Link | None = Field(default=None, description="Where the customer views and pays it.")


class InvoiceUpdate(InputModel):
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"customer_id", "number", "total_cents", "currency", "status"}
    )

    customer_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
    external_id: ExternalId | None = None
    number: Annotated[str, _text(50)] | None = None
    total_cents: Cents | None = None
    currency: Currency | None = None
    status: InvoiceStatus | None = None
    due_date: date | None = None
    link: Link | None = None


class InvoiceOut(OutputModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    job_id: uuid.UUID | None
    external_id: str | None
    number: str
    total_cents: int
    currency: str
    status: InvoiceStatus
    due_date: date | None
    link: str | None
    created_at: datetime
    updated_at: datetime


# --- memberships ----------------------------------------------------------------------------


class MembershipCreate(InputModel):
    customer_id: uuid.UUID
    external_id: ExternalId | None = None
    plan: Annotated[str, _text(100)] = Field(examples=["Comfort Club"])
    renewal_date: date
    status: MembershipStatus = MembershipStatus.active


class MembershipUpdate(InputModel):
    NOT_NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"customer_id", "plan", "renewal_date", "status"}
    )

    customer_id: uuid.UUID | None = None
    external_id: ExternalId | None = None
    plan: Annotated[str, _text(100)] | None = None
    renewal_date: date | None = None
    status: MembershipStatus | None = None


class MembershipOut(OutputModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    external_id: str | None
    plan: str
    renewal_date: date
    status: MembershipStatus
    created_at: datetime
    updated_at: datetime


# --- conversations and messages (read-only here) ---------------------------------------------


class ConversationOut(OutputModel):
    id: uuid.UUID
    customer_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    contact_phone: str | None
    contact_email: str | None
    display_name: str = Field(description="The customer's name, or the unknown number or address.")
    status: str
    assignee_id: uuid.UUID | None
    flagged: bool
    unread_count: int
    last_message_at: datetime | None
    last_message_preview: str | None
    last_message_direction: Direction | None
    last_message_channel: Channel | None
    created_at: datetime


class MessageOut(OutputModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID | None
    job_id: uuid.UUID | None
    direction: Direction
    channel: Channel
    from_: str = Field(validation_alias="from_addr", serialization_alias="from")
    to: str = Field(validation_alias="to_addr")
    subject: str | None
    body: str
    status: str
    provider_id: str | None
    error_code: str | None
    error_message: str | None
    source: str
    trigger: str | None
    segments: int | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
