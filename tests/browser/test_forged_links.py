"""An altered link: the page it opens, in the browser's own language since the link can no longer
say whose it is, and a choice posted to it - which must change nobody's membership."""

from __future__ import annotations

import pytest
from browser_support import assert_strict_page_headers, forged, snapshot, submit, without_query
from playwright.sync_api import expect

from tests.stack import FIRST_SWEEP

pytestmark = pytest.mark.browser

INVALID_TITLE_ES = "Este enlace no es válido"
NOTHING_CHANGED_ES = "No se ha modificado nada."


def test_a_forged_link_shows_the_invalid_link_page_and_acts_on_nothing(stack, new_context):
    # GIVEN a French member's notice link, altered on the way, opened in a Spanish browser
    stack.add_inactive_member("m-link", locale="fr-FR")
    stack.run_until(FIRST_SWEEP)
    altered = forged(stack.link("m-link", "keep"))
    member_before, lifecycle_before = stack.member("m-link"), stack.lifecycle("m-link")
    emails_before = len(stack.cloud.sent_emails())
    page = new_context(locale="es-ES").new_page()

    # WHEN the page opens
    opened = page.goto(altered)
    snapshot(page, "invalid")

    # THEN it is the friendly "invalid link" page, in Spanish, offering no choice
    assert opened is not None and opened.status == 400
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(INVALID_TITLE_ES)
    expect(page.get_by_text(NOTHING_CHANGED_ES)).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.locator("script")).to_have_count(0)
    assert_strict_page_headers(opened)

    for choice in ("keep", "cancel"):
        # WHEN a form posts that choice to the altered link anyway
        page.set_content(
            f'<form method="post" action="{without_query(altered)}">'
            f'<button type="submit" name="choice" value="{choice}">{choice}</button></form>'
        )
        answered = submit(page, choice)
        # THEN the answer is the same "invalid link" page, in Spanish
        assert answered.status == 400
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", level=1)).to_have_text(INVALID_TITLE_ES)

    # AND nothing changed for the member, and nothing was sent
    stack.cloud.settle()
    assert stack.member("m-link") == member_before
    assert stack.lifecycle("m-link") == lifecycle_before
    assert len(stack.cloud.sent_emails()) == emails_before
    assert stack.bus() == []
