"""Signing against the official vectors, segment counts, the carrier's own endpoints, helpers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.rest import Client

from sandbox_carrier.segments import count_segments
from sandbox_carrier.signing import (
    SendGridSigner,
    generate_private_key_pem,
    sendgrid_event_body,
    twilio_signature,
)
from tests.support.protocol import PROTOCOL_DIR
from tests.support.servers import ServerThread, free_port

VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_twilio_signature_official_vectors() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]}
    assert twilio_signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert (
        twilio_signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS)
        == "kvajT1Ptam85bY51eRf/AJRuM3w="
    )


def test_sendgrid_body_layout_matches_official_multi_event_vector() -> None:
    """sendgrid-nodejs' multi-event vector (E-2): our serialization must verify byte for byte."""
    message_id = "qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0"
    smtp_id = "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>"
    reason = (
        "552 5.2.2 The email account that you tried to reach is over quota and inactive. "
        "Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm "
        "c17si1130468pgv.34 - gsmtp"
    )
    events: list[dict[str, Any]] = [
        {"email": "invalid@gmail.com", "event": "processed", "send_at": 0,
         "sg_event_id": "cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA",
         "sg_message_id": message_id, "smtp-id": smtp_id, "timestamp": 1619651146},
        {"email": "invalid@gmail.com", "event": "bounce", "ip": "167.89.101.76",
         "reason": reason,
         "sg_event_id": "Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w",
         "sg_message_id": message_id, "smtp-id": smtp_id, "status": "5.2.2",
         "timestamp": 1619651147, "tls": 1, "type": "blocked"},
    ]  # fmt: skip
    public_key = (
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/F"
        "fEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q=="
    )
    signature = (
        "MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03nREPTTHWSW0wIOA0EoMPdcNgX"
        "a70yCaqDJlu5"
    )
    body = sendgrid_event_body(events)
    assert EventWebhook(public_key).verify_signature(body, signature, "1619651159")
    # A "},{" inside a value is data, not an event boundary.
    assert sendgrid_event_body([{"a": "},{"}, {"b": 1}]) == '[{"a":"},{"},\r\n{"b":1}]\r\n'


def test_sendgrid_signer_round_trip_and_given_key() -> None:
    pem = generate_private_key_pem()
    signer = SendGridSigner(pem)
    assert SendGridSigner(pem).public_key_b64 == signer.public_key_b64  # key is honoured
    body = sendgrid_event_body([{"email": "a@b.example", "event": "processed"}])
    signature = signer.sign("1700000000", body)
    webhook = EventWebhook(signer.public_key_b64)
    assert webhook.verify_signature(body, signature, "1700000000")
    assert not webhook.verify_signature(body, signature, "1700000001")
    assert not webhook.verify_signature(body.rstrip(), signature, "1700000000")


def test_signer_rejects_other_curves() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(ValueError, match="P-256"):
        SendGridSigner(pem)


def test_segment_counts_match_twilio_calculator_cases() -> None:
    path = PROTOCOL_DIR / "segments_cases.json"
    # ../shared/protocol sits beside every checkout, CI's included: missing is a failure.
    assert path.exists(), f"protocol file missing: {path}"
    cases = json.loads(path.read_text())
    assert cases
    for case in cases:
        assert count_segments(case["text"]) == case["segments"], case["source"]


def test_health_page_and_faults(http: httpx.Client) -> None:
    assert http.get("/_carrier/health").json() == {"ok": True}

    page = http.get("/_carrier/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    needles = ['<label for="from"', '<label for="to"', '<label for="body"']
    needles += ["/_carrier/inbound/sms", "setInterval(refresh, 2000)"]
    for needle in needles:
        assert needle in text
    assert "http://" not in text and "https://" not in text  # no external assets
    assert "innerHTML" not in text

    assert http.post("/_carrier/faults", json={"undeliverabel": {}}).status_code == 422
    assert http.post("/_carrier/faults", json={"bounce": ["x@example.com"]}).json()["bounce"] == [
        "x@example.com"
    ]
    merged = http.post("/_carrier/faults", json={"reject": {"+15550001111": 21610}}).json()
    assert merged["bounce"] == ["x@example.com"] and merged["reject"] == {"+15550001111": 21610}
    assert http.get("/_carrier/faults").json() == merged
    cleared = http.delete("/_carrier/faults").json()
    assert cleared["bounce"] == [] and cleared["reject"] == {}


def test_phone_page_prefills_the_business_number(http: httpx.Client, twilio: Client) -> None:
    twilio.incoming_phone_numbers.create(phone_number="+15550100001")
    assert 'value="+15550100001"' in http.get("/_carrier/").text


def test_clear_messages_keeps_numbers(http: httpx.Client) -> None:
    http.post(
        "/_carrier/inbound/sms", json={"from": "+15550109999", "to": "+15550100001", "body": "x"}
    )
    assert len(http.get("/_carrier/messages").json()) == 1
    http.delete("/_carrier/messages").raise_for_status()
    assert http.get("/_carrier/messages").json() == []


def test_server_thread_serves_and_stops() -> None:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    with ServerThread(app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url + "/ping", trust_env=False).json() == {"pong": "yes"}
        port = server.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/ping", trust_env=False, timeout=1)
    assert 0 < free_port() < 65536
