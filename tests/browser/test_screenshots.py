"""The README's screenshots, made from the demo data at a desktop size.

`UPDATE_SCREENSHOTS=1 make test` writes them to docs/screenshots/ (otherwise to var/screenshots/).

Signed in as the demo owner after a morning of texts and emails with the demo customers
(``demo_traffic``): docs/screenshots/inbox.png and docs/screenshots/customer.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, SCREENSHOTS, DemoTraffic, sign_in


def _sign_in_as_demo_owner(page: Page, demo_traffic: DemoTraffic) -> None:
    sign_in(page, demo_traffic.seed.login, demo_traffic.seed.password)


def _settle(page: Page) -> None:
    """Fonts loaded, no request in flight and no focus ring, so the picture is the finished
    page."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready.then(() => true)")


def test_inbox_screenshot(page: Page, demo_traffic: DemoTraffic) -> None:
    page.set_viewport_size(DESKTOP)
    _sign_in_as_demo_owner(page, demo_traffic)
    page.goto(f"/app/inbox/{demo_traffic.conversations['demo-cust-1']}")
    conversations = page.get_by_role("list", name="Conversations")
    for name in ("Jane Alvarez", "Tom Becker", "Priya Natarajan", "Sam Okafor"):
        expect(conversations).to_contain_text(name)
    expect(conversations).to_contain_text(re.compile(r"\(512\) 555-0187|\+15125550187"))
    expect(page.get_by_role("main")).to_contain_text("Is Marco still coming tomorrow at 9?")
    _settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "inbox.png")


def test_customer_record_screenshot(page: Page, demo_traffic: DemoTraffic) -> None:
    page.set_viewport_size(DESKTOP)
    _sign_in_as_demo_owner(page, demo_traffic)
    page.goto(f"/app/customers/{demo_traffic.seed.customer_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jane Alvarez")
    expect(page.get_by_role("region", name="Communication")).to_contain_text(
        "Is Marco still coming tomorrow at 9?"
    )
    expect(page.get_by_role("complementary")).to_contain_text("Comfort Club")
    # A draft in the composer shows the live segment count.
    page.get_by_label(re.compile("^Message to")).fill(
        "Hi Jane, Marco is on his way and should be with you in about 20 minutes."
    )
    _settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "customer.png", full_page=True)
