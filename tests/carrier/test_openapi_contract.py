"""The carrier's Twilio responses against Twilio's own OpenAPI description (2010-04-01).

OpenAPI 3.0 schemas are turned into JSON Schema (2020-12): ``$ref`` inlined,
``nullable: true`` becomes ``type: [T, "null"]``, vendor keys dropped. Twilio's date and
phone formats are checked too, and every declared property must be present.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import httpx
import jsonschema
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.carrier.conftest import ACCOUNT_SID, AUTH_TOKEN, wait_for
from tests.support.protocol import OPENAPI_DIR

BASE = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
MESSAGE = "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json"
NUMBERS = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
NUMBER = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json"
DROP = {"description", "example", "examples", "nullable", "readOnly", "writeOnly", "deprecated"}


@cache
def spec() -> dict[str, Any]:
    path = OPENAPI_DIR / "twilio_api_v2010.json"
    # ../shared/protocol sits beside every checkout, CI's included: missing is a failure.
    assert path.exists(), f"protocol file missing: {path}"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema, refs inlined (these schemas are acyclic)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # in OpenAPI 3.0 a $ref replaces its siblings
        name = node["$ref"].removeprefix("#/components/schemas/")
        return to_json_schema(spec()["components"]["schemas"][name])
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in DROP:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(schema) for name, schema in value.items()}
        else:
            out[key] = to_json_schema(value)
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


FORMATS = FormatChecker(formats=())


def _rfc2822(value: object) -> bool:
    if not isinstance(value, str):
        return True  # type errors are the "type" keyword's job
    parsed = parsedate_to_datetime(value)
    # Twilio writes GMT dates as "+0000" with an English weekday, e.g. "Thu, 03 Dec 2026 ...".
    return parsed.utcoffset() is not None and value.endswith("+0000")


def _phone(value: object) -> bool:
    return not isinstance(value, str) or (value.startswith("+") and value[1:].isdigit())


FORMATS.checks("date-time-rfc-2822", raises=(TypeError, ValueError))(_rfc2822)
FORMATS.checks("phone-number")(_phone)


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    operation = spec()["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    converted: dict[str, Any] = to_json_schema(schema)
    return converted


def component(name: str) -> dict[str, Any]:
    converted: dict[str, Any] = to_json_schema(spec()["components"]["schemas"][name])
    return converted


def check(instance: Any, schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema, format_checker=FORMATS).validate(instance)


def check_all_declared(resource: dict[str, Any], name: str) -> None:
    declared = set(spec()["components"]["schemas"][name]["properties"])
    assert set(resource) == declared, (declared - set(resource), set(resource) - declared)


@pytest.fixture
def api(carrier_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=carrier_url + BASE, auth=(ACCOUNT_SID, AUTH_TOKEN), trust_env=False
    ) as client:
        yield client


def _send(api: httpx.Client, to: str, **extra: str) -> httpx.Response:
    data = {"To": to, "From": "+15550100001", "Body": "Tech is on site 👍", **extra}
    return api.post("/Messages.json", data=data)


def test_message_create_fetch_list_match_the_spec(api: httpx.Client, http: httpx.Client) -> None:
    created = _send(api, "+15550109999")
    assert created.status_code == 201
    check(created.json(), response_schema(MESSAGES, "post", "201"))
    check_all_declared(created.json(), "api.v2010.account.message")
    _send(api, "+15550109999", MessagingServiceSid="MG" + "ab" * 16)

    sid = created.json()["sid"]
    fetched = wait_for(lambda: (r := api.get(f"/Messages/{sid}.json").json())
                       ["status"] == "delivered" and r)  # fmt: skip
    check(fetched, response_schema(MESSAGE, "get", "200"))
    check_all_declared(fetched, "api.v2010.account.message")
    assert fetched["date_sent"] is not None

    page = api.get("/Messages.json", params={"To": "+15550109999", "PageSize": 1})
    assert page.status_code == 200
    body = page.json()
    check(body, response_schema(MESSAGES, "get", "200"))
    assert body["next_page_uri"] is not None and len(body["messages"]) == 1
    for message in body["messages"]:
        check_all_declared(message, "api.v2010.account.message")


def test_undelivered_and_inbound_messages_match_the_spec(
    api: httpx.Client, http: httpx.Client
) -> None:
    http.post("/_carrier/faults", json={"undeliverable": {"+15550108888": 30005}})
    sid = _send(api, "+15550108888").json()["sid"]
    failed = wait_for(lambda: (r := api.get(f"/Messages/{sid}.json").json())
                      ["status"] == "undelivered" and r)  # fmt: skip
    assert failed["error_code"] == 30005
    check(failed, response_schema(MESSAGE, "get", "200"))

    inbound = http.post(
        "/_carrier/inbound/sms", json={"from": "+15550109999", "to": "+15550100001", "body": "ok"}
    ).json()
    fetched = api.get(f"/Messages/{inbound['sid']}.json").json()
    check(fetched, response_schema(MESSAGE, "get", "200"))
    assert fetched["direction"] == "inbound"


def test_incoming_phone_numbers_match_the_spec(api: httpx.Client) -> None:
    created = api.post(
        "/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "+15550100001", "SmsUrl": "https://example.com/sms"},
    )
    assert created.status_code == 201
    check(created.json(), response_schema(NUMBERS, "post", "201"))
    check_all_declared(created.json(), "api.v2010.account.incoming_phone_number")
    sid = created.json()["sid"]

    fetched = api.get(f"/IncomingPhoneNumbers/{sid}.json")
    check(fetched.json(), response_schema(NUMBER, "get", "200"))
    updated = api.post(f"/IncomingPhoneNumbers/{sid}.json", data={"SmsMethod": "GET"})
    check(updated.json(), response_schema(NUMBER, "post", "200"))
    listed = api.get("/IncomingPhoneNumbers.json", params={"PhoneNumber": "+15550100001"})
    check(listed.json(), response_schema(NUMBERS, "get", "200"))
    assert len(listed.json()["incoming_phone_numbers"]) == 1


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("num_segments", 1),  # a string in Twilio's API
        ("error_code", "30003"),  # an integer
        ("status", "lost"),  # not in message_enum_status
        ("direction", "outbound"),  # not in message_enum_direction
        ("date_created", "2026-12-03T16:00:00Z"),  # ISO, not RFC 2822
        ("account_sid", "AC123"),
        ("sid", "XX" + "0" * 32),
        ("subresource_uris", "media"),
    ],
)
def test_the_contract_check_catches_wrong_types(field: str, bad: Any) -> None:
    """Guard against a vacuous converter: known-bad messages must fail."""
    good = spec()["paths"][MESSAGES]["post"]["responses"]["201"]["content"]["application/json"][
        "examples"
    ]["create"]["value"]
    schema = component("api.v2010.account.message")
    check(good, schema)
    broken = copy.deepcopy(good)
    broken[field] = bad
    with pytest.raises(jsonschema.ValidationError):
        check(broken, schema)


def test_number_contract_check_catches_wrong_types() -> None:
    schema = component("api.v2010.account.incoming_phone_number")
    check({"sms_method": "POST", "capabilities": {"sms": True}, "beta": None}, schema)
    for broken in ({"sms_method": "PUT"}, {"capabilities": {"sms": "yes"}}, {"beta": "false"}):
        with pytest.raises(jsonschema.ValidationError):
            check(broken, schema)
