"""The demo sub-account that `dramtrade seed` and `dramtrade run` create: idempotent.

Everything is looked up by a stable key (the sending domain, user e-mails, ``external_id``s), so a
second run finds what the first created and adds nothing. The API key is stored only hashed, so
its plain text is kept in ``<data_dir>/demo-credentials.json``; if that file is lost, a new key is
issued (the old demo keys are revoked).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade.config import Settings
from dramtrade.models import (
    ApiKey,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Invoice,
    InvoiceStatus,
    Job,
    JobStatus,
    Membership,
    MembershipStatus,
    PhoneNumber,
    Role,
    SubAccount,
    User,
    utcnow,
)
from dramtrade.provisioning import create_sub_account, ensure_default_templates, issue_api_key
from dramtrade.security import hash_api_key, hash_password

log = logging.getLogger(__name__)

DEMO_NAME = "Lone Star Comfort"
DEMO_DOMAIN = "lonestarcomfort.example"
DEMO_NUMBER = "+15125550100"
DEMO_TIMEZONE = "America/Chicago"
DEMO_LOGIN = "owner@lonestarcomfort.example"
DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - public demo credential, printed on purpose
DEMO_KEY_NAME = "demo"
CREDENTIALS_FILE = "demo-credentials.json"


@dataclass(frozen=True)
class DemoCustomer:
    external_id: str
    first_name: str
    last_name: str
    phone: str
    email: str
    address: str
    zip: str
    tags: tuple[str, ...]
    member: bool = False


DEMO_CUSTOMERS: tuple[DemoCustomer, ...] = (
    DemoCustomer(
        "demo-cust-1",
        "Jane",
        "Alvarez",
        "+15125550111",
        "jane.alvarez@example.com",
        "1405 E 6th St",
        "78702",
        ("residential", "ac"),
        member=True,
    ),
    DemoCustomer(
        "demo-cust-2",
        "Tom",
        "Becker",
        "+15125550122",
        "tom.becker@example.com",
        "2301 S Lamar Blvd",
        "78704",
        ("residential", "heating"),
    ),
    DemoCustomer(
        "demo-cust-3",
        "Priya",
        "Natarajan",
        "+15125550133",
        "priya.natarajan@example.com",
        "4500 Duval St",
        "78751",
        ("residential", "new-customer"),
    ),
    DemoCustomer(
        "demo-cust-4",
        "Sam",
        "Okafor",
        "+15125550144",
        "sam.okafor@example.com",
        "600 Congress Ave",
        "78701",
        ("commercial", "maintenance"),
    ),
)


@dataclass(frozen=True)
class DemoSeed:
    """What the demo consists of; ``created`` is False when it already existed."""

    created: bool
    sub_account_id: uuid.UUID
    api_key: str
    login: str
    password: str
    business_number: str
    owner_user_id: uuid.UUID
    technician_user_id: uuid.UUID
    customer_ids: dict[str, uuid.UUID]
    scheduled_job_id: uuid.UUID
    completed_job_id: uuid.UUID
    invoice_id: uuid.UUID
    membership_id: uuid.UUID
    phone_number_sid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def customer_id(self) -> uuid.UUID:
        """The customer of the scheduled job: the one a walkthrough uses."""
        return self.customer_ids[DEMO_CUSTOMERS[0].external_id]

    def as_json(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "password": self.password,
            "api_key": self.api_key,
            "sub_account_id": str(self.sub_account_id),
            "business_number": self.business_number,
            "owner_user_id": str(self.owner_user_id),
            "technician_user_id": str(self.technician_user_id),
            "customer_id": str(self.customer_id),
            "customer_ids": {k: str(v) for k, v in self.customer_ids.items()},
            "scheduled_job_id": str(self.scheduled_job_id),
            "completed_job_id": str(self.completed_job_id),
            "invoice_id": str(self.invoice_id),
            "membership_id": str(self.membership_id),
            "phone_number_sid": self.phone_number_sid,
        }


def credentials_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / CREDENTIALS_FILE


def read_credentials(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_credentials(path: Path, data: dict[str, Any]) -> None:
    """Write atomically and readable by the owner only: the file holds a live API key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    tmp.replace(path)


def _local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def _get_or_create_user(
    session: Session, account: SubAccount, email: str, **values: Any
) -> tuple[User, bool]:
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        if user.sub_account_id != account.id:
            raise RuntimeError(f"demo user {email} belongs to another sub-account")
        return user, False
    user = User(sub_account_id=account.id, email=email, **values)
    session.add(user)
    session.flush()
    return user, True


def _get_or_create_customer(
    session: Session, account: SubAccount, spec: DemoCustomer, today: date
) -> Customer:
    customer = session.scalar(
        select(Customer).where(
            Customer.sub_account_id == account.id, Customer.external_id == spec.external_id
        )
    )
    if customer is not None:
        return customer
    customer = Customer(
        sub_account_id=account.id,
        external_id=spec.external_id,
        first_name=spec.first_name,
        last_name=spec.last_name,
        address_line1=spec.address,
        city="Austin",
        state="TX",
        zip=spec.zip,
        country="US",
        timezone=DEMO_TIMEZONE,
        tags=list(spec.tags),
        segment="commercial" if "commercial" in spec.tags else "residential",
        membership_status=MembershipStatus.active.value if spec.member else None,
        last_service_date=today - timedelta(days=30) if spec.member else None,
    )
    session.add(customer)
    session.flush()
    session.add(CustomerPhone(sub_account_id=account.id, customer_id=customer.id, e164=spec.phone))
    session.add(CustomerEmail(sub_account_id=account.id, customer_id=customer.id, email=spec.email))
    session.flush()
    return customer


def _get_by_external_id(
    session: Session,
    model: type[Job] | type[Invoice] | type[Membership],
    account: SubAccount,
    ext: str,
) -> Any:
    return session.scalar(
        select(model).where(model.sub_account_id == account.id, model.external_id == ext)
    )


def _usable_key(session: Session, account: SubAccount, key: object) -> bool:
    if not isinstance(key, str) or not key:
        return False
    row = session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == hash_api_key(key),
            ApiKey.sub_account_id == account.id,
            ApiKey.revoked_at.is_(None),
        )
    )
    return row is not None


def seed_demo(session: Session, settings: Settings, *, now: datetime | None = None) -> DemoSeed:
    """Create the demo sub-account and its data, or find them; flushes, the caller commits.

    The plain API key is taken from (and must be saved by the caller to) the credentials file.
    """
    now = now or utcnow()
    tz = ZoneInfo(DEMO_TIMEZONE)
    today = now.astimezone(tz).date()
    saved = read_credentials(credentials_path(settings))

    account = session.scalar(select(SubAccount).where(SubAccount.sending_domain == DEMO_DOMAIN))
    created = account is None
    api_key: str
    if account is None:
        account, api_key = create_sub_account(
            session,
            name=DEMO_NAME,
            sending_domain=DEMO_DOMAIN,
            phone_number=DEMO_NUMBER,
            timezone=DEMO_TIMEZONE,
        )
        # create_sub_account names its key "default"; the demo's is recognisable by name.
        for row in session.scalars(select(ApiKey).where(ApiKey.sub_account_id == account.id)):
            row.name = DEMO_KEY_NAME
    elif _usable_key(session, account, saved.get("api_key")):
        api_key = str(saved["api_key"])
    else:
        # The plain key is gone (credentials file deleted): revoke the old ones, issue another.
        for row in session.scalars(
            select(ApiKey).where(
                ApiKey.sub_account_id == account.id,
                ApiKey.name == DEMO_KEY_NAME,
                ApiKey.revoked_at.is_(None),
            )
        ):
            row.revoked_at = now
        api_key = issue_api_key(session, account, DEMO_KEY_NAME)
        log.warning("demo API key was not on file; issued a new one")

    # A sub-account seeded by older code gains the default templates added since.
    ensure_default_templates(session, account)

    owner, _ = _get_or_create_user(
        session,
        account,
        DEMO_LOGIN,
        name="Dana Whitfield",
        role=Role.owner,
        phone="+15125550101",
        password_hash=hash_password(DEMO_PASSWORD),
    )
    technician, _ = _get_or_create_user(
        session,
        account,
        "marco.ruiz@lonestarcomfort.example",
        name="Marco Ruiz",
        role=Role.technician,
        phone="+15125550142",
    )

    customers = {
        spec.external_id: _get_or_create_customer(session, account, spec, today)
        for spec in DEMO_CUSTOMERS
    }
    first, second = customers["demo-cust-1"], customers["demo-cust-2"]

    scheduled = _get_by_external_id(session, Job, account, "demo-job-1")
    if scheduled is None:
        tomorrow = today + timedelta(days=1)
        scheduled = Job(
            sub_account_id=account.id,
            customer_id=first.id,
            external_id="demo-job-1",
            job_type="AC tune-up",
            description="Annual AC maintenance visit (membership benefit).",
            status=JobStatus.scheduled,
            scheduled_start=_local(tomorrow, 9, tz),
            scheduled_end=_local(tomorrow, 11, tz),
            technician_id=technician.id,
        )
        session.add(scheduled)

    completed = _get_by_external_id(session, Job, account, "demo-job-2")
    if completed is None:
        last_month = today - timedelta(days=30)
        completed = Job(
            sub_account_id=account.id,
            customer_id=second.id,
            external_id="demo-job-2",
            job_type="Furnace repair",
            description="Replaced the igniter; furnace tested and running.",
            status=JobStatus.completed,
            scheduled_start=_local(last_month, 13, tz),
            scheduled_end=_local(last_month, 15, tz),
            technician_id=technician.id,
        )
        session.add(completed)
    session.flush()

    invoice = _get_by_external_id(session, Invoice, account, "demo-inv-1")
    if invoice is None:
        invoice = Invoice(
            sub_account_id=account.id,
            customer_id=second.id,
            job_id=completed.id,
            external_id="demo-inv-1",
            number="INV-1001",
            total_cents=28_950,
            currency="USD",
            status=InvoiceStatus.sent,
            due_date=today + timedelta(days=14),
            link="https://pay.lonestarcomfort.example/invoices/INV-1001",
        )
        session.add(invoice)

    membership = _get_by_external_id(session, Membership, account, "demo-mem-1")
    if membership is None:
        membership = Membership(
            sub_account_id=account.id,
            customer_id=first.id,
            external_id="demo-mem-1",
            plan="Comfort Club",
            renewal_date=today + timedelta(days=45),
            status=MembershipStatus.active,
        )
        session.add(membership)
    session.flush()

    number = session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == DEMO_NUMBER))
    return DemoSeed(
        created=created,
        sub_account_id=account.id,
        api_key=api_key,
        login=DEMO_LOGIN,
        password=DEMO_PASSWORD,
        business_number=DEMO_NUMBER,
        owner_user_id=owner.id,
        technician_user_id=technician.id,
        customer_ids={k: c.id for k, c in customers.items()},
        scheduled_job_id=scheduled.id,
        completed_job_id=completed.id,
        invoice_id=invoice.id,
        membership_id=membership.id,
        phone_number_sid=number.provider_sid if number is not None else None,
    )


def register_business_number(
    session: Session, settings: Settings, e164: str = DEMO_NUMBER
) -> str | None:
    """Point the number's SMS URL at our webhook on the carrier, through the Twilio SDK.

    Only against the sandbox carrier (``twilio_api_base_url`` set): against real Twilio,
    ``create`` would buy a number. The carrier keeps numbers in memory, so this runs at every
    start: an existing number is updated, a missing one created. Returns the number's sid, or
    None (with a warning) when the carrier cannot be reached.
    """
    base_url = settings.twilio_api_base_url or None
    if base_url is None:
        log.warning("not registering %s: no sandbox carrier configured (real Twilio)", e164)
        return None
    from twilio.base.exceptions import TwilioException
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    sms_url = settings.public_base_url.rstrip("/") + "/webhooks/twilio/sms"
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        http_client=TwilioHttpClient(timeout=5),
    )
    client.api.base_url = base_url.rstrip("/")
    try:
        existing = client.incoming_phone_numbers.list(phone_number=e164, limit=1)
        sid: str | None
        if existing:
            sid = existing[0].sid
            client.incoming_phone_numbers(sid).update(sms_url=sms_url, sms_method="POST")
        else:
            created = client.incoming_phone_numbers.create(
                phone_number=e164, sms_url=sms_url, sms_method="POST"
            )
            sid = created.sid
    except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
        log.warning("could not register %s with the carrier at %s: %s", e164, base_url, exc)
        return None
    row = session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == e164))
    if row is not None and sid is not None:
        row.provider_sid = sid
    return sid
