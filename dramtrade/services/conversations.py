"""Read views of the inbox for the platform API. Threads and messages are written elsewhere
(webhooks, activities, ``dramtrade.conversations``); this module only presents them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from dramtrade import repositories as repo
from dramtrade.errors import NotFound
from dramtrade.models import Conversation, Customer, Message
from dramtrade.schemas import ConversationOut

PREVIEW_CHARS = 140


def get_conversation(
    session: Session, sub_account_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    conversation = repo.get_conversation(session, sub_account_id, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


def preview(message: Message | None) -> str | None:
    """One line of the newest message: its text, else an email's subject."""
    if message is None:
        return None
    text = " ".join((message.body or "").split()) or (message.subject or "").strip()
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "\u2026"
    return text


def display_name(conversation: Conversation, customer: Customer | None) -> str:
    if customer is not None and customer.full_name:
        return customer.full_name
    return conversation.contact_phone or conversation.contact_email or "Unknown contact"


def present(
    session: Session, sub_account_id: uuid.UUID, conversations: Sequence[Conversation]
) -> list[ConversationOut]:
    ids = [c.id for c in conversations]
    last = repo.last_messages(session, sub_account_id, ids)
    customers = repo.customers_by_id(
        session, sub_account_id, [c.customer_id for c in conversations if c.customer_id]
    )
    result = []
    for conv in conversations:
        message = last.get(conv.id)
        customer = customers.get(conv.customer_id) if conv.customer_id else None
        result.append(
            ConversationOut(
                id=conv.id,
                customer_id=conv.customer_id,
                lead_id=conv.lead_id,
                contact_phone=conv.contact_phone,
                contact_email=conv.contact_email,
                display_name=display_name(conv, customer),
                status=conv.status,
                assignee_id=conv.assignee_id,
                flagged=conv.flagged,
                unread_count=conv.unread_count,
                last_message_at=conv.last_message_at,
                last_message_preview=preview(message),
                last_message_direction=message.direction if message else None,
                last_message_channel=message.channel if message else None,
                created_at=conv.created_at,
            )
        )
    return result
