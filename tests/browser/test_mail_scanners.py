"""Mail scanners and link previewers follow every link of an email - HEAD, GET with redirects,
even a full browser running JavaScript - before the member ever sees it. None of that may
answer a notice: following a link only ever shows the page."""

from __future__ import annotations

import pytest
from browser_support import CANCEL_LABEL, KEEP_LABEL, RESPOND_BY, snapshot
from playwright.sync_api import Request, expect

from tests.stack import FIRST_SWEEP

pytestmark = pytest.mark.browser

MEMBERS = {"m-en": "en-US", "m-fr": "fr-FR", "m-de": "de-DE", "m-es": "es-ES"}


def test_following_every_link_of_every_notice_changes_nothing(stack, new_context):
    # GIVEN members in each language, each with a notice email in their inbox
    for member_id, locale in MEMBERS.items():
        stack.add_inactive_member(member_id, locale=locale)
    stack.run_until(FIRST_SWEEP)
    links = [link for member_id in MEMBERS for mail in stack.emails_to(member_id) for link in mail.links]
    assert len(links) == 2 * len(MEMBERS)
    members_before = {member_id: stack.member(member_id) for member_id in MEMBERS}
    lifecycle_before = {member_id: stack.lifecycle(member_id) for member_id in MEMBERS}
    emails_before = [mail.message_id for mail in stack.cloud.sent_emails()]
    events_before = stack.bus()

    # WHEN a scanner fetches every link with HEAD and with GET, following redirects
    context = new_context()
    for link in links:
        context.request.head(link, max_redirects=10)
        fetched = context.request.get(link, max_redirects=10)
        assert fetched.status == 200, link
    # AND a browser-based scanner opens every link with JavaScript on and lets it load
    requests_made: list[Request] = []
    context.on("request", lambda request: requests_made.append(request))
    page = context.new_page()
    for member_id, locale in MEMBERS.items():
        language = locale[:2]
        for link in stack.emails_to(member_id)[0].links:
            opened = page.goto(link, wait_until="load")
            # THEN each link only shows the question, in the member's language, with both choices
            assert opened is not None and opened.status == 200
            expect(page.locator("html")).to_have_attribute("lang", language)
            expect(page.locator(".deadline time")).to_have_text(RESPOND_BY[language])
            expect(page.get_by_role("button", name=KEEP_LABEL[language], exact=True)).to_be_visible()
            expect(page.get_by_role("button", name=CANCEL_LABEL[language], exact=True)).to_be_visible()
            assert page.url == link
    snapshot(page, "scanned")
    stack.cloud.settle()

    # THEN nothing was posted, nobody's membership or notice changed, no email and no event went out
    assert [request.url for request in requests_made if request.method != "GET"] == []
    assert {member_id: stack.member(member_id) for member_id in MEMBERS} == members_before
    assert {member_id: stack.lifecycle(member_id) for member_id in MEMBERS} == lifecycle_before
    assert [mail.message_id for mail in stack.cloud.sent_emails()] == emails_before
    assert stack.bus() == events_before == []
