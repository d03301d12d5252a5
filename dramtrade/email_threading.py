"""Email threading: per-conversation reply addresses and our own RFC 5322 Message-IDs.

Every outbound email says ``Reply-To: reply+TOKEN@<sending domain>``, where TOKEN belongs to
one conversation and is made once, the first time that conversation sends an email. It also
carries a ``Message-ID: <uuid@sending domain>`` stored on its row, so a reply whose client
dropped the Reply-To still threads by In-Reply-To/References.

Tokens are 128 random bits in lowercase hex: some mail systems fold the case of the local
part, so the token must survive that, and lookups lower-case what arrives.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Collection, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dramtrade.models import Conversation, Direction, Message

REPLY_LOCAL_PART = "reply"
_REPLY_ADDRESS = re.compile(r"^reply\+([0-9a-z]{16,40})@[^@\s]+$", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def new_reply_token() -> str:
    return secrets.token_hex(16)


def ensure_reply_token(session: Session, conversation: Conversation) -> str:
    """The conversation's reply token, made and stored the first time it is needed.

    Two sends of the same new conversation may race: the conditional UPDATE lets exactly one
    token win, and both read that one back.
    """
    if conversation.reply_token:
        return conversation.reply_token
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.reply_token.is_(None))
        .values(reply_token=new_reply_token())
        .execution_options(synchronize_session=False)
    )
    session.refresh(conversation, ["reply_token"])
    assert conversation.reply_token is not None
    return conversation.reply_token


def reply_address(token: str, domain: str) -> str:
    return f"{REPLY_LOCAL_PART}+{token}@{domain.strip().lower()}"


def reply_token_of(address: str) -> str | None:
    """The token of a ``reply+TOKEN@domain`` address (any case), else None."""
    match = _REPLY_ADDRESS.match(address.strip())
    return match.group(1).lower() if match else None


def new_message_id(domain: str) -> str:
    """An RFC 5322 msg-id of our own: ``<uuid@sending domain>``."""
    return f"<{uuid.uuid4()}@{domain.strip().lower()}>"


def message_ids(header_value: str | None) -> list[str]:
    """Every ``<msg-id>`` in an In-Reply-To or References header, in order."""
    return _MESSAGE_ID.findall(header_value or "")


def conversation_for_addresses(session: Session, addresses: Iterable[str]) -> Conversation | None:
    """The conversation of the first reply address among ``addresses``."""
    for address in addresses:
        token = reply_token_of(address)
        if token is None:
            continue
        found = session.scalar(select(Conversation).where(Conversation.reply_token == token))
        if found is not None:
            return found
    return None


def conversation_for_references(
    session: Session, ids: Collection[str], sub_account_ids: Collection[uuid.UUID] | None = None
) -> Conversation | None:
    """The conversation of the newest email *we sent* whose Message-ID is among ``ids``.

    Only our own Message-IDs count (random, on our domains); a sender's Message-ID is theirs to
    choose and must not pull a message into someone else's thread. ``sub_account_ids``, when
    given, restricts the match to those sub-accounts.
    """
    if not ids:
        return None
    query = select(Message.conversation_id).where(
        Message.rfc_message_id.in_(list(ids)), Message.direction == Direction.outbound
    )
    if sub_account_ids is not None:
        query = query.where(Message.sub_account_id.in_(list(sub_account_ids)))
    conversation_id = session.scalar(query.order_by(Message.created_at.desc()).limit(1))
    return session.get(Conversation, conversation_id) if conversation_id else None
