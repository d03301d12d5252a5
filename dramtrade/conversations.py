"""Threads: one conversation per customer, or per unknown number or address."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dramtrade import repositories
from dramtrade.models import Conversation, Customer


def _get_or_create(
    session: Session, sub_account_id: uuid.UUID, key: str, **fields: object
) -> Conversation:
    found = session.scalar(
        select(Conversation).where(
            Conversation.sub_account_id == sub_account_id, Conversation.contact_key == key
        )
    )
    if found is not None:
        return found
    # Two webhooks for the same new contact may race; the unique key settles it.
    try:
        with session.begin_nested():
            conversation = Conversation(sub_account_id=sub_account_id, contact_key=key, **fields)
            session.add(conversation)
        return conversation
    except IntegrityError:
        return session.scalars(
            select(Conversation).where(
                Conversation.sub_account_id == sub_account_id, Conversation.contact_key == key
            )
        ).one()


def for_customer(session: Session, customer: Customer) -> Conversation:
    return _get_or_create(
        session, customer.sub_account_id, f"customer:{customer.id}", customer_id=customer.id
    )


def for_phone(session: Session, sub_account_id: uuid.UUID, e164: str) -> Conversation:
    """The customer's thread when the number is known, else the unknown number's own thread."""
    customer = repositories.find_customer_by_phone(session, sub_account_id, e164)
    if customer is not None:
        return for_customer(session, customer)
    return _get_or_create(session, sub_account_id, f"phone:{e164}", contact_phone=e164)


def for_email(session: Session, sub_account_id: uuid.UUID, address: str) -> Conversation:
    """The customer's thread when the address is known, else the unknown address's own thread."""
    address = address.strip().lower()
    customer = repositories.find_customer_by_email(session, sub_account_id, address)
    if customer is not None:
        return for_customer(session, customer)
    return _get_or_create(session, sub_account_id, f"email:{address}", contact_email=address)


def touch(conversation: Conversation, at: datetime, *, inbound: bool) -> None:
    conversation.last_message_at = at
    if inbound:
        conversation.unread_count += 1
        conversation.status = "open"
