"""Signed session cookies and CSRF tokens of the staff UI; no server-side session store.

The session cookie is ``<user id>.<issued-at>.<signature>``, the signature an HMAC-SHA256 over
the user id, the issue time and the user's *session version* under ``settings.secret_key``.
The version is derived from the password hash and the active flag, so changing a password or
deactivating a user ends every session of theirs at once; rotating the secret ends them all.

The CSRF token is an HMAC of the session cookie (or, before sign-in, of a random anonymous
cookie), so it changes with every sign-in and is checked without storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

from dramtrade.models import User

SESSION_COOKIE = "dt_session"
ANON_COOKIE = "dt_anon"
SESSION_MAX_AGE = 7 * 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(secret: str, *parts: str) -> str:
    message = "|".join(parts).encode()
    return _b64(hmac.new(secret.encode(), message, hashlib.sha256).digest())


def session_version(user: User) -> str:
    """Changes when the password changes or the user is deactivated."""
    material = f"{user.password_hash or ''}|{int(bool(user.is_active))}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def issue(secret: str, user: User, now: float | None = None) -> str:
    issued = str(int(now if now is not None else time.time()))
    return (
        f"{user.id}.{issued}.{_mac(secret, 'session', str(user.id), issued, session_version(user))}"
    )


@dataclass(frozen=True)
class SessionClaim:
    user_id: uuid.UUID
    issued_at: int
    signature: str


def parse(value: str | None) -> SessionClaim | None:
    """The unverified parts of a cookie; ``verify`` needs the user row to check them."""
    if not value or value.count(".") != 2:
        return None
    user_id, issued, signature = value.split(".")
    try:
        return SessionClaim(uuid.UUID(user_id), int(issued), signature)
    except ValueError:
        return None


def verify(secret: str, claim: SessionClaim, user: User, now: float | None = None) -> bool:
    now = now if now is not None else time.time()
    if not user.is_active or not (0 <= now - claim.issued_at <= SESSION_MAX_AGE):
        return False
    expected = _mac(
        secret, "session", str(claim.user_id), str(claim.issued_at), session_version(user)
    )
    return hmac.compare_digest(expected, claim.signature)


def new_anonymous_id() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(secret: str, binding: str) -> str:
    """The token forms and htmx send back; ``binding`` is the session or anonymous cookie."""
    return _mac(secret, "csrf", binding)


def csrf_ok(secret: str, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, binding), token)
