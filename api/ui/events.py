"""``/app/events``: Server-Sent Events telling an open inbox what to re-fetch.

The stream polls the database (every ``POLL_SECONDS``) with two small aggregate queries over
the signed-in user's sub-account: the newest ``messages.updated_at`` (a new message or a status
change moves it) and the conversations' count and newest ``updated_at`` (any change to a thread
moves it). That works on SQLite and PostgreSQL and across API
nodes, since every node reads the same database. Events:

- ``conv-<conversation id>``: that thread has a new or changed message;
- ``inbox``: the list changed (any message or conversation change).

Each event's id is the state it reflects, so a reconnecting EventSource (``Last-Event-ID``)
first hears about what it missed. The stream ends after ``STREAM_SECONDS`` (the browser
reconnects by itself) or as soon as the client disconnects; no database connection is held
between polls.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.ui.deps import Permission, require
from api.ui.routing import ui_router
from dramtrade.db import get_sessionmaker
from dramtrade.models import Conversation, Message, User

router = ui_router()

POLL_SECONDS = 0.75
STREAM_SECONDS = 300.0
KEEPALIVE_SECONDS = 15.0
MAX_CONVERSATION_EVENTS = 50

SessionFactory = Callable[[], AbstractContextManager[Session]]


def session_factory() -> SessionFactory:
    """Short sessions for each poll (overridden in tests to share the test's transaction)."""
    maker = get_sessionmaker()
    return maker


@dataclass(frozen=True)
class State:
    messages_at: datetime | None
    conversations: str

    @property
    def event_id(self) -> str:
        at = self.messages_at.isoformat() if self.messages_at else "-"
        return f"{at}|{self.conversations}"

    @classmethod
    def parse(cls, value: str | None) -> State | None:
        if not value or "|" not in value:
            return None
        at, fingerprint = value.split("|", 1)
        try:
            parsed = None if at == "-" else datetime.fromisoformat(at)
        except ValueError:
            return None
        if parsed is not None and parsed.tzinfo is None:
            return None
        return cls(parsed, fingerprint[:64])


def read_state(session: Session, sub_account_id: uuid.UUID) -> State:
    messages_at = session.scalar(
        select(func.max(Message.updated_at)).where(Message.sub_account_id == sub_account_id)
    )
    # Every change to a thread (assignment, status, flag, merge, new message) moves its
    # updated_at; the count catches threads merged away.
    row = session.execute(
        select(func.count(Conversation.id), func.max(Conversation.updated_at)).where(
            Conversation.sub_account_id == sub_account_id
        )
    ).one()
    fingerprint = hashlib.sha256(repr(tuple(row)).encode()).hexdigest()[:16]
    return State(messages_at, fingerprint)


def changed_conversations(
    session: Session, sub_account_id: uuid.UUID, since: datetime | None
) -> list[uuid.UUID]:
    stmt = (
        select(Message.conversation_id).where(Message.sub_account_id == sub_account_id).distinct()
    )
    if since is not None:
        stmt = stmt.where(Message.updated_at > since)
    return list(session.scalars(stmt.limit(MAX_CONVERSATION_EVENTS)))


def poll(
    factory: SessionFactory, sub_account_id: uuid.UUID, previous: State | None
) -> tuple[State, list[str]]:
    """The current state, and the events that tell a client at ``previous`` what changed."""
    with factory() as session:
        current = read_state(session, sub_account_id)
        if previous is None or current == previous:
            return current, []
        events: list[str] = []
        if current.messages_at != previous.messages_at:
            events += [
                f"conv-{cid}"
                for cid in changed_conversations(session, sub_account_id, previous.messages_at)
            ]
        events.append("inbox")
        return current, events


def _frame(event: str, event_id: str) -> str:
    return f"id: {event_id}\nevent: {event}\ndata: {event}\n\n"


@router.get("/events")
async def events(
    request: Request,
    user: Annotated[User, Depends(require(Permission.view_inbox))],
    factory: Annotated[SessionFactory, Depends(session_factory)],
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> StreamingResponse:
    sub_account_id = user.sub_account_id

    async def stream() -> AsyncIterator[str]:
        # A reconnect first hears what changed since its last event.
        resumed = State.parse(last_event_id)
        state, pending = await run_in_threadpool(poll, factory, sub_account_id, resumed)
        yield "retry: 1000\n\n"
        started = last_sent = time.monotonic()
        while True:
            for event in pending:
                yield _frame(event, state.event_id)
                last_sent = time.monotonic()
            now = time.monotonic()
            if now - started >= STREAM_SECONDS or await request.is_disconnected():
                return
            if now - last_sent >= KEEPALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_sent = now
            await asyncio.sleep(POLL_SECONDS)
            state, pending = await run_in_threadpool(poll, factory, sub_account_id, state)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
