"""The notice page for every member, whatever their device or way of using it: on a small
phone (no sideways scrolling, tap targets big enough for a thumb) and with the keyboard alone
(Tab reaches both choices, the focus is visible, Enter answers)."""

from __future__ import annotations

import pytest
from browser_support import CANCEL_LABEL, KEEP_LABEL, snapshot, submit
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


def test_the_keyboard_reaches_both_choices_and_enter_keeps(stack, page):
    # GIVEN a member who opened the "keep" link and uses only the keyboard
    stack.add_inactive_member("m-keys", locale="en-GB", monthly_price="7.99", currency="GBP")
    stack.run_until(FIRST_SWEEP)
    page.goto(stack.link("m-keys", "keep"))
    keep = page.get_by_role("button", name=KEEP_LABEL["en"], exact=True)
    cancel = page.get_by_role("button", name=CANCEL_LABEL["en"], exact=True)

    # WHEN they press Tab, and Tab again
    page.keyboard.press("Tab")
    # THEN the focus is on "keep", visibly
    expect(keep).to_be_focused()
    expect(keep).to_have_css("outline-style", "solid")
    snapshot(page, "choice-keyboard")
    page.keyboard.press("Tab")
    # THEN then on "cancel"
    expect(cancel).to_be_focused()
    expect(cancel).to_have_css("outline-style", "solid")

    # WHEN they go back to "keep" and press Enter
    page.keyboard.press("Shift+Tab")
    answered = submit(page, KEEP_LABEL["en"], by="Enter")

    # THEN the confirmation shows and the membership is kept
    assert answered.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("You're keeping your membership")
    member = stack.member("m-keys")
    assert member["status"] == "active" and member["notice_outcome"] == "kept"
