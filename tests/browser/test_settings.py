"""Settings in the browser: a notification toggle saves as it is clicked and stays after reload."""

from __future__ import annotations

from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import Staff


def _stored(staff: Staff, trigger: str, channel: str) -> bool:
    from dramtrade import notification_settings
    from dramtrade.db import session_scope

    with session_scope() as session:
        cell = notification_settings.cell(session, staff.tenant.sub_account_id, trigger, channel)
        return bool(cell.enabled)


def _saved(response: Response) -> bool:
    request = response.request
    return request.method == "POST" and request.url.endswith("/app/settings/notifications")


def test_a_notification_toggle_is_saved_and_survives_a_reload(
    signed_in_page: Page, staff: Staff
) -> None:
    page = signed_in_page
    page.goto("/app/settings/notifications")
    booked_email = page.get_by_role("checkbox", name="Job booked by Email")
    reminder_email = page.get_by_role("checkbox", name="Appointment reminder (day before) by Email")
    expect(booked_email).to_be_checked()  # the defaults of DESIGN.md
    expect(reminder_email).not_to_be_checked()
    status = page.get_by_role("status").filter(has_text="saved")

    for toggle in (booked_email.uncheck, reminder_email.check):
        with page.expect_response(_saved) as saved:
            toggle()  # saves on change, no submit button needed
        assert saved.value.ok
        expect(status).to_have_text("Notification settings saved (1 change).")
    assert not _stored(staff, "job_booked", "email")
    assert _stored(staff, "appointment_reminder", "email")

    page.reload()
    expect(booked_email).not_to_be_checked()
    expect(reminder_email).to_be_checked()
    expect(page.get_by_role("checkbox", name="Job booked by SMS")).to_be_checked()  # untouched
