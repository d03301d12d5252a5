"""The only place that talks to Twilio and SendGrid, always through their official SDKs.

Only base URLs and credentials differ between the sandbox carrier and the real services.
Errors are classified here: a ``PermanentSendError`` must never be retried (the provider
refused this message for good), anything else may be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import python_http_client.exceptions as sg_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, Email, Header, Mail, To
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
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


@lru_cache(maxsize=8)
def _twilio_client(account_sid: str, auth_token: str, base_url: str | None) -> TwilioClient:
    client = TwilioClient(
        account_sid, auth_token, http_client=TwilioHttpClient(timeout=PROVIDER_TIMEOUT_SECONDS)
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
    try:
        value = headers.get("Retry-After") if headers is not None else None  # type: ignore[attr-defined]
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def send_sms(
    settings: Settings, *, from_: str, to: str, body: str, status_callback: str
) -> SmsAccepted:
    try:
        message = twilio_client(settings).messages.create(
            to=to, from_=from_, body=body, status_callback=status_callback
        )
    except TwilioRestException as exc:
        code = str(exc.code) if exc.code else None
        text = TWILIO_ERROR_MESSAGES.get(exc.code or 0, exc.msg or "Twilio refused the message")
        if exc.status == 429 or exc.status >= 500:
            raise RetryableSendError(text, code) from exc
        raise PermanentSendError(text, code) from exc
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
        if exc.status_code == 429 or exc.status_code >= 500:
            raise RetryableSendError(
                detail, str(exc.status_code), _retry_after(exc.headers)
            ) from exc
        raise PermanentSendError(detail, str(exc.status_code)) from exc
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
