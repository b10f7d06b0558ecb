"""Every email as a reader's mail client draws it (in English, German and Arabic; the cancellation,
the longest, in every other language), on a desktop (1024 CSS px)
and a phone (390 CSS px), in the light and the dark colour scheme: on the phone nothing scrolls
sideways and no text runs out of its box, the buttons are whole with their labels, no date,
time or price splits across lines; in the dark scheme the card is dark and its text light.

Screenshots of English, German and Arabic go to ``out/test-artefacts/emails/``, named
``<kind>-<lang>-<scheme>-<width>.png``, for a person to look at (never committed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CANCEL_LABEL, KEEP_LABEL
from playwright.sync_api import Browser
from reading import (
    EMAIL_KINDS,
    LANGUAGES,
    MISFITS,
    REQUIRED_LANGUAGES,
    SERVICE,
    Served,
    dates_and_price,
    email_in,
    split_values,
)

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).parents[2] / "out" / "test-artefacts" / "emails"
DESKTOP, PHONE = 1024, 390
PHOTOGRAPHED = ("en", "de", "ar")

# What the reader sees of the message: the card's background and its heading's colour, as
# relative luminance (0 black, 1 white), and each button: its label, whether all of it is on the
# screen and none of its label is cut off.
LOOKS = """() => {
    const luminance = value => (value.match(/[\\d.]+/g) || []).slice(0, 3).map(c => c / 255)
        .map(c => c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    const card = document.querySelector(".card"), heading = document.querySelector("h1");
    return {
        card: luminance(getComputedStyle(card).backgroundColor),
        text: luminance(getComputedStyle(heading).color),
        buttons: [...document.querySelectorAll("a.button-link")].map(link => {
            const box = link.getBoundingClientRect();
            return {
                label: link.textContent.trim(),
                whole: box.width > 0 && box.left >= 0 && box.right <= document.documentElement.clientWidth
                    && link.scrollWidth <= link.clientWidth,
            };
        }),
    };
}"""


@pytest.fixture(scope="module")
def served(browser: Browser) -> Iterator[Served]:
    context = browser.new_context(viewport={"width": PHONE, "height": 844}, locale="en-US")
    yield Served(context.new_page())
    context.close()


def expected_buttons(kind: str, lang: str) -> list[str] | None:
    """The buttons' labels, in order, where this test knows the language's words; else None."""
    if kind == "cancelled":
        return [f"Come back to {SERVICE}"] if lang == "en" else None
    if lang in KEEP_LABEL:
        return [KEEP_LABEL[lang], CANCEL_LABEL[lang]]
    return None


# Every email in English, German and Arabic; in each other language the cancellation, the longest.
SHOWN = [(kind, lang) for kind in EMAIL_KINDS for lang in REQUIRED_LANGUAGES]
SHOWN += [("cancelled", lang) for lang in LANGUAGES if lang not in REQUIRED_LANGUAGES]


@pytest.mark.parametrize(("kind", "lang"), SHOWN, ids=[f"{kind}-{lang}" for kind, lang in SHOWN])
def test_every_email_reads_well_on_a_phone_and_a_desktop_in_both_schemes(served, kind, lang):
    # GIVEN the email with every optional part, opened in a mail client
    served.email(email_in(kind, lang))
    tab = served.tab
    ARTEFACTS.mkdir(parents=True, exist_ok=True)

    for scheme in ("light", "dark"):
        tab.emulate_media(color_scheme=scheme)
        for width in (DESKTOP, PHONE):
            # WHEN the reader's screen is this wide, in this colour scheme
            tab.set_viewport_size({"width": width, "height": 844})
            if lang in PHOTOGRAPHED:
                tab.screenshot(path=ARTEFACTS / f"{kind}-{lang}-{scheme}-{width}.png", full_page=True)
            looks = tab.evaluate(LOOKS)
            where = f"the {kind} email in {lang}, {scheme}, {width} px"

            # THEN every button is whole, its label with it, and each choice is there
            count = 1 if kind == "cancelled" else 2
            assert len(looks["buttons"]) == count, (where, looks)
            assert all(button["whole"] and button["label"] for button in looks["buttons"]), (where, looks)
            labels = expected_buttons(kind, lang)
            if labels:
                assert [button["label"] for button in looks["buttons"]] == labels, where
            # AND the scheme is the reader's: a dark card with light text, or a light one with dark text
            if scheme == "dark":
                assert looks["card"] < 0.05 and looks["text"] > 0.6, (where, looks)
            else:
                assert looks["card"] > 0.9 and looks["text"] < 0.05, (where, looks)
            if width == PHONE:
                # AND on the phone nothing scrolls sideways and no text runs out of its box
                assert tab.evaluate(MISFITS) == [], where
                # AND no date, time or price is split over lines: the dates and the price where the
                # text holds them, and the deadline's and the record's values (a date and time only
                # between the two)
                split, seen = split_values(tab, 'td.box div[style*="font-weight:bold"]', dates_and_price(lang))
                assert split == [], where
                assert sum(seen.values()) >= 2, (where, seen)
