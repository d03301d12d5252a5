from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.support.protocol import PROTOCOL_DIR

CASES = json.loads((PROTOCOL_DIR / "segments_cases.json").read_text())


def _case_params() -> list[tuple[str, str, int]]:
    return [(c["text"], c["encoding"], c["segments"]) for c in CASES]


@pytest.mark.parametrize(("text", "encoding", "segments"), _case_params())
def test_segments_endpoint_matches_official_cases(
    client: TestClient, tenant: Tenant, text: str, encoding: str, segments: int
) -> None:
    response = client.post("/v1/sms/segments", json={"body": text}, headers=tenant.headers)
    assert response.status_code == 200
    assert (response.json()["encoding"], response.json()["segments"]) == (encoding, segments)


def test_boundaries_160_and_70(client: TestClient, tenant: Tenant) -> None:
    def count(body: str) -> int:
        r = client.post("/v1/sms/segments", json={"body": body}, headers=tenant.headers)
        return int(r.json()["segments"])

    assert (count("a" * 160), count("a" * 161)) == (1, 2)
    assert (count("ж" * 70), count("ж" * 71)) == (1, 2)


def test_segments_needs_a_key_and_a_body(client: TestClient, tenant: Tenant) -> None:
    assert client.post("/v1/sms/segments", json={"body": "hi"}).status_code == 401
    bad = client.post("/v1/sms/segments", json={"text": "hi"}, headers=tenant.headers)
    assert bad.status_code == 422
