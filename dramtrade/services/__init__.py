"""Use cases of the platform API: validate everything, then write; never commit.

The caller owns the transaction (the API's request session commits on success and rolls back
on any error), so a service that raises leaves nothing half-written. Services raise the
domain errors of ``dramtrade.errors``; the HTTP layer maps them to 404/409/422.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dramtrade import repositories as repo
from dramtrade.errors import Conflict, InvalidInput
from dramtrade.models import Customer


@contextmanager
def writes_or_conflict(session: Session, message: str) -> Iterator[None]:
    """Run the writes of the block in a savepoint and flush them there, so a unique-constraint
    race (two requests adding the same number at once) is a Conflict, not a 500."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc


def require_customer(
    session: Session, sub_account_id: uuid.UUID, customer_id: uuid.UUID, field: str = "customer_id"
) -> Customer:
    """A customer referenced from a request body: unknown or foreign is a 422 on that field."""
    customer = repo.get_customer(session, sub_account_id, customer_id)
    if customer is None:
        raise InvalidInput(field, "customer not found")
    return customer
