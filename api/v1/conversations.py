"""``/v1/conversations``: the inbox's threads and their messages, read-only."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Query

from api.deps import CallerDep, SessionDep
from api.v1.routing import v1_router
from dramtrade import repositories as repo
from dramtrade.schemas import ConversationOut, MessageOut, Page
from dramtrade.services import conversations as service

router = v1_router("conversations")

Limit = Annotated[int, Query(ge=1, le=repo.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/conversations", summary="List conversations, newest activity first")
def list_conversations(
    session: SessionDep,
    caller: CallerDep,
    status: Literal["open", "resolved"] | None = None,
    customer_id: uuid.UUID | None = None,
    flagged: bool | None = None,
    limit: Limit = repo.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ConversationOut]:
    rows, next_cursor = repo.list_conversations(
        session,
        caller.sub_account_id,
        status=status,
        customer_id=customer_id,
        flagged=flagged,
        limit=limit,
        cursor=cursor,
    )
    return Page[ConversationOut](
        items=service.present(session, caller.sub_account_id, rows), next_cursor=next_cursor
    )


@router.get("/conversations/{conversation_id}", summary="Get a conversation")
def get_conversation(
    conversation_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> ConversationOut:
    conversation = service.get_conversation(session, caller.sub_account_id, conversation_id)
    return service.present(session, caller.sub_account_id, [conversation])[0]


@router.get(
    "/conversations/{conversation_id}/messages",
    summary="A conversation's messages, oldest first",
)
def list_messages(
    conversation_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    limit: Limit = repo.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MessageOut]:
    service.get_conversation(session, caller.sub_account_id, conversation_id)
    rows, next_cursor = repo.list_messages(
        session, caller.sub_account_id, conversation_id, limit=limit, cursor=cursor
    )
    return Page[MessageOut](
        items=[MessageOut.model_validate(m) for m in rows], next_cursor=next_cursor
    )
