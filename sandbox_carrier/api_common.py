"""What both provider APIs share: their error shapes, the runtime lookup, the API faults."""

from __future__ import annotations

import asyncio
import math
from typing import Literal

from fastapi import Request
from fastapi.responses import JSONResponse

from sandbox_carrier.world import Carrier

ErrorItem = tuple[str, str | None]  # SendGrid error: (message, field)


class TwilioApiError(Exception):
    """Rendered as Twilio's error body: {code, message, more_info, status}."""

    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class SendGridApiError(Exception):
    """Rendered as SendGrid's {"errors": [{"message", "field", "help"}]}."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        errors: list[ErrorItem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors: list[ErrorItem] = errors or [(message, None)]
        self.headers = headers or {}


def twilio_error_response(exc: TwilioApiError) -> JSONResponse:
    body = {
        "code": exc.code,
        "message": exc.message,
        "more_info": f"https://www.twilio.com/docs/errors/{exc.code}",
        "status": exc.status,
    }
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def sendgrid_error_response(exc: SendGridApiError) -> JSONResponse:
    body = {"errors": [{"message": m, "field": f, "help": None} for m, f in exc.errors]}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def carrier_of(request: Request) -> Carrier:
    carrier: Carrier = request.app.state.carrier
    return carrier


Provider = Literal["twilio", "sendgrid"]


async def apply_api_faults(carrier: Carrier, api: Provider) -> None:
    """Latency, the outage window and injected HTTP errors, for authenticated API calls."""
    faults = carrier.store.current_faults()
    if faults.latency_seconds:
        await asyncio.sleep(faults.latency_seconds)
    outage_left = carrier.store.outage_left()
    if outage_left > 0:
        raise provider_error(api, 503, retry_after=math.ceil(outage_left))
    raise_http_error_fault(carrier, api, after_accept=False)


def apply_send_faults(carrier: Carrier, api: Provider) -> None:
    """The rate forms, rolled once per send request before anything is accepted."""
    fault = carrier.store.roll_send_fault()
    if fault == "error":
        faults = carrier.store.current_faults()
        raise provider_error(api, faults.error_status, retry_after=faults.error_retry_after)
    if fault == "rate_limit":
        retry_after = carrier.store.current_faults().rate_limit_retry_after
        raise provider_error(api, 429, retry_after=retry_after)


def apply_lost_response(carrier: Carrier, api: Provider) -> None:
    """After the send was carried out: the response may still be lost (count or rate form)."""
    raise_http_error_fault(carrier, api, after_accept=True)
    if carrier.store.roll_lost_response():
        faults = carrier.store.current_faults()
        raise provider_error(api, faults.error_status, retry_after=faults.error_retry_after)


def raise_http_error_fault(carrier: Carrier, api: Provider, *, after_accept: bool) -> None:
    """Raise the provider-shaped error of the next matching HTTP error fault, if any."""
    fault = carrier.store.take_http_error(api, after_accept=after_accept)
    if fault is None:
        return
    raise provider_error(api, fault.status, retry_after=fault.retry_after)


def provider_error(
    api: Provider, status: int, *, retry_after: int | None = None
) -> TwilioApiError | SendGridApiError:
    """The error each provider answers for ``status`` (with Retry-After when given)."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if api == "twilio":
        # 20429 is Twilio's "Too Many Requests"; 20500/20503 its server-side errors.
        title = "Too Many Requests" if status == 429 else "Sandbox fault"
        return TwilioApiError(status, 20000 + status, title, headers)
    message = "too many requests" if status == 429 else "sandbox fault"
    return SendGridApiError(status, message, headers=headers)
