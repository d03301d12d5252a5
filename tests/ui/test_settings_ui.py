"""Settings pages: templates with inline errors and a live preview, the notification matrix,
the business settings; owners and admins only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dramtrade import notification_settings
from dramtrade.models import NotificationSetting, Role, SubAccount, Template, User
from tests.conftest import Tenant
from tests.ui.support import make_user, sign_in


@pytest.fixture
def owner_client(client: TestClient, owner_user: User) -> TestClient:
    client.csrf = sign_in(client, owner_user.email)  # type: ignore[attr-defined]
    return client


def _csrf(client: TestClient) -> str:
    token: str = client.csrf  # type: ignore[attr-defined]
    return token


PAGES = [
    "/app/settings/templates",
    "/app/settings/templates/new",
    "/app/settings/notifications",
    "/app/settings/account",
]


@pytest.mark.parametrize("path", PAGES)
def test_owner_and_admin_see_settings(
    client: TestClient, db_session: Session, tenant: Tenant, path: str
) -> None:
    admin = make_user(db_session, tenant.sub_account_id, Role.admin)
    sign_in(client, admin.email)
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert '<nav class="subnav" aria-label="Settings">' in response.text


@pytest.mark.parametrize("role", [Role.technician, Role.office])
def test_others_get_403(
    client: TestClient, db_session: Session, tenant: Tenant, role: Role
) -> None:
    user = make_user(db_session, tenant.sub_account_id, role)
    token = sign_in(client, user.email)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    response = client.post(
        "/app/settings/account",
        data={"csrf_token": token, "name": "Hacked", "timezone": "UTC", "brand_color": "#000000"},
    )
    assert response.status_code == 403
    assert "Hacked" not in {a.name for a in db_session.scalars(select(SubAccount))}


def test_settings_redirects_to_templates(owner_client: TestClient) -> None:
    response = owner_client.get("/app/settings", follow_redirects=False)
    assert response.headers["location"] == "/app/settings/templates"


def test_forms_need_csrf(owner_client: TestClient) -> None:
    response = owner_client.post(
        "/app/settings/account", data={"name": "X", "timezone": "UTC", "brand_color": "#000000"}
    )
    assert response.status_code == 403


# --- templates ---------------------------------------------------------------------------------


def test_template_list_and_editor_show_the_variable_reference(
    owner_client: TestClient, db_session: Session, tenant: Tenant
) -> None:
    page = owner_client.get("/app/settings/templates")
    names = db_session.scalars(
        select(Template.name).where(Template.sub_account_id == tenant.sub_account_id)
    ).all()
    assert names  # the default templates of a new sub-account
    for name in names:
        assert name.replace("&", "&amp;") in page.text
    editor = owner_client.get("/app/settings/templates/new")
    assert 'data-insert-variable="first_name"' in editor.text
    assert "Customer&#39;s first name" in editor.text
    for field in ("tpl-name", "tpl-channel", "tpl-body", "tpl-subject", "tpl-html"):
        assert f'<label for="{field}"' in editor.text


def test_template_save_with_a_typo_names_the_variable(
    owner_client: TestClient, db_session: Session, tenant: Tenant
) -> None:
    response = owner_client.post(
        "/app/settings/templates/new",
        data={
            "csrf_token": _csrf(owner_client),
            "name": "Running late",
            "channel": "sms",
            "body": "Hi {{frist_name}}, we are running late.",
        },
    )
    assert response.status_code == 422
    assert 'data-testid="error-body"' in response.text
    assert "frist_name (did you mean first_name?)" in response.text
    assert 'aria-invalid="true" aria-describedby="body-error"' in response.text
    # The form keeps what was typed, and nothing was saved.
    assert "Hi {{frist_name}}, we are running late." in response.text
    assert (
        db_session.scalar(
            select(Template).where(
                Template.sub_account_id == tenant.sub_account_id, Template.name == "Running late"
            )
        )
        is None
    )


def test_template_create_edit_and_delete(
    owner_client: TestClient, db_session: Session, tenant: Tenant
) -> None:
    data = {
        "csrf_token": _csrf(owner_client),
        "name": "Estimate ready",
        "channel": "email",
        "subject": "Your estimate, {{first_name}}",
        "body": "Hi {{first_name}}, your estimate is ready.",
        "html": "<p>Hi {{first_name}}</p>",
        "category": "sales",
        "trigger": "",
    }
    created = owner_client.post("/app/settings/templates/new", data=data, follow_redirects=False)
    assert created.status_code == 303, created.text
    template = db_session.scalars(
        select(Template).where(
            Template.sub_account_id == tenant.sub_account_id, Template.name == "Estimate ready"
        )
    ).one()
    assert created.headers["location"] == f"/app/settings/templates/{template.id}"
    assert template.trigger is None and template.category == "sales"

    # An email template without a subject: the error names the subject field.
    bad = owner_client.post(f"/app/settings/templates/{template.id}", data={**data, "subject": ""})
    assert bad.status_code == 422
    assert 'data-testid="error-subject"' in bad.text
    db_session.refresh(template)
    assert template.subject == "Your estimate, {{first_name}}"

    saved = owner_client.post(
        f"/app/settings/templates/{template.id}",
        data={**data, "body": "Hello {{customer_name}}"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    db_session.refresh(template)
    assert template.body == "Hello {{customer_name}}"
    page = owner_client.get(saved.headers["location"])
    assert "Template “Estimate ready” saved." in page.text

    # The same name and channel twice is a conflict on the name field.
    dup = owner_client.post("/app/settings/templates/new", data=data)
    assert dup.status_code == 409
    assert 'data-testid="error-name"' in dup.text

    deleted = owner_client.post(
        f"/app/settings/templates/{template.id}/delete",
        data={"csrf_token": _csrf(owner_client)},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert db_session.get(Template, template.id) is None


def test_foreign_template_is_404(
    owner_client: TestClient, db_session: Session, other_tenant: Tenant
) -> None:
    foreign = db_session.scalars(
        select(Template).where(Template.sub_account_id == other_tenant.sub_account_id)
    ).first()
    assert foreign is not None
    assert owner_client.get(f"/app/settings/templates/{foreign.id}").status_code == 404
    response = owner_client.post(
        f"/app/settings/templates/{foreign.id}",
        data={"csrf_token": _csrf(owner_client), "name": "x", "channel": "sms", "body": "x"},
    )
    assert response.status_code == 404


def test_live_preview_renders_sample_data_or_the_error(owner_client: TestClient) -> None:
    headers = {"HX-Request": "true", "X-CSRF-Token": _csrf(owner_client)}
    ok = owner_client.post(
        "/app/settings/templates/preview",
        data={
            "channel": "both",
            "subject": "For {{first_name}}",
            "body": "Hi {{first_name}}",
            "html": "<p>Hi <b>{{first_name}}</b></p>",
        },
        headers=headers,
    )
    assert ok.status_code == 200
    assert "Hi Dana" in ok.text and "For Dana" in ok.text
    # The HTML preview is the branded email, inside a sandboxed iframe (escaped in srcdoc).
    assert re.search(
        r'<iframe class="email-preview" title="Email preview" sandbox srcdoc="', ok.text
    )
    assert "&lt;b&gt;Dana&lt;/b&gt;" in ok.text
    bad = owner_client.post(
        "/app/settings/templates/preview",
        data={"channel": "sms", "body": "Hi {{frist_name}}"},
        headers=headers,
    )
    assert bad.status_code == 200
    assert 'data-field="body"' in bad.text
    assert "did you mean first_name?" in bad.text


# --- notifications -----------------------------------------------------------------------------


def test_notification_matrix_shows_design_defaults(owner_client: TestClient) -> None:
    page = owner_client.get("/app/settings/notifications")
    assert page.status_code == 200
    for trigger in notification_settings.TRIGGERS:
        for channel in notification_settings.CHANNELS:
            assert f'data-testid="toggle-{trigger}-{channel}"' in page.text
    checked = re.findall(
        r'name="([a-z0-9_]+\.(?:sms|email))\.enabled" value="1" checked', page.text
    )
    assert "technician_en_route.sms" in checked
    assert "technician_en_route.email" not in checked
    assert "payment_received.email" in checked and "payment_received.sms" not in checked


def _matrix_form(page: str) -> dict[str, str]:
    """The matrix form as the browser would post it, from the page."""
    data = {
        f"{key}.enabled": "1"
        for key in re.findall(
            r'name="([a-z0-9_]+\.(?:sms|email))\.enabled" value="1" checked', page
        )
    }
    for key in re.findall(r'name="([a-z0-9_]+\.(?:sms|email))\.template_id"', page):
        data[f"{key}.template_id"] = ""
    return data


def test_notification_toggle_persists(
    owner_client: TestClient, db_session: Session, tenant: Tenant
) -> None:
    page = owner_client.get("/app/settings/notifications").text
    data = _matrix_form(page)
    assert "technician_en_route.email.enabled" not in data
    data["technician_en_route.email.enabled"] = "1"  # switch on
    del data["job_booked.sms.enabled"]  # switch off
    sms_template = db_session.scalars(
        select(Template).where(
            Template.sub_account_id == tenant.sub_account_id, Template.channel.in_(("sms", "both"))
        )
    ).first()
    assert sms_template is not None
    data["job_complete.sms.template_id"] = str(sms_template.id)
    response = owner_client.post(
        "/app/settings/notifications",
        data={**data, "csrf_token": _csrf(owner_client)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "3 changes" in response.text
    rows = {
        (r.trigger, r.channel): r
        for r in db_session.scalars(
            select(NotificationSetting).where(
                NotificationSetting.sub_account_id == tenant.sub_account_id
            )
        )
    }
    assert set(rows) == {
        ("technician_en_route", "email"),
        ("job_booked", "sms"),
        ("job_complete", "sms"),
    }  # untouched cells keep following the defaults
    assert rows[("technician_en_route", "email")].enabled is True
    assert rows[("job_booked", "sms")].enabled is False
    assert rows[("job_complete", "sms")].template_id == sms_template.id
    again = owner_client.get("/app/settings/notifications").text
    assert 'name="technician_en_route.email.enabled" value="1" checked' in again
    assert 'name="job_booked.sms.enabled" value="1" checked' not in again
    assert f'<option value="{sms_template.id}" selected>' in again


def test_notification_template_of_another_tenant_is_refused(
    owner_client: TestClient, db_session: Session, other_tenant: Tenant
) -> None:
    foreign = db_session.scalars(
        select(Template).where(Template.sub_account_id == other_tenant.sub_account_id)
    ).first()
    assert foreign is not None
    page = owner_client.get("/app/settings/notifications").text
    data = _matrix_form(page)
    data["job_booked.sms.template_id"] = str(foreign.id)
    response = owner_client.post(
        "/app/settings/notifications", data={**data, "csrf_token": _csrf(owner_client)}
    )
    assert response.status_code == 422
    assert "no such template" in response.text


# --- sub-account -------------------------------------------------------------------------------

VALID = {
    "name": "Lone Star Comfort & Air",
    "logo_url": "https://cdn.example.com/logo.png",
    "brand_color": "#0A7D4F",
    "timezone": "America/Denver",
    "quiet_hours_enabled": "1",
    "quiet_hours_start": "20:30",
    "quiet_hours_end": "07:15",
}


def test_sub_account_settings_save(
    owner_client: TestClient, db_session: Session, tenant: Tenant
) -> None:
    response = owner_client.post(
        "/app/settings/account",
        data={**VALID, "csrf_token": _csrf(owner_client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    db_session.refresh(account)
    assert account.name == "Lone Star Comfort & Air"
    assert account.brand_color == "#0a7d4f"
    assert account.logo_url == "https://cdn.example.com/logo.png"
    assert account.timezone == "America/Denver"
    assert (account.quiet_hours_enabled, account.quiet_hours_start, account.quiet_hours_end) == (
        True,
        "20:30",
        "07:15",
    )
    off = owner_client.post(
        "/app/settings/account",
        data={
            **{k: v for k, v in VALID.items() if k != "quiet_hours_enabled"},
            "logo_url": "",
            "csrf_token": _csrf(owner_client),
        },
        follow_redirects=False,
    )
    assert off.status_code == 303
    db_session.refresh(account)
    assert account.quiet_hours_enabled is False and account.logo_url is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("brand_color", "blue", "is not a colour as #rrggbb"),
        ("brand_color", "#12345", "is not a colour as #rrggbb"),
        ("timezone", "Mars/Olympus", "is not an IANA time zone name"),
        ("logo_url", "javascript:alert(1)", "must be an http(s) address"),
        ("quiet_hours_start", "25:00", "is not a time of day as HH:MM"),
        ("name", "   ", "at least 1 character"),
    ],
)
def test_sub_account_settings_validation(
    owner_client: TestClient,
    db_session: Session,
    tenant: Tenant,
    field: str,
    value: str,
    message: str,
) -> None:
    before = db_session.get_one(SubAccount, tenant.sub_account_id).name
    response = owner_client.post(
        "/app/settings/account", data={**VALID, field: value, "csrf_token": _csrf(owner_client)}
    )
    assert response.status_code == 422
    assert f'data-testid="error-{field}"' in response.text
    assert message in response.text
    assert f'aria-describedby="{field}-error' in response.text
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    db_session.refresh(account)
    assert account.name == before
