"""Jobs through the platform API: round trips, time zones, references within the tenant."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dramtrade.models import Role, User
from tests.conftest import Tenant


def _customer(client: TestClient, tenant: Tenant) -> str:
    response = client.post("/v1/customers", json={"first_name": "Pat"}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _technician(db_session: Session, tenant: Tenant) -> str:
    user = User(
        sub_account_id=tenant.sub_account_id,
        email=f"tech-{uuid.uuid4().hex[:8]}@example.com",
        name="Tina Tech",
        role=Role.technician,
    )
    db_session.add(user)
    db_session.flush()
    return str(user.id)


def test_create_get_update_list(client: TestClient, tenant: Tenant, db_session: Session):
    customer_id = _customer(client, tenant)
    tech = _technician(db_session, tenant)
    response = client.post(
        "/v1/jobs",
        json={
            "customer_id": customer_id,
            "external_id": "J-1",
            "job_type": "AC repair",
            "scheduled_start": "2025-06-01T09:00:00-05:00",
            "scheduled_end": "2025-06-01T11:00:00-05:00",
            "technician_id": tech,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "scheduled"
    assert job["scheduled_start"].startswith("2025-06-01T14:00:00")  # stored in UTC
    assert job["technician_id"] == tech

    assert client.get(f"/v1/jobs/{job['id']}", headers=tenant.headers).json() == job

    patched = client.patch(
        f"/v1/jobs/{job['id']}", json={"status": "en_route"}, headers=tenant.headers
    )
    assert patched.status_code == 200 and patched.json()["status"] == "en_route"
    assert patched.json()["job_type"] == "AC repair"

    listed = client.get(
        "/v1/jobs",
        params={"customer_id": customer_id, "status": "en_route"},
        headers=tenant.headers,
    ).json()
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    none = client.get("/v1/jobs", params={"status": "completed"}, headers=tenant.headers)
    assert none.json()["items"] == []


def test_naive_datetime_is_422(client: TestClient, tenant: Tenant):
    customer_id = _customer(client, tenant)
    response = client.post(
        "/v1/jobs",
        json={
            "customer_id": customer_id,
            "job_type": "Tune-up",
            "scheduled_start": "2025-06-01T09:00:00",
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "scheduled_start"]


def test_end_must_follow_start_also_on_patch(client: TestClient, tenant: Tenant):
    customer_id = _customer(client, tenant)
    bad = client.post(
        "/v1/jobs",
        json={
            "customer_id": customer_id,
            "job_type": "Tune-up",
            "scheduled_start": "2025-06-01T10:00:00Z",
            "scheduled_end": "2025-06-01T09:00:00Z",
        },
        headers=tenant.headers,
    )
    assert bad.status_code == 422 and "scheduled_end" in bad.text
    job = client.post(
        "/v1/jobs",
        json={
            "customer_id": customer_id,
            "job_type": "Tune-up",
            "scheduled_start": "2025-06-01T10:00:00Z",
        },
        headers=tenant.headers,
    ).json()
    patched = client.patch(
        f"/v1/jobs/{job['id']}",
        json={"scheduled_end": "2025-06-01T08:00:00Z"},
        headers=tenant.headers,
    )
    assert patched.status_code == 422
    assert patched.json()["detail"][0]["loc"] == ["body", "scheduled_end"]


def test_foreign_customer_or_technician_is_422_on_that_field(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, db_session: Session
):
    mine = _customer(client, tenant)
    theirs = _customer(client, other_tenant)
    their_tech = _technician(db_session, other_tenant)
    response = client.post(
        "/v1/jobs", json={"customer_id": theirs, "job_type": "Tune-up"}, headers=tenant.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]
    assert response.json()["detail"][0]["msg"] == "customer_id: customer not found"
    response = client.post(
        "/v1/jobs",
        json={"customer_id": mine, "job_type": "Tune-up", "technician_id": their_tech},
        headers=tenant.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "technician_id"]


def test_bad_status_and_duplicate_external_id(client: TestClient, tenant: Tenant):
    customer_id = _customer(client, tenant)
    body = {"customer_id": customer_id, "job_type": "Tune-up", "external_id": "J-9"}
    assert client.post("/v1/jobs", json=body, headers=tenant.headers).status_code == 201
    assert client.post("/v1/jobs", json=body, headers=tenant.headers).status_code == 409
    bad = client.post(
        "/v1/jobs", json={**body, "external_id": "J-10", "status": "done"}, headers=tenant.headers
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]
