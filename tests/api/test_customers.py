"""Customers through the platform API: round trips, normalisation, conflicts, search, paging."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dramtrade.errors import Conflict
from dramtrade.models import Customer, CustomerPhone
from dramtrade.services import writes_or_conflict
from tests.conftest import Tenant


def _create(client: TestClient, tenant: Tenant, **fields: object) -> dict:
    body = {"first_name": "Pat", **fields}
    response = client.post("/v1/customers", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _errors(response) -> list[dict]:
    assert response.status_code == 422, response.text
    return response.json()["detail"]


def test_create_get_round_trip_normalises_phone_and_email(client: TestClient, tenant: Tenant):
    created = _create(
        client,
        tenant,
        external_id="C-100",
        last_name="Nguyen",
        company="Nguyen Dental",
        phones=[{"number": "(512) 555-0134", "label": "mobile"}, {"number": "512.555.0199"}],
        emails=[{"email": "  Pat.Nguyen@Example.COM ", "label": "work"}],
        address={
            "line1": "1 Main St",
            "city": "Austin",
            "state": "TX",
            "zip": "78701",
            "country": "us",
        },
        timezone="America/Chicago",
        tags=["vip", "vip", "hvac"],
        segment="residential",
        membership_status="active",
        last_service_date="2025-01-15",
    )
    assert created["phones"] == [
        {"number": "+15125550134", "label": "mobile"},
        {"number": "+15125550199", "label": "mobile"},
    ]
    assert created["emails"] == [{"email": "pat.nguyen@example.com", "label": "work"}]
    assert created["address"]["country"] == "US"
    assert created["tags"] == ["vip", "hvac"]
    assert created["sms_opted_out"] is False and created["email_suppressed"] is False

    fetched = client.get(f"/v1/customers/{created['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_patch_changes_only_sent_fields_and_replaces_phones(client: TestClient, tenant: Tenant):
    created = _create(
        client, tenant, last_name="Lee", phones=[{"number": "5125550134"}], company="Lee Co"
    )
    response = client.patch(
        f"/v1/customers/{created['id']}",
        json={"phones": [{"number": "+1 512 555 0177", "label": "home"}], "company": None},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["phones"] == [{"number": "+15125550177", "label": "home"}]
    assert updated["company"] is None
    assert updated["last_name"] == "Lee"
    # the old number is free again for another customer
    _create(client, tenant, first_name="Other", phones=[{"number": "512-555-0134"}])


def test_invalid_number_is_422_naming_it_and_the_field(
    client: TestClient, tenant: Tenant, db_session: Session
):
    response = client.post(
        "/v1/customers",
        json={"first_name": "Pat", "phones": [{"number": "5125550134"}, {"number": "555-01"}]},
        headers=tenant.headers,
    )
    [error] = _errors(response)
    assert error["loc"] == ["body", "phones", 1, "number"]
    assert "555-01" in error["msg"] and "phones[1].number" in error["msg"]
    count = db_session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.sub_account_id == tenant.sub_account_id)
    )
    assert count == 0  # nothing half-written


def test_duplicate_phone_is_409_naming_it(client: TestClient, tenant: Tenant, db_session: Session):
    first = _create(client, tenant, phones=[{"number": "(512) 555-0134"}])
    response = client.post(
        "/v1/customers",
        json={"first_name": "Sam", "phones": [{"number": "512 555 0134"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 409
    assert "+15125550134" in response.json()["detail"]
    assert first["id"] in response.json()["detail"]
    rows = db_session.scalars(
        select(CustomerPhone).where(CustomerPhone.sub_account_id == tenant.sub_account_id)
    ).all()
    assert len(rows) == 1


def test_duplicate_email_and_external_id_are_409(client: TestClient, tenant: Tenant):
    _create(client, tenant, external_id="X1", emails=[{"email": "a@example.com"}])
    dup_email = client.post(
        "/v1/customers",
        json={"first_name": "B", "emails": [{"email": "A@example.com"}]},
        headers=tenant.headers,
    )
    assert dup_email.status_code == 409 and "a@example.com" in dup_email.json()["detail"]
    dup_ext = client.post(
        "/v1/customers", json={"first_name": "B", "external_id": "X1"}, headers=tenant.headers
    )
    assert dup_ext.status_code == 409 and "X1" in dup_ext.json()["detail"]


def test_same_phone_in_two_tenants_is_fine(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
):
    _create(client, tenant, phones=[{"number": "5125550134"}])
    _create(client, other_tenant, phones=[{"number": "5125550134"}])


def test_validation_errors_name_the_field(client: TestClient, tenant: Tenant):
    cases = [
        ({"first_name": "P", "nickname": "x"}, ["body", "nickname"]),
        ({"last_name": "NoFirst"}, ["body", "first_name"]),
        ({"first_name": "P", "timezone": "Mars/Olympus"}, ["body", "timezone"]),
        (
            {"first_name": "P", "emails": [{"email": "not-an-email"}]},
            ["body", "emails", 0, "email"],
        ),
        ({"first_name": "P", "sms_opted_out": True}, ["body", "sms_opted_out"]),
        ({"first_name": "P", "membership_status": "gold"}, ["body", "membership_status"]),
        ({"first_name": "x" * 101}, ["body", "first_name"]),
    ]
    for body, loc in cases:
        errors = _errors(client.post("/v1/customers", json=body, headers=tenant.headers))
        assert [e["loc"] for e in errors] == [loc], (body, errors)


def test_patch_rejects_null_first_name_and_unknown_id(client: TestClient, tenant: Tenant):
    created = _create(client, tenant)
    response = client.patch(
        f"/v1/customers/{created['id']}", json={"first_name": None}, headers=tenant.headers
    )
    assert response.status_code == 422 and "first_name" in response.text
    missing = client.patch(
        f"/v1/customers/{uuid.uuid4()}", json={"first_name": "X"}, headers=tenant.headers
    )
    assert missing.status_code == 404
    assert missing.json() == {"detail": "customer not found"}


def test_search_by_phone_email_and_text(client: TestClient, tenant: Tenant):
    pat = _create(
        client,
        tenant,
        last_name="Nguyen",
        phones=[{"number": "5125550134"}],
        emails=[{"email": "pat@example.com"}],
    )
    sam = _create(client, tenant, first_name="Sam", company="100% Cool_Air")

    def ids(params: dict) -> list[str]:
        response = client.get("/v1/customers", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids({"phone": "(512) 555-0134"}) == [pat["id"]]
    assert ids({"email": "PAT@example.com"}) == [pat["id"]]
    assert ids({"q": "pat nguyen"}) == [pat["id"]]
    assert ids({"q": "100%"}) == [sam["id"]]
    assert ids({"q": "_"}) == [sam["id"]]
    assert ids({}) == [pat["id"], sam["id"]]
    bad = client.get("/v1/customers", params={"phone": "12"}, headers=tenant.headers)
    assert _errors(bad)[0]["loc"] == ["query", "phone"]


def test_list_pages_with_cursor(client: TestClient, tenant: Tenant):
    made = [_create(client, tenant, first_name=f"C{i}")["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/customers", params=params, headers=tenant.headers).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    bad = client.get("/v1/customers", params={"cursor": "garbage!"}, headers=tenant.headers)
    assert _errors(bad)[0]["loc"] == ["query", "cursor"]


def test_unique_race_becomes_conflict_and_session_stays_usable(tenant: Tenant, db_session: Session):
    """Two writers adding the same number at once: the loser gets a Conflict, not a 500."""
    owner = Customer(sub_account_id=tenant.sub_account_id, first_name="A")
    db_session.add(owner)
    db_session.flush()
    db_session.add(
        CustomerPhone(
            sub_account_id=tenant.sub_account_id, customer_id=owner.id, e164="+15125550134"
        )
    )
    db_session.flush()
    with pytest.raises(Conflict), writes_or_conflict(db_session, "phone in use"):
        db_session.add(
            CustomerPhone(
                sub_account_id=tenant.sub_account_id, customer_id=owner.id, e164="+15125550134"
            )
        )
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(CustomerPhone)
            .where(CustomerPhone.sub_account_id == tenant.sub_account_id)
        )
        == 1
    )
