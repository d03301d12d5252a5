"""Sandbox carrier: a local server speaking Twilio's and SendGrid's wire protocols.

The product reaches it through the official SDKs (only base URLs and credentials change);
it calls the product's webhooks back signed the way Twilio and SendGrid sign them.
"""

from sandbox_carrier.app import create_app
from sandbox_carrier.config import CarrierConfig

__all__ = ["CarrierConfig", "create_app"]
