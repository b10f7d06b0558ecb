"""The notice page for every member, whatever their device or way of using it: on a small
phone (no sideways scrolling, tap targets big enough for a thumb) and with the keyboard alone
(Tab reaches every control in the page's order - both choices, the one the member came for
first, and after a cancellation the way back - the focus is visible, Enter answers). Zoom,
reflow and the audit of every page are ``test_page_zoom.py`` and ``test_reader_audit.py``."""

from __future__ import annotations

import pytest
from browser_support import CANCEL_LABEL, KEEP_LABEL, assert_reached_in_order_visibly, snapshot, submit
from playwright.sync_api import Locator, Page, expect

from tests.stack import FIRST_SWEEP

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
MIN_TAP_TARGET = 44  # CSS pixels (WCAG 2.5.5, Apple's Human Interface Guidelines)


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def box_of(button: Locator) -> dict[str, float]:
    box = button.bounding_box()
    assert box is not None, f"{button} is not rendered"
    return box


def test_the_notice_page_fits_a_small_phone_and_answers_a_tap(stack, new_context):
    # GIVEN a German member (long words) opening the "cancel" link on a small phone
    stack.add_inactive_member("m-phone", locale="de-DE", monthly_price="13.49", currency="EUR")
    stack.run_until(FIRST_SWEEP)
    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = phone.new_page()

    # WHEN the page opens
    page.goto(stack.link("m-phone", "cancel"))
    snapshot(page, "choice-phone")

    # THEN nothing runs off the side of the screen
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert page_width(page) <= PHONE["width"]
    # AND both choices are visible, whole on the screen's width, and tall enough to tap
    for label in (CANCEL_LABEL["de"], KEEP_LABEL["de"]):
        button = page.get_by_role("button", name=label, exact=True)
        expect(button).to_be_visible()
        box = box_of(button)
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
        assert box["height"] >= MIN_TAP_TARGET, (label, box)

    # WHEN the member taps "keep"
    answered = submit(page, KEEP_LABEL["de"], by="tap")

    # THEN the confirmation fits the phone too, and the membership is kept
    assert answered.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihre Mitgliedschaft bleibt bestehen")
    assert page_width(page) <= PHONE["width"]
    assert stack.member("m-phone")["notice_outcome"] == "kept"


@pytest.mark.parametrize("link", ["keep", "cancel"])
def test_the_keyboard_reaches_every_control_in_order_and_enter_answers(stack, page, link):
    # GIVEN a member who opened a link of the email and uses only the keyboard
    stack.add_inactive_member("m-keys", locale="en-GB", monthly_price="7.99", currency="GBP")
    stack.run_until(FIRST_SWEEP)
    page.goto(stack.link("m-keys", link))
    chosen, other = (KEEP_LABEL["en"], CANCEL_LABEL["en"]) if link == "keep" else (CANCEL_LABEL["en"], KEEP_LABEL["en"])

    # WHEN they press Tab, and Tab again, through the page
    names = assert_reached_in_order_visibly(page)
    # THEN the focus went to every control in the page's order, each time visibly: first the
    # choice they came for, then the other
    assert names[:2] == [chosen, other], names
    if link == "keep":
        snapshot(page, "choice-keyboard")

    # WHEN they go back to the first choice and press Enter
    for _ in names[1:]:
        page.keyboard.press("Shift+Tab")
    answered = submit(page, chosen, by="Enter")

    # THEN the answer is taken
    assert answered.status == 200
    member = stack.member("m-keys")
    if link == "keep":
        expect(page.get_by_role("heading", level=1)).to_have_text("You're keeping your membership")
        assert member["status"] == "active" and member["notice_outcome"] == "kept"
        return
    expect(page.get_by_role("heading", level=1)).to_have_text("Your membership is cancelled")
    assert member["status"] == "cancelled"
    # AND on the cancellation's page Tab reaches the way back first, visibly
    names = assert_reached_in_order_visibly(page)
    assert names[0] == "Come back to Streamly", names

    # WHEN they go back to it and press Enter
    for _ in names[1:]:
        page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name=names[0], exact=True)).to_be_focused()
    page.route("https://streamly.example/rejoin", lambda route: route.fulfill(body="<title>Rejoin</title>"))
    with page.expect_navigation(url="https://streamly.example/rejoin"):
        page.keyboard.press("Enter")
    # THEN the service's page for coming back opens
    expect(page).to_have_title("Rejoin")
