"""Invoices and memberships through the platform API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Tenant


def _customer(client: TestClient, tenant: Tenant, name: str = "Pat") -> str:
    response = client.post("/v1/customers", json={"first_name": name}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _job(client: TestClient, tenant: Tenant, customer_id: str) -> str:
    response = client.post(
        "/v1/jobs", json={"customer_id": customer_id, "job_type": "Repair"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_invoice_round_trip(client: TestClient, tenant: Tenant):
    customer_id = _customer(client, tenant)
    job_id = _job(client, tenant, customer_id)
    response = client.post(
        "/v1/invoices",
        json={
            "customer_id": customer_id,
            "job_id": job_id,
            "number": "INV-1042",
            "total_cents": 12550,
            "currency": "usd",
            "due_date": "2025-07-01",
            "link": "https://pay.example.com/inv/1042",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["currency"] == "USD" and invoice["status"] == "draft"
    assert invoice["total_cents"] == 12550
    assert client.get(f"/v1/invoices/{invoice['id']}", headers=tenant.headers).json() == invoice

    patched = client.patch(
        f"/v1/invoices/{invoice['id']}", json={"status": "paid"}, headers=tenant.headers
    )
    assert patched.status_code == 200 and patched.json()["status"] == "paid"
    listed = client.get(
        "/v1/invoices",
        params={"customer_id": customer_id, "status": "paid"},
        headers=tenant.headers,
    ).json()
    assert [i["id"] for i in listed["items"]] == [invoice["id"]]


def test_invoice_validation(client: TestClient, tenant: Tenant, other_tenant: Tenant):
    customer_id = _customer(client, tenant)
    other_customer = _customer(client, tenant, "Sam")
    other_job = _job(client, tenant, other_customer)
    foreign_job = _job(client, other_tenant, _customer(client, other_tenant))
    base = {"customer_id": customer_id, "number": "INV-1", "total_cents": 100}
    cases = [
        ({**base, "total_cents": -1}, ["body", "total_cents"]),
        ({**base, "total_cents": "12.50"}, ["body", "total_cents"]),
        ({**base, "total_cents": 12.5}, ["body", "total_cents"]),
        ({**base, "link": "not a url"}, ["body", "link"]),
        ({**base, "currency": "DOLLARS"}, ["body", "currency"]),
        ({**base, "status": "overdue"}, ["body", "status"]),
        ({**base, "job_id": foreign_job}, ["body", "job_id"]),
        ({**base, "job_id": other_job}, ["body", "job_id"]),
    ]
    for body, loc in cases:
        response = client.post("/v1/invoices", json=body, headers=tenant.headers)
        assert response.status_code == 422, (body, response.text)
        assert [e["loc"] for e in response.json()["detail"]] == [loc], (body, response.text)


def test_membership_round_trip_and_validation(client: TestClient, tenant: Tenant):
    customer_id = _customer(client, tenant)
    response = client.post(
        "/v1/memberships",
        json={
            "customer_id": customer_id,
            "plan": "Comfort Club",
            "renewal_date": "2026-01-31",
            "external_id": "M-1",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    membership = response.json()
    assert membership["status"] == "active"
    got = client.get(f"/v1/memberships/{membership['id']}", headers=tenant.headers)
    assert got.json() == membership

    patched = client.patch(
        f"/v1/memberships/{membership['id']}",
        json={"renewal_date": "2026-02-28", "status": "cancelled"},
        headers=tenant.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["renewal_date"] == "2026-02-28"
    assert patched.json()["plan"] == "Comfort Club"

    listed = client.get(
        "/v1/memberships", params={"status": "cancelled"}, headers=tenant.headers
    ).json()
    assert [m["id"] for m in listed["items"]] == [membership["id"]]

    dup = client.post(
        "/v1/memberships",
        json={
            "customer_id": customer_id,
            "plan": "X",
            "renewal_date": "2026-01-31",
            "external_id": "M-1",
        },
        headers=tenant.headers,
    )
    assert dup.status_code == 409
    missing_date = client.post(
        "/v1/memberships", json={"customer_id": customer_id, "plan": "X"}, headers=tenant.headers
    )
    assert missing_date.status_code == 422
    assert missing_date.json()["detail"][0]["loc"] == ["body", "renewal_date"]
    null_plan = client.patch(
        f"/v1/memberships/{membership['id']}", json={"plan": None}, headers=tenant.headers
    )
    assert null_plan.status_code == 422 and "plan" in null_plan.text
