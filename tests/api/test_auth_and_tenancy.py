"""API keys, tenant isolation and malformed requests across the v1 API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant

LIST_PATHS = ["/v1/customers", "/v1/jobs", "/v1/invoices", "/v1/memberships", "/v1/conversations"]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_401_without_or_with_wrong_key(client: TestClient, tenant: Tenant, path: str):
    assert client.get(path).status_code == 401
    wrong = client.get(path, headers={"Authorization": "Bearer dtk_not-a-real-key"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.get(path, headers={"Authorization": tenant.api_key}).status_code == 401
    assert client.get(path, headers=tenant.headers).status_code == 200


def test_write_without_key_writes_nothing(client: TestClient, tenant: Tenant):
    assert client.post("/v1/customers", json={"first_name": "X"}).status_code == 401
    assert client.get("/v1/customers", headers=tenant.headers).json()["items"] == []


def _seed(client: TestClient, tenant: Tenant) -> dict[str, str]:
    h = tenant.headers
    customer = client.post(
        "/v1/customers",
        json={"first_name": "Secret", "phones": [{"number": "5125550134"}]},
        headers=h,
    ).json()["id"]
    job = client.post(
        "/v1/jobs", json={"customer_id": customer, "job_type": "Repair"}, headers=h
    ).json()["id"]
    invoice = client.post(
        "/v1/invoices",
        json={"customer_id": customer, "number": "S-1", "total_cents": 1},
        headers=h,
    ).json()["id"]
    membership = client.post(
        "/v1/memberships",
        json={"customer_id": customer, "plan": "Secret plan", "renewal_date": "2026-01-01"},
        headers=h,
    ).json()["id"]
    return {"customers": customer, "jobs": job, "invoices": invoice, "memberships": membership}


def test_foreign_ids_are_404_and_lists_show_only_own_rows(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
):
    theirs = _seed(client, other_tenant)
    mine = _seed(client, tenant)
    singular = {
        "customers": "customer",
        "jobs": "job",
        "invoices": "invoice",
        "memberships": "membership",
    }
    for kind, their_id in theirs.items():
        got = client.get(f"/v1/{kind}/{their_id}", headers=tenant.headers)
        assert got.status_code == 404, (kind, got.text)
        assert got.json() == {"detail": f"{singular[kind]} not found"}
        patched = client.patch(f"/v1/{kind}/{their_id}", json={}, headers=tenant.headers)
        assert patched.status_code == 404 and "Secret" not in patched.text

        listed = client.get(f"/v1/{kind}", headers=tenant.headers).json()["items"]
        assert [row["id"] for row in listed] == [mine[kind]]

    # filtering by a foreign customer finds nothing rather than their rows
    jobs = client.get(
        "/v1/jobs", params={"customer_id": theirs["customers"]}, headers=tenant.headers
    )
    assert jobs.status_code == 200 and jobs.json()["items"] == []
    # searching by a number another tenant uses finds only our own customer
    found = client.get("/v1/customers", params={"phone": "5125550134"}, headers=tenant.headers)
    assert [c["id"] for c in found.json()["items"]] == [mine["customers"]]


def test_foreign_customer_cannot_be_referenced(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
):
    theirs = _seed(client, other_tenant)
    own_customer = _seed(client, tenant)["customers"]
    for path, body in [
        ("/v1/jobs", {"customer_id": theirs["customers"], "job_type": "Repair"}),
        (
            "/v1/memberships",
            {"customer_id": theirs["customers"], "plan": "P", "renewal_date": "2026-01-01"},
        ),
        (
            "/v1/invoices",
            {
                "customer_id": own_customer,
                "job_id": theirs["jobs"],
                "number": "N",
                "total_cents": 1,
            },
        ),
    ]:
        response = client.post(path, json=body, headers=tenant.headers)
        assert response.status_code == 422, (path, response.text)


@pytest.mark.parametrize("kind", ["customers", "jobs", "invoices", "memberships", "conversations"])
def test_unknown_and_malformed_ids(client: TestClient, tenant: Tenant, kind: str):
    assert client.get(f"/v1/{kind}/{uuid.uuid4()}", headers=tenant.headers).status_code == 404
    malformed = client.get(f"/v1/{kind}/not-a-uuid", headers=tenant.headers)
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["loc"][:2] == ["path", f"{kind[:-1]}_id"]


def test_invalid_json_and_utf8_are_4xx(client: TestClient, tenant: Tenant):
    headers = tenant.headers | {"Content-Type": "application/json"}
    bad_json = client.post("/v1/customers", content=b'{"first_name": ', headers=headers)
    assert bad_json.status_code == 422
    bad_utf8 = client.post("/v1/customers", content=b'{"first_name": "\xff\xfe"}', headers=headers)
    assert 400 <= bad_utf8.status_code < 500
    not_object = client.post("/v1/customers", json=["first_name"], headers=tenant.headers)
    assert not_object.status_code == 422
    nul = client.post("/v1/customers", json={"first_name": "a\u0000b"}, headers=tenant.headers)
    assert 400 <= nul.status_code < 500


def test_oversized_body_is_413(client: TestClient, tenant: Tenant):
    body = {"first_name": "P", "segment": "x" * 1_100_000}
    response = client.post("/v1/customers", json=body, headers=tenant.headers)
    assert response.status_code == 413


def test_openapi_documents_v1(client: TestClient):
    schema = client.get("/openapi.json").json()
    for path in (
        "/v1/customers",
        "/v1/customers/{customer_id}",
        "/v1/jobs",
        "/v1/invoices",
        "/v1/memberships",
        "/v1/conversations",
        "/v1/conversations/{conversation_id}/messages",
    ):
        assert path in schema["paths"], path
    assert client.get("/docs").status_code == 200


def test_nul_in_query_is_422_naming_it(client: TestClient, tenant: Tenant):
    for params in ({"q": "a\x00b"}, {"email": "\x00"}, {"cursor": "\x00"}):
        response = client.get("/v1/customers", params=params, headers=tenant.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_chunked_body_over_the_limit_is_413(client: TestClient, tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"first_name": "'
        for _ in range(300):
            yield b"x" * 4096  # ~1.2 MB without a Content-Length header
        yield b'"}'

    response = client.post(
        "/v1/customers",
        content=chunks(),
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
