"""IncomingPhoneNumbers through twilio-python, and the customer's handset texting in."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox_carrier import CarrierConfig
from sandbox_carrier.world import Carrier
from tests.carrier.conftest import ACCOUNT_SID, AUTH_TOKEN, Receiver, carried

BUSINESS = "+15550100001"
CUSTOMER = "+15550109999"

INBOUND_PARAMS = {
    "ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid",
    "FromState", "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip", "NumSegments",
    "MessageSid", "AccountSid", "From", "ApiVersion",
}  # fmt: skip


def test_create_list_fetch_update_delete_number(twilio: Client, recv_url: str) -> None:
    number = twilio.incoming_phone_numbers.create(
        phone_number=BUSINESS, sms_url=f"{recv_url}/sms/business", friendly_name="Main line"
    )
    assert number.sid.startswith("PN") and len(number.sid) == 34
    assert number.phone_number == BUSINESS
    assert number.sms_url == f"{recv_url}/sms/business"
    assert number.sms_method == "POST"
    assert number.friendly_name == "Main line"
    twilio.incoming_phone_numbers.create(phone_number="+15550100002")

    found = twilio.incoming_phone_numbers.list(phone_number=BUSINESS)
    assert [n.sid for n in found] == [number.sid]
    assert len(twilio.incoming_phone_numbers.list()) == 2
    assert twilio.incoming_phone_numbers(number.sid).fetch().friendly_name == "Main line"

    updated = twilio.incoming_phone_numbers(number.sid).update(sms_url=f"{recv_url}/sms/v2")
    assert updated.sms_url == f"{recv_url}/sms/v2"
    assert twilio.incoming_phone_numbers(number.sid).delete() is True
    assert twilio.incoming_phone_numbers.list(phone_number=BUSINESS) == []


def test_number_errors(twilio: Client) -> None:
    twilio.incoming_phone_numbers.create(phone_number=BUSINESS)
    with pytest.raises(TwilioRestException) as info:
        twilio.incoming_phone_numbers.create(phone_number=BUSINESS)
    assert info.value.status == 400
    with pytest.raises(TwilioRestException) as info:
        twilio.incoming_phone_numbers.create(phone_number="12")
    assert (info.value.status, info.value.code) == (400, 21421)
    # An area code alone buys the next free number there.
    bought = twilio.incoming_phone_numbers.create(area_code="415")
    assert bought.phone_number.startswith("+1415")


def test_inbound_sms_goes_to_registered_sms_url(
    twilio: Client, http: httpx.Client, recv: Receiver, recv_url: str
) -> None:
    twilio.incoming_phone_numbers.create(phone_number=BUSINESS, sms_url=f"{recv_url}/sms/business")
    answer = http.post(
        "/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": "Running late?"}
    )
    assert answer.status_code == 200
    result = answer.json()
    assert result["webhook_url"] == f"{recv_url}/sms/business"
    assert result["webhook_status"] == 200
    assert result["webhook_response"] == "<Response/>"
    assert result["sid"].startswith("SM")

    # Delivered before the carrier answered: no polling needed.
    (hit,) = recv.at("/sms/business")
    assert set(hit.params) == INBOUND_PARAMS
    assert hit.params["Body"] == "Running late?"
    assert hit.params["From"] == CUSTOMER and hit.params["To"] == BUSINESS
    assert hit.params["MessageSid"] == hit.params["SmsSid"] == result["sid"]
    assert hit.params["SmsStatus"] == "received"
    assert hit.params["AccountSid"] == ACCOUNT_SID
    assert hit.params["NumMedia"] == "0" and hit.params["NumSegments"] == "1"
    assert RequestValidator(AUTH_TOKEN).validate(
        hit.url, hit.params, hit.headers["x-twilio-signature"]
    )

    (row,) = carried(http, direction="inbound")
    assert row["provider_id"] == result["sid"]
    assert (row["status"], row["body"], row["channel"]) == ("received", "Running late?", "sms")
    fetched = twilio.messages(result["sid"]).fetch()
    assert (fetched.direction, fetched.status) == ("inbound", "received")


def test_inbound_sms_falls_back_to_default_url(http: httpx.Client, recv: Receiver) -> None:
    result = http.post(
        "/_carrier/inbound/sms", json={"from": CUSTOMER, "to": "+15550107777", "body": "hi"}
    ).json()
    assert result["webhook_url"].endswith("/sms/default")
    assert len(recv.at("/sms/default")) == 1


def test_inbound_sms_get_method_signs_the_query(
    twilio: Client, http: httpx.Client, recv: Receiver, recv_url: str
) -> None:
    twilio.incoming_phone_numbers.create(
        phone_number=BUSINESS, sms_url=f"{recv_url}/sms/get?x=1", sms_method="GET"
    )
    http.post("/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": "a b&c"})
    (hit,) = recv.at("/sms/get")
    assert hit.method == "GET"
    assert RequestValidator(AUTH_TOKEN).validate(hit.url, {}, hit.headers["x-twilio-signature"])
    assert "Body=a+b%26c" in hit.url


def test_inbound_webhook_retries_on_5xx(
    twilio: Client, http: httpx.Client, recv: Receiver, recv_url: str
) -> None:
    twilio.incoming_phone_numbers.create(phone_number=BUSINESS, sms_url=f"{recv_url}/fail")
    result = http.post(
        "/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": "hello"}
    ).json()
    assert result["webhook_status"] == 500
    assert result["webhook_attempts"] == 3  # 1 + webhook_retries (2)
    assert len(recv.at("/fail")) == 3


@pytest.mark.parametrize(
    "payload",
    [
        {"from": "5551234", "to": BUSINESS, "body": "x"},
        {"from": CUSTOMER, "to": "+1", "body": "x"},
        {"from": CUSTOMER, "to": BUSINESS},
    ],
)
def test_inbound_sms_rejects_bad_input(http: httpx.Client, payload: dict[str, str]) -> None:
    assert http.post("/_carrier/inbound/sms", json=payload).status_code == 422
    assert carried(http) == []


def test_stop_blocks_further_sends_like_twilio(twilio: Client, http: httpx.Client) -> None:
    http.post("/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": " stop "})
    with pytest.raises(TwilioRestException) as info:
        twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="promo")
    assert (info.value.status, info.value.code) == (400, 21610)
    http.post("/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": "START"})
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="welcome back").sid


TWILIO_STOP_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
TWILIO_START_REPLY = (
    "You have successfully been resubscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
TWILIO_HELP_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."


@pytest.mark.parametrize(
    ("body", "reply"),
    [(w, TWILIO_STOP_REPLY) for w in
     ("STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "revoke", "OPTOUT")]
    + [(w, TWILIO_START_REPLY) for w in ("START", "yes", "Unstop")]
    + [(w, TWILIO_HELP_REPLY) for w in ("HELP", " info ")],
)  # fmt: skip
def test_keywords_get_twilios_auto_reply_and_still_reach_the_webhook(
    twilio: Client, http: httpx.Client, recv: Receiver, recv_url: str, body: str, reply: str
) -> None:
    twilio.incoming_phone_numbers.create(phone_number=BUSINESS, sms_url=f"{recv_url}/sms/business")
    result = http.post(
        "/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": body}
    ).json()
    assert result["webhook_status"] == 200
    (hit,) = recv.at("/sms/business")
    assert hit.params["Body"] == body and hit.params["MessageSid"] == result["sid"]

    inbound, auto_reply = carried(http)
    assert (inbound["direction"], inbound["provider_id"]) == ("inbound", result["sid"])
    assert (auto_reply["direction"], auto_reply["from"], auto_reply["to"]) == (
        "outbound",
        BUSINESS,
        CUSTOMER,
    )
    assert (auto_reply["body"], auto_reply["status"]) == (reply, "delivered")
    assert auto_reply["provider_id"].startswith("SM")
    assert auto_reply["provider_id"] != result["sid"]
    fetched = twilio.messages(auto_reply["provider_id"]).fetch()
    assert (fetched.direction, fetched.status, fetched.body) == (
        "outbound-reply",
        "delivered",
        reply,
    )
    assert fetched.date_sent is not None


@pytest.mark.parametrize("body", ["STOP PLEASE", "please stop", "help me", "Running late?"])
def test_other_messages_get_no_auto_reply(http: httpx.Client, body: str) -> None:
    http.post("/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": body})
    assert [m["direction"] for m in carried(http)] == ["inbound"]


def test_stop_then_start_each_answered_once(twilio: Client, http: httpx.Client) -> None:
    for body in ("STOP", "START"):
        http.post("/_carrier/inbound/sms", json={"from": CUSTOMER, "to": BUSINESS, "body": body})
    replies = [m["body"] for m in carried(http, direction="outbound")]
    assert replies == [TWILIO_STOP_REPLY, TWILIO_START_REPLY]
    assert twilio.messages.create(to=CUSTOMER, from_=BUSINESS, body="welcome back").sid


def test_without_opt_out_handling_there_is_no_block_and_no_auto_reply() -> None:
    carrier = Carrier(CarrierConfig(opt_out_handling=False))
    record, webhook = asyncio.run(carrier.receive_sms(CUSTOMER, BUSINESS, "STOP"))
    assert webhook is None  # no SmsUrl anywhere
    assert [r.sid for r in carrier.store.list_sms()] == [record.sid]
    assert not carrier.store.is_blocked(BUSINESS, CUSTOMER)
