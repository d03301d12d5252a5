"""The inbox in a real browser: replying by SMS, live updates, unknown numbers, the composer's
segment count, a phone-sized screen and the keyboard."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import (
    PHONE,
    Staff,
    add_session_cookie,
    api,
    create_customer,
    eventually,
    inbound_sms,
    make_staff,
    sign_in,
    unique_phone,
)
from tests.support.stack import Stack

# Set before the page loads: tells the test when the SSE stream is open, and survives only as
# long as the page is not reloaded.
WATCH_SSE = """
window.__pageId = Math.random();
document.addEventListener("htmx:sseOpen", () => { window.__sseOpen = true; });
"""


def conversation_of(stack: Stack, staff: Staff, customer_id: str) -> str:
    with api(stack, staff.tenant) as client:

        def find() -> str | None:
            items = client.get("/v1/conversations", params={"customer_id": customer_id}).json()
            return items["items"][0]["id"] if items["items"] else None

        return eventually(find)


def customer_who_texted(
    stack: Stack, staff: Staff, first: str, last: str, text: str
) -> tuple[str, str, str]:
    """A customer of the staff's sub-account who has texted in: (customer, conversation, phone)."""
    phone = unique_phone()
    customer_id = create_customer(stack, staff.tenant, first, last, phone)
    inbound_sms(stack, phone, staff.business_number, text)
    return customer_id, conversation_of(stack, staff, customer_id), phone


def open_thread(page: Page, conversation_id: str) -> None:
    page.add_init_script(WATCH_SSE)
    page.goto(f"/app/inbox/{conversation_id}")
    page.wait_for_function("window.__sseOpen === true")


def message_box(page: Page) -> Locator:
    return page.get_by_label("Message", exact=True)


def thread_heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", level=2, name=re.compile("^" + re.escape(name)))


def messages(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages")


def test_reply_by_sms_from_the_inbox_arrives_at_the_carrier(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    page = signed_in_page
    _, conversation, phone = customer_who_texted(
        stack, staff, "Rosa", "Delgado", "Can you come Thursday instead?"
    )
    page.goto("/app/inbox")
    page.get_by_role("list", name="Conversations").get_by_role("link", name="Rosa Delgado").click()
    expect(page).to_have_url(re.compile(f"/app/inbox/{conversation}"))
    expect(messages(page)).to_contain_text("Can you come Thursday instead?")

    reply = "Thursday works: Marco will be there between 1 and 3 PM."
    expect(page.get_by_role("radio", name="SMS")).to_be_checked()
    message_box(page).fill(reply)
    page.get_by_role("button", name="Send", exact=True).click()

    sent = messages(page).get_by_role("listitem").filter(has_text=reply)
    expect(sent).to_be_visible()
    expect(message_box(page)).to_have_value("")  # ready for the next one
    carried = eventually(lambda: stack.carrier_messages(channel="sms", to=phone))
    assert [(m["from"], m["body"]) for m in carried] == [(staff.business_number, reply)]
    # The carrier's delivery callback reaches the thread without a reload.
    expect(sent).to_contain_text("delivered", timeout=10_000)


def test_an_inbound_sms_appears_live_within_two_seconds(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    page = signed_in_page
    _, conversation, phone = customer_who_texted(stack, staff, "Ben", "Ortiz", "Hello there")
    other_phone = unique_phone()
    create_customer(stack, staff.tenant, "Lena", "Fischer", other_phone)
    open_thread(page, conversation)
    page_id = page.evaluate("window.__pageId")

    inbound_sms(stack, phone, staff.business_number, "Running 10 minutes late, sorry!")
    started = time.monotonic()
    expect(messages(page)).to_contain_text("Running 10 minutes late, sorry!", timeout=2_000)
    thread_seconds = time.monotonic() - started

    inbound_sms(stack, other_phone, staff.business_number, "Is my filter due for a change?")
    started = time.monotonic()
    conversations = page.get_by_role("list", name="Conversations")
    expect(conversations.get_by_role("link", name=re.compile("Lena Fischer"))).to_contain_text(
        "Is my filter due for a change?", timeout=2_000
    )
    list_seconds = time.monotonic() - started

    assert page.evaluate("window.__pageId") == page_id, "the page reloaded"
    print(f"live: thread {thread_seconds:.2f} s, list {list_seconds:.2f} s")


def test_an_unknown_number_is_linked_to_a_customer(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    page = signed_in_page
    known_phone, unknown_phone = unique_phone(), unique_phone()
    customer_id = create_customer(stack, staff.tenant, "Marisol", "Quintero", known_phone)
    inbound_sms(stack, unknown_phone, staff.business_number, "This is Marisol, from my work phone")
    with api(stack, staff.tenant) as client:
        conversation = eventually(lambda: client.get("/v1/conversations").json()["items"])[0]["id"]
    open_thread(page, conversation)
    expect(thread_heading(page, unknown_phone)).to_be_visible()

    page.get_by_label("Link to an existing customer").fill("Quintero")
    match = page.get_by_role("list", name="Matching customers").get_by_role("listitem")
    expect(match).to_contain_text("Marisol Quintero")
    match.get_by_role("button", name="Link").click()

    expect(thread_heading(page, "Marisol Quintero")).to_be_visible()
    expect(messages(page)).to_contain_text("This is Marisol, from my work phone")  # moved along
    expect(page.get_by_label("Link to an existing customer")).to_have_count(0)

    # That number's next message lands with the customer, in the thread already open (the
    # link reloaded the page: wait for its stream).
    page.wait_for_function("window.__sseOpen === true")
    inbound_sms(stack, unknown_phone, staff.business_number, "Also, can you quote a new unit?")
    expect(messages(page)).to_contain_text("Also, can you quote a new unit?", timeout=2_000)
    with api(stack, staff.tenant) as client:
        linked = client.get("/v1/conversations", params={"customer_id": customer_id}).json()
    assert [c["id"] for c in linked["items"]] == [conversation]


def test_the_composer_counts_segments_as_the_server_does(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    page = signed_in_page
    _, conversation, phone = customer_who_texted(stack, staff, "Ada", "Kim", "Quote please")
    open_thread(page, conversation)
    body = message_box(page)
    counter = page.get_by_role("status").filter(has_text="segment")

    cases = [
        ("a" * 160, "160 characters · 1 segment · GSM-7"),
        ("a" * 161, "161 characters · 2 segments · GSM-7"),
        ("ж" * 70, "70 characters · 1 segment · UCS-2"),
        ("ж" * 71, "71 characters · 2 segments · UCS-2"),
    ]
    for text, shown in cases:
        body.fill(text)
        expect(counter).to_have_text(shown)

    # One more GSM-7 character typed by hand tips 160 into 2 segments, live.
    body.fill("b" * 160)
    expect(counter).to_contain_text("1 segment")
    body.press("End")
    body.type("c")
    expect(counter).to_have_text("161 characters · 2 segments · GSM-7")

    # The server counts the sent message the same way.
    page.get_by_role("button", name="Send", exact=True).click()
    sent = messages(page).get_by_role("listitem").filter(has_text="b" * 160 + "c")
    expect(sent).to_contain_text("2 segments")
    eventually(lambda: stack.carrier_messages(channel="sms", to=phone))


def test_the_inbox_fits_a_375_px_screen(browser: Browser, stack: Stack, staff: Staff) -> None:
    _, conversation, _ = customer_who_texted(
        stack,
        staff,
        "Maximiliano",
        "Vandenberghe-Castellanos",
        "A long message without many breaks: " + "supercalifragilistic" * 4,
    )
    context = browser.new_context(base_url=stack.api_url, viewport=PHONE, is_mobile=True)
    try:
        add_session_cookie(context, stack, staff)
        page = context.new_page()
        for path in ("/app/inbox", f"/app/inbox/{conversation}"):
            page.goto(path)
            expect(page.get_by_role("main")).to_contain_text("Vandenberghe")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways: {width} px wide"
        send = page.get_by_role("button", name="Send", exact=True)
        send.scroll_into_view_if_needed()
        expect(send).to_be_in_viewport()
    finally:
        context.close()


def test_the_keyboard_reaches_the_composer_and_sends(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    page = signed_in_page
    _, conversation, phone = customer_who_texted(stack, staff, "Kai", "Nakamura", "Hi")
    open_thread(page, conversation)
    page.locator("body").focus()

    def tab_to(locator_name: str, is_focused: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(is_focused):
                return
        raise AssertionError(f"Tab never reached {locator_name}")

    tab_to("the message box", "document.activeElement?.id === 'reply-body'")
    page.keyboard.type("Typed without a mouse")
    tab_to(
        "the Send button",
        "document.activeElement?.tagName === 'BUTTON' && "
        "document.activeElement.textContent.trim() === 'Send'",
    )
    page.keyboard.press("Enter")
    expect(messages(page)).to_contain_text("Typed without a mouse")
    carried = eventually(lambda: stack.carrier_messages(channel="sms", to=phone))
    assert carried[0]["body"] == "Typed without a mouse"


def test_another_sub_account_cannot_open_the_thread(page: Page, stack: Stack, staff: Staff) -> None:
    """What every test above relies on: a thread is its sub-account's alone."""
    _, conversation, _ = customer_who_texted(stack, staff, "Nora", "Lind", "Private matter")
    other = make_staff("Avery Stone")
    sign_in(page, other.email, other.password)
    response = page.goto(f"/app/inbox/{conversation}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("main")).not_to_contain_text("Private matter")


def test_the_composer_shows_only_the_fields_of_the_chosen_channel(
    signed_in_page: Page, stack: Stack, staff: Staff
) -> None:
    page = signed_in_page
    phone = unique_phone()
    address = f"lee.{phone[-7:]}@example.com"
    customer_id = create_customer(stack, staff.tenant, "Lee", "Park", phone, address)
    inbound_sms(stack, phone, staff.business_number, "Hi")
    open_thread(page, conversation_of(stack, staff, customer_id))
    subject = page.get_by_label("Subject")
    counter = page.get_by_role("status").filter(has_text="segment")

    expect(page.get_by_role("radio", name="SMS")).to_be_checked()
    expect(counter).to_be_visible()
    expect(subject).to_be_hidden(timeout=1_000)  # short: fails fast while the CSS bug lasts
    page.get_by_role("radio", name="Email").check()
    expect(subject).to_be_visible()
    expect(counter).to_be_hidden()
