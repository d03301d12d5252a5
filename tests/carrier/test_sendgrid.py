"""Mail send through sendgrid-python, and the signed event webhook checked with its verifier."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError, HTTPError, UnauthorizedError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from sendgrid.helpers.mail import Category, CustomArg, Mail

from tests.carrier.conftest import SENDGRID_KEY, Hit, Receiver, carried, wait_for

SENDER = "office@acme-hvac.example"


def _mail(to: str | list[str], **custom_args: str) -> Mail:
    mail = Mail(
        from_email=SENDER,
        to_emails=to,
        subject="Your job is booked",
        plain_text_content="See you Tuesday.",
        html_content="<p>See you <b>Tuesday</b>.</p>",
    )
    for key, value in custom_args.items():
        mail.custom_arg = CustomArg(key, value)
    return mail


def _events(recv: Receiver, count: int) -> tuple[list[Hit], list[dict[str, Any]]]:
    def probe() -> tuple[list[Hit], list[dict[str, Any]]] | None:
        hits = recv.at("/sendgrid/events")
        events = [e for h in hits for e in json.loads(h.body)]
        return (hits, events) if len(events) >= count else None

    return wait_for(probe)


def _verify(hit: Hit, public_key: str) -> bool:
    webhook = EventWebhook()
    return bool(
        webhook.verify_signature(
            hit.body,
            hit.headers[EventWebhookHeader.SIGNATURE.lower()],
            hit.headers[EventWebhookHeader.TIMESTAMP.lower()],
            public_key=webhook.convert_public_key_to_ecdsa(public_key),
        )
    )


def test_send_gives_202_and_signed_events(
    carrier_url: str, http: httpx.Client, recv: Receiver
) -> None:
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=carrier_url)
    mail = _mail("jane@customer.example", job_id="J-42", email="spoofed@evil.example")
    mail.category = Category("job_booked")
    response = client.send(mail)
    assert response.status_code == 202
    assert response.body in (b"", "")
    message_id = response.headers["X-Message-Id"]
    assert len(message_id) == 22

    hits, events = _events(recv, 2)
    public_key = http.get("/_carrier/sendgrid/public-key").json()["public_key"]
    assert public_key.startswith("MFkw")
    for hit in hits:
        assert hit.body.endswith("\r\n")
        assert _verify(hit, public_key)
        assert not _verify(
            hit,
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4"
            "SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==",
        )
    assert [e["event"] for e in events] == ["processed", "delivered"]
    for event in events:
        assert event["email"] == "jane@customer.example"  # reserved key beat custom_args
        assert event["job_id"] == "J-42"  # custom_args flattened
        assert event["category"] == "job_booked"
        assert event["sg_message_id"] == f"{message_id}.filterdrecv-sandbox-0"
        assert isinstance(event["timestamp"], int)
        assert event["smtp-id"].startswith(f"<{message_id}@")
    assert len({e["sg_event_id"] for e in events}) == 2

    (row,) = carried(http, channel="email")
    assert row["provider_id"] == message_id
    assert (row["from"], row["to"], row["subject"]) == (
        SENDER,
        "jane@customer.example",
        "Your job is booked",
    )
    assert row["text"] == "See you Tuesday."
    assert row["html"] == "<p>See you <b>Tuesday</b>.</p>"
    assert row["status"] == "delivered"
    assert row["custom_args"]["job_id"] == "J-42"


def test_signed_settings_endpoint_matches(carrier_url: str, http: httpx.Client) -> None:
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=carrier_url)
    response = client.client.user.webhooks.event.settings.signed.get()
    assert response.status_code == 200
    ours = http.get("/_carrier/sendgrid/public-key").json()["public_key"]
    assert json.loads(response.body)["public_key"] == ours


def test_bounce_fault(carrier_url: str, http: httpx.Client, recv: Receiver) -> None:
    http.post("/_carrier/faults", json={"bounce": ["Gone@Customer.example"]}).raise_for_status()
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=carrier_url)
    response = client.send(_mail(["gone@customer.example", "ok@customer.example"]))
    assert response.status_code == 202
    _, events = _events(recv, 4)
    final = {e["email"]: e for e in events if e["event"] != "processed"}
    bounce = final["gone@customer.example"]
    assert (bounce["event"], bounce["type"], bounce["status"]) == ("bounce", "bounce", "5.1.1")
    assert bounce["reason"]
    assert final["ok@customer.example"]["event"] == "delivered"
    statuses = {r["to"]: r["status"] for r in carried(http, channel="email")}
    assert statuses == {"gone@customer.example": "bounce", "ok@customer.example": "delivered"}


def test_missing_or_wrong_key_gives_401(carrier_url: str, http: httpx.Client) -> None:
    with pytest.raises(UnauthorizedError) as info:
        SendGridAPIClient(api_key="SG.wrong", host=carrier_url).send(_mail("a@b.example"))
    assert info.value.status_code == 401
    body = json.loads(info.value.body)
    assert body["errors"][0]["field"] is None and body["errors"][0]["message"]
    assert http.post("/v3/mail/send", json={}).status_code == 401
    assert carried(http) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("personalizations"), "personalizations"),
        (lambda b: b["personalizations"][0].pop("to"), "personalizations.0.to"),
        (lambda b: b["personalizations"][0]["to"][0].update(email="nope"),
         "personalizations.0.to.0.email"),
        (lambda b: b.pop("from"), "from.email"),
        (lambda b: b.pop("subject"), "subject"),
        (lambda b: b.pop("content"), "content"),
        (lambda b: b["content"][0].update(value=""), "content.0.value"),
    ],
)  # fmt: skip
def test_send_validation_like_sendgrid(
    carrier_url: str, http: httpx.Client, change: Any, field: str
) -> None:
    body = _mail("jane@customer.example").get()
    change(body)
    with pytest.raises(BadRequestsError) as info:
        SendGridAPIClient(api_key=SENDGRID_KEY, host=carrier_url).client.mail.send.post(
            request_body=body
        )
    errors = json.loads(info.value.body)["errors"]
    assert field in [e["field"] for e in errors]
    assert all(set(e) == {"message", "field", "help"} for e in errors)
    assert carried(http) == []


def test_subject_per_personalization_is_enough(carrier_url: str, http: httpx.Client) -> None:
    body = _mail("jane@customer.example").get()
    body.pop("subject")
    body["personalizations"][0]["subject"] = "Per-recipient subject"
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=carrier_url)
    assert client.client.mail.send.post(request_body=body).status_code == 202
    assert carried(http)[0]["subject"] == "Per-recipient subject"


def test_sendgrid_http_error_faults(carrier_url: str, http: httpx.Client) -> None:
    faults = [
        {"api": "sendgrid", "status": 429, "retry_after": 1},
        {"api": "sendgrid", "status": 503, "after_accept": True},
    ]
    http.post("/_carrier/faults", json={"http_errors": faults}).raise_for_status()
    client = SendGridAPIClient(api_key=SENDGRID_KEY, host=carrier_url)
    with pytest.raises(HTTPError) as info:
        client.send(_mail("jane@customer.example"))
    assert info.value.status_code == 429
    assert info.value.headers["Retry-After"] == "1"
    assert carried(http) == []
    with pytest.raises(HTTPError) as info:
        client.send(_mail("jane@customer.example"))
    assert info.value.status_code == 503
    assert len(carried(http, channel="email")) == 1  # accepted although the answer was lost
    assert client.send(_mail("jane@customer.example")).status_code == 202
