"""The carrier's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox_carrier import inspect, sendgrid_api, twilio_api
from sandbox_carrier.api_common import (
    SendGridApiError,
    TwilioApiError,
    sendgrid_error_response,
    twilio_error_response,
)
from sandbox_carrier.config import CarrierConfig
from sandbox_carrier.world import Carrier


def create_app(config: CarrierConfig | None = None) -> FastAPI:
    """Build a carrier; without a config, settings come from CARRIER_* env vars."""
    carrier = Carrier(config or CarrierConfig())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await carrier.start()
        try:
            yield
        finally:
            await carrier.stop()

    app = FastAPI(
        title="DramTrade sandbox carrier",
        description="Plays Twilio (2010-04-01) and SendGrid (v3) for development and tests.",
        lifespan=lifespan,
    )
    app.state.carrier = carrier

    async def on_twilio_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TwilioApiError)  # registered for this type only
        return twilio_error_response(exc)

    async def on_sendgrid_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SendGridApiError)
        return sendgrid_error_response(exc)

    app.add_exception_handler(TwilioApiError, on_twilio_error)
    app.add_exception_handler(SendGridApiError, on_sendgrid_error)
    app.include_router(twilio_api.router)
    app.include_router(sendgrid_api.router)
    app.include_router(inspect.router)
    return app
