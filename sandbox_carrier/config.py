"""Settings of the sandbox carrier (env vars prefixed ``CARRIER_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# A valid-looking Account SID: the SDKs and the OpenAPI schema expect ^AC[0-9a-f]{32}$.
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32


class CarrierConfig(BaseSettings):
    """Credentials the carrier accepts and where it calls the product back."""

    model_config = SettingsConfigDict(env_prefix="CARRIER_", extra="ignore")

    twilio_account_sid: str = Field(default=DEFAULT_ACCOUNT_SID, pattern=r"^AC[0-9a-fA-F]{32}$")
    twilio_auth_token: str = "sandbox-auth-token"  # noqa: S105 - dev default, not a secret
    sendgrid_api_key: str = "SG.sandbox"
    # PEM of a P-256 private key for signing event webhooks; generated at startup when None.
    sendgrid_private_key_pem: str | None = None
    sendgrid_event_webhook_url: str | None = None
    # Inbound SMS go here when the `to` number has no SmsUrl of its own.
    default_sms_url: str | None = None
    callback_delay_seconds: float = Field(default=0.05, ge=0)
    webhook_retries: int = Field(default=3, ge=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Real Twilio blocks a sender/recipient pair after the recipient texts STOP (error 21610).
    opt_out_handling: bool = True
