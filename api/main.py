"""The FastAPI application: platform API v1, provider webhooks, (later) the staff UI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import ui, unsubscribe
from api.body_limit import BodySizeLimit
from api.v1 import (
    consent,
    conversations,
    customers,
    invoices,
    job_events,
    job_timeline,
    jobs,
    memberships,
    messages,
    notification_settings,
    sms,
    templates,
)
from api.webhooks import inbound_email
from api.webhooks import sendgrid as sendgrid_webhooks
from api.webhooks import twilio as twilio_webhooks
from dramtrade.config import Settings, get_settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Connected on first use (api.deps.get_temporal), so the API starts without Temporal.
        app.state.settings = settings
        app.state.temporal = None
        app.state.temporal_lock = asyncio.Lock()
        yield

    app = FastAPI(
        title="DramTrade Comms",
        version="1",
        description="Platform API and provider webhooks of DramTrade Comms.",
        lifespan=lifespan,
    )

    def body_limit(path: str) -> int:
        if path.startswith("/webhooks/email/inbound/"):
            # Emails with attachments are larger; that endpoint also caps what it streams.
            return max(settings.max_request_bytes, inbound_email.MAX_INBOUND_EMAIL_BYTES)
        return settings.max_request_bytes

    app.add_middleware(BodySizeLimit, limit_for=body_limit)

    v1 = (
        customers,
        consent,
        jobs,
        job_events,
        invoices,
        memberships,
        conversations,
        messages,
        templates,
        sms,
        notification_settings,
        job_timeline,
    )
    for module in v1:
        app.include_router(module.router, prefix="/v1")
    app.include_router(twilio_webhooks.router, prefix="/webhooks/twilio", tags=["webhooks"])
    app.include_router(sendgrid_webhooks.router, prefix="/webhooks/sendgrid", tags=["webhooks"])
    app.include_router(inbound_email.router, prefix="/webhooks/email", tags=["webhooks"])
    app.include_router(unsubscribe.router, tags=["email"])
    app.include_router(ui.router, prefix="/app", include_in_schema=False)
    app.mount("/static", StaticFiles(directory=settings.static_dir or STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


app = create_app()
