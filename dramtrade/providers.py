"""The only place that talks to Twilio and SendGrid, always through their official SDKs.

Only base URLs and credentials differ between the sandbox carrier and the real services.
Errors are classified here: a ``PermanentSendError`` must never be retried (the provider
refused this message for good), anything else may be.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import python_http_client.exceptions as sg_errors
import requests
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, Email, Header, Mail, To
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client as TwilioClient

from dramtrade.config import Settings

PROVIDER_TIMEOUT_SECONDS = 15.0

TWILIO_ERROR_MESSAGES = {
    21211: "The phone number is not a valid phone number.",
    21610: "The recipient replied STOP and has opted out of messages from this number.",
    21614: "The phone number is not a mobile number and cannot receive SMS.",
}


class SendError(Exception):
    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentSendError(SendError):
    """The provider refused this message; retrying cannot help."""


class RetryableSendError(SendError):
    def __init__(
        self, message: str, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SmsAccepted:
    sid: str
    status: str
    num_segments: int | None


class HeaderKeepingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """twilio-python's HTTP client, remembering the last response's headers per thread.

    ``TwilioRestException`` carries no headers, so a 429's Retry-After would be lost; the
    activity threads share one client, hence thread-local storage.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> TwilioResponse:
        self._local.headers = None
        response = super().request(*args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_headers(self) -> Any:
        return getattr(self._local, "headers", None)


@lru_cache(maxsize=8)
def _twilio_client(account_sid: str, auth_token: str, base_url: str | None) -> TwilioClient:
    client = TwilioClient(
        account_sid,
        auth_token,
        http_client=HeaderKeepingHttpClient(timeout=PROVIDER_TIMEOUT_SECONDS),
    )
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    return client


def twilio_client(settings: Settings) -> TwilioClient:
    return _twilio_client(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_api_base_url or None,
    )


def sendgrid_client(settings: Settings) -> SendGridAPIClient:
    host = settings.sendgrid_api_host.rstrip("/") or "https://api.sendgrid.com"
    client = SendGridAPIClient(api_key=settings.sendgrid_api_key.get_secret_value(), host=host)
    client.client.timeout = PROVIDER_TIMEOUT_SECONDS
    return client


def _retry_after(headers: object) -> float | None:
    """Retry-After in seconds (the delta-seconds form; an HTTP date is ignored)."""
    try:
        value = headers.get("Retry-After") if headers is not None else None  # type: ignore[attr-defined]
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _twilio_retry_after(settings: Settings) -> float | None:
    http_client = twilio_client(settings).http_client
    if isinstance(http_client, HeaderKeepingHttpClient):
        return _retry_after(http_client.last_headers())
    return None


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _twilio_error(settings: Settings, exc: TwilioRestException) -> SendError:
    """5xx and 429 may pass (with Retry-After when given); any other 4xx is for good."""
    code = str(exc.code) if exc.code else str(exc.status)
    text = TWILIO_ERROR_MESSAGES.get(exc.code or 0, exc.msg or "Twilio refused the message")
    if _is_retryable_status(exc.status):
        return RetryableSendError(
            f"Twilio answered HTTP {exc.status}: {text}", code, _twilio_retry_after(settings)
        )
    return PermanentSendError(text, code)


def _transport_error(provider: str, exc: BaseException) -> RetryableSendError:
    # Connection refused, reset, or timed out: the provider may or may not have the message,
    # which is why every resend is reconciled first (dramtrade.reconcile).
    return RetryableSendError(f"{provider} unreachable: {type(exc).__name__}: {exc}"[:500])


def send_sms(
    settings: Settings, *, from_: str, to: str, body: str, status_callback: str
) -> SmsAccepted:
    try:
        message = twilio_client(settings).messages.create(
            to=to, from_=from_, body=body, status_callback=status_callback
        )
    except TwilioRestException as exc:
        raise _twilio_error(settings, exc) from exc
    except requests.RequestException as exc:
        raise _transport_error("Twilio", exc) from exc
    segments = int(message.num_segments) if message.num_segments else None
    return SmsAccepted(
        sid=str(message.sid), status=str(message.status or "queued"), num_segments=segments
    )


def send_email(
    settings: Settings,
    *,
    from_email: str,
    from_name: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    custom_args: dict[str, str],
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """Send one email; returns SendGrid's X-Message-Id."""
    # A header line break in a rendered subject would let a value inject headers.
    subject = " ".join(subject.splitlines())
    mail = Mail(from_email=Email(from_email, from_name), to_emails=To(to), subject=subject)
    mail.add_content(Content("text/plain", text))
    if html:
        mail.add_content(Content("text/html", html))
    for key, value in custom_args.items():
        mail.add_custom_arg(CustomArg(key, value))
    for key, value in (headers or {}).items():
        mail.add_header(Header(key, value))
    if reply_to:
        mail.reply_to = Email(reply_to)
    try:
        response = sendgrid_client(settings).send(mail)
    except sg_errors.HTTPError as exc:
        detail = _sendgrid_error_text(exc)
        if _is_retryable_status(exc.status_code):
            raise RetryableSendError(
                detail, str(exc.status_code), _retry_after(exc.headers)
            ) from exc
        raise PermanentSendError(detail, str(exc.status_code)) from exc
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        # python_http_client uses urllib: URLError (refused, DNS), TimeoutError and
        # ConnectionResetError (OSError), RemoteDisconnected / IncompleteRead (HTTPException).
        raise _transport_error("SendGrid", exc) from exc
    message_id = response.headers.get("X-Message-Id") if response.headers else None
    if not message_id:
        raise RetryableSendError("SendGrid accepted the email without an X-Message-Id")
    return str(message_id)


def _sendgrid_error_text(exc: sg_errors.HTTPError) -> str:
    try:
        errors = json.loads(exc.body)["errors"]
        return "; ".join(str(e.get("message")) for e in errors) or "SendGrid refused the email"
    except (ValueError, KeyError, TypeError):
        return f"SendGrid answered HTTP {exc.status_code}"


@dataclass(frozen=True)
class SentSms:
    sid: str
    body: str
    status: str
    num_segments: int | None
    date_created: datetime | None


def recent_sms(
    settings: Settings, *, from_: str, to: str, created_after: datetime
) -> Iterator[SentSms]:
    """Messages Twilio holds from ``from_`` to ``to`` created on or after ``created_after``.

    Twilio lists newest first, so paging stops at the first older message. ``DateSent>`` is
    deliberately not used: a message accepted moments ago is still ``queued`` and has no
    date_sent, and it is exactly the one a lost response leaves behind.
    """
    try:
        for message in twilio_client(settings).messages.stream(to=to, from_=from_, page_size=50):
            created = message.date_created
            if created is not None and created < created_after:
                return
            yield SentSms(
                sid=str(message.sid),
                body=str(message.body or ""),
                status=str(message.status or "queued"),
                num_segments=int(message.num_segments) if message.num_segments else None,
                date_created=created,
            )
    except TwilioException as exc:
        # A list page that is not 200 is a bare TwilioException (the response in its args).
        # Whatever the status, the question stays open: retry it, never send blind, and never
        # call a message failed that may well have been delivered.
        raise RetryableSendError(
            f"Twilio message lookup failed: {exc}"[:500], None, _twilio_retry_after(settings)
        ) from exc
    except requests.RequestException as exc:
        raise _transport_error("Twilio", exc) from exc
