"""The carrier's own API under /_carrier: inspection, faults, the outside world, a phone page."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from sandbox_carrier.api_common import carrier_of
from sandbox_carrier.store import EmailRecord, Faults, SmsRecord
from sandbox_carrier.world import Carrier

E164_PATTERN = r"^\+[1-9]\d{6,14}$"

router = APIRouter(prefix="/_carrier", tags=["carrier"])


def _iso(value: datetime) -> str:
    return value.isoformat()


def sms_view(record: SmsRecord) -> dict[str, Any]:
    return {
        "channel": "sms",
        "direction": "inbound" if record.direction == "inbound" else "outbound",
        "from": record.from_,
        "to": record.to,
        "body": record.body,
        "subject": None,
        "text": None,
        "html": None,
        "status": record.status,
        "provider_id": record.sid,
        "error_code": record.error_code,
        "num_segments": record.num_segments,
        "custom_args": None,
        "categories": None,
        "created_at": _iso(record.date_created),
        "updated_at": _iso(record.date_updated),
    }


def email_view(record: EmailRecord) -> dict[str, Any]:
    return {
        "channel": "email",
        "direction": "outbound",
        "from": record.from_,
        "to": record.to,
        "body": None,
        "subject": record.subject,
        "text": record.text,
        "html": record.html,
        "status": record.status,
        "provider_id": record.message_id,
        "error_code": record.error_code,
        "num_segments": None,
        "custom_args": dict(record.custom_args),
        "categories": list(record.categories),
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
    }


@router.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@router.get("/messages")
async def list_carried(
    carrier: Carrier = Depends(carrier_of),
    channel: Literal["sms", "email"] | None = None,
    to: str | None = None,
    direction: Literal["inbound", "outbound"] | None = None,
) -> list[dict[str, Any]]:
    """Every SMS and email carried, oldest first (newest last)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    rows += [(r.seq, sms_view(r)) for r in carrier.store.list_sms()]
    rows += [(r.seq, email_view(r)) for r in carrier.store.list_emails()]
    rows.sort(key=lambda row: row[0])
    return [
        view
        for _, view in rows
        if (channel is None or view["channel"] == channel)
        and (to is None or view["to"] == to)
        and (direction is None or view["direction"] == direction)
    ]


@router.delete("/messages")
async def clear_carried(carrier: Carrier = Depends(carrier_of)) -> dict[str, bool]:
    """Forget all carried SMS and email and STOP blocks (numbers and faults stay)."""
    carrier.store.clear_traffic()
    return {"ok": True}


@router.delete("/state")
async def reset_state(carrier: Carrier = Depends(carrier_of)) -> dict[str, bool]:
    """Back to a fresh carrier: no traffic, no numbers, no faults."""
    carrier.store.reset()
    return {"ok": True}


@router.get("/numbers")
async def list_numbers(carrier: Carrier = Depends(carrier_of)) -> list[dict[str, Any]]:
    return [
        {
            "sid": n.sid,
            "phone_number": n.phone_number,
            "friendly_name": n.friendly_name,
            "sms_url": n.sms_url,
            "sms_method": n.sms_method,
            "voice_url": n.voice_url,
        }
        for n in carrier.store.list_numbers()
    ]


@router.get("/faults")
async def get_faults(carrier: Carrier = Depends(carrier_of)) -> Faults:
    return carrier.store.current_faults()


@router.post("/faults")
async def add_faults(update: Faults, carrier: Carrier = Depends(carrier_of)) -> Faults:
    """Add faults on top of the current ones; answers the resulting set."""
    return carrier.store.add_faults(update)


@router.delete("/faults")
async def clear_faults(carrier: Carrier = Depends(carrier_of)) -> Faults:
    carrier.store.clear_faults()
    return carrier.store.current_faults()


@router.get("/sendgrid/public-key")
async def sendgrid_public_key(carrier: Carrier = Depends(carrier_of)) -> dict[str, str]:
    return {"public_key": carrier.signer.public_key_b64}


class InboundSms(BaseModel):
    """A customer's handset sends a text to one of the hosted numbers."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: str = Field(alias="from", pattern=E164_PATTERN)
    to: str = Field(pattern=E164_PATTERN)
    body: str = Field(max_length=1600)


class InboundSmsResult(BaseModel):
    sid: str
    webhook_url: str | None
    webhook_status: int | None
    webhook_response: str | None
    webhook_attempts: int


@router.post("/inbound/sms")
async def inbound_sms(
    message: InboundSms, carrier: Carrier = Depends(carrier_of)
) -> InboundSmsResult:
    """Deliver the webhook before answering, so the caller sees whether the product took it."""
    record, result = await carrier.receive_sms(message.from_, message.to, message.body)
    return InboundSmsResult(
        sid=record.sid,
        webhook_url=result.url if result else None,
        webhook_status=result.status if result else None,
        webhook_response=result.text if result else None,
        webhook_attempts=result.attempts if result else 0,
    )


@router.get("/", response_class=HTMLResponse)
async def phone_page(request: Request, carrier: Carrier = Depends(carrier_of)) -> HTMLResponse:
    numbers = carrier.store.list_numbers()
    default_to = numbers[0].phone_number if numbers else ""
    page = PHONE_PAGE.replace("{{DEFAULT_TO}}", html.escape(default_to, quote=True))
    return HTMLResponse(page)


# Self-contained: no external assets. Dynamic text goes in with textContent, never innerHTML.
PHONE_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox carrier - customer phone</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111827; }
  main { max-width: 760px; margin: 0 auto; padding: 1.5rem; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  form, section { background: #fff; border-radius: 10px; padding: 1rem;
                  box-shadow: 0 1px 3px rgba(0,0,0,.1); margin-bottom: 1rem; }
  .row { display: flex; gap: .75rem; flex-wrap: wrap; }
  .row > div { flex: 1 1 12rem; }
  label { display: block; font-weight: 600; font-size: .85rem; margin: .5rem 0 .25rem; }
  input, textarea { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit;
                    border: 1px solid #d1d5db; border-radius: 6px; }
  button { margin-top: .75rem; padding: .5rem 1.25rem; font: inherit; border: 0;
           border-radius: 6px; background: #2563eb; color: #fff; cursor: pointer; }
  button:focus-visible, input:focus-visible, textarea:focus-visible {
           outline: 3px solid #93c5fd; }
  #result { margin-left: .75rem; font-size: .9rem; }
  ul { list-style: none; padding: 0; margin: 0; }
  li { border-bottom: 1px solid #e5e7eb; padding: .5rem 0; }
  .meta { font-size: .8rem; color: #4b5563; }
  .inbound { border-left: 4px solid #16a34a; padding-left: .5rem; }
  .outbound { border-left: 4px solid #2563eb; padding-left: .5rem; }
  .text { white-space: pre-wrap; word-break: break-word; }
</style>
</head>
<body>
<main>
  <h1>Sandbox carrier: a customer's phone</h1>
  <form id="send" autocomplete="off">
    <div class="row">
      <div><label for="from">From (customer)</label>
        <input id="from" name="from" required placeholder="+15551234567" value="+15005550006"></div>
      <div><label for="to">To (business number)</label>
        <input id="to" name="to" required placeholder="+15557654321" value="{{DEFAULT_TO}}"></div>
    </div>
    <label for="body">Body</label>
    <textarea id="body" name="body" rows="3" maxlength="1600" required></textarea>
    <button type="submit">Send</button><span id="result" role="status"></span>
  </form>
  <section aria-labelledby="recent-title">
    <h2 id="recent-title" style="font-size:1.05rem;margin-top:0">Recent messages</h2>
    <ul id="messages"></ul>
  </section>
</main>
<script>
"use strict";
const form = document.getElementById("send");
const result = document.getElementById("result");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.textContent = "sending...";
  const payload = {
    from: form.elements.from.value.trim(),
    to: form.elements.to.value.trim(),
    body: form.elements.body.value,
  };
  try {
    const response = await fetch("/_carrier/inbound/sms", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(payload),
    });
    const data = await response.json();
    if (!response.ok) {
      result.textContent = "rejected: " + JSON.stringify(data.detail || data);
    } else if (data.webhook_url === null) {
      result.textContent = "sent (no SmsUrl for that number)";
    } else {
      result.textContent = "sent; webhook answered " + data.webhook_status;
      form.elements.body.value = "";
    }
  } catch (err) {
    result.textContent = "error: " + err;
  }
  refresh();
});

function line(cls, text) {
  const div = document.createElement("div");
  div.className = cls;
  div.textContent = text;
  return div;
}

async function refresh() {
  try {
    const response = await fetch("/_carrier/messages");
    const rows = await response.json();
    const list = document.getElementById("messages");
    const items = rows.slice(-50).reverse().map((m) => {
      const li = document.createElement("li");
      li.className = m.direction;
      li.appendChild(line("meta", [m.channel, m.direction, m.from, "\\u2192", m.to,
        m.status + (m.error_code ? " (" + m.error_code + ")" : ""), m.created_at].join(" ")));
      const text = m.channel === "sms" ? m.body : m.subject + "\\n" + (m.text || "");
      li.appendChild(line("text", text));
      return li;
    });
    list.replaceChildren(...items);
  } catch (err) {
    /* the carrier may be restarting; try again on the next tick */
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""
