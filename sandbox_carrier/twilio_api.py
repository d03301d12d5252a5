"""Twilio REST API 2010-04-01: Messages and IncomingPhoneNumbers, as twilio-python uses them.

Requests are form-encoded with HTTP Basic auth; answers are JSON shaped like
``api.v2010.account.message`` / ``api.v2010.account.incoming_phone_number``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from email.utils import format_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from sandbox_carrier.api_common import (
    TwilioApiError,
    apply_api_faults,
    apply_lost_response,
    apply_send_faults,
    carrier_of,
)
from sandbox_carrier.segments import count_segments
from sandbox_carrier.store import PhoneNumberRecord, SmsRecord, new_sid, utcnow
from sandbox_carrier.world import API_VERSION, Carrier

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY = 1600
PREFIX = "/2010-04-01/Accounts/{account_sid}"

T = TypeVar("T")


async def twilio_account(request: Request, account_sid: str) -> Carrier:
    """HTTP Basic auth with the account SID and auth token, then the on-demand API faults."""
    carrier = carrier_of(request)
    config = carrier.config
    if not _basic_auth_ok(
        request.headers.get("authorization", ""),
        config.twilio_account_sid,
        config.twilio_auth_token,
    ):
        raise TwilioApiError(401, 20003, "Authenticate")
    if account_sid != config.twilio_account_sid:
        raise TwilioApiError(404, 20404, f"The requested resource {request.url.path} was not found")
    await apply_api_faults(carrier, "twilio")
    return carrier


def _basic_auth_ok(header: str, username: str, password: str) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Compare both halves even if the first differs, so timing says nothing.
    ok_user = hmac.compare_digest(user.encode(), username.encode())
    ok_secret = hmac.compare_digest(secret.encode(), password.encode())
    return ok_user and ok_secret


def rfc2822(value: datetime | None) -> str | None:
    """Twilio's date format: 'Thu, 03 Dec 2026 16:00:00 +0000'."""
    return format_datetime(value) if value is not None else None


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# --- resources -----------------------------------------------------------------------------


def message_resource(record: SmsRecord) -> dict[str, Any]:
    uri = f"/2010-04-01/Accounts/{record.account_sid}/Messages/{record.sid}"
    return {
        "account_sid": record.account_sid,
        "api_version": API_VERSION,
        "body": record.body,
        "date_created": rfc2822(record.date_created),
        "date_sent": rfc2822(record.date_sent),
        "date_updated": rfc2822(record.date_updated),
        "direction": record.direction,
        "error_code": record.error_code,
        "error_message": record.error_message,
        "from": record.from_,
        "messaging_service_sid": record.messaging_service_sid,
        "num_media": "0",
        "num_segments": "0" if record.messaging_service_sid else str(record.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": record.sid,
        "status": record.status,
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
        "to": record.to,
        "uri": f"{uri}.json",
    }


def number_resource(record: PhoneNumberRecord) -> dict[str, Any]:
    return {
        "account_sid": record.account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "date_created": rfc2822(record.date_created),
        "date_updated": rfc2822(record.date_updated),
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "friendly_name": record.friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": record.phone_number,
        "sid": record.sid,
        "sms_application_sid": None,
        "sms_fallback_method": record.sms_fallback_method,
        "sms_fallback_url": record.sms_fallback_url,
        "sms_method": record.sms_method,
        "sms_url": record.sms_url,
        "status_callback": record.status_callback,
        "status_callback_method": record.status_callback_method,
        "trunk_sid": None,
        "uri": f"/2010-04-01/Accounts/{record.account_sid}/IncomingPhoneNumbers/{record.sid}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": record.voice_fallback_method,
        "voice_fallback_url": record.voice_fallback_url,
        "voice_method": record.voice_method,
        "voice_url": record.voice_url,
        "voice_receive_mode": "voice",
        "bundle_sid": None,
        "status": "in-use",
        "type": "local",
    }


def list_page(
    request: Request,
    key: str,
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    filters: dict[str, str],
) -> dict[str, Any]:
    """Twilio's classic list page (page/page_size/..._page_uri), filters kept in the URIs."""
    try:
        page_size = max(1, min(1000, int(request.query_params.get("PageSize", "50"))))
        page = max(0, int(request.query_params.get("Page", "0")))
    except ValueError as exc:
        raise TwilioApiError(400, 20001, "Invalid paging parameter") from exc
    start = page * page_size
    chunk = items[start : start + page_size]
    path = request.url.path

    def page_uri(number: int) -> str:
        return f"{path}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

    has_next = start + page_size < len(items)
    return {
        key: [render(item) for item in chunk],
        "end": start + max(len(chunk), 1) - 1,
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": page_uri(page),
    }


# --- routes --------------------------------------------------------------------------------

router = APIRouter(prefix=PREFIX, tags=["twilio"])


@router.post("/Messages.json", status_code=201)
async def create_message(request: Request, carrier: Carrier = Depends(twilio_account)) -> Any:
    apply_send_faults(carrier, "twilio")
    form = await request.form()
    to = (_field(form, "To") or "").strip()
    from_ = (_field(form, "From") or "").strip() or None
    service_sid = (_field(form, "MessagingServiceSid") or "").strip() or None
    body = _field(form, "Body")
    if not E164.match(to):
        raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if from_ is None and service_sid is None:
        raise TwilioApiError(400, 21603, "A 'From' phone number is required.")
    if not body and not _field(form, "MediaUrl") and not _field(form, "ContentSid"):
        raise TwilioApiError(400, 21602, "Message body is required.")
    body = body or ""
    if len(body) > MAX_BODY:
        raise TwilioApiError(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    faults = carrier.store.current_faults()
    if to in faults.reject:
        code = faults.reject[to]
        raise TwilioApiError(400, code, f"Message to {to} rejected (sandbox fault {code}).")
    if carrier.config.opt_out_handling and carrier.store.is_blocked(from_, to):
        raise TwilioApiError(400, 21610, "Attempt to send to unsubscribed recipient")

    record = SmsRecord(
        sid=new_sid("SM"),
        account_sid=carrier.config.twilio_account_sid,
        from_=from_,
        to=to,
        body=body,
        direction="outbound-api",
        # Twilio: "accepted" when a Messaging Service picks the sender, else "queued".
        status="accepted" if service_sid and not from_ else "queued",
        num_segments=count_segments(body),
        seq=carrier.store.next_seq(),
        messaging_service_sid=service_sid,
        status_callback=(_field(form, "StatusCallback") or None),
    )
    carrier.store.add_sms(record)
    carrier.spawn(carrier.run_sms_lifecycle(record.sid, faults.undeliverable.get(to)))
    apply_lost_response(carrier, "twilio")
    return message_resource(record)


@router.get("/Messages.json")
async def list_messages(request: Request, carrier: Carrier = Depends(twilio_account)) -> Any:
    filters = {
        name: value
        for name in ("To", "From")
        if (value := request.query_params.get(name)) is not None
    }
    # DateSent (that UTC day), DateSent> (on or after) and DateSent< (on or before) take a
    # date or an ISO 8601 datetime, as twilio-python sends them; unsent messages never match.
    sent_filters: list[tuple[str, datetime]] = []
    for name in ("DateSent", "DateSent>", "DateSent<"):
        value = request.query_params.get(name)
        if value is not None:
            filters[name] = value
            sent_filters.append((name, _parse_date_param(name, value)))
    records = [
        r
        for r in carrier.store.list_sms()
        if ("To" not in filters or r.to == filters["To"])
        and ("From" not in filters or r.from_ == filters["From"])
        and all(_date_sent_matches(r.date_sent, op, at) for op, at in sent_filters)
    ]
    records.sort(key=lambda r: r.seq, reverse=True)  # Twilio lists newest first
    return list_page(request, "messages", records, message_resource, filters)


def _parse_date_param(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TwilioApiError(400, 20001, f"Invalid {name} value: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date_sent_matches(sent: datetime | None, op: str, at: datetime) -> bool:
    if sent is None:
        return False
    if op == "DateSent>":
        return sent >= at
    if op == "DateSent<":
        return sent <= at or (sent.date() == at.date() and at.time() == time.min)
    return sent.date() == at.date()


def _message_or_404(carrier: Carrier, request: Request, sid: str) -> SmsRecord:
    record = carrier.store.get_sms(sid)
    if record is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.url.path} was not found")
    return record


@router.get("/Messages/{sid}.json")
async def fetch_message(
    sid: str, request: Request, carrier: Carrier = Depends(twilio_account)
) -> Any:
    return message_resource(_message_or_404(carrier, request, sid))


@router.post("/Messages/{sid}.json")
async def update_message(
    sid: str, request: Request, carrier: Carrier = Depends(twilio_account)
) -> Any:
    # Twilio allows redacting the body (Body="") or canceling a scheduled message.
    record = _message_or_404(carrier, request, sid)
    form = await request.form()
    body = _field(form, "Body")
    if body is not None:
        if body != "":
            raise TwilioApiError(400, 20001, "Body can only be redacted by setting it to ''")
        carrier.store.update_sms(sid, body="")
    if _field(form, "Status") == "canceled":
        raise TwilioApiError(400, 30409, "Message is not scheduled and cannot be canceled")
    return message_resource(record)


@router.delete("/Messages/{sid}.json", status_code=204)
async def delete_message(
    sid: str, request: Request, carrier: Carrier = Depends(twilio_account)
) -> Response:
    _message_or_404(carrier, request, sid)
    with carrier.store.locked() as store:
        store.sms.pop(sid, None)
    return Response(status_code=204)


_NUMBER_FIELDS = {
    "FriendlyName": "friendly_name",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
}
_METHOD_FIELDS = {
    "SmsMethod",
    "SmsFallbackMethod",
    "VoiceMethod",
    "VoiceFallbackMethod",
    "StatusCallbackMethod",
}


def _number_changes(form: FormData) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for param, attr in _NUMBER_FIELDS.items():
        value = _field(form, param)
        if value is None:
            continue
        if param in _METHOD_FIELDS:
            value = value.upper()
            if value not in ("GET", "POST"):
                raise TwilioApiError(400, 21701, f"{param} must be GET or POST")
        # An empty URL clears it, as in Twilio.
        changes[attr] = value if value or param == "FriendlyName" else None
    return changes


def _format_friendly(number: str) -> str:
    if number.startswith("+1") and len(number) == 12:
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


@router.post("/IncomingPhoneNumbers.json", status_code=201)
async def create_number(request: Request, carrier: Carrier = Depends(twilio_account)) -> Any:
    form = await request.form()
    phone_number = (_field(form, "PhoneNumber") or "").strip()
    area_code = (_field(form, "AreaCode") or "").strip()
    if not phone_number and re.fullmatch(r"[2-9]\d\d", area_code):
        # Hand out the next free 555 number in that area code.
        for suffix in range(100, 10000):
            candidate = f"+1{area_code}555{suffix:04d}"
            if carrier.store.find_number(candidate) is None:
                phone_number = candidate
                break
    if not E164.match(phone_number):
        raise TwilioApiError(400, 21421, "PhoneNumber is invalid")
    if carrier.store.find_number(phone_number) is not None:
        raise TwilioApiError(
            400, 21422, f"PhoneNumber {phone_number} is not available (already provisioned)"
        )
    changes = _number_changes(form)
    record = PhoneNumberRecord(
        sid=new_sid("PN"),
        account_sid=carrier.config.twilio_account_sid,
        phone_number=phone_number,
        friendly_name=_format_friendly(phone_number),
    )
    for attr, value in changes.items():
        setattr(record, attr, value)
    record.friendly_name = record.friendly_name or _format_friendly(phone_number)
    carrier.store.add_number(record)
    return number_resource(record)


@router.get("/IncomingPhoneNumbers.json")
async def list_numbers(request: Request, carrier: Carrier = Depends(twilio_account)) -> Any:
    filters = {
        name: value
        for name in ("PhoneNumber", "FriendlyName")
        if (value := request.query_params.get(name)) is not None
    }
    records = [
        r
        for r in carrier.store.list_numbers()
        if ("PhoneNumber" not in filters or r.phone_number == filters["PhoneNumber"])
        and ("FriendlyName" not in filters or r.friendly_name == filters["FriendlyName"])
    ]
    return list_page(request, "incoming_phone_numbers", records, number_resource, filters)


def _number_or_404(carrier: Carrier, request: Request, sid: str) -> PhoneNumberRecord:
    record = carrier.store.get_number(sid)
    if record is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.url.path} was not found")
    return record


@router.get("/IncomingPhoneNumbers/{sid}.json")
async def fetch_number(
    sid: str, request: Request, carrier: Carrier = Depends(twilio_account)
) -> Any:
    return number_resource(_number_or_404(carrier, request, sid))


@router.post("/IncomingPhoneNumbers/{sid}.json")
async def update_number(
    sid: str, request: Request, carrier: Carrier = Depends(twilio_account)
) -> Any:
    record = _number_or_404(carrier, request, sid)
    changes = _number_changes(await request.form())
    with carrier.store.locked():
        for attr, value in changes.items():
            setattr(record, attr, value)
        record.date_updated = utcnow()
    return number_resource(record)


@router.delete("/IncomingPhoneNumbers/{sid}.json", status_code=204)
async def delete_number(
    sid: str, request: Request, carrier: Carrier = Depends(twilio_account)
) -> Response:
    _number_or_404(carrier, request, sid)
    carrier.store.remove_number(sid)
    return Response(status_code=204)
