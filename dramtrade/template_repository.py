"""Queries over templates. Every function takes ``sub_account_id`` and filters by it.

As in ``dramtrade.repositories``: a template of another sub-account is never returned (``None``
exactly as for an unknown id), nothing here commits, and lists are keyset-paged, oldest first.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade.models import Template
from dramtrade.repositories import DEFAULT_LIMIT, paginate

BOTH = "both"


def get_template(
    session: Session, sub_account_id: uuid.UUID, template_id: uuid.UUID
) -> Template | None:
    return session.scalar(
        select(Template).where(
            Template.sub_account_id == sub_account_id, Template.id == template_id
        )
    )


def find_by_name(
    session: Session, sub_account_id: uuid.UUID, name: str, channel: str
) -> Template | None:
    return session.scalar(
        select(Template).where(
            Template.sub_account_id == sub_account_id,
            Template.name == name,
            Template.channel == channel,
        )
    )


def list_templates(
    session: Session,
    sub_account_id: uuid.UUID,
    *,
    channel: str | None = None,
    category: str | None = None,
    trigger: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> tuple[list[Template], str | None]:
    """``channel`` ``sms`` or ``email`` lists the templates that can be sent on it (those of that
    channel and those of ``both``); ``channel="both"`` lists only ``both`` templates."""
    stmt = select(Template).where(Template.sub_account_id == sub_account_id)
    if channel is not None:
        usable = [BOTH] if channel == BOTH else [channel, BOTH]
        stmt = stmt.where(Template.channel.in_(usable))
    if category is not None:
        stmt = stmt.where(Template.category == category)
    if trigger is not None:
        stmt = stmt.where(Template.trigger == trigger)
    return paginate(
        session,
        stmt,
        sort=Template.created_at,
        row_id=Template.id,
        sort_value=lambda t: t.created_at,
        id_value=lambda t: t.id,
        limit=limit,
        cursor=cursor,
    )
