"""A member answers the notice from their inbox: the email as their mail client renders it, a
click on one of its two buttons, the notice page that opens from the member API, and the
choice confirmed on that page - what they see at each step, and what the stack then holds."""

from __future__ import annotations

import pytest
from browser_support import (
    ACCENT_COLOUR,
    CANCEL_LABEL,
    KEEP_LABEL,
    PAGE_CARD_COLOUR,
    RESPOND_BY,
    assert_strict_page_headers,
    follow_email_button,
    policy_violations,
    snapshot,
    submit,
)
from playwright.sync_api import expect

from tests.stack import FIRST_SWEEP, iso

pytestmark = pytest.mark.browser


def test_a_french_member_keeps_the_membership_from_the_email(stack, new_context, console):
    # GIVEN a French member silent for years, noticed by the first nightly sweep
    stack.add_inactive_member("m-fr", locale="fr-FR", monthly_price="13.49", currency="EUR")
    stack.run_until(FIRST_SWEEP)
    [notice] = stack.emails_to("m-fr")
    context = new_context()
    inbox = context.new_page()
    inbox.set_content(notice.html)
    snapshot(inbox, "email-notice")

    # WHEN they click "keep" in the email as their mail client shows it
    expect(inbox.get_by_text(RESPOND_BY["fr"], exact=True)).to_be_visible()
    page, opened = follow_email_button(context, inbox, KEEP_LABEL["fr"])
    snapshot(page, "choice")

    # THEN the notice page opens in French, with the deadline as French writes it
    assert opened.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Conserver votre abonnement ?")
    expect(page.locator(".deadline time")).to_have_text(RESPOND_BY["fr"])
    expect(page.get_by_text("13,49")).to_be_visible()
    # AND both choices are buttons the member can see, the one they came for first
    keep = page.get_by_role("button", name=KEEP_LABEL["fr"], exact=True)
    cancel = page.get_by_role("button", name=CANCEL_LABEL["fr"], exact=True)
    expect(keep).to_be_visible()
    expect(cancel).to_be_visible()
    expect(page.locator("form button")).to_have_text([KEEP_LABEL["fr"], CANCEL_LABEL["fr"]])
    # AND the page runs no script, its policy allows nothing but its own stylesheet, which applies
    expect(page.locator("script")).to_have_count(0)
    assert_strict_page_headers(opened)
    expect(page.locator("main")).to_have_css("background-color", PAGE_CARD_COLOUR)
    expect(keep).to_have_css("background-color", ACCENT_COLOUR)
    # AND opening it changed nothing
    assert stack.member("m-fr")["status"] == "active" and "notice_outcome" not in stack.member("m-fr")

    # WHEN they confirm "keep" on the page
    answered = submit(page, KEEP_LABEL["fr"])
    snapshot(page, "kept")

    # THEN the page confirms it, in French, under the same strict policy
    assert answered.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre abonnement est conservé")
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.locator("script")).to_have_count(0)
    assert_strict_page_headers(answered)
    expect(page.locator("main")).to_have_css("background-color", PAGE_CARD_COLOUR)
    # AND the membership is kept, its inactivity clock restarted, and nobody is billed differently
    member = stack.member("m-fr")
    assert member["status"] == "active"
    assert member["notice_outcome"] == "kept"
    assert member["engaged_at"] == iso(FIRST_SWEEP)
    stack.cloud.settle()
    assert stack.bus() == []
    assert stack.email_kinds("m-fr") == ["notice"]
    assert policy_violations(console) == []


def test_a_german_member_cancels_from_the_email(stack, new_context, console):
    # GIVEN a German member silent for years, noticed by the first nightly sweep
    stack.add_inactive_member("m-de", locale="de-DE", monthly_price="9.99", currency="EUR")
    stack.run_until(FIRST_SWEEP)
    [notice] = stack.emails_to("m-de")
    context = new_context()
    inbox = context.new_page()
    inbox.set_content(notice.html)

    # WHEN they click "cancel" in the email
    page, opened = follow_email_button(context, inbox, CANCEL_LABEL["de"])

    # THEN the page asks them to confirm, in German, cancel first and keep just as easy
    assert opened.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mitgliedschaft kündigen?")
    expect(page.locator(".deadline time")).to_have_text(RESPOND_BY["de"])
    expect(page.locator("form button")).to_have_text([CANCEL_LABEL["de"], KEEP_LABEL["de"]])
    expect(page.get_by_role("button", name=KEEP_LABEL["de"], exact=True)).to_be_visible()
    expect(page.locator("script")).to_have_count(0)
    assert_strict_page_headers(opened)
    assert stack.member("m-de")["status"] == "active"

    # WHEN they confirm "cancel" on the page
    answered = submit(page, CANCEL_LABEL["de"])
    stack.cloud.settle()
    snapshot(page, "cancelled")

    # THEN the page says, in German, that the membership is cancelled and billing stopped,
    # how long their things are kept, and how to come back
    assert answered.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihre Mitgliedschaft ist gekündigt")
    expect(page.get_by_text("die Einstellung der Abrechnung veranlasst")).to_be_visible()
    expect(page.get_by_text("1. April 2027")).to_be_visible()
    expect(page.get_by_role("link", name="Streamly")).to_have_attribute("href", "https://streamly.example/rejoin")
    expect(page.locator("script")).to_have_count(0)
    assert_strict_page_headers(answered)
    # AND the membership is cancelled at the member's request, billing stopped at that moment
    member = stack.member("m-de")
    assert member["status"] == "cancelled"
    assert member["cancel_reason"] == "member_request"
    assert member["billing_stopped_at"] == iso(FIRST_SWEEP)
    # AND billing hears it exactly once, and the member gets the short confirmation
    [event] = stack.bus("MembershipCancelled")
    assert event.detail["member_id"] == "m-de" and event.detail["billing"] == "stop"
    assert stack.bus() == [event]
    assert stack.email_kinds("m-de") == ["notice", "cancelled"]
    assert policy_violations(console) == []
