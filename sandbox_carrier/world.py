"""The world outside the product: handsets, inboxes, and the webhooks they cause.

``Carrier`` is the runtime shared by all routes: config, store, signer, one HTTP client for
webhooks, and the background tasks that move messages through their statuses.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from sandbox_carrier.config import CarrierConfig
from sandbox_carrier.segments import count_segments
from sandbox_carrier.signing import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    SendGridSigner,
    sendgrid_event_body,
    twilio_signature,
)
from sandbox_carrier.store import CarrierStore, EmailRecord, SmsRecord, new_sid, utcnow

log = logging.getLogger("sandbox_carrier")

API_VERSION = "2010-04-01"

# Default keywords Twilio acts on for long codes (twilio_messaging.md section 5).
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

# Twilio's default auto-replies to those keywords on a long code (twilio_messaging.md section 5).
OPT_OUT_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
OPT_IN_REPLY = (
    "You have successfully been resubscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
HELP_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."

CARRIER_ERROR_MESSAGES: dict[int, str] = {
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}


@dataclass(frozen=True)
class WebhookResult:
    url: str
    status: int | None  # last HTTP status, None if no answer at all
    text: str
    attempts: int


def _country_of(number: str) -> str:
    # Only what we can tell from the prefix; Twilio sends "" for unknown geo fields too.
    return "US" if number.startswith("+1") else ""


class Carrier:
    """Shared runtime of one carrier app."""

    def __init__(self, config: CarrierConfig) -> None:
        self.config = config
        self.store = CarrierStore()
        self.signer = SendGridSigner(config.sendgrid_private_key_pem)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        # trust_env=False: webhooks go to the exact URL given, never through a proxy from env.
        self._client = httpx.AsyncClient(
            timeout=self.config.webhook_timeout_seconds, trust_env=False, follow_redirects=False
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:  # app used without its lifespan (should not happen)
            self._client = httpx.AsyncClient(
                timeout=self.config.webhook_timeout_seconds, trust_env=False
            )
        return self._client

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background; keep a reference so it is not garbage-collected."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # --- webhook delivery ------------------------------------------------------------------

    async def deliver(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WebhookResult:
        """Send one webhook; retry connection errors and 5xx with a short backoff."""
        attempts = 1 + self.config.webhook_retries
        status: int | None = None
        text = ""
        for attempt in range(1, attempts + 1):
            try:
                response = await self.client.request(
                    method, url, content=content, headers=dict(headers or {})
                )
            except httpx.HTTPError as exc:
                status, text = None, f"{type(exc).__name__}: {exc}"
            else:
                status, text = response.status_code, response.text
                if status < 500:
                    return WebhookResult(url, status, text, attempt)
            if attempt < attempts:
                await asyncio.sleep(min(0.05 * 2 ** (attempt - 1), 1.0))
        log.warning("webhook %s %s gave up after %d attempts: %s", method, url, attempts, text)
        return WebhookResult(url, status, text, attempts)

    async def deliver_twilio(
        self, url: str, params: Mapping[str, str], method: str = "POST"
    ) -> WebhookResult:
        """A Twilio-signed webhook: form body for POST, query string for GET."""
        token = self.config.twilio_auth_token
        if method.upper() == "GET":
            parts = urlsplit(url)
            query = "&".join(q for q in (parts.query, urlencode(params)) if q)
            full_url = urlunsplit(parts._replace(query=query))
            headers = {TWILIO_SIGNATURE_HEADER: twilio_signature(token, full_url)}
            return await self.deliver("GET", full_url, headers=headers)
        headers = {
            TWILIO_SIGNATURE_HEADER: twilio_signature(token, url, params),
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        }
        return await self.deliver("POST", url, content=urlencode(params).encode(), headers=headers)

    async def deliver_sendgrid_events(self, events: list[dict[str, Any]]) -> WebhookResult | None:
        url = self.config.sendgrid_event_webhook_url
        if not url or not events:
            return None
        body = sendgrid_event_body(events)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SendGrid Event API",
            SENDGRID_SIGNATURE_HEADER: self.signer.sign(timestamp, body),
            SENDGRID_TIMESTAMP_HEADER: timestamp,
        }
        return await self.deliver("POST", url, content=body.encode(), headers=headers)

    # --- outbound SMS lifecycle ------------------------------------------------------------

    def status_callback_params(self, record: SmsRecord) -> dict[str, str]:
        params = {
            "MessageSid": record.sid,
            "SmsSid": record.sid,
            "MessageStatus": record.status,
            "SmsStatus": record.status,
            "AccountSid": record.account_sid,
            "From": record.from_ or "",
            "To": record.to,
            "ApiVersion": API_VERSION,
        }
        if record.messaging_service_sid:
            params["MessagingServiceSid"] = record.messaging_service_sid
        if record.error_code is not None:
            params["ErrorCode"] = str(record.error_code)
        return params

    def callback_delay(self) -> float:
        """Seconds before each status callback / event batch (a fault may slow them down)."""
        delay = self.store.current_faults().callback_delay_seconds
        return self.config.callback_delay_seconds if delay is None else delay

    async def run_sms_lifecycle(self, sid: str, error_code: int | None) -> None:
        """queued -> sent -> delivered | undelivered, one signed callback per step, in order.

        Steps run one after another in a single task, so callbacks never overtake each other.
        Twilio sends no callback for the initial status, and neither do we.
        """
        record = self.store.get_sms(sid)
        if record is None:
            return
        steps: list[tuple[str, int | None]] = []
        if record.status == "accepted":  # Messaging Service sends pass through queued
            steps.append(("queued", None))
        steps.append(("sent", None))
        steps.append(("undelivered", error_code) if error_code else ("delivered", None))
        for status, code in steps:
            await asyncio.sleep(self.callback_delay())
            changes: dict[str, Any] = {"status": status}
            if status == "sent":
                changes["date_sent"] = utcnow()
            if code is not None:
                changes["error_code"] = code
                changes["error_message"] = CARRIER_ERROR_MESSAGES.get(code, "Carrier error")
            updated = self.store.update_sms(sid, **changes)
            if updated is None:  # cleared by the inspection API meanwhile
                return
            if updated.status_callback:
                await self.deliver_twilio(
                    updated.status_callback, self.status_callback_params(updated)
                )

    # --- inbound SMS -----------------------------------------------------------------------

    async def receive_sms(
        self, from_: str, to: str, body: str
    ) -> tuple[SmsRecord, WebhookResult | None]:
        """A customer's handset texts ``to``: record it, then call the number's SmsUrl now."""
        record = SmsRecord(
            sid=new_sid("SM"),
            account_sid=self.config.twilio_account_sid,
            from_=from_,
            to=to,
            body=body,
            direction="inbound",
            status="received",
            num_segments=count_segments(body),
            seq=self.store.next_seq(),
            date_sent=utcnow(),
        )
        self.store.add_sms(record)
        if self.config.opt_out_handling:
            self.handle_keyword(from_, to, body)

        number = self.store.find_number(to)
        url = (number.sms_url if number else None) or self.config.default_sms_url
        if not url:
            return record, None
        method = number.sms_method if number and number.sms_url else "POST"
        params = {
            "ToCountry": _country_of(to),
            "ToState": "",
            "SmsMessageSid": record.sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": record.sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": _country_of(from_),
            "To": to,
            "ToZip": "",
            "NumSegments": str(record.num_segments),
            "MessageSid": record.sid,
            "AccountSid": record.account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
        return record, await self.deliver_twilio(url, params, method)

    def handle_keyword(self, customer: str, business: str, body: str) -> SmsRecord | None:
        """Twilio's own keyword handling on a long code: STOP blocks the pair, START lifts the
        block, and each of STOP, START and HELP gets Twilio's default auto-reply, carried like
        any SMS (direction ``outbound-reply``, delivered at once, no status callback). The
        inbound message is still forwarded to the webhook by the caller, as Twilio does."""
        keyword = body.strip().upper()  # a single word only: "STOP PLEASE" is a message
        if keyword in OPT_OUT_KEYWORDS:
            self.store.block(business, customer)
            reply = OPT_OUT_REPLY
        elif keyword in OPT_IN_KEYWORDS:
            self.store.unblock(business, customer)
            reply = OPT_IN_REPLY
        elif keyword in HELP_KEYWORDS:
            reply = HELP_REPLY
        else:
            return None
        now = utcnow()
        record = SmsRecord(
            sid=new_sid("SM"),
            account_sid=self.config.twilio_account_sid,
            from_=business,
            to=customer,
            body=reply,
            direction="outbound-reply",
            status="delivered",
            num_segments=count_segments(reply),
            seq=self.store.next_seq(),
            date_created=now,
            date_updated=now,
            date_sent=now,
        )
        self.store.add_sms(record)
        return record

    # --- email events ----------------------------------------------------------------------

    def _email_event(self, record: EmailRecord, event: str, **extra: Any) -> dict[str, Any]:
        # custom_args first so that SendGrid's reserved keys win on a name clash.
        data: dict[str, Any] = dict(record.custom_args)
        if record.categories:
            data["category"] = (
                record.categories[0] if len(record.categories) == 1 else list(record.categories)
            )
        data.update(
            {
                "email": record.to,
                "event": event,
                "timestamp": int(time.time()),
                "sg_event_id": secrets.token_urlsafe(32).rstrip("="),
                "sg_message_id": f"{record.message_id}.filterdrecv-sandbox-0",
                "smtp-id": f"<{record.message_id}@ismtpd0001p1sandbox.sendgrid.net>",
            }
        )
        data.update(extra)
        return data

    async def run_email_events(self, records: list[EmailRecord], bounce: set[str]) -> None:
        """processed for every recipient, then delivered or bounce, as two signed batches."""
        generation = self.store.generation
        await asyncio.sleep(self.callback_delay())
        if self.store.generation != generation:  # traffic was cleared meanwhile
            return
        await self.deliver_sendgrid_events([self._email_event(r, "processed") for r in records])
        await asyncio.sleep(self.callback_delay())
        if self.store.generation != generation:
            return
        final: list[dict[str, Any]] = []
        for record in records:
            if record.to.lower() in bounce:
                self.store.update_email(record, "bounce", "5.1.1")
                final.append(
                    self._email_event(
                        record,
                        "bounce",
                        type="bounce",
                        status="5.1.1",
                        reason=(
                            "550 5.1.1 The email account that you tried to reach does not exist."
                        ),
                        bounce_classification="Invalid Address",
                        tls=1,
                    )
                )
            else:
                self.store.update_email(record, "delivered")
                final.append(
                    self._email_event(
                        record,
                        "delivered",
                        response="250 2.0.0 OK sandbox " + uuid.uuid4().hex[:12],
                        ip="127.0.0.1",
                        tls=1,
                    )
                )
        await self.deliver_sendgrid_events(final)
