"""What both provider APIs share: their error shapes, the runtime lookup, the API faults."""

from __future__ import annotations

import asyncio
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


async def apply_api_faults(carrier: Carrier, api: Literal["twilio", "sendgrid"]) -> None:
    """Latency and injected HTTP errors, applied to authenticated provider API calls."""
    faults = carrier.store.current_faults()
    if faults.latency_seconds:
        await asyncio.sleep(faults.latency_seconds)
    raise_http_error_fault(carrier, api, after_accept=False)


def raise_http_error_fault(
    carrier: Carrier, api: Literal["twilio", "sendgrid"], *, after_accept: bool
) -> None:
    """Raise the provider-shaped error of the next matching HTTP error fault, if any."""
    fault = carrier.store.take_http_error(api, after_accept=after_accept)
    if fault is None:
        return
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if api == "twilio":
        # 20429 is Twilio's "Too Many Requests"; 20500/20503 its server-side errors.
        title = "Too Many Requests" if fault.status == 429 else "Sandbox fault"
        raise TwilioApiError(fault.status, 20000 + fault.status, title, headers)
    message = "too many requests" if fault.status == 429 else "sandbox fault"
    raise SendGridApiError(fault.status, message, headers=headers)
