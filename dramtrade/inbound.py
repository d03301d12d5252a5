"""What provider webhooks change: inbound messages and delivery status.

Every webhook is recorded once under the provider's own id before it changes anything, so a
retried or replayed delivery is a no-op.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dramtrade import consent, conversations
from dramtrade.config import KeywordReplies
from dramtrade.message_status import SENDGRID_EVENT_STATUS, advances
from dramtrade.models import (
    Channel,
    Direction,
    Message,
    PhoneNumber,
    SubAccount,
    WebhookEvent,
    utcnow,
)
from dramtrade.phones import InvalidPhoneNumber, to_e164

log = logging.getLogger(__name__)


def first_time(
    session: Session, provider: str, kind: str, event_id: str, payload: Mapping[str, Any]
) -> bool:
    """Record a webhook by its provider id; False when it was already recorded."""
    try:
        with session.begin_nested():
            session.add(
                WebhookEvent(provider=provider, kind=kind, event_id=event_id, payload=dict(payload))
            )
        return True
    except IntegrityError:
        return False


@dataclass(frozen=True)
class ReceivedSms:
    """The filed message (None when not ours or already filed) and the reply rows to send."""

    message: Message | None = None
    to_send: list[uuid.UUID] = field(default_factory=list)


def receive_sms(
    session: Session, params: Mapping[str, str], keyword_replies: KeywordReplies
) -> ReceivedSms:
    """File an inbound SMS in its thread and act on a STOP/START/HELP keyword.

    A keyword's compliance reply (if ours to send, see ``consent.handle_inbound_keyword``) is
    written as a pending row; the caller starts its send after the commit. A redelivered
    webhook writes nothing new but names a reply still pending.
    """
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    to_raw, from_raw = params.get("To", ""), params.get("From", "")
    number = session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == to_raw))
    if number is None or not sid:
        log.warning("inbound SMS %s for a number we do not own", sid or "(no sid)")
        return ReceivedSms()
    if not first_time(session, "twilio", "sms", sid, params):
        return ReceivedSms(to_send=consent.pending_reply(session, number.sub_account_id, sid))
    try:
        sender = to_e164(from_raw)
    except InvalidPhoneNumber:
        sender = from_raw  # short codes and alphanumeric senders stay as given
    conversation = conversations.for_phone(session, number.sub_account_id, sender)
    message = Message(
        sub_account_id=number.sub_account_id,
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        direction=Direction.inbound,
        channel=Channel.sms,
        source="inbound",
        from_addr=sender,
        to_addr=number.e164,
        body=params.get("Body", ""),
        status="received",
        provider="twilio",
        provider_id=sid,
        segments=int(params["NumSegments"]) if params.get("NumSegments", "").isdigit() else None,
    )
    session.add(message)
    session.flush()
    conversations.touch(conversation, message.created_at, inbound=True)
    reply_id = consent.handle_inbound_keyword(session, message, keyword_replies)
    return ReceivedSms(message, [reply_id] if reply_id else [])


def _apply_status(message: Message, status: str, error_code: str | None) -> bool:
    if not advances(message.channel, message.status, status):
        return False
    message.status = status
    if error_code:
        message.error_code = error_code
    if status == "delivered":
        message.delivered_at = utcnow()
    return True


def sms_status(session: Session, params: Mapping[str, str], message_id: str | None) -> bool:
    """Apply a Twilio status callback; out-of-order callbacks never move a status backwards."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not sid or not status:
        return False
    if not first_time(session, "twilio", "status", f"{sid}:{status}", params):
        return False
    message = _find_outbound(session, "twilio", sid, message_id)
    if message is None:
        log.warning("status callback for unknown message %s", sid)
        return False
    if message.provider_id is None:
        # The callback beat the send's own response; the sid is the same either way.
        message.provider_id = sid
    return _apply_status(message, status, params.get("ErrorCode") or None)


def _find_outbound(
    session: Session, provider: str, provider_id: str, message_id: str | None
) -> Message | None:
    if message_id:
        try:
            found = session.get(Message, uuid.UUID(message_id))
        except ValueError:
            found = None
        # The id in our callback URL must agree with the provider's id for the message.
        if (
            found is not None
            and found.provider in (provider,)
            and found.provider_id
            in (
                None,
                provider_id,
            )
        ):
            return found
    return session.scalar(
        select(Message).where(Message.provider == provider, Message.provider_id == provider_id)
    )


SUPPRESSING_EVENTS = {"dropped", "spamreport", "unsubscribe", "group_unsubscribe"}


def email_events(session: Session, events: list[dict[str, Any]]) -> int:
    """Apply a batch of SendGrid events; returns how many changed something."""
    changed = 0
    for event in events:
        event_id = str(event.get("sg_event_id") or "")
        name = str(event.get("event") or "")
        if not event_id or not first_time(session, "sendgrid", name or "event", event_id, event):
            continue
        sg_message_id = str(event.get("sg_message_id") or "").split(".", 1)[0]
        message = _find_outbound(
            session, "sendgrid", sg_message_id, str(event.get("message_id") or "") or None
        )
        if message is None:
            _suppress_unmatched(session, event, name)
            continue
        if message.provider_id is None and sg_message_id:
            # The event beat the send's own response, or that response was lost: either way
            # the row now knows SendGrid has the email, and is never sent again.
            message.provider_id = sg_message_id
        status = SENDGRID_EVENT_STATUS.get(name)
        if status and _apply_status(message, status, None):
            changed += 1
        reason = _suppressing_reason(event, name)
        if reason == "hard bounce":
            message.error_message = str(event.get("reason") or "bounced")[:500]
        if reason is not None:
            _suppress(session, message, reason)
    return changed


def _suppressing_reason(event: Mapping[str, Any], name: str) -> str | None:
    """Why this event suppresses the address (a hard bounce, a spam report, ...), or None."""
    if name == "bounce" and event.get("type") == "bounce":
        return "hard bounce"
    return name if name in SUPPRESSING_EVENTS else None


def _suppress_unmatched(session: Session, event: Mapping[str, Any], name: str) -> None:
    """A suppressing event for an email with no message row here (e.g. the row was deleted):
    the ``sub_account_id`` custom arg we sent names the sub-account, so the address is still
    suppressed there, but only when it names one that exists."""
    reason = _suppressing_reason(event, name)
    email = str(event.get("email") or "").strip()
    if reason is None or not email:
        return
    try:
        sub_account_id = uuid.UUID(str(event.get("sub_account_id") or ""))
    except ValueError:
        return
    if session.get(SubAccount, sub_account_id) is None:
        log.warning("SendGrid %s event for unknown sub-account %s", name, sub_account_id)
        return
    consent.suppress_email(session, sub_account_id, email, reason)


def _suppress(session: Session, message: Message, reason: str) -> None:
    consent.suppress_email(
        session,
        message.sub_account_id,
        message.to_addr,
        reason,
        message_id=message.id,
        customer_id=message.customer_id,
    )
