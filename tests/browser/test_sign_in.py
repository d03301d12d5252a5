"""Signing in and out of the staff app, as a person does it in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Staff, sign_in


def test_sign_in_lands_in_the_inbox_and_sign_out_ends_the_session(
    page: Page, context: BrowserContext, staff: Staff
) -> None:
    page.goto("/app/inbox")
    expect(page).to_have_url(re.compile(r"/app/login"))  # not signed in: sent to the form

    sign_in(page, staff.email, staff.password)

    expect(page).to_have_url(re.compile(r"/app/inbox"))
    expect(page.get_by_role("banner")).to_contain_text(staff.name)
    session = [c for c in context.cookies() if c["value"] and c["path"] == "/app"]
    assert session and all(c["httpOnly"] for c in session), session

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.goto("/app/inbox")
    expect(page).to_have_url(re.compile(r"/app/login"))


def test_a_wrong_password_shows_an_error_and_keeps_the_email(page: Page, staff: Staff) -> None:
    page.goto("/app/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page).to_have_url(re.compile(r"/app/login"))
    expect(page.get_by_label("Email")).to_have_value(staff.email)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_the_demo_login_works(page: Page, demo: object) -> None:
    from dramtrade.demo import DEMO_LOGIN, DEMO_PASSWORD

    sign_in(page, DEMO_LOGIN, DEMO_PASSWORD)
    expect(page.get_by_role("banner")).to_contain_text("Lone Star Comfort")
