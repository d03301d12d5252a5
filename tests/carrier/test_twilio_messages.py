"""Messages through twilio-python against the carrier, callbacks checked with Twilio's validator."""

from __future__ import annotations

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.carrier.conftest import ACCOUNT_SID, AUTH_TOKEN, Receiver, carried, wait_hits

BUSINESS = "+15550100001"
CUSTOMER = "+15550109999"


def test_create_sms_is_queued_and_carried(twilio: Client, http: httpx.Client) -> None:
    message = twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="Your tech is en route")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.account_sid == ACCOUNT_SID
    assert message.num_segments == "1"
    assert message.date_created is not None  # parsed from RFC 2822 by the SDK

    rows = carried(http, channel="sms")
    assert len(rows) == 1
    row = rows[0]
    assert row["provider_id"] == message.sid
    assert (row["from"], row["to"], row["body"]) == (BUSINESS, CUSTOMER, "Your tech is en route")
    assert row["direction"] == "outbound"


def test_status_callbacks_are_signed_and_ordered(
    twilio: Client, http: httpx.Client, recv: Receiver, recv_url: str
) -> None:
    callback = f"{recv_url}/twilio/status?tenant=t1"
    message = twilio.messages.create(
        to=CUSTOMER, from_=BUSINESS, body="Booked", status_callback=callback
    )
    hits = wait_hits(recv, "/twilio/status", 2)
    validator = RequestValidator(AUTH_TOKEN)
    statuses = []
    for hit in hits:
        assert hit.url == callback  # the query string reaches the product unchanged
        assert validator.validate(hit.url, hit.params, hit.headers["x-twilio-signature"])
        assert hit.params["MessageSid"] == hit.params["SmsSid"] == message.sid
        assert hit.params["AccountSid"] == ACCOUNT_SID
        assert hit.params["From"] == BUSINESS and hit.params["To"] == CUSTOMER
        assert hit.params["ApiVersion"] == "2010-04-01"
        assert hit.params["SmsStatus"] == hit.params["MessageStatus"]
        assert "ErrorCode" not in hit.params
        statuses.append(hit.params["MessageStatus"])
    assert statuses == ["sent", "delivered"]
    # A forged signature must not validate.
    assert not validator.validate(hits[0].url, hits[0].params, "AAAA" + "=" * 24)
    assert twilio.messages(message.sid).fetch().status == "delivered"
    assert carried(http)[0]["status"] == "delivered"


def test_undeliverable_fault(
    twilio: Client, http: httpx.Client, recv: Receiver, recv_url: str
) -> None:
    http.post("/_carrier/faults", json={"undeliverable": {CUSTOMER: 30003}}).raise_for_status()
    message = twilio.messages.create(
        to=CUSTOMER, from_=BUSINESS, body="hi", status_callback=f"{recv_url}/twilio/status"
    )
    hits = wait_hits(recv, "/twilio/status", 2)
    final = hits[-1].params
    assert final["MessageStatus"] == "undelivered"
    assert final["ErrorCode"] == "30003"
    assert RequestValidator(AUTH_TOKEN).validate(
        hits[-1].url, final, hits[-1].headers["x-twilio-signature"]
    )
    fetched = twilio.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)
    assert fetched.error_message
    assert carried(http)[0]["error_code"] == 30003


def test_reject_fault_answers_400(twilio: Client, http: httpx.Client) -> None:
    http.post("/_carrier/faults", json={"reject": {CUSTOMER: 21610}}).raise_for_status()
    with pytest.raises(TwilioRestException) as info:
        twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="hi")
    assert (info.value.status, info.value.code) == (400, 21610)
    assert carried(http) == []
    http.delete("/_carrier/faults").raise_for_status()
    twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="hi")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "5551234567", "from_": BUSINESS, "body": "x"}, 21211),
        ({"to": "+0123456789", "from_": BUSINESS, "body": "x"}, 21211),
        ({"to": CUSTOMER, "body": "x"}, 21603),
        ({"to": CUSTOMER, "from_": BUSINESS}, 21602),
        ({"to": CUSTOMER, "from_": BUSINESS, "body": "x" * 1601}, 21617),
    ],
)
def test_validation_errors(
    twilio: Client, http: httpx.Client, kwargs: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as info:
        twilio.messages.create(**kwargs)
    assert info.value.status == 400
    assert info.value.code == code
    assert carried(http) == []


def test_bad_to_error_body_is_twilio_shaped(http: httpx.Client) -> None:
    response = http.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data={"To": "123", "From": BUSINESS, "Body": "x"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 21211,
        "message": "The 'To' number 123 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


def test_wrong_credentials_give_401(carrier_url: str, http: httpx.Client) -> None:
    client = Client(ACCOUNT_SID, "wrong-token")
    client.api.base_url = carrier_url
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to=CUSTOMER, from_=BUSINESS, body="x")
    assert (info.value.status, info.value.code) == (401, 20003)
    response = http.get(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    assert response.status_code == 401
    assert response.json()["message"] == "Authenticate"


def test_fetch_and_list(twilio: Client) -> None:
    first = twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="one")
    second = twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="two")
    other = twilio.messages.create(to="+15550108888", from_=BUSINESS, body="three")
    assert twilio.messages(first.sid).fetch().body == "one"

    listed = twilio.messages.list(to=CUSTOMER)
    assert [m.sid for m in listed] == [second.sid, first.sid]  # newest first, as Twilio
    # Paging: the SDK follows next_page_uri across pages of one.
    paged = list(twilio.messages.stream(page_size=1))
    assert {m.sid for m in paged} == {first.sid, second.sid, other.sid}
    assert len(paged) == 3
    page = twilio.messages.page(page_size=2)
    assert len(list(page)) == 2 and page.next_page_url is not None

    with pytest.raises(TwilioRestException) as info:
        twilio.messages("SM" + "0" * 32).fetch()
    assert (info.value.status, info.value.code) == (404, 20404)


def test_segments_for_long_and_unicode_bodies(twilio: Client) -> None:
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="a" * 161).num_segments == "2"
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="é" * 160).num_segments == "1"
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="ç" * 71).num_segments == "2"


def test_http_error_fault_429_with_retry_after(twilio: Client, http: httpx.Client) -> None:
    fault = {"api": "twilio", "status": 429, "retry_after": 3, "count": 1}
    http.post("/_carrier/faults", json={"http_errors": [fault]}).raise_for_status()
    raw = http.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data={"To": CUSTOMER, "From": BUSINESS, "Body": "x"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
    )
    assert raw.status_code == 429
    assert raw.headers["retry-after"] == "3"
    assert raw.json()["code"] == 20429
    # Used up: the next send goes through.
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="x").status == "queued"
    assert len(carried(http)) == 1


def test_lost_response_fault_creates_the_message_anyway(twilio: Client, http: httpx.Client) -> None:
    fault = {"api": "twilio", "status": 500, "after_accept": True}
    http.post("/_carrier/faults", json={"http_errors": [fault]}).raise_for_status()
    with pytest.raises(TwilioRestException) as info:
        twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="did it go?")
    assert info.value.status == 500
    # The carrier accepted it: a reconciler finds it by listing.
    (found,) = twilio.messages.list(to=CUSTOMER)
    assert found.body == "did it go?"
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="again").status == "queued"
