"""The campaign report a campaign owner opens after a rehearsal, on a phone (390 CSS pixels) and in
a dark colour scheme: it fits the screen, its labels stay readable, and its numbers agree.
Screenshots go to ``out/test-artefacts/`` for a person to look at."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from local.template import Template
from ops.rehearsal import read_input, rehearse
from ops.report_html import write_report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[2]
ARTEFACTS = ROOT / "out" / "test-artefacts"
PHONE = {"width": 390, "height": 844}
MIN_LABEL_PX = 12.0


def member(member_id: str, **fields) -> dict:
    row = {"member_id": member_id, "email": f"{member_id}@members.example", "locale": "en-US",
           "joined_at": "2020-01-01T00:00:00Z", "last_watched_at": "2023-01-01T00:00:00Z", "status": "active",
           "monthly_price": "9.99", "currency": "USD", "profiles": []}
    return {**row, **fields}


@pytest.fixture(scope="module")
def rehearsed(tmp_path_factory) -> Iterator[Path]:
    """A small real rehearsal (eight members noticed, a ten-day window, one month of retention),
    written as the demo writes its page."""
    folder = tmp_path_factory.mktemp("campaign")
    members = [
        member("m-keep", locale="fr-FR", currency="EUR", monthly_price="13.49"),
        member("m-app", locale="de-DE", currency="EUR", monthly_price="13.49", last_watched_at=None,
               joined_at="2025-01-10T00:00:00Z"),
        member("m-watch", last_watched_at=None, joined_at="2025-02-01T00:00:00Z"),
        member("m-cancel", locale="es-ES", currency="EUR", monthly_price="10.00"),
        member("m-back", locale="en-GB", currency="GBP", monthly_price="10.99"),
        member("m-silent", locale="en-GB", currency="GBP", monthly_price="10.99"),
        member("m-quiet", locale="fr-FR", currency="EUR", monthly_price="13.49", last_watched_at=None,
               joined_at="2024-03-01T00:00:00Z"),
        member("m-late", last_watched_at="2024-06-20T00:00:00Z"),
        member("m-active", last_watched_at="2026-05-01T00:00:00Z"),
        member("m-free", monthly_price="0.00"),
    ]
    actions = [
        {"member_id": "m-keep", "at": "2026-06-02T18:00:00Z", "do": "keep"},
        {"member_id": "m-app", "at": "2026-06-03T20:00:00Z", "do": "app_keep"},
        {"member_id": "m-watch", "at": "2026-06-04T21:00:00Z", "do": "watch"},
        {"member_id": "m-cancel", "at": "2026-06-03T09:30:00Z", "do": "cancel"},
        {"member_id": "m-back", "at": "2026-06-05T09:30:00Z", "do": "cancel"},
        {"member_id": "m-back", "at": "2026-06-20T10:00:00Z", "do": "rejoin"},
        {"member_id": "m-silent", "at": "2026-06-04T12:00:00Z", "do": "open"},
    ]
    (folder / "members.jsonl").write_text("".join(json.dumps(row) + "\n" for row in members))
    (folder / "actions.jsonl").write_text("".join(json.dumps(row) + "\n" for row in actions))
    template = Template.load()
    plan = read_input(folder / "members.jsonl", folder / "actions.jsonl", "2026-05-31T12:00:00Z",
                      "2026-08-15T00:00:00Z",
                      {"ResponseWindowDays": "10", "ReminderDaysBefore": "3", "RetentionMonths": "1"}, template)
    write_report(rehearse(plan, template=template, seed=3), folder)
    yield folder / "report.html"


def open_report(new_context, path: Path, scheme: str) -> Page:
    page = new_context(viewport=PHONE, color_scheme=scheme, device_scale_factor=1).new_page()
    page.goto(path.as_uri())
    return page


def rendered_font_px(page: Page, selector: str) -> list[float]:
    """Each match's font size as drawn: its computed size times the scale of any SVG around it."""
    return page.eval_on_selector_all(selector, """nodes => nodes.map(node => {
        const size = parseFloat(getComputedStyle(node).fontSize);
        const svg = node.ownerSVGElement;
        return svg ? size * node.getScreenCTM().a : size;
    })""")


def number(page: Page, selector: str) -> int:
    return int(page.locator(selector).first.inner_text().replace(",", ""))


def test_the_report_fits_a_phone_with_readable_labels_and_numbers_that_add_up(rehearsed, new_context):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        # GIVEN the report of a real rehearsal, opened on a 390-pixel phone in each colour scheme
        page = open_report(new_context, rehearsed, scheme)
        page.screenshot(path=str(ARTEFACTS / f"campaign-report-390-{scheme}.png"), full_page=True)
        # THEN nothing runs off the side of the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], scheme
        # AND the funnel's and the chart's labels are drawn at a readable size
        labels = rendered_font_px(page, "ol.funnel .label, ol.funnel .figure, svg.timeline text")
        assert len(labels) > 10 and min(labels) >= MIN_LABEL_PX, (scheme, min(labels))
        # AND the page declares both schemes, and the dark one is dark
        assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "light dark"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(15, 18, 24)") == (scheme == "dark"), background

    # AND the kept members on the card and in the funnel are its two parts added up
    kept = number(page, '.kpi[data-measure="kept"] .value')
    parts = [number(page, f'li[data-measure="{part}"] .count') for part in ("answered_keep", "kept_by_watching")]
    assert kept == number(page, 'li[data-measure="kept"] .count') == sum(parts) == 3
    assert page.locator('.kpi[data-measure="kept"] .parts').inner_text() == "2 answered keep + 1 kept by watching"
    # AND the rejoined share names its base, the cancelled, on the card and in the funnel alike
    assert page.locator('.kpi[data-measure="rejoined"] .share').inner_text() == "1 of 5 cancelled (20.0%)"
    assert "(1 of 5 cancelled)" in page.locator('li[data-measure="rejoined"]').inner_text()
    # AND no status code or raw dict is on the page
    text = page.locator("body").inner_text()
    assert ":200" not in text and "{" not in text and "app_keep" not in text
