"""Webhook signatures exactly as Twilio and SendGrid compute them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str | Iterable[str]] | None = None
) -> str:
    """base64(HMAC-SHA1(token, url + name1 + value1 + ...)), names sorted by code point.

    Repeated names contribute their deduplicated values in sorted order, as twilio-python
    validates them; the URL is taken byte for byte (query string included).
    """
    parts = [url]
    for name in sorted(set((params or {}).keys())):
        raw = (params or {})[name]
        values = [raw] if isinstance(raw, str) else list(raw)
        parts.extend(name + value for value in sorted(set(values)))
    digest = hmac.new(auth_token.encode(), "".join(parts).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def generate_private_key_pem() -> str:
    """A fresh P-256 private key in PKCS#8 PEM, the kind SendGrid signs event webhooks with."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class SendGridSigner:
    """Signs event webhook bodies; exposes the public key the way SendGrid's settings do."""

    def __init__(self, private_key_pem: str | None = None) -> None:
        # Env vars often carry the PEM on one line with literal "\n"; accept that too.
        pem = (private_key_pem or generate_private_key_pem()).replace("\\n", "\n")
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise ValueError("sendgrid_private_key_pem must be a P-256 (secp256r1) EC key")
        self._key = key

    @property
    def public_key_b64(self) -> str:
        """Base64 DER SubjectPublicKeyInfo ("MFkw..."), what SendGrid shows as the key."""
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, timestamp: str, payload: str) -> str:
        """base64 of the DER ECDSA/SHA-256 signature over timestamp + raw body."""
        signature = self._key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()


def sendgrid_event_body(events: list[dict[str, Any]]) -> str:
    """Serialize events the way SendGrid does: compact JSON, CRLF between events and at the end.

    The receiver must verify these exact bytes, so the layout matters. Joining per-event
    dumps gives SendGrid's `},\\r\\n{` layout without touching "},{" inside string values.
    """
    items = ",\r\n".join(json.dumps(event, separators=(",", ":")) for event in events)
    return "[" + items + "]\r\n"
