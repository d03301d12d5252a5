"""Templates through the platform API: CRUD, save-time checks naming the field, the variable
reference, previews with example and real values, and tenancy."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dramtrade.models import (
    Conversation,
    Customer,
    Invoice,
    Job,
    Membership,
    Message,
    Template,
    User,
)
from dramtrade.templating import VARIABLES
from tests.conftest import Tenant

SMS = {"name": "Reminder", "channel": "sms", "body": "Hi {{first_name}}, see you {{job_date}}."}
EMAIL = {
    "name": "Booked",
    "channel": "email",
    "subject": "Your {{job_type}} on {{job_date}}",
    "body": "Hi {{first_name}}, your {{job_type}} is booked.",
    "html": '<p>Hi {{first_name}}</p><a href="{{invoice_link}}">Pay {{invoice_total}}</a>',
    "category": "notification",
    "trigger": "job_booked",
}


def _create(client: TestClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/templates", json={**SMS, **fields}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _error(response: Any) -> tuple[list[Any], str]:
    """The single 422 error: its ``loc`` and ``msg``."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert len(detail) == 1, detail
    return detail[0]["loc"], detail[0]["msg"]


# --- create, read, update, delete ---------------------------------------------------------------


def test_create_get_round_trip(client: TestClient, tenant: Tenant) -> None:
    created = _create(client, tenant, **EMAIL)
    assert created["channel"] == "email"
    assert created["subject"] == EMAIL["subject"]
    assert created["html"] == EMAIL["html"]
    assert created["category"] == "notification" and created["trigger"] == "job_booked"
    assert created["variables"] == [
        "job_type",
        "job_date",
        "first_name",
        "invoice_link",
        "invoice_total",
    ]
    got = client.get(f"/v1/templates/{created['id']}", headers=tenant.headers)
    assert got.status_code == 200 and got.json() == created


def test_both_channel_is_stored_as_both(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    created = _create(client, tenant, name="Either", channel="both", subject="Hello {{first_name}}")
    row = db_session.get_one(Template, uuid.UUID(created["id"]))
    assert row.channel == "both" and created["channel"] == "both"


def test_patch_changes_only_the_fields_sent(client: TestClient, tenant: Tenant) -> None:
    created = _create(client, tenant, **EMAIL)
    response = client.patch(
        f"/v1/templates/{created['id']}",
        json={"body": "Thanks {{customer_name}}", "category": None},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["body"] == "Thanks {{customer_name}}"
    assert updated["category"] is None
    assert updated["subject"] == EMAIL["subject"] and updated["name"] == "Booked"
    assert updated["updated_at"] >= created["updated_at"]


def test_patch_is_checked_as_the_template_it_produces(client: TestClient, tenant: Tenant) -> None:
    created = _create(client, tenant, **EMAIL)
    url = f"/v1/templates/{created['id']}"
    # An email template moving to SMS keeps its subject unless it is cleared in the same request.
    loc, msg = _error(client.patch(url, json={"channel": "sms"}, headers=tenant.headers))
    assert loc == ["body", "subject"] and "no subject" in msg
    response = client.patch(
        url, json={"channel": "sms", "subject": None, "html": None}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["channel"] == "sms" and response.json()["subject"] is None
    # Back to email without a subject: the subject is required.
    loc, msg = _error(client.patch(url, json={"channel": "email"}, headers=tenant.headers))
    assert loc == ["body", "subject"] and "required" in msg
    # Required fields cannot be nulled.
    assert client.patch(url, json={"body": None}, headers=tenant.headers).status_code == 422


def test_delete_then_404(client: TestClient, tenant: Tenant) -> None:
    created = _create(client, tenant)
    url = f"/v1/templates/{created['id']}"
    response = client.delete(url, headers=tenant.headers)
    assert response.status_code == 204 and response.content == b""
    assert client.get(url, headers=tenant.headers).status_code == 404
    assert client.delete(url, headers=tenant.headers).status_code == 404
    assert client.patch(url, json={"name": "x"}, headers=tenant.headers).status_code == 404


def test_delete_keeps_messages_sent_from_it(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    created = _create(client, tenant)
    customer = Customer(sub_account_id=tenant.sub_account_id, first_name="Dana")
    db_session.add(customer)
    db_session.flush()
    conversation = Conversation(
        sub_account_id=tenant.sub_account_id,
        contact_key=f"customer:{customer.id}",
        customer_id=customer.id,
    )
    db_session.add(conversation)
    db_session.flush()
    message = Message(
        sub_account_id=tenant.sub_account_id,
        conversation_id=conversation.id,
        customer_id=customer.id,
        direction="outbound",
        channel="sms",
        from_addr=tenant.phone_number,
        to_addr="+15125550199",
        body="Hi Dana, see you Tuesday.",
        status="delivered",
        provider="twilio",
        template_id=uuid.UUID(created["id"]),
    )
    db_session.add(message)
    db_session.flush()
    assert (
        client.delete(f"/v1/templates/{created['id']}", headers=tenant.headers).status_code == 204
    )
    db_session.expire_all()
    kept = db_session.get_one(Message, message.id)
    assert kept.template_id is None and kept.body == "Hi Dana, see you Tuesday."


# --- save-time checks: 422 naming the problem and the field ------------------------------------


@pytest.mark.parametrize(
    ("fields", "loc", "problem"),
    [
        ({"body": "Hi {{frist_name}}"}, "body", "unknown variable(s): frist_name"),
        ({"body": "Hi {{frist_name}}"}, "body", "did you mean first_name?"),
        ({"body": "Hi {{first_name}"}, "body", "unbalanced"),
        ({"body": "Hi first_name}}"}, "body", "unbalanced"),
        ({"body": "{{ first_name.__class__ }}"}, "body", "malformed"),
        ({"body": "{{ 7*7 }}"}, "body", "malformed"),
        ({"body": ""}, "body", "empty"),
        ({"body": "   \n "}, "body", "empty"),
        (
            {"channel": "email", "subject": "Hi {{nope}}", "body": "x"},
            "subject",
            "unknown variable(s): nope",
        ),
        ({"channel": "email", "subject": "{{job_date", "body": "x"}, "subject", "unbalanced"),
        ({"channel": "email", "subject": "", "body": "x"}, "subject", "empty"),
        ({"channel": "email", "body": "x"}, "subject", "required for email"),
        ({"channel": "both", "body": "x"}, "subject", "required for both"),
        ({"subject": "Hello"}, "subject", "SMS templates have no subject"),
        ({"html": "<p>x</p>"}, "html", "SMS templates have no HTML"),
        (
            {"channel": "email", "subject": "s", "body": "x", "html": "<p>{{bogus}}</p>"},
            "html",
            "unknown variable(s): bogus",
        ),
        (
            {"channel": "email", "subject": "s", "body": "x", "html": "<p>{{first_name</p>"},
            "html",
            "unbalanced",
        ),
        (
            {
                "channel": "email",
                "subject": "s",
                "body": "x",
                "html": "<script>var n = '{{first_name}}'</script>",
            },
            "html",
            "inside <script>",
        ),
        (
            {
                "channel": "email",
                "subject": "s",
                "body": "x",
                "html": '<a href="{{first_name}}">x</a>',
            },
            "html",
            "start of the href= link",
        ),
    ],
)
def test_bad_templates_are_422_naming_the_field(
    client: TestClient, tenant: Tenant, fields: dict[str, Any], loc: str, problem: str
) -> None:
    response = client.post("/v1/templates", json={**SMS, **fields}, headers=tenant.headers)
    got_loc, msg = _error(response)
    assert got_loc == ["body", loc]
    assert msg.startswith(f"{loc}: ") and problem in msg
    assert response.json()["detail"][0]["type"] == "value_error"
    listed = client.get("/v1/templates", params={"category": "never"}, headers=tenant.headers)
    assert listed.json()["items"] == []


def test_patch_with_an_unknown_variable_is_422_and_changes_nothing(
    client: TestClient, tenant: Tenant
) -> None:
    created = _create(client, tenant)
    url = f"/v1/templates/{created['id']}"
    loc, msg = _error(client.patch(url, json={"body": "{{frist_name}}"}, headers=tenant.headers))
    assert loc == ["body", "body"] and "frist_name" in msg
    assert client.get(url, headers=tenant.headers).json()["body"] == SMS["body"]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"channel": "fax"}, "channel"),
        ({"trigger": "job_exploded"}, "trigger"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"channel": "email", "subject": "a\r\nBcc: x@example.com"}, "subject"),
        ({"colour": "red"}, "colour"),
        ({"body": "a\x00b"}, "body"),
    ],
)
def test_shape_errors_name_the_field(
    client: TestClient, tenant: Tenant, fields: dict[str, Any], loc: str
) -> None:
    response = client.post("/v1/templates", json={**SMS, **fields}, headers=tenant.headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", loc]


@pytest.mark.parametrize(
    "trigger",
    ["job_booked", "technician_en_route", "payment_received", "membership_renewal_7d"],
)
def test_triggers_of_milestones_and_renewals_are_accepted(
    client: TestClient, tenant: Tenant, trigger: str
) -> None:
    assert _create(client, tenant, name=f"t-{trigger}", trigger=trigger)["trigger"] == trigger


def test_duplicate_name_and_channel_is_409(client: TestClient, tenant: Tenant) -> None:
    _create(client, tenant)
    response = client.post("/v1/templates", json=SMS, headers=tenant.headers)
    assert response.status_code == 409, response.text
    assert "Reminder" in response.json()["detail"]
    # The same name on another channel is another template.
    _create(client, tenant, channel="email", subject="Reminder")
    # Renaming onto an existing (name, channel) is a 409 too.
    other = _create(client, tenant, name="Other")
    response = client.patch(
        f"/v1/templates/{other['id']}", json={"name": "Reminder"}, headers=tenant.headers
    )
    assert response.status_code == 409, response.text


def test_the_same_name_in_another_sub_account_is_fine(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    _create(client, tenant)
    _create(client, other_tenant)


# --- list ----------------------------------------------------------------------------------------


def _names(client: TestClient, tenant: Tenant, **params: Any) -> list[str]:
    response = client.get("/v1/templates", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [t["name"] for t in response.json()["items"]]


def test_list_filters_by_channel_category_and_trigger(client: TestClient, tenant: Tenant) -> None:
    # Provisioning made the default notification templates; set them aside (category filter).
    from dramtrade.provisioning import DEFAULT_TEMPLATES

    defaults = {t.name for t in DEFAULT_TEMPLATES}

    def names(**params: Any) -> list[str]:
        return [n for n in _names(client, tenant, **params) if n not in defaults]

    _create(client, tenant, name="s1", category="promo")
    _create(client, tenant, name="e1", channel="email", subject="s", trigger="job_complete")
    _create(client, tenant, name="b1", channel="both", subject="s", category="promo")
    assert "Job booked (SMS)" in _names(client, tenant, channel="sms", category="notification")
    assert names(channel="sms") == ["s1", "b1"]
    assert names(channel="email") == ["e1", "b1"]
    assert names(channel="both") == ["b1"]
    assert names(category="promo") == ["s1", "b1"]
    assert names(trigger="job_complete") == ["e1"]
    assert "Job complete (email)" in _names(client, tenant, trigger="job_complete")
    assert names(channel="sms", category="promo") == ["s1", "b1"]
    response = client.get("/v1/templates", params={"channel": "fax"}, headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "channel"]


def test_list_pages_with_a_cursor(client: TestClient, tenant: Tenant) -> None:
    for index in range(5):
        _create(client, tenant, name=f"page-{index}")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/templates", params=params, headers=tenant.headers).json()
        assert set(page) == {"items", "next_cursor"}
        seen += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    from dramtrade.provisioning import DEFAULT_TEMPLATES

    # Every template once, the provisioned defaults first, in creation order.
    assert len(seen) == len(set(seen)) == len(DEFAULT_TEMPLATES) + 5
    assert seen[-5:] == [f"page-{i}" for i in range(5)]
    bad = client.get("/v1/templates", params={"cursor": "nope"}, headers=tenant.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]


# --- tenancy -------------------------------------------------------------------------------------


def test_another_sub_accounts_template_is_404_everywhere(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = _create(client, other_tenant, name="Theirs")
    url = f"/v1/templates/{theirs['id']}"
    assert client.get(url, headers=tenant.headers).status_code == 404
    assert client.patch(url, json={"name": "Mine"}, headers=tenant.headers).status_code == 404
    assert client.post(f"{url}/preview", headers=tenant.headers).status_code == 404
    assert client.delete(url, headers=tenant.headers).status_code == 404
    assert client.get(url, headers=other_tenant.headers).json()["name"] == "Theirs"
    assert "Theirs" not in _names(client, tenant)
    assert client.get(f"/v1/templates/{uuid.uuid4()}", headers=tenant.headers).status_code == 404


def test_templates_need_an_api_key(client: TestClient) -> None:
    assert client.get("/v1/templates").status_code == 401
    assert client.post("/v1/templates", json=SMS).status_code == 401


# --- variable reference --------------------------------------------------------------------------


def test_variable_reference(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/v1/templates/variables", headers=tenant.headers)
    assert response.status_code == 200, response.text
    reference = response.json()
    assert [v["name"] for v in reference] == list(VARIABLES)
    required = {
        "first_name",
        "last_name",
        "customer_name",
        "appointment_time",
        "job_date",
        "job_type",
        "technician_name",
        "technician_phone",
        "invoice_total",
        "invoice_due_date",
        "invoice_link",
        "membership_plan",
        "renewal_date",
        "business_name",
        "business_phone",
    }
    assert required <= {v["name"] for v in reference}
    assert all(set(v) == {"name", "description", "example"} for v in reference)
    assert all(v["description"] and v["example"] for v in reference)


# --- preview -------------------------------------------------------------------------------------


@pytest.fixture
def booked(db_session: Session, tenant: Tenant) -> tuple[Customer, Job]:
    """A Los Angeles customer of the Chicago sub-account with a job, invoice and membership."""
    tech = User(
        sub_account_id=tenant.sub_account_id,
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        name="Marco Ruiz",
        phone="+15125550142",
    )
    customer = Customer(
        sub_account_id=tenant.sub_account_id,
        first_name="Dana",
        last_name="Whitfield",
        timezone="America/Los_Angeles",
    )
    db_session.add_all([tech, customer])
    db_session.flush()
    job = Job(
        sub_account_id=tenant.sub_account_id,
        customer_id=customer.id,
        job_type="AC tune-up",
        scheduled_start=datetime(2027, 3, 10, 16, 0, tzinfo=UTC),  # 8:00 AM in Los Angeles (PST)
        scheduled_end=datetime(2027, 3, 10, 18, 0, tzinfo=UTC),
        technician_id=tech.id,
    )
    db_session.add(job)
    db_session.flush()
    db_session.add_all(
        [
            Invoice(
                sub_account_id=tenant.sub_account_id,
                customer_id=customer.id,
                job_id=job.id,
                number="INV-1",
                total_cents=124_950,
                due_date=date(2027, 3, 24),
                link="https://pay.example.com/i/1",
            ),
            Membership(
                sub_account_id=tenant.sub_account_id,
                customer_id=customer.id,
                plan="Comfort Club",
                renewal_date=date(2027, 4, 1),
            ),
        ]
    )
    db_session.flush()
    return customer, job


def test_preview_with_example_values(client: TestClient, tenant: Tenant) -> None:
    created = _create(client, tenant, **EMAIL)
    response = client.post(f"/v1/templates/{created['id']}/preview", headers=tenant.headers)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["source"] == "examples" and preview["missing"] == []
    assert preview["subject"] == "Your AC tune-up on Tuesday, March 10"
    assert preview["body"] == "Hi Dana, your AC tune-up is booked."
    assert preview["html"] == (
        '<p>Hi Dana</p><a href="https://pay.example.com/i/1042">Pay $249.00</a>'
    )


def test_preview_with_a_job_uses_real_values_in_the_customers_timezone(
    client: TestClient, tenant: Tenant, booked: tuple[Customer, Job]
) -> None:
    customer, job = booked
    created = _create(
        client,
        tenant,
        name="Full",
        channel="both",
        subject="{{job_type}} on {{job_date}}",
        body=(
            "{{customer_name}}: {{appointment_time}} with {{technician_name}} "
            "({{technician_phone}}). Total {{invoice_total}} due {{invoice_due_date}}. "
            "{{membership_plan}} renews {{renewal_date}}. {{business_name}}"
        ),
    )
    response = client.post(
        f"/v1/templates/{created['id']}/preview",
        json={"job_id": str(job.id)},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["source"] == "customer" and preview["missing"] == []
    assert preview["subject"] == "AC tune-up on Wednesday, March 10"
    assert preview["body"] == (
        "Dana Whitfield: 8:00 AM - 10:00 AM with Marco Ruiz ((512) 555-0142). "
        "Total $1,249.50 due March 24, 2027. Comfort Club renews April 1, 2027. "
        "Lone Star Comfort"
    )
    same = client.post(
        f"/v1/templates/{created['id']}/preview",
        json={"job_id": str(job.id), "customer_id": str(customer.id)},
        headers=tenant.headers,
    )
    assert same.json() == preview


def test_preview_with_a_customer_only_reports_missing_job_values(
    client: TestClient, tenant: Tenant, booked: tuple[Customer, Job]
) -> None:
    customer, _job = booked
    created = _create(client, tenant, body="Hi {{first_name}}, {{technician_name}} is coming")
    response = client.post(
        f"/v1/templates/{created['id']}/preview",
        json={"customer_id": str(customer.id)},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["body"] == "Hi Dana,  is coming"
    assert response.json()["missing"] == ["technician_name"]


def test_preview_escapes_values_in_html_only(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    customer = Customer(
        sub_account_id=tenant.sub_account_id, first_name='<img src=x onerror="alert(1)">'
    )
    db_session.add(customer)
    db_session.flush()
    response = client.post(
        "/v1/templates/preview",
        json={
            "channel": "email",
            "subject": "Hi {{first_name}}",
            "body": "Hi {{first_name}}",
            "html": '<p title="{{first_name}}">Hi {{first_name}}</p>',
            "customer_id": str(customer.id),
        },
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    assert preview["html"] == f'<p title="{escaped}">Hi {escaped}</p>'
    assert preview["body"] == 'Hi <img src=x onerror="alert(1)">'  # plain text: not HTML


def test_draft_preview_is_checked_like_a_save(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        "/v1/templates/preview",
        json={"channel": "sms", "body": "Hi {{frist_name}}"},
        headers=tenant.headers,
    )
    loc, msg = _error(response)
    assert loc == ["body", "body"] and "frist_name" in msg
    ok = client.post(
        "/v1/templates/preview",
        json={"channel": "sms", "body": "Hi {{first_name}} {{first_name.x}}"},
        headers=tenant.headers,
    )
    loc, _msg = _error(ok)
    assert loc == ["body", "body"]


def test_preview_with_foreign_or_mismatched_ids_is_422_naming_the_field(
    client: TestClient,
    tenant: Tenant,
    other_tenant: Tenant,
    db_session: Session,
    booked: tuple[Customer, Job],
) -> None:
    customer, job = booked
    stranger = Customer(sub_account_id=other_tenant.sub_account_id, first_name="Eve")
    mine = Customer(sub_account_id=tenant.sub_account_id, first_name="Sam")
    db_session.add_all([stranger, mine])
    db_session.flush()
    created = _create(client, tenant)
    url = f"/v1/templates/{created['id']}/preview"

    def post(**body: Any) -> Any:
        return client.post(url, json=body, headers=tenant.headers)

    assert _error(post(customer_id=str(stranger.id)))[0] == ["body", "customer_id"]
    assert _error(post(customer_id=str(uuid.uuid4())))[0] == ["body", "customer_id"]
    assert _error(post(job_id=str(uuid.uuid4())))[0] == ["body", "job_id"]
    loc, msg = _error(post(customer_id=str(mine.id), job_id=str(job.id)))
    assert loc == ["body", "job_id"] and "another customer" in msg
    # The other sub-account cannot preview with this sub-account's job either.
    theirs = _create(client, other_tenant)
    response = client.post(
        f"/v1/templates/{theirs['id']}/preview",
        json={"job_id": str(job.id)},
        headers=other_tenant.headers,
    )
    assert _error(response)[0] == ["body", "job_id"]
    assert customer.id != stranger.id
