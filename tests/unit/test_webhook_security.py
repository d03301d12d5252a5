"""Official vectors for dramtrade.webhook_security.

Vector IDs (P-*, H-*, N-*, E-*) refer to /work/shared/protocol/twilio_signature.md and
/work/shared/protocol/sendgrid_events.md section 1.

Skipped on purpose:
- P-2 (compute_hash) has no public counterpart here; the same body/hash pair is exercised
  through verify_twilio_signature in P-10 and the body tests below.
- N-4 relies on twilio-node re-encoding the URL (``'`` -> ``%27``); twilio-python and this
  module sign the URL byte for byte, so we only assert that the byte-exact form verifies.
- N-9's body-without-bodySHA256 rule is twilio-node behaviour that we adopt (fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dramtrade.webhook_security import (
    _load_sendgrid_public_key,
    twilio_signature,
    verify_sendgrid_signature,
    verify_twilio_signature,
)

# ---------------------------------------------------------------------------------------------
# Twilio fixtures (twilio-python tests/unit/test_request_validator.py)
# ---------------------------------------------------------------------------------------------

TOKEN = "12345"
URI = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
BODY = b'{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
URI_WITH_BODY = URI + "&bodySHA256=" + BODY_HASH
DUPLICATE_EXPECTED = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
DUPLICATE_PAIRS = [
    ("Sid", "CA123"),
    ("SidAccount", "AC123"),
    ("Digits", "5678"),
    ("Digits", "1234"),
    ("Digits", "1234"),
]

H_TOKEN = "1c892n40nd03kdnc0112slzkl3091j20"
H_URI = "http://www.postbin.org/1ed898x"
H_PARAMS = {
    "AccountSid": "AC9a9f9392lad99kla0sklakjs90j092j3",
    "ApiVersion": "2010-04-01",
    "CallSid": "CAd800bb12c0426a7ea4230e492fef2a4f",
    "CallStatus": "ringing",
    "Called": "+15306384866",
    "CalledCity": "OAKLAND",
    "CalledCountry": "US",
    "CalledState": "CA",
    "CalledZip": "94612",
    "Caller": "+15306666666",
    "CallerCity": "SOUTH LAKE TAHOE",
    "CallerCountry": "US",
    "CallerName": "CA Wireless Call",
    "CallerState": "CA",
    "CallerZip": "89449",
    "Direction": "inbound",
    "From": "+15306666666",
    "FromCity": "SOUTH LAKE TAHOE",
    "FromCountry": "US",
    "FromState": "CA",
    "FromZip": "89449",
    "To": "+15306384866",
    "ToCity": "OAKLAND",
    "ToCountry": "US",
    "ToState": "CA",
    "ToZip": "94612",
}
H_EXPECTED = "fF+xx6dTinOaCdZ0aIeNkHr/ZAA="


class FakeMultiDict(Mapping[str, str]):
    """Minimal Starlette-FormData/Werkzeug-MultiDict lookalike: [] gives one value only."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def __getitem__(self, key: str) -> str:
        return [v for k, v in self._pairs if k == key][-1]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._pairs))

    def __len__(self) -> int:
        return len(dict.fromkeys(k for k, _ in self._pairs))

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._pairs if k == key]


# ---- twilio_signature (compute) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "token", "url", "params", "expected"),
    [
        ("P-1", TOKEN, URI, PARAMS, EXPECTED),
        ("P-3 pairs", TOKEN, URI, DUPLICATE_PAIRS, DUPLICATE_EXPECTED),
        ("P-3 multidict", TOKEN, URI, FakeMultiDict(DUPLICATE_PAIRS), DUPLICATE_EXPECTED),
        (
            "P-4 querydict",
            TOKEN,
            URI,
            {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]},
            DUPLICATE_EXPECTED,
        ),
        ("H-1", H_TOKEN, H_URI, H_PARAMS, H_EXPECTED),
        ("H-2 (port removed)", H_TOKEN, "https://www.postbin.org/1ed898x", H_PARAMS,
         "Y7MeICc5ECftd1G11Fc8qoxAn0A="),
        ("P-7 (with port)", TOKEN, "http://mycompany.com:1234/myapp.php?foo=1&bar=2", PARAMS,
         "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        ("P-8 (:443)", TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", PARAMS,
         "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("P-9 (:80)", TOKEN, "http://mycompany.com:80/myapp.php?foo=1&bar=2", PARAMS,
         "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        ("P-10 (URL only)", TOKEN, URI_WITH_BODY, {}, "a9nBmqA0ju/hNViExpshrM61xv4="),
        ("N-7", TOKEN, URI, {"MessagingBinding.Address": ["+1325xxxxxxx", "+1415xxxxxxx"]},
         "83O6e2vORAoJHUNzJjDWN1jz+BA="),
        ("N-7 reversed", TOKEN, URI,
         {"MessagingBinding.Address": ["+1415xxxxxxx", "+1325xxxxxxx"]},
         "83O6e2vORAoJHUNzJjDWN1jz+BA="),
        ("§5 port kept", TOKEN, "https://mycompany.com:1234/myapp.php?foo=1&bar=2", PARAMS,
         "CYn1h0gLBdNxDGkKJg6hYohgeD8="),
        ("§5 http", TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", PARAMS,
         "OyGYPqTF6ztdbRNCvuQO/oPvqQ4="),
    ],
)  # fmt: skip
def test_twilio_signature_vectors(vector, token, url, params, expected):
    assert twilio_signature(token, url, params) == expected, vector


def test_twilio_signature_pair_order_is_irrelevant():
    shuffled = list(reversed(list(PARAMS.items())))
    assert twilio_signature(TOKEN, URI, shuffled) == EXPECTED


def test_twilio_signature_string_layout():
    # Case-sensitive code-point order ("B" < "a" < "b"), deduplicated sorted values, no
    # separators. Reference HMAC is computed independently over the hand-written string.
    params = [("b", "2"), ("a", "z"), ("a", "y"), ("a", "z"), ("B", "1")]
    signed = "https://x.test/pB1aya" + "zb2"
    ref = base64.b64encode(hmac.new(b"k", signed.encode(), hashlib.sha1).digest()).decode()
    assert twilio_signature("k", "https://x.test/p", params) == ref


def test_twilio_signature_rejects_str_params():
    with pytest.raises(TypeError):
        twilio_signature(TOKEN, URI, "CallSid=CA1")  # type: ignore[arg-type]


# ---- verify_twilio_signature: official positives ---------------------------------------------


@pytest.mark.parametrize(
    ("vector", "token", "url", "params", "signature"),
    [
        ("P-5", TOKEN, URI, PARAMS, EXPECTED),
        ("P-6 https strips port", TOKEN, "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
         PARAMS, EXPECTED),
        ("P-7 http keeps port", TOKEN, "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
         PARAMS, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        ("P-8 https adds 443", TOKEN, URI, PARAMS, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("P-9 http adds 80", TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", PARAMS,
         "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        ("P-3 multi-valued pairs", TOKEN, URI, DUPLICATE_PAIRS, DUPLICATE_EXPECTED),
        ("P-3 multidict", TOKEN, URI, FakeMultiDict(DUPLICATE_PAIRS), DUPLICATE_EXPECTED),
        ("H-1", H_TOKEN, H_URI, H_PARAMS, H_EXPECTED),
        ("H-2", H_TOKEN, "https://www.postbin.org:1234/1ed898x", H_PARAMS,
         "Y7MeICc5ECftd1G11Fc8qoxAn0A="),
        # N-1..N-3: twilio-python's split(":") breaks user:pass@host:port; ours keeps userinfo.
        ("N-1 credentials", TOKEN, "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
         PARAMS, "CukzLTc1tT5dXEDIHm/tKBanW10="),
        ("N-2 username", TOKEN, "https://user@mycompany.com/myapp.php?foo=1&bar=2", PARAMS,
         "2YRLlVAflCqxaNicjMpJcSTgzSs="),
        ("N-3 credentials + 443", TOKEN,
         "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", PARAMS,
         "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="),
        ("N-7 array param", TOKEN, URI,
         {"MessagingBinding.Address": ["+1415xxxxxxx", "+1325xxxxxxx"]},
         "83O6e2vORAoJHUNzJjDWN1jz+BA="),
        ("N-8 multiple params/values", TOKEN, URI,
         {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234", "1234"]},
         DUPLICATE_EXPECTED),
        ("§5 port kept is accepted as given", TOKEN,
         "https://mycompany.com:1234/myapp.php?foo=1&bar=2", PARAMS,
         "CYn1h0gLBdNxDGkKJg6hYohgeD8="),
        ("§5 http no port", TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", PARAMS,
         "OyGYPqTF6ztdbRNCvuQO/oPvqQ4="),
        ("§5 http :80 stripped", TOKEN, "http://mycompany.com:80/myapp.php?foo=1&bar=2",
         PARAMS, "OyGYPqTF6ztdbRNCvuQO/oPvqQ4="),
    ],
)  # fmt: skip
def test_verify_twilio_official_vectors(vector, token, url, params, signature):
    assert verify_twilio_signature(token, url, params, signature) is True, vector


@pytest.mark.parametrize(
    ("vector", "url", "body", "signature"),
    [
        ("P-10", URI_WITH_BODY, BODY, "a9nBmqA0ju/hNViExpshrM61xv4="),
        # N-5: signed over the URL with :443, found via the add-port variant.
        ("N-5 empty body", URI + "&bodySHA256="
         "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", b"{}",
         "Ldidvp12m26NI7eqEvxnEpkd9Hc="),
        ("N-6 only sha param", "https://mycompany.com/myapp.php?bodySHA256=" + BODY_HASH, BODY,
         "y77kIzt2vzLz71DgmJGsen2scGs="),
    ],
)  # fmt: skip
def test_verify_twilio_json_body_vectors(vector, url, body, signature):
    assert verify_twilio_signature(TOKEN, url, None, signature, raw_body=body) is True, vector
    # Form params are ignored for JSON bodies (twilio-python sets params = {}).
    assert verify_twilio_signature(TOKEN, url, PARAMS, signature, raw_body=body) is True


def test_n4_byte_exact_url_only():
    # twilio-node normalises ' to %27 before signing; we sign the URL byte for byte, so only
    # the URL exactly as Twilio requested it (already percent-encoded) verifies.
    sig = "TfZzewPq8wqrGlMfyAud8+/IvJ0="
    encoded = URI + "&Body=It%27s+amazing"
    assert verify_twilio_signature(TOKEN, encoded, PARAMS, sig) is True
    assert verify_twilio_signature(TOKEN, URI + "&Body=It's+amazing", PARAMS, sig) is False


# ---- verify_twilio_signature: negatives ------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "url", "signature"),
    [
        # §5: a non-default port is never *added*, so a with-port signature fails without it.
        ("§5 port sig vs bare URL", URI, "CYn1h0gLBdNxDGkKJg6hYohgeD8="),
        ("§5 port sig vs :443 URL", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
         "CYn1h0gLBdNxDGkKJg6hYohgeD8="),
        ("§5 port sig vs other port", "https://mycompany.com:4321/myapp.php?foo=1&bar=2",
         "CYn1h0gLBdNxDGkKJg6hYohgeD8="),
        # §5: the scheme is signed.
        ("§5 http sig vs https URL", URI, "OyGYPqTF6ztdbRNCvuQO/oPvqQ4="),
        ("https sig vs http URL", "http://mycompany.com/myapp.php?foo=1&bar=2", EXPECTED),
        ("P-8 sig on http URL", "http://mycompany.com/myapp.php?foo=1&bar=2",
         "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("path tampered", "https://mycompany.com/myapp.php/x?foo=1&bar=2", EXPECTED),
        ("query tampered", "https://mycompany.com/myapp.php?foo=1&bar=3", EXPECTED),
        ("query reordered", "https://mycompany.com/myapp.php?bar=2&foo=1", EXPECTED),
        ("host tampered", "https://evil.com/myapp.php?foo=1&bar=2", EXPECTED),
        ("trailing slash", "https://mycompany.com/myapp.php/?foo=1&bar=2", EXPECTED),
        ("H-3 obsolete base64 body hash", URI + "&bodySHA256=Ch/3Y02as7ldtcmi3%2BlBbkFQKyg6gMfPG"
         "WMmMvluZiA%3D", "afcFvPLPYT8mg/JyIVkdnqQKa2s="),
    ],
)  # fmt: skip
def test_verify_twilio_wrong_url_is_false(case, url, signature):
    assert verify_twilio_signature(TOKEN, url, PARAMS, signature, raw_body=None) is False, case


def _tampered_params() -> list[tuple[str, object]]:
    changed = {**PARAMS, "Digits": "1235"}
    added = {**PARAMS, "Extra": "1"}
    dropped = {k: v for k, v in PARAMS.items() if k != "Caller"}
    renamed = {("digits" if k == "Digits" else k): v for k, v in PARAMS.items()}
    extra_value = {**PARAMS, "Digits": ["1234", "5678"]}
    return [
        ("value changed", changed),
        ("param added", added),
        ("param dropped", dropped),
        ("name case changed", renamed),
        ("extra repeated value", extra_value),
        ("no params", {}),
        ("None params", None),
    ]


@pytest.mark.parametrize(("case", "params"), _tampered_params())
def test_verify_twilio_tampered_params_is_false(case, params):
    assert verify_twilio_signature(TOKEN, URI, params, EXPECTED) is False, case


@pytest.mark.parametrize(
    ("case", "token", "signature"),
    [
        ("wrong token", "54321", EXPECTED),
        # Signed with the empty key itself: anyone could forge it, so it must still fail.
        ("empty token", "", twilio_signature("", URI, PARAMS)),
        ("one char flipped", TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B9="),
        ("missing padding", TOKEN, EXPECTED.rstrip("=")),
        ("lower-cased", TOKEN, EXPECTED.lower()),
        ("whitespace", TOKEN, " " + EXPECTED),
        ("None", TOKEN, None),
        ("empty", TOKEN, ""),
        ("bad base64", TOKEN, "!!!not base64!!!"),
        ("non-ASCII", TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8é"),
        ("surrogate", TOKEN, "\ud800"),
        ("huge", TOKEN, "A" * 100_000),
    ],
)
def test_verify_twilio_bad_signature_or_token_is_false(case, token, signature):
    assert verify_twilio_signature(token, URI, PARAMS, signature) is False, case


@pytest.mark.parametrize(
    ("case", "url", "params"),
    [
        ("broken IPv6 host", "https://[::1/myapp.php", PARAMS),
        ("non-numeric port", "https://mycompany.com:abc/myapp.php", PARAMS),
        ("huge port", "https://mycompany.com:99999999999/myapp.php", PARAMS),
        ("empty URL", "", PARAMS),
        ("relative URL", "/myapp.php?foo=1", PARAMS),
        ("surrogate in URL", "https://mycompany.com/\udcff", PARAMS),
        ("str params", URI, "CallSid=CA1234567890ABCDE"),
        ("bytes params", URI, b"CallSid=CA1"),
        ("3-tuples", URI, [("a", "b", "c")]),
        ("int value", URI, {"Digits": 1234}),
        ("int in list", URI, {"Digits": ["1", 2]}),
        ("non-str name", URI, [(1, "a")]),
        ("None value", URI, {"Digits": None}),
    ],
)
def test_verify_twilio_garbage_never_raises(case, url, params):
    assert verify_twilio_signature(TOKEN, url, params, EXPECTED) is False, case


def test_verify_twilio_body_tampered_is_false():
    sig = "a9nBmqA0ju/hNViExpshrM61xv4="
    assert verify_twilio_signature(TOKEN, URI_WITH_BODY, None, sig, raw_body=BODY) is True
    assert verify_twilio_signature(TOKEN, URI_WITH_BODY, None, sig, raw_body=BODY + b" ") is False
    assert verify_twilio_signature(TOKEN, URI_WITH_BODY, None, sig, raw_body=b"") is False


def test_verify_twilio_body_hash_param_without_raw_body_is_false():
    # Fail closed (stricter than twilio-python): the URL says JSON body, so the body hash must
    # be checked; without raw_body the body would be unauthenticated.
    sig = "a9nBmqA0ju/hNViExpshrM61xv4="
    assert verify_twilio_signature(TOKEN, URI_WITH_BODY, None, sig, raw_body=BODY) is True
    assert verify_twilio_signature(TOKEN, URI_WITH_BODY, None, sig) is False
    assert verify_twilio_signature(TOKEN, URI_WITH_BODY, {}, sig) is False


def test_n9_raw_body_without_body_hash_param_is_false():
    # N-9 (twilio-node validateRequestWithBody): a body but no bodySHA256 in the URL -> False.
    assert verify_twilio_signature(TOKEN, URI, PARAMS, EXPECTED) is True
    assert verify_twilio_signature(TOKEN, URI, PARAMS, EXPECTED, raw_body=BODY) is False


def test_verify_twilio_body_hash_edge_cases():
    # Hex must match exactly as twilio-python compares it; duplicates and blanks are refused.
    upper = URI + "&bodySHA256=" + BODY_HASH.upper()
    twice = URI_WITH_BODY + "&bodySHA256=" + BODY_HASH
    empty = URI + "&bodySHA256="
    for url, body in ((upper, BODY), (twice, BODY), (empty, b"")):
        sig = twilio_signature(TOKEN, url, {})  # correctly signed URL, bad hash parameter
        assert verify_twilio_signature(TOKEN, url, None, sig, raw_body=body) is False, url


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@mycompany.com:8443/myapp.php?foo=1",
        "https://[2001:db8::1]:8443/hook?x=1",
        "https://[2001:db8::1]/hook?x=1",
        "HTTPS://MyCompany.com/Hook?X=1",
        "http://127.0.0.1:8000/twilio/sms",
        "https://mycompany.com/hook?",
    ],
)
def test_verify_twilio_roundtrip_unusual_urls(url):
    sig = twilio_signature("tøken", url, PARAMS)
    assert verify_twilio_signature("tøken", url, PARAMS, sig) is True
    assert verify_twilio_signature("token", url, PARAMS, sig) is False


def test_verify_twilio_port_variants_preserve_userinfo_and_ipv6():
    # Signed without port; request arrives with an explicit port -> stripped variant matches.
    for bare, ported in [
        ("https://user:pass@mycompany.com/p", "https://user:pass@mycompany.com:8443/p"),
        ("https://[2001:db8::1]/p", "https://[2001:db8::1]:8443/p"),
    ]:
        sig = twilio_signature(TOKEN, bare, PARAMS)
        assert verify_twilio_signature(TOKEN, ported, PARAMS, sig) is True, ported
    # Signed with :443 added after the IPv6 literal (not inside the brackets).
    sig443 = twilio_signature(TOKEN, "https://[2001:db8::1]:443/p", PARAMS)
    assert verify_twilio_signature(TOKEN, "https://[2001:db8::1]/p", PARAMS, sig443) is True


# ---------------------------------------------------------------------------------------------
# SendGrid (sendgrid_events.md section 1)
# ---------------------------------------------------------------------------------------------

E1_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
E1_SIG = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM"
    "+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
)
E1_TS = "1600112502"
E1_EVENTS = [
    {
        "email": "hello@world.com",
        "event": "dropped",
        "reason": "Bounced Address",
        "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
        "sg_message_id": (
            "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
        ),
        "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
        "timestamp": 1600112492,
    }
]
E1_BODY = (json.dumps(E1_EVENTS, sort_keys=True, separators=(",", ":")) + "\r\n").encode()
E1_BODY_LITERAL = (
    b'[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address",'
    b'"sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",'
    b'"sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",'
    b'"smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]'
    b"\r\n"
)
E1_BAD_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aN"
    "Dthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
E1_BAD_SIG = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a"
    "8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0="
)

E2_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/FfEzx6cikC/yP"
    "fUvwaX/JScE7Fc9CJD2afQ9Ok3Q=="
)
E2_SIG = (
    "MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03n"
    "REPTTHWSW0wIOA0EoMPdcNgXa70yCaqDJlu5"
)
E2_TS = "1619651159"
E2_MESSAGE_ID = "qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0"
E2_EVENTS = [
    {
        "email": "invalid@gmail.com",
        "event": "processed",
        "send_at": 0,
        "sg_event_id": "cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA",
        "sg_message_id": E2_MESSAGE_ID,
        "smtp-id": "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>",
        "timestamp": 1619651146,
    },
    {
        "email": "invalid@gmail.com",
        "event": "bounce",
        "ip": "167.89.101.76",
        "reason": (
            "552 5.2.2 The email account that you tried to reach is over quota and inactive. "
            "Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm "
            "c17si1130468pgv.34 - gsmtp"
        ),
        "sg_event_id": "Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w",
        "sg_message_id": E2_MESSAGE_ID,
        "smtp-id": "<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>",
        "status": "5.2.2",
        "timestamp": 1619651147,
        "tls": 1,
        "type": "blocked",
    },
]
E2_BODY = (json.dumps(E2_EVENTS, separators=(",", ":")).replace("},{", "},\r\n{") + "\r\n").encode()

E0_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHP"
    "TnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
E0_SIG = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a"
    "8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
)
E0_TS = "1588788367"
E0_BODY = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def test_e1_payload_matches_documented_bytes():
    # Guards the fixture itself: the JSON rebuild must equal the documented repr byte for byte.
    assert E1_BODY == E1_BODY_LITERAL


@pytest.mark.parametrize(
    ("vector", "key", "sig", "ts", "body"),
    [
        ("E-0", E0_KEY, E0_SIG, E0_TS, E0_BODY),
        ("E-1", E1_KEY, E1_SIG, E1_TS, E1_BODY_LITERAL),
        ("E-2", E2_KEY, E2_SIG, E2_TS, E2_BODY),
    ],
)
def test_sendgrid_official_vectors_valid(vector, key, sig, ts, body):
    assert verify_sendgrid_signature(key, sig, ts, body) is True, vector
    # Same result from a mutable buffer (some frameworks hand out bytearray).
    mutable = bytearray(body)
    assert verify_sendgrid_signature(key, sig, ts, mutable) is True, vector  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "key", "sig", "ts", "body"),
    [
        ("E-1 bad key", E1_BAD_KEY, E1_SIG, E1_TS, E1_BODY),
        ("E-1 bad payload", E1_KEY, E1_SIG, E1_TS, b"payload"),
        ("E-1 bad signature", E1_KEY, E1_BAD_SIG, E1_TS, E1_BODY),
        ("E-1 bad timestamp", E1_KEY, E1_SIG, "timestamp", E1_BODY),
        ("E-1 without trailing CRLF", E1_KEY, E1_SIG, E1_TS, E1_BODY.removesuffix(b"\r\n")),
        ("E-1 re-serialised JSON", E1_KEY, E1_SIG, E1_TS,
         json.dumps(json.loads(E1_BODY)).encode()),
        ("E-1 timestamp off by one", E1_KEY, E1_SIG, "1600112503", E1_BODY),
        ("E-1 timestamp with space", E1_KEY, E1_SIG, E1_TS + " ", E1_BODY),
        ("E-1 with E-2 key", E2_KEY, E1_SIG, E1_TS, E1_BODY),
        ("E-2 with one CRLF removed", E2_KEY, E2_SIG, E2_TS,
         E2_BODY.replace(b"},\r\n{", b"},{")),
        ("E-0 signature with E-1 data", E1_KEY, E0_SIG, E1_TS, E1_BODY),
    ],
)  # fmt: skip
def test_sendgrid_negative_vectors(case, key, sig, ts, body):
    assert verify_sendgrid_signature(key, sig, ts, body) is False, case


@pytest.mark.parametrize(
    ("case", "key"),
    [
        ("empty", ""),
        ("not base64", "not a key!"),
        ("non-ASCII", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4é"),
        ("valid base64, not DER", base64.b64encode(b"hello world").decode()),
        ("truncated DER", E1_KEY[:40]),
        ("PEM armour", "-----BEGIN PUBLIC KEY-----\n" + E1_KEY + "\n-----END PUBLIC KEY-----"),
        ("surrogate", "\ud800"),
        ("None", None),
    ],
)
def test_sendgrid_garbage_key_is_false(case, key):
    assert verify_sendgrid_signature(key, E1_SIG, E1_TS, E1_BODY) is False, case


def test_sendgrid_wrong_key_types_are_false():
    rsa_der = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    p384_priv = ec.generate_private_key(ec.SECP384R1())
    p384_der = p384_priv.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    p384_sig = base64.b64encode(
        p384_priv.sign(E1_TS.encode() + E1_BODY, ec.ECDSA(hashes.SHA256()))
    ).decode()
    assert (
        verify_sendgrid_signature(base64.b64encode(rsa_der).decode(), E1_SIG, E1_TS, E1_BODY)
        is False
    )
    # Only P-256 is accepted, even when the signature over the data is genuine.
    assert (
        verify_sendgrid_signature(base64.b64encode(p384_der).decode(), p384_sig, E1_TS, E1_BODY)
        is False
    )


def test_sendgrid_key_with_line_breaks_is_accepted():
    wrapped = "\n".join(E1_KEY[i : i + 64] for i in range(0, len(E1_KEY), 64)) + "\n"
    assert verify_sendgrid_signature(wrapped, E1_SIG, E1_TS, E1_BODY) is True


@pytest.mark.parametrize(
    ("case", "sig", "ts", "body"),
    [
        ("signature None", None, E1_TS, E1_BODY),
        ("signature empty", "", E1_TS, E1_BODY),
        ("signature not base64", "!!!", E1_TS, E1_BODY),
        ("signature missing padding", E1_SIG.rstrip("="), E1_TS, E1_BODY),
        ("signature non-ASCII", E1_SIG[:-1] + "é", E1_TS, E1_BODY),
        ("signature not DER", base64.b64encode(b"\x30\x02junk").decode(), E1_TS, E1_BODY),
        ("signature truncated DER", base64.b64encode(base64.b64decode(E1_SIG)[:-4]).decode(),
         E1_TS, E1_BODY),
        ("signature surrogate", "\ud800", E1_TS, E1_BODY),
        ("timestamp None", E1_SIG, None, E1_BODY),
        ("timestamp empty", E1_SIG, "", E1_BODY),
        ("timestamp surrogate", E1_SIG, "\ud800", E1_BODY),
        ("body as str", E1_SIG, E1_TS, E1_BODY.decode()),
        ("body None", E1_SIG, E1_TS, None),
    ],
)  # fmt: skip
def test_sendgrid_malformed_input_is_false(case, sig, ts, body):
    assert verify_sendgrid_signature(E1_KEY, sig, ts, body) is False, case


# ---- replay window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "now", "expected"),
    [
        ("fresh", int(E1_TS) + 10, True),
        ("exactly at limit", int(E1_TS) + 300, True),
        ("one second stale", int(E1_TS) + 301, False),
        ("far stale", int(E1_TS) + 86_400 * 365, False),
        ("small clock skew", int(E1_TS) - 30, True),
        ("timestamp far in future", int(E1_TS) - 301, False),
    ],
)
def test_sendgrid_replay_window(case, now, expected):
    result = verify_sendgrid_signature(
        E1_KEY, E1_SIG, E1_TS, E1_BODY, now=float(now), max_age_seconds=300
    )
    assert result is expected, case


def test_sendgrid_replay_window_defaults_to_wall_clock():
    # The vector is from 2020: with max_age and the real clock it is stale.
    assert verify_sendgrid_signature(E1_KEY, E1_SIG, E1_TS, E1_BODY) is True
    assert verify_sendgrid_signature(E1_KEY, E1_SIG, E1_TS, E1_BODY, max_age_seconds=300) is False


@pytest.fixture(scope="module")
def own_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    priv = ec.generate_private_key(ec.SECP256R1())
    der = priv.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return priv, base64.b64encode(der).decode()


def _sign(priv: ec.EllipticCurvePrivateKey, ts: str, body: bytes) -> str:
    return base64.b64encode(priv.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


@pytest.mark.parametrize("ts", ["+1700000000", " 1700000000", "1_700_000_000", "1700000000.5",
                                "\u0661\u0667" + "\u0660" * 8, "-1", "abc"])  # fmt: skip
def test_sendgrid_non_numeric_timestamp_fails_only_with_max_age(own_key, ts):
    priv, pub = own_key
    sig = _sign(priv, ts, b"[]\r\n")
    # Genuinely signed, so it verifies without replay protection ...
    assert verify_sendgrid_signature(pub, sig, ts, b"[]\r\n") is True
    # ... but a timestamp that is not plain ASCII digits fails the freshness check.
    assert (
        verify_sendgrid_signature(pub, sig, ts, b"[]\r\n", now=1_700_000_000.0, max_age_seconds=60)
        is False
    )


def test_sendgrid_body_is_verified_byte_exact(own_key):
    priv, pub = own_key
    body = b'[{"email":"caf\xe9@x.test"}]\r\n'  # latin-1 byte: not valid UTF-8, must not matter
    sig = _sign(priv, "1700000000", body)
    assert verify_sendgrid_signature(pub, sig, "1700000000", body) is True
    assert verify_sendgrid_signature(pub, sig, "1700000000", body.replace(b"\xe9", b"e")) is False


def test_sendgrid_public_key_is_cached():
    _load_sendgrid_public_key.cache_clear()
    for _ in range(3):
        assert verify_sendgrid_signature(E1_KEY, E1_SIG, E1_TS, E1_BODY) is True
    info = _load_sendgrid_public_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)
