"""The browser tests' own plumbing: Debian's Chromium reaches the stack's API and carrier."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.support.stack import Stack


def test_chromium_reaches_the_api_and_the_carrier(page: Page, stack: Stack) -> None:
    response = page.goto("/healthz")
    assert response is not None and response.ok
    assert page.evaluate("JSON.parse(document.body.innerText)") == {"ok": True}
    carrier = page.goto(f"{stack.carrier_url}/_carrier/health")
    assert carrier is not None and carrier.ok
