"""Customers: create, update and present them with their phones and emails."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.orm import Session

from dramtrade import consent
from dramtrade import repositories as repo
from dramtrade.errors import Conflict, InvalidInput, NotFound
from dramtrade.models import Customer, CustomerEmail, CustomerPhone, SubAccount, utcnow
from dramtrade.phones import InvalidPhoneNumber, to_e164
from dramtrade.schemas import (
    Address,
    CustomerCreate,
    CustomerOut,
    CustomerUpdate,
    EmailIn,
    PhoneIn,
)
from dramtrade.services import writes_or_conflict

_ADDRESS_COLUMNS = {
    "line1": "address_line1",
    "line2": "address_line2",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "country": "country",
}
_PLAIN_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "company",
    "timezone",
    "tags",
    "segment",
    "membership_status",
    "last_service_date",
)


def normalise_phones(phones: Sequence[PhoneIn], country: str) -> list[tuple[str, str]]:
    """``[(e164, label)]``; an invalid or repeated number is an InvalidInput naming its index."""
    result: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, phone in enumerate(phones):
        field = f"phones[{index}].number"
        try:
            e164 = to_e164(phone.number, country)
        except InvalidPhoneNumber as exc:
            raise InvalidInput(field, f"'{phone.number}' is not a valid phone number") from exc
        if e164 in seen:
            raise InvalidInput(field, f"'{phone.number}' repeats phones[{seen[e164]}]")
        seen[e164] = index
        result.append((e164, phone.label))
    return result


def _check_emails(emails: Sequence[EmailIn]) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(emails):
        if item.email in seen:
            raise InvalidInput(
                f"emails[{index}].email", f"'{item.email}' repeats emails[{seen[item.email]}]"
            )
        seen[item.email] = index
        result.append((item.email, item.label))
    return result


def _check_unused(
    session: Session,
    sub_account_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    *,
    phones: list[tuple[str, str]],
    emails: list[tuple[str, str]],
    external_id: str | None,
) -> None:
    """409 if a phone, email or external id already belongs to another customer."""
    if external_id is not None:
        other = repo.get_customer_by_external_id(session, sub_account_id, external_id)
        if other is not None and other.id != customer_id:
            raise Conflict(
                f"external_id '{external_id}' is already used by customer {other.id}",
                field="external_id",
            )
    owners = repo.phone_owners(session, sub_account_id, [e164 for e164, _ in phones])
    for index, (e164, _label) in enumerate(phones):
        owner = owners.get(e164)
        if owner is not None and owner != customer_id:
            raise Conflict(
                f"phone {e164} (phones[{index}].number) is already used by customer {owner}",
                field=f"phones[{index}].number",
            )
    email_owner = repo.email_owners(session, sub_account_id, [e for e, _ in emails])
    for index, (email, _label) in enumerate(emails):
        owner = email_owner.get(email)
        if owner is not None and owner != customer_id:
            raise Conflict(
                f"email {email} (emails[{index}].email) is already used by customer {owner}",
                field=f"emails[{index}].email",
            )


def _apply_address(customer: Customer, address: Address | None) -> None:
    for key, column in _ADDRESS_COLUMNS.items():
        setattr(customer, column, getattr(address, key) if address is not None else None)


def _replace_phones(
    session: Session, customer: Customer, phones: list[tuple[str, str]], *, existing: bool
) -> None:
    if existing:
        session.execute(
            delete(CustomerPhone).where(
                CustomerPhone.sub_account_id == customer.sub_account_id,
                CustomerPhone.customer_id == customer.id,
            )
        )
    session.add_all(
        CustomerPhone(
            sub_account_id=customer.sub_account_id,
            customer_id=customer.id,
            e164=e164,
            label=label,
            position=position,
        )
        for position, (e164, label) in enumerate(phones)
    )


def _replace_emails(
    session: Session, customer: Customer, emails: list[tuple[str, str]], *, existing: bool
) -> None:
    if existing:
        session.execute(
            delete(CustomerEmail).where(
                CustomerEmail.sub_account_id == customer.sub_account_id,
                CustomerEmail.customer_id == customer.id,
            )
        )
    session.add_all(
        CustomerEmail(
            sub_account_id=customer.sub_account_id,
            customer_id=customer.id,
            email=email,
            label=label,
            position=position,
        )
        for position, (email, label) in enumerate(emails)
    )


def create_customer(session: Session, account: SubAccount, data: CustomerCreate) -> Customer:
    phones = normalise_phones(data.phones, account.default_country)
    emails = _check_emails(data.emails)
    _check_unused(
        session, account.id, None, phones=phones, emails=emails, external_id=data.external_id
    )
    customer = Customer(
        id=uuid.uuid4(),
        sub_account_id=account.id,
        external_id=data.external_id,
        first_name=data.first_name,
        last_name=data.last_name or "",
        company=data.company,
        timezone=data.timezone,
        tags=list(data.tags),
        segment=data.segment,
        membership_status=data.membership_status,
        last_service_date=data.last_service_date,
    )
    _apply_address(customer, data.address)
    with writes_or_conflict(session, "a phone, email or external_id is already in use"):
        session.add(customer)
        session.flush()
        _replace_phones(session, customer, phones, existing=False)
        _replace_emails(session, customer, emails, existing=False)
    # A number that already opted out, or an address already suppressed, shows at once.
    consent.refresh_customer(session, customer)
    return customer


def update_customer(
    session: Session, account: SubAccount, customer_id: uuid.UUID, data: CustomerUpdate
) -> Customer:
    customer = get_customer(session, account.id, customer_id)
    sent = data.model_fields_set
    phones = (
        normalise_phones(data.phones, account.default_country) if data.phones is not None else None
    )
    emails = _check_emails(data.emails) if data.emails is not None else None
    _check_unused(
        session,
        account.id,
        customer.id,
        phones=phones or [],
        emails=emails or [],
        external_id=data.external_id if "external_id" in sent else None,
    )
    with writes_or_conflict(session, "a phone, email or external_id is already in use"):
        for name in _PLAIN_FIELDS:
            if name in sent:
                value = getattr(data, name)
                if name == "last_name" and value is None:
                    value = ""
                setattr(customer, name, list(value) if name == "tags" else value)
        if "address" in sent:
            _apply_address(customer, data.address)
        if phones is not None:
            _replace_phones(session, customer, phones, existing=True)
        if emails is not None:
            _replace_emails(session, customer, emails, existing=True)
        customer.updated_at = utcnow()
    if phones is not None or emails is not None:
        # The summary follows the numbers and addresses the customer has now.
        consent.refresh_customer(session, customer)
    return customer


def get_customer(session: Session, sub_account_id: uuid.UUID, customer_id: uuid.UUID) -> Customer:
    customer = repo.get_customer(session, sub_account_id, customer_id)
    if customer is None:
        raise NotFound("customer")
    return customer


def present(
    session: Session, sub_account_id: uuid.UUID, customers: Sequence[Customer]
) -> list[CustomerOut]:
    """Customers as the API returns them, with phones and emails loaded in two queries."""
    ids = [c.id for c in customers]
    phones = repo.phones_by_customer(session, sub_account_id, ids)
    emails = repo.emails_by_customer(session, sub_account_id, ids)
    return [CustomerOut.build(c, phones[c.id], emails[c.id]) for c in customers]


def present_one(session: Session, customer: Customer) -> CustomerOut:
    return present(session, customer.sub_account_id, [customer])[0]


def phone_search_term(raw: str, country: str) -> str:
    """A ``?phone=`` filter as people type it, in E.164; invalid is a 422 on the parameter."""
    try:
        return to_e164(raw, country)
    except InvalidPhoneNumber as exc:
        raise InvalidInput("phone", f"'{raw}' is not a valid phone number", "query") from exc
