"""Inbound email from SendGrid Inbound Parse: threaded, sanitized, stored once.

Threading, first match wins:

1. a ``reply+TOKEN@...`` address among the recipients (envelope, To, Cc): that conversation;
2. an In-Reply-To/References id of an email we sent: that email's conversation;
3. the recipient domain names the sub-account (``SubAccount.sending_domain``) and the sender
   the customer (by email address); an unknown sender gets an unknown-contact conversation.

Mail for a domain that is no sub-account's is logged and dropped (the webhook still answers
200: SendGrid would retry it for three days otherwise).

HTML is sanitized with nh3: basic formatting, tables and links (http, https, mailto, tel;
``rel="noopener noreferrer"``) survive; scripts, styles, event handlers, ``javascript:`` URLs,
forms and frames do not. Images are dropped: a remote image in an email is usually a tracking
pixel, and showing it would tell the sender when and from where staff read the message; inline
images (``cid:``) arrive as attachments and are stored as such. The plain text is kept (derived
from the HTML when the sender sent only HTML).
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

import nh3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade import conversations, email_threading
from dramtrade.config import get_settings
from dramtrade.inbound import first_time
from dramtrade.models import (
    Attachment,
    Channel,
    Conversation,
    Direction,
    Message,
    SubAccount,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundAttachment:
    """One file part (``attachment1..N``) of the Inbound Parse post."""

    field_name: str
    filename: str
    content_type: str
    content: bytes


# --- form fields -----------------------------------------------------------------------------


def _json_object(value: str | None) -> dict[str, Any]:
    try:
        parsed = json.loads(value or "")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def decode_fields(raw: Mapping[str, bytes]) -> dict[str, str]:
    """Decode the text fields, each in the charset the ``charsets`` field gives it.

    A field whose bytes are not valid in its charset (or whose charset is unknown) is decoded
    with replacement characters, never an error.
    """
    charsets = _json_object(raw.get("charsets", b"").decode("utf-8", errors="replace"))
    fields: dict[str, str] = {}
    for name, value in raw.items():
        charset = charsets.get(name)
        codec = charset if isinstance(charset, str) and charset else "utf-8"
        try:
            fields[name] = value.decode(codec, errors="replace")
        except LookupError:
            fields[name] = value.decode("utf-8", errors="replace")
    return fields


# --- HTML ------------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "li", "ol", "p", "pre",
    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "ol": {"start"},
}
# Tags removed together with their content; everything else unknown keeps its text.
DROPPED_WITH_CONTENT = {"script", "style", "title", "head", "template", "noscript", "iframe"}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_BLOCK_TAGS = {
    "address", "article", "blockquote", "br", "div", "dl", "dt", "dd", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "tr",
    "ul",
}  # fmt: skip
_WHITESPACE = re.compile(r"\s+")
_LINE_TAGS = {"br", "dd", "dt", "li", "tr"}  # one line each, no blank line around


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self._skipping += 1
        elif tag in _LINE_TAGS:
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS and tag not in _LINE_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Source line breaks are spaces in HTML; only block tags break lines.
            self.parts.append(_WHITESPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: tags stripped, blocks on lines of their own."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


# --- threading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parsed:
    sender: str
    recipients: list[str]  # envelope first, then To, then Cc; lower case, no duplicates
    message_id: str | None
    references: list[str]
    subject: str


def _first_id(value: str | None) -> str | None:
    ids = email_threading.message_ids(value)
    if ids:
        return ids[0]
    value = (value or "").strip()
    return value or None


def _parse(fields: Mapping[str, str]) -> _Parsed:
    headers = HeaderParser().parsestr(fields.get("headers", ""), headersonly=True)
    envelope = _json_object(fields.get("envelope"))
    envelope_to = envelope.get("to")
    recipients: list[str] = []
    candidates = [str(a) for a in envelope_to] if isinstance(envelope_to, list) else []
    candidates += [addr for _, addr in getaddresses([fields.get("to", ""), fields.get("cc", "")])]
    for address in candidates:
        address = address.strip().lower()
        if "@" in address and address not in recipients:
            recipients.append(address)
    _, sender = parseaddr(fields.get("from") or str(headers.get("From") or ""))
    if not sender and isinstance(envelope.get("from"), str):
        sender = envelope["from"]
    references = email_threading.message_ids(str(headers.get("In-Reply-To") or ""))
    references += reversed(email_threading.message_ids(str(headers.get("References") or "")))
    return _Parsed(
        sender=sender.strip().lower(),
        recipients=recipients,
        message_id=_first_id(str(headers.get("Message-ID") or "")),
        references=references,
        subject=fields.get("subject") or str(headers.get("Subject") or ""),
    )


def _accounts_by_domain(session: Session, recipients: Sequence[str]) -> list[tuple[str, uuid.UUID]]:
    """(recipient, sub-account) for each recipient whose domain is exactly one sub-account's."""
    domains = {address.rsplit("@", 1)[1] for address in recipients}
    rows = session.execute(
        select(func.lower(SubAccount.sending_domain), SubAccount.id).where(
            func.lower(SubAccount.sending_domain).in_(domains)
        )
    ).all()
    owners: dict[str, list[uuid.UUID]] = {}
    for domain, account_id in rows:
        owners.setdefault(domain, []).append(account_id)
    found = []
    for address in recipients:
        domain = address.rsplit("@", 1)[1]
        accounts = owners.get(domain, [])
        if len(accounts) == 1:
            found.append((address, accounts[0]))
        elif len(accounts) > 1:
            log.warning("inbound email: domain %s belongs to several sub-accounts", domain)
    return found


@dataclass(frozen=True)
class _Target:
    sub_account_id: uuid.UUID
    to_addr: str
    conversation: Conversation | None  # None: decided by the sender after the dedupe


def _target(session: Session, parsed: _Parsed) -> _Target | None:
    for address in parsed.recipients:
        conversation = email_threading.conversation_for_addresses(session, [address])
        if conversation is not None:
            return _Target(conversation.sub_account_id, address, conversation)
    by_domain = _accounts_by_domain(session, parsed.recipients)
    # A reference must be to one of the addressed sub-accounts when the domain names any.
    scope = {account_id for _, account_id in by_domain} or None
    conversation = email_threading.conversation_for_references(session, parsed.references, scope)
    if conversation is not None:
        to_addr = next(
            (a for a, acc in by_domain if acc == conversation.sub_account_id),
            parsed.recipients[0] if parsed.recipients else "",
        )
        return _Target(conversation.sub_account_id, to_addr, conversation)
    if by_domain:
        address, account_id = by_domain[0]
        return _Target(account_id, address, None)
    return None


def _dedupe_id(target: _Target, parsed: _Parsed, fields: Mapping[str, str]) -> str:
    """The sender's Message-ID within the sub-account, or a hash of what the email says."""
    if parsed.message_id:
        key = f"{target.sub_account_id}:{parsed.message_id}"
        if len(key) <= 200:
            return key
        return "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    parts = (target.sub_account_id, fields.get("from"), fields.get("to"), parsed.subject)
    content = "\x00".join([*map(str, parts), fields.get("text", "")])
    return "sha256:" + hashlib.sha256(content.encode("utf-8", "replace")).hexdigest()


# --- storing ---------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _attachment_type(attachment: InboundAttachment, info: Mapping[str, Any]) -> str:
    described = info.get(attachment.field_name)
    if isinstance(described, dict) and isinstance(described.get("type"), str):
        return str(described["type"])[:255]
    if attachment.content_type:
        return attachment.content_type[:255]
    return mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"


def _attachment_name(attachment: InboundAttachment, info: Mapping[str, Any]) -> str:
    described = info.get(attachment.field_name)
    name = attachment.filename
    if not name and isinstance(described, dict):
        name = str(described.get("filename") or described.get("name") or "")
    return (name or attachment.field_name or "attachment")[:255]


def receive_email(
    session: Session,
    form_fields: Mapping[str, str],
    attachments: Sequence[InboundAttachment],
    *,
    max_attachment_bytes: int | None = None,
) -> Message | None:
    """File an inbound email in its thread; None when it is a duplicate or for nobody of ours."""
    limit = max_attachment_bytes
    if limit is None:
        limit = get_settings().max_attachment_bytes
    parsed = _parse(form_fields)
    target = _target(session, parsed)
    if target is None:
        log.warning(
            "inbound email %s for %s: no sub-account sends from that domain; dropped",
            parsed.message_id or "(no Message-ID)",
            ", ".join(parsed.recipients) or "(no recipient)",
        )
        return None
    if target.conversation is None and not parsed.sender:
        log.warning("inbound email %s without a sender address; dropped", parsed.message_id)
        return None
    event_id = _dedupe_id(target, parsed, form_fields)
    summary = {
        "message_id": parsed.message_id,
        "from": form_fields.get("from", "")[:320],
        "to": target.to_addr,
        "subject": parsed.subject[:998],
        "sub_account_id": str(target.sub_account_id),
        "attachments": len(attachments),
    }
    if not first_time(session, "sendgrid", "inbound", event_id, summary):
        return None

    conversation = target.conversation or conversations.for_email(
        session, target.sub_account_id, parsed.sender
    )
    raw_html = form_fields.get("html") or ""
    text = form_fields.get("text") or ""
    if not text.strip() and raw_html:
        text = html_to_text(raw_html)

    info = _json_object(form_fields.get("attachment-info"))
    kept: list[Attachment] = []
    notes: list[str] = []
    for attachment in attachments:
        name = _attachment_name(attachment, info)
        size = len(attachment.content)
        if size > limit:
            notes.append(
                f"[Attachment not stored: {name} ({_megabytes(size)}) is larger than the "
                f"{_megabytes(limit)} limit.]"
            )
            log.warning(
                "inbound email %s: attachment %s too large (%d bytes)", event_id, name, size
            )
            continue
        kept.append(
            Attachment(
                sub_account_id=target.sub_account_id,
                filename=name,
                content_type=_attachment_type(attachment, info),
                size=size,
                content=attachment.content,
            )
        )
    if notes:
        text = "\n\n".join([text.rstrip(), *notes]) if text.strip() else "\n".join(notes)

    message = Message(
        id=uuid.uuid4(),
        sub_account_id=target.sub_account_id,
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        direction=Direction.inbound,
        channel=Channel.email,
        source="inbound",
        from_addr=(parsed.sender or form_fields.get("from", ""))[:320],
        to_addr=target.to_addr[:320],
        subject=parsed.subject[:998] or None,
        body=text,
        html=sanitize_html(raw_html) if raw_html.strip() else None,
        status="received",
        provider="sendgrid",
        provider_id=None,
        rfc_message_id=parsed.message_id[:998] if parsed.message_id else None,
    )
    session.add(message)
    session.flush()
    for row in kept:
        row.message_id = message.id
        session.add(row)
    session.flush()
    conversations.touch(conversation, message.created_at, inbound=True)
    return message
