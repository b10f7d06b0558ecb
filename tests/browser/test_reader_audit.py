"""Every reader: axe-core's audit (WCAG 2.1 A and AA: contrast, names and labels, the language
attribute, ...) of every page in every state and of every email, in every language the product
speaks, in the light and the dark colour scheme, in the real Chromium: zero violations. The
pages must also pass axe's landmark and heading rules. Each page is served under its own
Content-Security-Policy, as the member API sends it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from reading import (
    EMAIL_KINDS,
    LANGUAGES,
    PAGE_STATES,
    PAGE_STRUCTURE_RULES,
    REQUIRED_LANGUAGES,
    PageState,
    Served,
    audit,
    axe_source,
    email_in,
    explain,
    page_in,
)

from lifecycle.rendering import _PAGES

pytestmark = pytest.mark.browser

SCHEMES = ("light", "dark")


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="module")
def tabs(browser: Browser) -> Iterator[dict[str, Served]]:
    """One tab per colour scheme, kept for the module: each audit loads its own document."""
    contexts = {scheme: browser.new_context(color_scheme=scheme, locale="en-US") for scheme in SCHEMES}
    yield {scheme: Served(context.new_page()) for scheme, context in contexts.items()}
    for context in contexts.values():
        context.close()


def test_every_page_and_language_is_audited():
    assert {state.page for state in PAGE_STATES} == set(_PAGES)
    assert set(REQUIRED_LANGUAGES) <= set(LANGUAGES)


def test_the_auditor_finds_what_it_is_there_to_find(tabs, axe):
    # GIVEN a page with grey text on white, a field without a label, no language and no landmarks
    served = tabs["light"]
    policy = "default-src 'none'; style-src 'unsafe-inline'"
    served.show('<!DOCTYPE html><title>t</title><p style="color:#999">faint</p><input>', 200,
                {"Content-Type": "text/html", "Content-Security-Policy": policy})

    # WHEN axe audits it under a policy that allows no script
    found = {violation["id"] for violation in audit(served.tab, axe, rules=PAGE_STRUCTURE_RULES)}

    # THEN it names each fault: a silent auditor would pass every page
    assert {"color-contrast", "label", "html-has-lang", "landmark-one-main", "region"} <= found, found


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("state", PAGE_STATES, ids=lambda state: state.key)
def test_every_page_passes_the_audit(tabs, axe, state: PageState, lang, scheme):
    # GIVEN the page in this state, in this language, as the member API answers it
    served = tabs[scheme]
    served.page(page_in(state, lang))

    # WHEN axe audits it as the member's browser draws it, in this colour scheme
    violations = audit(served.tab, axe, rules=PAGE_STRUCTURE_RULES)

    # THEN it finds nothing
    assert not violations, f"the {state.key} page in {lang}, {scheme}:\n{explain(violations)}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", EMAIL_KINDS)
def test_every_email_passes_the_audit(tabs, axe, kind, lang, scheme):
    # GIVEN the email with every optional part (price, retention, help link, replies read)
    served = tabs[scheme]
    served.email(email_in(kind, lang))

    # WHEN axe audits it as a mail client that honours the colour scheme draws it
    violations = audit(served.tab, axe)

    # THEN it finds nothing
    assert not violations, f"the {kind} email in {lang}, {scheme}:\n{explain(violations)}"
