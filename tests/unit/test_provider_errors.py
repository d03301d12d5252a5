"""Provider error classification, against the sandbox carrier over HTTP through the SDKs.

Retryable: 5xx, 429 (with Retry-After), timeouts and connection errors. Permanent: 21211,
21610, 21614 and any other 4xx, recorded with the code and a human message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dramtrade import providers
from dramtrade.config import Settings
from dramtrade.providers import PermanentSendError, RetryableSendError, recent_sms, send_email
from sandbox_carrier import CarrierConfig, create_app
from tests.support.servers import ServerThread, free_port

BUSINESS = "+15125550100"
CUSTOMER = "+15125550199"


@pytest.fixture(scope="module")
def carrier_url() -> Iterator[str]:
    with ServerThread(create_app(CarrierConfig(callback_delay_seconds=0.01))) as server:
        yield server.url


@pytest.fixture
def settings(carrier_url: str) -> Iterator[Settings]:
    httpx.delete(f"{carrier_url}/_carrier/state").raise_for_status()
    yield Settings(twilio_api_base_url=carrier_url, sendgrid_api_host=carrier_url)


def faults(settings: Settings, **body: Any) -> None:
    httpx.post(f"{settings.sendgrid_api_host}/_carrier/faults", json=body).raise_for_status()


def carried(settings: Settings, channel: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{settings.sendgrid_api_host}/_carrier/messages",
        params={"channel": channel, "direction": "outbound"},
    )
    rows: list[dict[str, Any]] = response.json()
    return rows


def sms(settings: Settings, to: str = CUSTOMER, body: str = "Your tech is on the way") -> str:
    return providers.send_sms(
        settings, from_=BUSINESS, to=to, body=body, status_callback="http://127.0.0.1:9/cb"
    ).sid


def email(settings: Settings, to: str = "dana@example.com") -> str:
    return send_email(
        settings,
        from_email="office@example.com",
        from_name="Office",
        to=to,
        subject="Booked",
        text="See you tomorrow",
        html=None,
        custom_args={"message_id": "m-1"},
    )


# --- permanent ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_twilio_refusals_are_permanent_with_code_and_human_message(
    settings: Settings, code: int
) -> None:
    faults(settings, reject={CUSTOMER: code})
    with pytest.raises(PermanentSendError) as caught:
        sms(settings)
    assert caught.value.code == str(code)
    assert str(caught.value) == providers.TWILIO_ERROR_MESSAGES[code]


def test_invalid_number_is_21211_from_the_carriers_own_validation(settings: Settings) -> None:
    with pytest.raises(PermanentSendError) as caught:
        sms(settings, to="not-a-number")
    assert caught.value.code == "21211"
    assert "not a valid phone number" in str(caught.value)


def test_other_4xx_is_permanent(settings: Settings) -> None:
    with pytest.raises(PermanentSendError) as caught:
        sms(settings, body="x" * 1601)
    assert caught.value.code == "21617"
    faults(settings, http_errors=[{"api": "sendgrid", "status": 403}])
    with pytest.raises(PermanentSendError) as mail:
        email(settings)
    assert mail.value.code == "403"
    assert carried(settings, "sms") == [] and carried(settings, "email") == []


# --- retryable ----------------------------------------------------------------------------


def test_5xx_is_retryable_on_both_providers(settings: Settings) -> None:
    faults(settings, error_rate=1.0, error_status=502)
    with pytest.raises(RetryableSendError) as twilio:
        sms(settings)
    assert twilio.value.code == "20502" and twilio.value.retry_after is None
    with pytest.raises(RetryableSendError) as sendgrid:
        email(settings)
    assert sendgrid.value.code == "502"
    assert carried(settings, "sms") == [] and carried(settings, "email") == []


def test_429_honours_retry_after_on_both_providers(settings: Settings) -> None:
    faults(
        settings,
        http_errors=[
            {"api": "twilio", "status": 429, "retry_after": 7},
            {"api": "sendgrid", "status": 429, "retry_after": 3},
        ],
    )
    with pytest.raises(RetryableSendError) as twilio:
        sms(settings)
    assert twilio.value.code == "20429" and twilio.value.retry_after == 7.0
    with pytest.raises(RetryableSendError) as sendgrid:
        email(settings)
    assert sendgrid.value.code == "429" and sendgrid.value.retry_after == 3.0
    # The headers of a failed call do not leak into the next one on this thread.
    faults(settings, error_rate=1.0)
    with pytest.raises(RetryableSendError) as plain:
        sms(settings)
    assert plain.value.retry_after is None


def test_rate_form_429(settings: Settings) -> None:
    faults(settings, rate_limit_rate=1.0, rate_limit_retry_after=2)
    with pytest.raises(RetryableSendError) as caught:
        sms(settings)
    assert caught.value.retry_after == 2.0


def test_outage_answers_503_with_the_seconds_left_then_ends(settings: Settings) -> None:
    faults(settings, outage_seconds=30)
    with pytest.raises(RetryableSendError) as caught:
        sms(settings)
    assert caught.value.code == "20503"
    assert caught.value.retry_after is not None and 29 <= caught.value.retry_after <= 30
    with pytest.raises(RetryableSendError):
        email(settings)
    with pytest.raises(RetryableSendError):  # lists too: the provider is down
        list(recent_sms(settings, from_=BUSINESS, to=CUSTOMER, created_after=datetime.now(UTC)))
    faults(settings, outage_seconds=0)
    assert sms(settings).startswith("SM")


def test_timeouts_are_retryable(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "PROVIDER_TIMEOUT_SECONDS", 0.3)
    providers._twilio_client.cache_clear()
    faults(settings, latency_seconds=1.0)
    try:
        with pytest.raises(RetryableSendError, match="Twilio unreachable"):
            sms(settings)
        with pytest.raises(RetryableSendError, match="SendGrid unreachable"):
            email(settings)
    finally:
        providers._twilio_client.cache_clear()


def test_connection_refused_is_retryable() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings(twilio_api_base_url=dead, sendgrid_api_host=dead)
    with pytest.raises(RetryableSendError, match="Twilio unreachable"):
        sms(settings)
    with pytest.raises(RetryableSendError, match="SendGrid unreachable"):
        email(settings)


# --- the lost response and the lookup that reconciles it ------------------------------------


def test_lost_response_is_retryable_and_the_message_is_found_by_listing(
    settings: Settings,
) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    sms(settings, to="+15125550111", body="other number")
    faults(settings, lost_response_rate=1.0)
    with pytest.raises(RetryableSendError):
        sms(settings, body="lost answer")
    [carried_sms] = [m for m in carried(settings, "sms") if m["to"] == CUSTOMER]
    found = list(recent_sms(settings, from_=BUSINESS, to=CUSTOMER, created_after=before))
    assert [(f.sid, f.body) for f in found] == [(carried_sms["provider_id"], "lost answer")]
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert list(recent_sms(settings, from_=BUSINESS, to=CUSTOMER, created_after=later)) == []


def test_list_filters_by_date_sent(settings: Settings) -> None:
    client = providers.twilio_client(settings)
    sid = sms(settings)
    now = datetime.now(UTC)
    # Not sent yet: no date_sent, so no date filter matches; sent: it does.
    for _ in range(100):
        if client.messages(sid).fetch().date_sent is not None:
            break
        httpx.get(f"{settings.sendgrid_api_host}/_carrier/health")
    after = client.messages.list(to=CUSTOMER, date_sent_after=now - timedelta(minutes=1))
    assert [m.sid for m in after] == [sid]
    assert client.messages.list(to=CUSTOMER, date_sent_after=now + timedelta(minutes=1)) == []
    assert client.messages.list(to=CUSTOMER, date_sent_before=now - timedelta(minutes=1)) == []


def test_seeded_rates_replay() -> None:
    # A carrier of its own: a late request left over from another test would draw from the
    # shared carrier's seeded generator and shift the sequence.
    with ServerThread(create_app(CarrierConfig(callback_delay_seconds=0.01))) as server:
        settings = Settings(twilio_api_base_url=server.url, sendgrid_api_host=server.url)
        first = _seeded_run(settings)
        assert 0 < sum(first) < 20
        assert _seeded_run(settings) == first


def _seeded_run(settings: Settings) -> list[bool]:
    faults(settings, seed=7, error_rate=0.5)
    outcomes = []
    for _ in range(20):
        try:
            sms(settings)
            outcomes.append(True)
        except RetryableSendError:
            outcomes.append(False)
    return outcomes
