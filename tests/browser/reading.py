"""What every reader meets, for the reader tests (the audit, zoom and reflow, the emails'
screenshots): every page state and every email, rendered with realistic facts in a member's
language, shown in Chromium as the member's browser or mail client shows it, and axe-core, the
accessibility auditor, run on it.

axe-core comes from npm, pinned by ``tests/browser/package-lock.json`` (``make test`` runs
``npm ci`` there); a missing axe-core fails the tests, like a missing Chromium.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency
from playwright.sync_api import BrowserContext, Page, Route

from lifecycle.rendering import SUPPORTED_LANGUAGES, RenderedEmail, RenderedPage, render_email, render_page

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"

# The WCAG 2.1 A and AA success criteria axe can test (contrast, names and labels, the page's
# language, lists and tables, ...): zero violations is the bar.
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# axe files landmarks and headings under best practice, not under a criterion; a page (not an
# email: mail clients put a message inside their own page) must pass them too.
PAGE_STRUCTURE_RULES = (
    "landmark-one-main",
    "region",
    "landmark-banner-is-top-level",
    "landmark-contentinfo-is-top-level",
    "landmark-main-is-top-level",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo",
    "landmark-no-duplicate-main",
    "landmark-unique",
    "page-has-heading-one",
    "heading-order",
    "empty-heading",
)

SERVICE = "Streamly"
LINK = "https://members.streamly.example/n/eyJuIjoiOGY0YzJhMTkifQ.aB3kZt9QwErTy7UiOpLk2mNbVcXz"
HELP_URL = "https://help.streamly.example/membership"
REJOIN_URL = "https://streamly.example/rejoin"
RESPOND_BY = date(2026, 7, 1)
PAID_UNTIL = date(2026, 6, 14)
CANCELLED_AT = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
ENDS_AT = datetime(2026, 6, 14, 22, 0, tzinfo=UTC)
RETAINED_UNTIL = date(2027, 4, 3)
RETENTION_MONTHS = 10


@dataclass(frozen=True)
class Reader:
    """A member reading in one language: their locale (its region writes dates and prices), what
    they pay, and where they live."""

    lang: str
    locale: str
    monthly_price: str
    currency: str
    time_zone: str


READERS = {
    "en": Reader("en", "en-US", "15.49", "USD", "America/New_York"),
    "de": Reader("de", "de-DE", "13.49", "EUR", "Europe/Berlin"),
    "fr": Reader("fr", "fr-FR", "13.49", "EUR", "Europe/Paris"),
    "es": Reader("es", "es-ES", "12.99", "EUR", "Europe/Madrid"),
    "ar": Reader("ar", "ar-EG", "120.00", "EGP", "Africa/Cairo"),
}


def reader(lang: str) -> Reader:
    return READERS.get(lang) or Reader(lang, lang, "9.99", "USD", "UTC")


# Every language the product speaks is read; these must be among them, and are read in full
# where a test reads only some pages in the others: English, German (the longest words) and
# Arabic (right to left).
REQUIRED_LANGUAGES = ("en", "de", "ar")
# the page states with the most to read: in the other languages these stand for all (the same
# templates and colours: what changes is the words, their length and direction, and the lang)
MOST_TEXT = ("choice-cancel", "cancelled", "already_answered-cancelled")
LANGUAGES = SUPPORTED_LANGUAGES


@dataclass(frozen=True)
class PageState:
    """One state of one page: the page's name and the facts it shows."""

    key: str
    page: str
    facts: dict[str, Any] = field(default_factory=dict)


_CANCELLATION = {"cancelled_at": CANCELLED_AT, "ends_at": ENDS_AT, "retained_until": RETAINED_UNTIL,
                 "rejoin_url": REJOIN_URL}
_CHOICE = {"respond_by": RESPOND_BY, "form_action": LINK.rsplit("/", 1)[1]}

PAGE_STATES = (
    PageState("choice", "choice", _CHOICE),
    PageState("choice-keep", "choice", {**_CHOICE, "preselected": "keep"}),
    PageState("choice-cancel", "choice", {**_CHOICE, "preselected": "cancel", "paid_until": PAID_UNTIL,
                                          "retention_months": RETENTION_MONTHS}),
    PageState("kept", "kept"),
    PageState("cancelled", "cancelled", _CANCELLATION),
    PageState("cancelled-at-once", "cancelled", {**_CANCELLATION, "ends_at": None}),
    PageState("already_answered-kept", "already_answered", {"outcome": "kept"}),
    PageState("already_answered-cancelled", "already_answered",
              {"outcome": "cancelled", "retained_until": RETAINED_UNTIL, "rejoin_url": REJOIN_URL}),
    PageState("expired", "expired", {"rejoin_url": REJOIN_URL}),
    PageState("invalid", "invalid"),
    PageState("bad_request", "bad_request", {"detail": "choice: expected keep or cancel"}),
    PageState("not_found", "not_found"),
    PageState("method_not_allowed", "method_not_allowed"),
    PageState("error", "error"),
)

EMAIL_KINDS = ("notice", "reminder", "cancelled")


def page_in(state: PageState, lang: str) -> RenderedPage:
    """The page as the member API answers it: the member's locale, prices, time zone and the
    help link the stack's HelpUrl gives."""
    who = reader(lang)
    rendered = render_page(
        state.page, locale=who.locale, service_name=SERVICE, help_url=HELP_URL, monthly_price=who.monthly_price,
        currency=who.currency, time_zone=who.time_zone, **state.facts,
    )
    assert rendered.lang == lang, f"the {state.key} page for {who.locale} speaks {rendered.lang}"
    return rendered


def email_in(kind: str, lang: str) -> RenderedEmail:
    """The email as notify sends it, with every optional part on: the price, the retention, the
    help link and replies that people read."""
    who = reader(lang)
    question = {"respond_by": RESPOND_BY, "keep_url": f"{LINK}?choice=keep", "cancel_url": f"{LINK}?choice=cancel",
                "retention_months": RETENTION_MONTHS}
    facts = question if kind != "cancelled" else {**_CANCELLATION, "retention_months": RETENTION_MONTHS}
    rendered = render_email(
        kind, locale=who.locale, service_name=SERVICE, monthly_price=who.monthly_price, currency=who.currency,
        time_zone=who.time_zone, help_url=HELP_URL, replies_read=True, **facts,
    )
    assert rendered.lang == lang, f"the {kind} email for {who.locale} speaks {rendered.lang}"
    return rendered


def long_date(day: date, lang: str) -> str:
    """A date as the emails and pages write it (no-break spaces: it never splits)."""
    return format_date(day, format="long", locale=Locale.parse(reader(lang).locale.replace("-", "_"))).replace(
        " ", "\u00a0"
    )


def price(lang: str) -> str:
    who = reader(lang)
    return format_currency(who.monthly_price, who.currency, locale=who.locale.replace("-", "_")).replace(" ", "\u00a0")


def dates_and_price(lang: str) -> list[str]:
    """Every date and the price the pages and emails of these facts write, as they write them."""
    day_it_ends = ENDS_AT.astimezone(ZoneInfo(reader(lang).time_zone)).date()
    return [long_date(day, lang) for day in (RESPOND_BY, PAID_UNTIL, RETAINED_UNTIL, day_it_ends)] + [price(lang)]


# What does not fit, as a person would see it: the page wider than the screen, a box whose
# content is wider than the box (spilling over, or clipped), an element off the screen's sides.
MISFITS = """() => {
    const width = document.documentElement.clientWidth;
    const name = node => node.tagName.toLowerCase() + (node.className ? "." + node.className : "")
        + ` "${node.textContent.trim().slice(0, 40)}"`;
    const misfits = [];
    if (document.documentElement.scrollWidth > width) {
        misfits.push(`the page is ${document.documentElement.scrollWidth} px wide on a ${width} px screen`);
    }
    for (const node of document.body.querySelectorAll("*")) {
        const style = getComputedStyle(node), box = node.getBoundingClientRect();
        if (style.display === "none" || (box.width === 0 && box.height === 0)) continue;
        if (box.left < -0.5 || box.right > width + 0.5) {
            misfits.push(`${name(node)} runs from ${box.left} to ${box.right} px`);
        }
        if (style.display !== "inline" && node.scrollWidth > node.clientWidth + 1) {
            misfits.push(`${name(node)} holds ${node.scrollWidth} px of content in ${node.clientWidth} px`);
        }
    }
    return misfits;
}"""

# Each value that must stay on one line, split over lines: the ``selector``'s elements (a date
# and time may break at its <wbr>, between the two: each run between them must be one line),
# and every shown occurrence of each of the ``needles`` in the text. Also how often each needle
# was seen, so a test knows it looked at something.
_SPLIT = """([selector, needles]) => {
    const lines = range => new Set([...range.getClientRects()].filter(box => box.width > 0)
        .map(box => Math.round(box.top))).size;
    const split = [], seen = Object.fromEntries(needles.map(needle => [needle, 0]));
    for (const node of document.querySelectorAll(selector)) {
        const runs = [[]];
        for (const child of node.childNodes) child.nodeName === "WBR" ? runs.push([]) : runs.at(-1).push(child);
        for (const run of runs.filter(run => run.length)) {
            const range = document.createRange();
            range.setStartBefore(run[0]);
            range.setEndAfter(run.at(-1));
            if (lines(range) > 1) split.push(range.toString());
        }
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        for (const needle of needles) {
            for (let at = text.data.indexOf(needle); at !== -1; at = text.data.indexOf(needle, at + 1)) {
                const range = document.createRange();
                range.setStart(text, at);
                range.setEnd(text, at + needle.length);
                const count = lines(range);
                seen[needle] += count > 0;
                if (count > 1) split.push(needle);
            }
        }
    }
    return {split, seen};
}"""


def split_values(tab: Page, selector: str, needles: list[str]) -> tuple[list[str], dict[str, int]]:
    """The values shown on more than one line (see ``_SPLIT``), and how often each needle shows."""
    found = tab.evaluate(_SPLIT, [selector, needles])
    return found["split"], found["seen"]


class Served:
    """Answers a fixed address in a tab with the HTML and headers given, as the member API or a
    mail client would bring them, so the page lives under its real Content-Security-Policy."""

    ADDRESS = "https://members.streamly.example/n/token"

    def __init__(self, tab: Page) -> None:
        self.tab = tab
        self.status, self.headers, self.body = 200, {}, ""
        tab.route(self.ADDRESS, self._answer)

    def _answer(self, route: Route) -> None:
        route.fulfill(status=self.status, headers=self.headers, body=self.body)

    def page(self, rendered: RenderedPage) -> None:
        self.show(rendered.html, rendered.status, {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": rendered.content_security_policy,
            "Content-Language": rendered.lang,
        })

    def email(self, rendered: RenderedEmail) -> None:
        self.show(rendered.html, 200, {"Content-Type": "text/html; charset=utf-8"})

    def show(self, html: str, status: int, headers: dict[str, str]) -> None:
        self.status, self.headers, self.body = status, headers, html
        response = self.tab.goto(self.ADDRESS)
        assert response is not None and response.status == status


def axe_source() -> str:
    """axe-core, as npm installed it; a missing one fails the test that needs it."""
    if not AXE.exists():
        pytest.fail(
            f"axe-core is not installed at {AXE}: the accessibility audit needs it. Run `make test`, which "
            "installs it (npm ci in tests/browser, pinned by its package-lock.json).",
            pytrace=False,
        )
    return AXE.read_text(encoding="utf-8")


_RUN_AXE = """async ([tags, rules]) => {
    const result = await axe.run(document, {
        runOnly: {type: "tag", values: tags},
        rules: Object.fromEntries(rules.map(rule => [rule, {enabled: true}])),
        resultTypes: ["violations"],
    });
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160), why: n.failureSummary})),
    }));
}"""


def with_auditor(context: BrowserContext) -> BrowserContext:
    """The context with axe-core in every document it opens.

    The pages' Content-Security-Policy allows no script, and they are audited under it: axe is
    added as the context's init script, which Chromium runs through the DevTools protocol
    (``Page.addScriptToEvaluateOnNewDocument``) and the page's policy does not govern, so nothing
    about the page is loosened to audit it (``bypass_csp`` would loosen it)."""
    context.add_init_script(axe_source())
    return context


def audit(tab: Page, *, rules: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations of what the tab shows (and of ``rules`` besides),
    in a context ``with_auditor``."""
    return tab.evaluate(_RUN_AXE, [list(WCAG_21_AA), list(rules)])


def explain(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines += [f"    {node['target']}: {node['why']}\n      {node['html']}" for node in violation["nodes"]]
    return "\n".join(lines) or json.dumps(violations)
