"""One settings object for every process, read from environment variables.

Every variable is documented in the README; names are the field names upper-cased with the
``DRAMTRADE_`` prefix (``database_url`` -> ``DRAMTRADE_DATABASE_URL``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SANDBOX_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
SANDBOX_TWILIO_AUTH_TOKEN = "sandbox-auth-token"  # noqa: S105 - public sandbox credential
SANDBOX_SENDGRID_API_KEY = "SG.sandbox"

# Who confirms an SMS STOP/START: the provider's own auto-reply, or our app.
KeywordReplies = Literal["provider", "app"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRAMTRADE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    # Where the staff UI's static files are; None means the checkout's own static/ folder.
    static_dir: Path | None = None
    database_url: str = "sqlite:///var/dramtrade.db"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "dramtrade"
    temporal_ui_url: str = "http://127.0.0.1:8233"

    # The URL the providers use to reach our webhooks; signatures are computed over it, so
    # behind a proxy it must be the external URL, not the one uvicorn sees.
    public_base_url: str = "http://127.0.0.1:8000"
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    twilio_account_sid: str = SANDBOX_TWILIO_ACCOUNT_SID
    twilio_auth_token: SecretStr = SecretStr(SANDBOX_TWILIO_AUTH_TOKEN)
    # None talks to api.twilio.com; the sandbox carrier's URL in development and tests.
    twilio_api_base_url: str | None = "http://127.0.0.1:8100"

    sendgrid_api_key: SecretStr = SecretStr(SANDBOX_SENDGRID_API_KEY)
    sendgrid_api_host: str = "http://127.0.0.1:8100"
    # Base64 DER public key from SendGrid's signed event webhook settings.
    sendgrid_webhook_public_key: str | None = None
    sendgrid_webhook_max_age_seconds: int = 600

    carrier_host: str = "127.0.0.1"
    carrier_port: int = 8100

    @field_validator("twilio_api_base_url", "sendgrid_webhook_public_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # `DRAMTRADE_TWILIO_API_BASE_URL=` in an .env file means "the real service".
        return None if isinstance(value, str) and not value.strip() else value

    secret_key: SecretStr = Field(default=SecretStr("dev-only-secret-change-me"))
    max_request_bytes: int = 1_000_000

    # SendGrid Inbound Parse is unsigned: it posts to /webhooks/email/inbound/<this secret>.
    # None disables the endpoint (every request answers 404).
    inbound_email_secret: SecretStr | None = None
    # A larger inbound attachment is not stored; the message notes it instead.
    max_attachment_bytes: int = 10_000_000

    # Who confirms an inbound STOP or START (the customer must get exactly one confirmation).
    # "provider": Twilio answers them itself on a long code (and then refuses our own STOP
    # confirmation with 21610), so we record the consent change and send nothing. "app": we
    # send our own confirmations, for a sender whose provider does not auto-reply. HELP is
    # answered by us (business name and number) in both modes.
    sms_keyword_replies: KeywordReplies = "provider"


@lru_cache
def get_settings() -> Settings:
    return Settings()
