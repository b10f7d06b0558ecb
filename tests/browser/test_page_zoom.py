"""Every page at 200% zoom and reflowed to 320 CSS pixels (WCAG 1.4.4 and 1.4.10), in English,
German and Arabic, and the pages with the most to read in every other language: nothing scrolls
sideways, no text runs out of its box or off the screen, a date or a time is never split across
lines, every button is whole on the screen, and the keyboard still reaches every control, in the
page's order, with its focus visible and on the screen, in the light and the dark colour scheme.

Zoom is emulated as Chromium applies it: a 1280 by 800 window at 200% is a 640 by 400 CSS-pixel
viewport drawn at two device pixels per CSS pixel; 320 CSS pixels is the same window at 400%.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import assert_reached_in_order_visibly
from playwright.sync_api import Browser
from reading import (
    LANGUAGES,
    MISFITS,
    MOST_TEXT,
    PAGE_STATES,
    REQUIRED_LANGUAGES,
    PageState,
    Served,
    dates_and_price,
    page_in,
    split_values,
)

pytestmark = pytest.mark.browser

SCREENS = {
    "200%": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
    "320px": {"viewport": {"width": 320, "height": 256}, "device_scale_factor": 4},
}

# Each button, scrolled to: whether all of it is on the screen (within a pixel: Chromium scrolls
# in whole device pixels), and its label.
BUTTONS = """() => [...document.querySelectorAll("button, a.button")].map(button => {
    button.scrollIntoView({block: "nearest", inline: "nearest"});
    const box = button.getBoundingClientRect(), style = getComputedStyle(button);
    return {
        label: button.textContent.trim(), box: [box.left, box.top, box.right, box.bottom],
        whole: style.visibility === "visible" && box.width > 0 && box.left >= -1 && box.top >= -1
            && box.right <= innerWidth + 1 && box.bottom <= innerHeight + 1,
    };
})"""


@pytest.fixture(scope="module")
def screens(browser: Browser) -> Iterator[dict[tuple[str, str], Served]]:
    """A tab for each screen and colour scheme, kept for the module."""
    contexts = {
        (screen, scheme): browser.new_context(**options, color_scheme=scheme, locale="en-US")
        for screen, options in SCREENS.items()
        for scheme in ("light", "dark")
    }
    yield {key: Served(context.new_page()) for key, context in contexts.items()}
    for context in contexts.values():
        context.close()


# Every page state in English, German (the longest words) and Arabic (right to left) at 320 px,
# the narrower, and at 200% (640 px, where the card keeps its borders); in each other language the
# pages with the most to read, at 320 px.
ZOOMED = [(state, lang, screen) for state in PAGE_STATES for lang in REQUIRED_LANGUAGES for screen in ("320px", "200%")]
ZOOMED += [(state, lang, "320px") for state in PAGE_STATES if state.key in MOST_TEXT
           for lang in LANGUAGES if lang not in REQUIRED_LANGUAGES]


@pytest.mark.parametrize(("state", "lang", "screen"), ZOOMED,
                         ids=[f"{state.key}-{lang}-{screen}" for state, lang, screen in ZOOMED])
def test_every_page_fits_the_zoomed_screen(screens, state: PageState, lang, screen):
    # GIVEN the page, zoomed
    served = screens[screen, "light"]
    served.page(page_in(state, lang))

    # THEN nothing scrolls sideways and no text runs out of its box
    assert served.tab.evaluate(MISFITS) == []
    # AND no date, time or price is split over lines (a date and time only between the two)
    split, _ = split_values(served.tab, "time", dates_and_price(lang))
    assert split == []
    # AND every button is whole on the screen once scrolled to, its label with it
    buttons = served.tab.evaluate(BUTTONS)
    assert len(buttons) == served.tab.locator("button, a.button").count()
    assert all(button["whole"] and button["label"] for button in buttons), buttons


WITH_CONTROLS = [state for state in PAGE_STATES if "rejoin_url" in state.facts or state.page == "choice"]


# Each screen once, each colour scheme once (the focus ring's colour is the scheme's)
@pytest.mark.parametrize(("screen", "scheme"), [("200%", "light"), ("320px", "dark")], ids=["200%-light", "320px-dark"])
@pytest.mark.parametrize("lang", ["de", "ar"])
@pytest.mark.parametrize("state", WITH_CONTROLS, ids=lambda state: state.key)
def test_the_keyboard_reaches_every_control_on_the_zoomed_screen(screens, state: PageState, lang, screen, scheme):
    # GIVEN the page, zoomed
    served = screens[screen, scheme]
    served.page(page_in(state, lang))

    # WHEN the member presses Tab through it
    # THEN each control has the focus in the page's order, the ring visible, the control on the screen
    names = assert_reached_in_order_visibly(served.tab)
    assert len(names) >= (2 if state.page == "choice" else 1), names
