"""Opt-outs win, end to end: a customer texts STOP through the carrier while a stream of
automated messages is on its way; nothing but the one confirmation may reach that number after
the STOP, and the messages held back are recorded as suppressed.

The carrier plays Twilio on a long code (and the app runs with the default
``sms_keyword_replies="provider"``): the carrier blocks the pair and sends Twilio's own
confirmation, so the app records the opt-out and sends none of its own."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime

import httpx
from sqlalchemy import select

from dramtrade import consent
from dramtrade.db import session_scope
from dramtrade.models import ConsentEvent, Message, SmsConsent
from tests.conftest import Tenant
from tests.e2e.conftest import Stack, tomorrow_at
from tests.e2e.test_job_booked_flow import eventually, unique_phone

JOBS_BEFORE_STOP_IS_SENT = 8
JOBS_AFTER_STOP = 4

TWILIO_STOP_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)


def _customer(api: httpx.Client, phone: str, email: str) -> str:
    response = api.post(
        "/v1/customers",
        json={
            "first_name": "Dana",
            "last_name": "Whitfield",
            "phones": [{"number": phone}],
            "emails": [{"email": email}],
            "timezone": "America/Chicago",
        },
    )
    assert response.status_code == 201, response.text
    customer_id: str = response.json()["id"]
    return customer_id


def _job(api: httpx.Client, customer_id: str, hour: int) -> str:
    start = tomorrow_at(hour)
    response = api.post(
        "/v1/jobs",
        json={
            "customer_id": customer_id,
            "job_type": "AC tune-up",
            "scheduled_start": start.isoformat(),
            "scheduled_end": start.replace(hour=hour + 1).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def _at(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _sms_rows(tenant: Tenant, phone: str) -> list[Message]:
    with session_scope() as session:
        rows = session.scalars(
            select(Message)
            .where(
                Message.sub_account_id == tenant.sub_account_id,
                Message.channel == "sms",
                Message.direction == "outbound",
                Message.to_addr == phone,
            )
            .order_by(Message.created_at)
        ).all()
        session.expunge_all()
        return list(rows)


def test_stop_in_the_middle_of_a_stream_of_automated_messages(
    stack: Stack, live_tenant: Tenant
) -> None:
    phone = unique_phone()
    email = f"dana.{uuid.uuid4().hex[:8]}@example.com"
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=15)
    customer_id = _customer(api, phone, email)
    total = JOBS_BEFORE_STOP_IS_SENT + JOBS_AFTER_STOP
    jobs = [_job(api, customer_id, 8 + i % 10) for i in range(total)]

    stop_answered = threading.Event()
    errors: list[str] = []

    def stream() -> None:
        # Books every job one after another, so messages are in flight while STOP arrives;
        # the last few are booked only after the STOP webhook was answered.
        with httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=15) as c:
            for index, job_id in enumerate(jobs):
                if index == JOBS_BEFORE_STOP_IS_SENT:
                    stop_answered.wait(timeout=60)
                response = c.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
                if response.status_code != 202:
                    errors.append(response.text)
                time.sleep(0.1)

    streamer = threading.Thread(target=stream, name="stream", daemon=True)
    streamer.start()

    # Some of the stream has reached the phone: now the customer texts STOP.
    eventually(
        lambda: len(stack.carrier_messages(channel="sms", to=phone, direction="outbound")) >= 3,
        timeout=30,
    )
    stop = httpx.post(
        f"{stack.carrier_url}/_carrier/inbound/sms",
        json={"from": phone, "to": live_tenant.phone_number, "body": "Stop"},
        timeout=30,
    )
    assert stop.status_code in (200, 201), stop.text
    assert stop.json()["webhook_status"] == 200, stop.json()
    stop_answered.set()
    streamer.join(timeout=60)
    assert not streamer.is_alive() and errors == []

    # Every booking wrote its SMS row, and every row has left "pending".
    def settled() -> list[Message] | None:
        rows = [r for r in _sms_rows(live_tenant, phone) if r.source == "notification"]
        done = len(rows) == total and all(r.status != "pending" for r in rows)
        return rows if done else None

    rows = eventually(settled, timeout=60)

    with session_scope() as session:
        record = session.scalars(
            select(SmsConsent).where(
                SmsConsent.sub_account_id == live_tenant.sub_account_id, SmsConsent.e164 == phone
            )
        ).one()
        stopped_at = record.changed_at
        assert record.opted_out
        assert consent.sms_opted_out(session, live_tenant.sub_account_id, phone)
        trail = session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.sub_account_id == live_tenant.sub_account_id,
                ConsentEvent.address == phone,
            )
        ).all()
        # The carrier blocks the pair as the STOP arrives, before its webhook reaches us: a
        # send in flight at that moment is refused with 21610, which may record the opt-out
        # (and set changed_at) a moment before the STOP itself does.
        keyword = [e for e in trail if e.detail == "STOP"]
        assert len(keyword) == 1 and keyword[0].action == "opt_out"
        assert {(e.action, e.detail) for e in trail} <= {
            ("opt_out", "STOP"),
            ("opt_out", "provider error 21610"),
        }
        inbound = session.get_one(Message, keyword[0].message_id)
        assert (inbound.direction, inbound.body) == ("inbound", "Stop")

    # The provider confirms the STOP; we write no confirmation of our own (it would be a
    # second one, and the carrier would refuse it with 21610 anyway).
    assert [r for r in _sms_rows(live_tenant, phone) if r.source == "compliance"] == []

    # The wire, in the carrier's order: after the inbound STOP, exactly one message reached
    # the number, the carrier's (Twilio's) confirmation, and nothing else.
    wire = [
        m
        for m in stack.carrier_messages(channel="sms")
        if (m["direction"], m["from"]) == ("inbound", phone)
        or (m["direction"], m["to"]) == ("outbound", phone)
    ]
    [stop_at] = [i for i, m in enumerate(wire) if m["direction"] == "inbound"]
    assert wire[stop_at]["provider_id"] == stop.json()["sid"] == inbound.provider_id
    after = wire[stop_at + 1 :]
    assert [(m["from"], m["body"], m["status"]) for m in after] == [
        (live_tenant.phone_number, TWILIO_STOP_REPLY, "delivered")
    ], after
    assert len(wire[:stop_at]) >= 3

    # Our own send-time check held back every row written after the STOP: suppressed with a
    # reason, never offered to the carrier (which would have answered 21610 instead).
    later = [r for r in rows if r.created_at > stopped_at]
    assert len(later) >= JOBS_AFTER_STOP
    assert {(r.status, r.error_message) for r in later} == {
        ("suppressed", "recipient opted out of SMS")
    }
    assert all(r.provider_id is None and r.attempts == 0 for r in later)
    # A row already in flight when STOP landed is either on the wire before it or refused.
    for row in rows:
        assert row.status in ("suppressed", "queued", "sent", "delivered", "failed"), row.status
        if row.status == "failed":
            assert row.error_code == "21610"

    # SMS opt-out leaves email alone: every booking's email went out.
    mails = eventually(
        lambda: (m := stack.carrier_messages(channel="email", to=email)) and len(m) == total and m,
        timeout=30,
    )
    assert isinstance(mails, list) and len(mails) == total

    # The customer resource shows it.
    shown = api.get(f"/v1/customers/{customer_id}").json()
    assert shown["sms_opted_out"] is True
    assert _at(shown["sms_opted_out_at"]) == stopped_at


def test_a_21610_refusal_opts_the_number_out(stack: Stack, live_tenant: Tenant) -> None:
    """The carrier refuses the number with 21610 (opted out at the provider, not with us):
    the send is a clear failure and later automated SMS are suppressed by our own check."""
    phone = unique_phone()
    api = httpx.Client(base_url=stack.api_url, headers=live_tenant.headers, timeout=15)
    customer_id = _customer(api, phone, f"{uuid.uuid4().hex[:8]}@example.com")
    first, second = _job(api, customer_id, 9), _job(api, customer_id, 13)
    fault = httpx.post(f"{stack.carrier_url}/_carrier/faults", json={"reject": {phone: 21610}})
    assert fault.status_code == 200, fault.text

    assert api.post(f"/v1/jobs/{first}/events", json={"type": "job_booked"}).status_code == 202
    refused = eventually(
        lambda: [r for r in _sms_rows(live_tenant, phone) if r.status == "failed"], timeout=30
    )
    assert (refused[0].error_code, refused[0].status) == ("21610", "failed")
    assert "opted out" in (refused[0].error_message or "")
    with session_scope() as session:
        assert consent.sms_opted_out(session, live_tenant.sub_account_id, phone)

    assert api.post(f"/v1/jobs/{second}/events", json={"type": "job_booked"}).status_code == 202

    def second_row() -> Message | None:
        rows = [r for r in _sms_rows(live_tenant, phone) if r.id != refused[0].id]
        return rows[0] if rows and rows[0].status != "pending" else None

    held = eventually(second_row, timeout=30)
    assert (held.status, held.error_message) == ("suppressed", "recipient opted out of SMS")
    assert stack.carrier_messages(channel="sms", to=phone, direction="outbound") == []
    shown = api.get(f"/v1/customers/{customer_id}").json()
    assert shown["sms_opted_out"] is True
