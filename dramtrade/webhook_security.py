"""Webhook authenticity checks for Twilio (X-Twilio-Signature) and SendGrid (signed Event Webhook).

Own implementation of the algorithms described in ``/work/shared/protocol/twilio_signature.md``
and ``/work/shared/protocol/sendgrid_events.md`` (section 1). The verifiers never raise on
attacker-controlled input: anything malformed simply fails verification (returns ``False``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias, cast
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "TwilioParams",
    "twilio_signature",
    "verify_sendgrid_signature",
    "verify_twilio_signature",
]

# Decoded form fields: a mapping (values may be lists for repeated names; objects with
# ``getlist``/``getall`` such as Starlette FormData or Werkzeug MultiDict are read in full),
# or an iterable of (name, value) pairs such as ``FormData.multi_items()``.
TwilioParams: TypeAlias = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]

# Twilio puts this query parameter on the URL when the request body is JSON.
_BODY_HASH_PARAM = "bodySHA256"


# --------------------------------------------------------------------------------------------
# Twilio
# --------------------------------------------------------------------------------------------


def _mapping_values(params: Mapping[str, str | Sequence[str]], name: str) -> list[str]:
    """All values of ``name``; multidicts expose repeated values only via getlist/getall."""
    for accessor in ("getlist", "getall"):
        getter = getattr(params, accessor, None)
        if callable(getter):
            return list(cast(Iterable[str], getter(name)))
    value = params[name]
    # A str is itself a Sequence[str]; it is one value, not a list of characters.
    if isinstance(value, str):
        return [value]
    return list(value)


def _collect_params(params: TwilioParams) -> dict[str, set[str]]:
    """Group values by name; sets give Twilio's de-duplication of repeated values."""
    if isinstance(params, str | bytes):
        # Iterating a str would silently sign single characters; refuse instead.
        raise TypeError("params must be a mapping or an iterable of (name, value) pairs")
    grouped: dict[str, set[str]] = {}
    if isinstance(params, Mapping):
        for name in params:
            grouped.setdefault(name, set()).update(_mapping_values(params, name))
    else:
        for name, value in params:
            grouped.setdefault(name, set()).add(value)
    for name, values in grouped.items():
        # Concatenating non-str values would sign their repr, which Twilio never does.
        if not isinstance(name, str) or not all(isinstance(v, str) for v in values):
            raise TypeError("parameter names and values must be str")
    return grouped


def twilio_signature(auth_token: str, url: str, params: TwilioParams) -> str:
    """Compute the ``X-Twilio-Signature`` value Twilio would send for ``url`` + ``params``.

    ``url`` is used byte for byte (no port or encoding normalisation). Names are sorted by
    code point (case-sensitive), each name's distinct values are sorted, and ``name + value``
    is appended with no separators. HMAC-SHA1 keyed with the UTF-8 auth token, standard base64.
    """
    grouped = _collect_params(params)
    parts = [url]
    for name in sorted(grouped):
        parts.extend(name + value for value in sorted(grouped[name]))
    digest = hmac.new(
        auth_token.encode("utf-8"), "".join(parts).encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def _split_netloc(netloc: str) -> tuple[str, str, str | None]:
    """Split ``netloc`` into (``userinfo@`` prefix, host, port or None).

    Done by hand because ``SplitResult.port`` raises on bad ports and twilio-python's
    ``netloc.split(":")`` mistakes ``user:pass@`` for a port.
    """
    userinfo, at, hostport = netloc.rpartition("@")
    prefix = userinfo + at
    if hostport.startswith("["):
        # IPv6 literal: only a colon after the closing bracket introduces a port.
        end = hostport.find("]")
        if end != -1 and hostport[end + 1 : end + 2] == ":":
            return prefix, hostport[: end + 1], hostport[end + 2 :]
        return prefix, hostport, None
    host, colon, port = hostport.rpartition(":")
    if colon:
        return prefix, host, port
    return prefix, hostport, None


def _url_variants(url: str) -> list[str]:
    """The URL as given plus the port-toggled variant, as twilio-python's validate() tries.

    Twilio's back end signs inconsistently with and without the port, so: an explicit port is
    stripped; a missing port gets the scheme default (443 for https, 80 otherwise). Only the
    netloc is edited, so the rest of the URL stays byte-exact.
    """
    parts = urlsplit(url)
    prefix, host, port = _split_netloc(parts.netloc)
    if port is not None:
        new_netloc = prefix + host
    else:
        default_port = "443" if parts.scheme.lower() == "https" else "80"
        new_netloc = f"{prefix}{host}:{default_port}"
    # urlsplit lower-cases the scheme, so locate the netloc in the original string by length.
    head_len = len(parts.scheme) + len("://")
    head = url[:head_len]
    if (
        not parts.netloc
        or head.lower() != parts.scheme + "://"
        or not url.startswith(parts.netloc, head_len)
    ):
        # Not an absolute URL we can safely rewrite; only the literal value can match.
        return [url]
    return [url, head + new_netloc + url[head_len + len(parts.netloc) :]]


def _body_hash_values(url: str) -> list[str]:
    # keep_blank_values so an empty bodySHA256= still counts as "JSON body" and then fails.
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return query.get(_BODY_HASH_PARAM, [])


def verify_twilio_signature(
    auth_token: str,
    url: str,
    params: TwilioParams | None,
    signature: str | None,
    *,
    raw_body: bytes | None = None,
) -> bool:
    """Check an ``X-Twilio-Signature`` header; returns False (never raises) on bad input.

    ``url`` must be the full external URL Twilio requested (rebuild it from X-Forwarded-*
    behind a proxy). ``params`` are the decoded form fields (ignored for JSON bodies).

    JSON bodies: Twilio adds ``bodySHA256=<hex sha256 of the raw body>`` to the URL and signs
    the URL alone. Pass the raw request bytes as ``raw_body``. Deliberately stricter than
    twilio-python (fail closed): a URL with ``bodySHA256`` but no ``raw_body`` is rejected,
    since otherwise the body would be unauthenticated; and a ``raw_body`` with no
    ``bodySHA256`` in the URL is rejected (as twilio-node's validateRequestWithBody does).
    """
    if not signature or not auth_token:
        # An empty token would let anyone compute valid signatures; treat as misconfiguration.
        return False
    try:
        expected = signature.encode("utf-8")
        body_hashes = _body_hash_values(url)
        if body_hashes or raw_body is not None:
            if raw_body is None or len(body_hashes) != 1:
                return False
            body_hash = hashlib.sha256(raw_body).hexdigest().encode("ascii")
            if not hmac.compare_digest(body_hash, body_hashes[0].encode("utf-8")):
                return False
            # The hash in the URL binds the body; the signature covers the URL only.
            params = ()
        elif params is None:
            params = ()
        matched = False
        for candidate in _url_variants(url):
            computed = twilio_signature(auth_token, candidate, params).encode("ascii")
            # Bytes compare: compare_digest rejects non-ASCII str with TypeError. No early exit,
            # so timing does not reveal which variant matched.
            matched |= hmac.compare_digest(computed, expected)
        return matched
    except (ValueError, TypeError, UnicodeError):
        # urlsplit rejects malformed IPv6 hosts, surrogates cannot be UTF-8 encoded, and
        # garbage params are refused: all of these are simply invalid requests.
        return False


# --------------------------------------------------------------------------------------------
# SendGrid signed Event Webhook
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _load_sendgrid_public_key(public_key_b64: str) -> ec.EllipticCurvePublicKey | None:
    """Parse the base64 DER SubjectPublicKeyInfo once per key string (it is config, not input).

    Returns None for anything that is not a P-256 public key, so bad config fails closed.
    """
    try:
        # The key is often pasted from the UI with line breaks; whitespace is not significant.
        der = base64.b64decode("".join(public_key_b64.split()), validate=True)
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    return key


def _timestamp_is_fresh(timestamp: str, now: float | None, max_age_seconds: int) -> bool:
    # Strict ASCII digits: int() would also accept " 1", "+1", "1_0" and non-ASCII digits.
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    current = time.time() if now is None else now
    # Symmetric window: also rejects timestamps far in the future (clock skew beyond limit).
    return abs(current - int(timestamp)) <= max_age_seconds


def verify_sendgrid_signature(
    public_key_b64: str,
    signature_b64: str | None,
    timestamp: str | None,
    raw_body: bytes,
    *,
    now: float | None = None,
    max_age_seconds: int | None = None,
) -> bool:
    """Verify ``X-Twilio-Email-Event-Webhook-Signature`` over timestamp + raw body.

    ``raw_body`` must be the request bytes exactly as received (SendGrid's ``},\\r\\n{`` and
    trailing CRLF included); re-serialised JSON will not verify. The SDK has no replay
    protection; pass ``max_age_seconds`` to reject stale (or non-numeric) timestamps.
    Returns False (never raises) on any malformed key, signature, timestamp or body.
    """
    if not signature_b64 or not timestamp or not isinstance(raw_body, bytes | bytearray):
        return False
    if max_age_seconds is not None and not _timestamp_is_fresh(timestamp, now, max_age_seconds):
        return False
    key = _load_sendgrid_public_key(public_key_b64) if isinstance(public_key_b64, str) else None
    if key is None:
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        # Signed bytes are the header string followed directly by the untouched body.
        message = timestamp.encode("utf-8") + bytes(raw_body)
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, UnicodeError):
        # binascii.Error is a ValueError; malformed DER surfaces as InvalidSignature.
        return False
    return True
