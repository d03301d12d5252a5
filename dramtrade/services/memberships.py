"""Memberships (maintenance plans) as the platform reports them."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from dramtrade import repositories as repo
from dramtrade.errors import Conflict, NotFound
from dramtrade.models import Membership, utcnow
from dramtrade.schemas import MembershipCreate, MembershipUpdate
from dramtrade.services import require_customer, writes_or_conflict

_FIELDS = ("customer_id", "external_id", "plan", "renewal_date", "status")


def _check_external_id(
    session: Session, sub_account_id: uuid.UUID, external_id: str | None, own: uuid.UUID | None
) -> None:
    if external_id is None:
        return
    other = repo.get_membership_by_external_id(session, sub_account_id, external_id)
    if other is not None and other.id != own:
        raise Conflict(
            f"external_id '{external_id}' is already used by membership {other.id}",
            field="external_id",
        )


def get_membership(
    session: Session, sub_account_id: uuid.UUID, membership_id: uuid.UUID
) -> Membership:
    membership = repo.get_membership(session, sub_account_id, membership_id)
    if membership is None:
        raise NotFound("membership")
    return membership


def create_membership(
    session: Session, sub_account_id: uuid.UUID, data: MembershipCreate
) -> Membership:
    require_customer(session, sub_account_id, data.customer_id)
    _check_external_id(session, sub_account_id, data.external_id, None)
    membership = Membership(
        sub_account_id=sub_account_id, **{name: getattr(data, name) for name in _FIELDS}
    )
    with writes_or_conflict(session, f"external_id '{data.external_id}' is already in use"):
        session.add(membership)
    return membership


def update_membership(
    session: Session, sub_account_id: uuid.UUID, membership_id: uuid.UUID, data: MembershipUpdate
) -> Membership:
    membership = get_membership(session, sub_account_id, membership_id)
    sent = data.model_fields_set
    if data.customer_id is not None:
        require_customer(session, sub_account_id, data.customer_id)
    if "external_id" in sent:
        _check_external_id(session, sub_account_id, data.external_id, membership.id)
    with writes_or_conflict(session, f"external_id '{data.external_id}' is already in use"):
        for name in _FIELDS:
            if name in sent:
                setattr(membership, name, getattr(data, name))
        membership.updated_at = utcnow()
    return membership
