"""GET/PUT /v1/notification-settings: defaults, replacing cells, validation naming the field,
tenancy of templates, and sub-accounts created before the settings existed."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dramtrade import notification_settings
from dramtrade.models import NotificationSetting, SubAccount, Template
from dramtrade.provisioning import DEFAULT_TEMPLATES, ensure_default_templates
from tests.conftest import Tenant

URL = "/v1/notification-settings"


def _cells(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["trigger"], c["channel"]): c for c in body["settings"]}


def _error(response: Any) -> tuple[list[Any], str]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    return detail[0]["loc"], detail[0]["msg"]


def test_defaults_follow_the_design_table(client: TestClient, tenant: Tenant) -> None:
    response = client.get(URL, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    cells = _cells(body)
    assert len(cells) == len(notification_settings.TRIGGERS) * 2
    enabled = {key for key, c in cells.items() if c["enabled"]}
    assert enabled == {
        ("job_booked", "sms"),
        ("job_booked", "email"),
        ("technician_en_route", "sms"),
        ("technician_on_site", "sms"),
        ("job_complete", "sms"),
        ("job_complete", "email"),
        ("invoice_sent", "email"),
        ("invoice_sent", "sms"),
        ("payment_received", "email"),
        ("membership_renewal_30d", "email"),
        ("membership_renewal_7d", "sms"),
        ("membership_renewal_7d", "email"),
        ("job_rescheduled", "sms"),
        ("job_rescheduled", "email"),
        ("job_cancelled", "sms"),
        ("job_cancelled", "email"),
        ("appointment_reminder", "sms"),
    }
    exempt = {key for key, c in cells.items() if not c["respect_quiet_hours"]}
    assert exempt == {
        ("technician_en_route", "sms"),
        ("technician_en_route", "email"),
        ("technician_on_site", "sms"),
        ("technician_on_site", "email"),
    }
    assert all(c["template_id"] is None for c in cells.values())
    assert body["quiet_hours_enabled"] is True
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("21:00", "08:00")
    assert body["appointment_reminder_enabled"] is True
    assert body["appointment_reminder_time"] == "10:00"


def test_put_replaces_only_the_given_cells_and_options(
    client: TestClient, tenant: Tenant, db_session: Session
) -> None:
    template = db_session.scalar(
        select(Template).where(
            Template.sub_account_id == tenant.sub_account_id,
            Template.trigger == "job_complete",
            Template.channel == "sms",
        )
    )
    assert template is not None
    response = client.put(
        URL,
        headers=tenant.headers,
        json={
            "settings": [
                {"trigger": "technician_on_site", "channel": "sms", "enabled": False},
                {
                    "trigger": "payment_received",
                    "channel": "sms",
                    "enabled": True,
                    "template_id": str(template.id),
                    "respect_quiet_hours": False,
                },
            ],
            "quiet_hours_start": "22:30",
            "appointment_reminder_enabled": False,
        },
    )
    assert response.status_code == 200, response.text
    cells = _cells(response.json())
    assert cells[("technician_on_site", "sms")]["enabled"] is False
    assert cells[("technician_on_site", "sms")]["respect_quiet_hours"] is False  # the default
    assert cells[("payment_received", "sms")] == {
        "trigger": "payment_received",
        "channel": "sms",
        "enabled": True,
        "template_id": str(template.id),
        "respect_quiet_hours": False,
    }
    assert cells[("job_booked", "sms")]["enabled"] is True  # untouched
    again = client.get(URL, headers=tenant.headers).json()
    assert _cells(again) == cells
    assert again["quiet_hours_start"] == "22:30"
    assert again["quiet_hours_end"] == "08:00"
    assert again["appointment_reminder_enabled"] is False

    # Replacing a cell again without template_id puts it back to the default template.
    client.put(
        URL,
        headers=tenant.headers,
        json={"settings": [{"trigger": "payment_received", "channel": "sms", "enabled": True}]},
    )
    cell = _cells(client.get(URL, headers=tenant.headers).json())[("payment_received", "sms")]
    assert cell["template_id"] is None and cell["respect_quiet_hours"] is True


def test_put_validation_names_the_field(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, db_session: Session
) -> None:
    def put(body: dict[str, Any]) -> Any:
        return client.put(URL, headers=tenant.headers, json=body)

    loc, msg = _error(
        put({"settings": [{"trigger": "job_exploded", "channel": "sms", "enabled": True}]})
    )
    assert loc == ["body", "settings", 0, "trigger"]
    loc, _ = _error(
        put({"settings": [{"trigger": "job_booked", "channel": "fax", "enabled": True}]})
    )
    assert loc == ["body", "settings", 0, "channel"]
    loc, msg = _error(put({"quiet_hours_start": "9pm"}))
    assert loc == ["body", "quiet_hours_start"] and "HH:MM" in msg
    loc, _ = _error(put({"appointment_reminder_time": "24:00"}))
    assert loc == ["body", "appointment_reminder_time"]
    loc, _ = _error(put({"settings": [{"trigger": "job_booked", "channel": "sms"}]}))
    assert loc == ["body", "settings", 0, "enabled"]

    foreign = db_session.scalar(
        select(Template).where(Template.sub_account_id == other_tenant.sub_account_id)
    )
    assert foreign is not None
    cell = {"trigger": "job_booked", "channel": "sms", "enabled": True}
    loc, msg = _error(
        put({"settings": [cell, {**cell, "channel": "email", "template_id": str(foreign.id)}]})
    )
    assert loc == ["body", "settings", 1, "template_id"] and "no such template" in msg

    email_tpl = db_session.scalar(
        select(Template).where(
            Template.sub_account_id == tenant.sub_account_id, Template.channel == "email"
        )
    )
    assert email_tpl is not None
    loc, msg = _error(put({"settings": [{**cell, "template_id": str(email_tpl.id)}]}))
    assert loc == ["body", "settings", 0, "template_id"] and "email template" in msg
    loc, msg = _error(put({"settings": [cell, cell]}))
    assert loc == ["body", "settings", 1] and "more than once" in msg

    # Nothing of the refused requests was written.
    rows = db_session.scalars(
        select(NotificationSetting).where(
            NotificationSetting.sub_account_id == tenant.sub_account_id
        )
    ).all()
    assert rows == []


def test_a_both_channel_template_serves_either_channel(client: TestClient, tenant: Tenant) -> None:
    created = client.post(
        "/v1/templates",
        headers=tenant.headers,
        json={
            "name": "Thanks",
            "channel": "both",
            "subject": "Thanks from {{business_name}}",
            "body": "Thanks, {{first_name}}!",
        },
    )
    assert created.status_code == 201, created.text
    tid = created.json()["id"]
    response = client.put(
        URL,
        headers=tenant.headers,
        json={
            "settings": [
                {"trigger": "job_complete", "channel": "sms", "enabled": True, "template_id": tid},
                {
                    "trigger": "job_complete",
                    "channel": "email",
                    "enabled": True,
                    "template_id": tid,
                },
            ]
        },
    )
    assert response.status_code == 200, response.text


def test_settings_need_an_api_key(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
    assert client.put(URL, json={}).status_code == 401


def test_every_trigger_and_channel_has_a_default_template_and_old_accounts_gain_them(
    db_session: Session, tenant: Tenant
) -> None:
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    have = set(
        db_session.execute(
            select(Template.trigger, Template.channel).where(Template.sub_account_id == account.id)
        ).all()
    )
    for trigger in notification_settings.TRIGGERS:
        for channel in notification_settings.CHANNELS:
            assert (trigger, channel) in have, (trigger, channel)
    assert ensure_default_templates(db_session, account) == 0

    # A sub-account from before: only the job_booked templates. It gains the rest, once.
    db_session.execute(
        delete(Template).where(
            Template.sub_account_id == account.id, Template.trigger != "job_booked"
        )
    )
    added = ensure_default_templates(db_session, account)
    assert added == len(DEFAULT_TEMPLATES) - 2
    assert ensure_default_templates(db_session, account) == 0
