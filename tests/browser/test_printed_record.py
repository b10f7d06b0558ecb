"""The page after "Cancel" is the member's record of the cancellation: printed (or saved as a
PDF), it keeps what was cancelled, when, and when access and billing end, and leaves out what
only works on a screen (the buttons, the help footer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser
from reading import PAGE_STATES, Served, page_in

pytestmark = pytest.mark.browser

CANCELLED = next(state for state in PAGE_STATES if state.key == "cancelled")


@pytest.mark.parametrize("lang", ["en", "de", "ar"])
def test_the_cancelled_page_prints_as_the_record_without_its_buttons(browser: Browser, lang):
    # GIVEN the page a member sees after cancelling, in the dark scheme on their screen
    context = browser.new_context(color_scheme="dark", locale="en-US")
    try:
        tab = context.new_page()
        Served(tab).page(page_in(CANCELLED, lang))
        record = tab.locator("section.record")
        shown_on_screen = record.inner_text()
        assert tab.locator("a.button").is_visible()
        # WHEN it is printed
        tab.emulate_media(media="print")
        # THEN the record is all there, in dark ink on white whatever the screen's scheme
        assert record.is_visible() and record.inner_text() == shown_on_screen
        assert [t.get_attribute("datetime") for t in record.locator("time").all()] == [
            "2026-06-03T09:30:00+00:00", "2026-06-14T22:00:00+00:00"]
        colours = tab.evaluate("""() => [getComputedStyle(document.body).color,
                                         getComputedStyle(document.querySelector('main')).backgroundColor]""")
        assert colours == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]
        # AND what only works on a screen is left out
        assert not tab.locator("a.button").is_visible()
        assert not tab.locator("footer").is_visible()
        # AND Chromium makes a PDF of it (what "Save as PDF" keeps)
        assert tab.pdf(format="A4").startswith(b"%PDF-")
    finally:
        context.close()
