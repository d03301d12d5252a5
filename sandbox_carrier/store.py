"""In-memory state of the carrier: what it carried, the numbers it hosts, the faults it plays.

Everything lives in one process; a lock keeps the inspection API and the background
status tasks consistent even if a handler ever runs in a worker thread.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Api = Literal["twilio", "sendgrid", "any"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_sid(prefix: str) -> str:
    """Twilio-style SID: two letters and 32 lower-case hex digits."""
    return prefix + secrets.token_hex(16)


def new_sendgrid_message_id() -> str:
    """SendGrid's X-Message-Id: 22 url-safe base64 characters."""
    return secrets.token_urlsafe(16)


@dataclass
class SmsRecord:
    sid: str
    account_sid: str
    from_: str | None
    to: str
    body: str
    direction: str  # Twilio's values: "outbound-api" or "inbound"
    status: str
    num_segments: int
    seq: int
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    date_sent: datetime | None = None


@dataclass
class EmailRecord:
    message_id: str  # the X-Message-Id of the send request
    to: str
    from_: str
    subject: str
    text: str | None
    html: str | None
    seq: int
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    # Last SendGrid event for this recipient: processed, delivered or bounce.
    status: str = "processed"
    error_code: str | None = None  # SMTP status of a bounce, e.g. "5.1.1"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class PhoneNumberRecord:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    voice_url: str | None = None
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)


class HttpErrorFault(BaseModel):
    """Answer the next ``count`` provider API requests with an error status."""

    model_config = ConfigDict(extra="forbid")

    api: Api = "any"
    status: int = Field(ge=400, le=599)
    retry_after: int | None = Field(default=None, ge=0)  # sent as Retry-After (for 429/503)
    count: int = Field(default=1, ge=1)
    # The "lost response": the send is carried out (message created, callbacks follow), and
    # only then the client gets the error. Applies to message create and mail send.
    after_accept: bool = False


class Faults(BaseModel):
    """Faults played on demand. New kinds are new fields here plus one check where they apply.

    ``extra="forbid"`` makes a typo in a fault name a 422 instead of a silent no-op.
    """

    model_config = ConfigDict(extra="forbid")

    # SMS to this number end `undelivered` with this Twilio ErrorCode (e.g. 30003).
    undeliverable: dict[str, int] = Field(default_factory=dict)
    # Creating an SMS to this number answers HTTP 400 with this Twilio error code (e.g. 21610).
    reject: dict[str, int] = Field(default_factory=dict)
    # Email to these addresses bounces (hard bounce, 5.1.1).
    bounce: list[str] = Field(default_factory=list)
    # Extra seconds before every provider API answer.
    latency_seconds: float = Field(default=0.0, ge=0, le=60)
    # Provider API requests answered with an error until each fault's count is used up.
    http_errors: list[HttpErrorFault] = Field(default_factory=list)
    # The rate forms below roll a die per send request (SMS create, mail send), from one
    # random generator; posting ``seed`` restarts it, so a run can be replayed.
    seed: int | None = None
    # This fraction of send requests answers ``error_status`` before anything is accepted.
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = Field(default=500, ge=500, le=599)
    # Sent as Retry-After with those errors (and lost responses); None sends none.
    error_retry_after: int | None = Field(default=None, ge=0)
    # This fraction of send requests answers 429 with Retry-After: rate_limit_retry_after.
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_retry_after: int = Field(default=1, ge=0)
    # This fraction of sends is carried out (message created, callbacks follow) and only then
    # answered ``error_status``: the lost response, as ``http_errors[].after_accept``.
    lost_response_rate: float = Field(default=0.0, ge=0, le=1)
    # An outage window: posting ``outage_seconds`` makes every provider API request answer
    # 503 (Retry-After: the seconds left) until ``outage_until`` (set by the carrier).
    outage_seconds: float = Field(default=0.0, ge=0, le=3600)
    outage_until: datetime | None = None
    # Seconds before each SMS status callback and email event batch, instead of the
    # configured CARRIER_CALLBACK_DELAY_SECONDS: late callbacks, as on a busy day.
    callback_delay_seconds: float | None = Field(default=None, ge=0, le=600)

    def merged(self, update: Faults) -> Faults:
        """Add ``update`` on top of these faults (maps update, lists extend, scalars replace)."""
        data = self.model_copy(deep=True)
        data.undeliverable.update(update.undeliverable)
        data.reject.update(update.reject)
        data.bounce.extend(
            a for a in update.bounce if a.lower() not in {b.lower() for b in data.bounce}
        )
        for name in _SCALARS:
            if name in update.model_fields_set:
                setattr(data, name, getattr(update, name))
        data.http_errors.extend(update.http_errors)
        if "outage_seconds" in update.model_fields_set:
            data.outage_until = (
                utcnow() + timedelta(seconds=update.outage_seconds)
                if update.outage_seconds
                else None
            )
        return data


_SCALARS = (
    "latency_seconds",
    "seed",
    "error_rate",
    "error_status",
    "error_retry_after",
    "rate_limit_rate",
    "rate_limit_retry_after",
    "lost_response_rate",
    "outage_seconds",
    "outage_until",
    "callback_delay_seconds",
)


SendFault = Literal["error", "rate_limit"]


class CarrierStore:
    """All mutable state, behind one lock. Callers get copies of lists, never live views."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self.sms: dict[str, SmsRecord] = {}
        self.emails: list[EmailRecord] = []
        self.numbers: dict[str, PhoneNumberRecord] = {}
        self.faults = Faults()
        self.random = random.Random()
        # (business number, customer number) pairs blocked after the customer texted STOP.
        self.opt_outs: set[tuple[str, str]] = set()
        # Bumped by every reset, so background tasks of forgotten traffic stop quietly.
        self.generation = 0

    @contextmanager
    def locked(self) -> Iterator[CarrierStore]:
        with self._lock:
            yield self

    def next_seq(self) -> int:
        with self._lock:
            return next(self._seq)

    # --- SMS -------------------------------------------------------------------------------

    def add_sms(self, record: SmsRecord) -> None:
        with self._lock:
            self.sms[record.sid] = record

    def get_sms(self, sid: str) -> SmsRecord | None:
        with self._lock:
            return self.sms.get(sid)

    def update_sms(self, sid: str, **changes: Any) -> SmsRecord | None:
        with self._lock:
            record = self.sms.get(sid)
            if record is None:
                return None
            for name, value in changes.items():
                setattr(record, name, value)
            record.date_updated = utcnow()
            return record

    def list_sms(self) -> list[SmsRecord]:
        with self._lock:
            return list(self.sms.values())

    # --- email -----------------------------------------------------------------------------

    def add_emails(self, records: list[EmailRecord]) -> None:
        with self._lock:
            self.emails.extend(records)

    def update_email(self, record: EmailRecord, status: str, error_code: str | None = None) -> None:
        with self._lock:
            record.status = status
            record.error_code = error_code
            record.updated_at = utcnow()

    def list_emails(self) -> list[EmailRecord]:
        with self._lock:
            return list(self.emails)

    # --- numbers ---------------------------------------------------------------------------

    def add_number(self, record: PhoneNumberRecord) -> None:
        with self._lock:
            self.numbers[record.sid] = record

    def get_number(self, sid: str) -> PhoneNumberRecord | None:
        with self._lock:
            return self.numbers.get(sid)

    def find_number(self, phone_number: str) -> PhoneNumberRecord | None:
        with self._lock:
            for record in self.numbers.values():
                if record.phone_number == phone_number:
                    return record
            return None

    def remove_number(self, sid: str) -> bool:
        with self._lock:
            return self.numbers.pop(sid, None) is not None

    def list_numbers(self) -> list[PhoneNumberRecord]:
        with self._lock:
            return list(self.numbers.values())

    # --- faults and opt-outs -------------------------------------------------------------

    def add_faults(self, update: Faults) -> Faults:
        with self._lock:
            self.faults = self.faults.merged(update)
            if "seed" in update.model_fields_set:
                self.random.seed(update.seed)
            return self.faults.model_copy(deep=True)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = Faults()

    def current_faults(self) -> Faults:
        with self._lock:
            return self.faults.model_copy(deep=True)

    def take_http_error(self, api: Api, *, after_accept: bool = False) -> HttpErrorFault | None:
        """Consume one use of the first HTTP error fault that applies to ``api``."""
        with self._lock:
            for fault in self.faults.http_errors:
                if fault.api in (api, "any") and fault.after_accept == after_accept:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.http_errors.remove(fault)
                    return fault.model_copy()
            return None

    def outage_left(self) -> float:
        """Seconds left of the outage window, 0 when there is none."""
        with self._lock:
            until = self.faults.outage_until
            return max(0.0, (until - utcnow()).total_seconds()) if until else 0.0

    def roll_send_fault(self) -> SendFault | None:
        """One die per send request, before acceptance: an error, a 429, or nothing."""
        with self._lock:
            faults = self.faults
            if not (faults.error_rate or faults.rate_limit_rate):
                return None
            roll = self.random.random()
            if roll < faults.error_rate:
                return "error"
            if roll < faults.error_rate + faults.rate_limit_rate:
                return "rate_limit"
            return None

    def roll_lost_response(self) -> bool:
        with self._lock:
            rate = self.faults.lost_response_rate
            return bool(rate) and self.random.random() < rate

    def block(self, business: str, customer: str) -> None:
        with self._lock:
            self.opt_outs.add((business, customer))

    def unblock(self, business: str, customer: str) -> None:
        with self._lock:
            self.opt_outs.discard((business, customer))

    def is_blocked(self, business: str | None, customer: str) -> bool:
        with self._lock:
            if business is None:  # Messaging Service send: any block of this customer applies
                return any(c == customer for _, c in self.opt_outs)
            return (business, customer) in self.opt_outs

    # --- resets ----------------------------------------------------------------------------

    def clear_traffic(self) -> None:
        """Forget carried SMS and email (and STOP blocks); keep numbers and faults."""
        with self._lock:
            self.sms.clear()
            self.emails.clear()
            self.opt_outs.clear()
            self.generation += 1

    def reset(self) -> None:
        with self._lock:
            self.clear_traffic()
            self.numbers.clear()
            self.faults = Faults()
