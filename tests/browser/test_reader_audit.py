"""Every reader: axe-core's audit (WCAG 2.1 A and AA: contrast, names and labels, the language
attribute, ...) of every page in every state and of every email, in English, German and Arabic
(and of every email and the wordiest pages in every other language the product speaks), in the
light and the dark colour scheme, in the real Chromium: zero violations. The
pages must also pass axe's landmark and heading rules. Each page is served under its own
Content-Security-Policy, as the member API sends it. Focus order and reflow, which axe cannot
judge, are ``test_page_accessibility.py`` and ``test_page_zoom.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from reading import (
    EMAIL_KINDS,
    LANGUAGES,
    MOST_TEXT,
    PAGE_STATES,
    PAGE_STRUCTURE_RULES,
    REQUIRED_LANGUAGES,
    PageState,
    Served,
    audit,
    email_in,
    explain,
    page_in,
    with_auditor,
)

from lifecycle.rendering import _PAGES

pytestmark = pytest.mark.browser

SCHEMES = ("light", "dark")


@pytest.fixture(scope="module")
def served(browser: Browser) -> Iterator[Served]:
    """One tab with the auditor, kept for the module: each audit loads its own document."""
    context = with_auditor(browser.new_context(locale="en-US"))
    yield Served(context.new_page())
    context.close()


def audited_in_each_scheme(served: Served, rules: tuple[str, ...] = ()) -> dict[str, list]:
    """The violations of the loaded document, drawn in each colour scheme in turn (the
    ``prefers-color-scheme`` a reader's system sets)."""
    found = {}
    for scheme in SCHEMES:
        served.tab.emulate_media(color_scheme=scheme)
        found[scheme] = audit(served.tab, rules=rules)
    return found


def report(what: str, found: dict[str, list]) -> str:
    return "\n".join(f"{what}, {scheme}:\n{explain(violations)}" for scheme, violations in found.items() if violations)


def test_every_page_and_language_is_audited():
    assert {state.page for state in PAGE_STATES} == set(_PAGES)
    assert set(REQUIRED_LANGUAGES) <= set(LANGUAGES)


def test_the_auditor_finds_what_it_is_there_to_find(served):
    # GIVEN a page with grey text on white, a field without a label, no language and no landmarks
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    served.show('<!DOCTYPE html><title>t</title><p style="color:#999">faint</p><input>', 200,
                {"Content-Type": "text/html", "Content-Security-Policy": policy})

    # WHEN axe audits it under a policy that allows no script
    found = {violation["id"] for violation in audit(served.tab, rules=PAGE_STRUCTURE_RULES)}

    # THEN it names each fault: a silent auditor would pass every page
    assert {"color-contrast", "label", "html-has-lang", "landmark-one-main", "region"} <= found, found


# Every page state in English, German and Arabic; in each other language the pages with the most to read.
AUDITED = [(state, lang) for state in PAGE_STATES for lang in LANGUAGES
           if lang in REQUIRED_LANGUAGES or state.key in MOST_TEXT]


@pytest.mark.parametrize(("state", "lang"), AUDITED, ids=[f"{state.key}-{lang}" for state, lang in AUDITED])
def test_every_page_passes_the_audit(served, state: PageState, lang):
    # GIVEN the page in this state, in this language, as the member API answers it
    served.page(page_in(state, lang))

    # WHEN axe audits it as the member's browser draws it, in the light and the dark scheme
    found = audited_in_each_scheme(served, PAGE_STRUCTURE_RULES)

    # THEN it finds nothing
    assert not any(found.values()), report(f"the {state.key} page in {lang}", found)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", EMAIL_KINDS)
def test_every_email_passes_the_audit(served, kind, lang):
    # GIVEN the email with every optional part (price, retention, help link, replies read)
    served.email(email_in(kind, lang))

    # WHEN axe audits it as a mail client that honours the colour scheme draws it, in each
    found = audited_in_each_scheme(served)

    # THEN it finds nothing
    assert not any(found.values()), report(f"the {kind} email in {lang}", found)
