"""Signed unsubscribe tokens for List-Unsubscribe (RFC 8058) and the unsubscribe page.

A token names one address of one sub-account and is signed with HMAC-SHA256 under
``settings.secret_key``: ``base64url(sub_account_id bytes + email) "." base64url(mac)``. It has
no expiry (an unsubscribe link must keep working); a tampered token does not verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from dramtrade.config import Settings

_CONTEXT = b"dramtrade-unsubscribe-v1:"
# Sources whose email is not transactional: it carries List-Unsubscribe.
NON_TRANSACTIONAL_SOURCES = frozenset({"campaign", "marketing"})


@dataclass(frozen=True)
class Unsubscribe:
    sub_account_id: uuid.UUID
    email: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, payload: bytes) -> bytes:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, _CONTEXT + payload, hashlib.sha256).digest()


def make_token(settings: Settings, sub_account_id: uuid.UUID, email: str) -> str:
    payload = sub_account_id.bytes + email.strip().lower().encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(settings, payload))}"


def read_token(settings: Settings, token: str) -> Unsubscribe | None:
    """The address a token names, or None when it is malformed or its signature is wrong."""
    encoded, sep, signature = token.partition(".")
    if not sep or not encoded or not signature or len(token) > 2000:
        return None
    try:
        payload, mac = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(mac, _mac(settings, payload)) or len(payload) <= 16:
        return None
    try:
        email = payload[16:].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return Unsubscribe(sub_account_id=uuid.UUID(bytes=payload[:16]), email=email)


def unsubscribe_url(settings: Settings, sub_account_id: uuid.UUID, email: str) -> str:
    token = make_token(settings, sub_account_id, email)
    return f"{settings.public_base_url.rstrip('/')}/unsubscribe/{token}"


def unsubscribe_headers(
    settings: Settings, sub_account_id: uuid.UUID, email: str, mailto: str | None = None
) -> dict[str, str]:
    """``List-Unsubscribe`` (the signed one-click URL, then an optional mailto) and
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` for a non-transactional email."""
    targets = [f"<{unsubscribe_url(settings, sub_account_id, email)}>"]
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
