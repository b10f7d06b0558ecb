"""Members' addresses as real member data holds them. SES sends only to ASCII addresses with
Unicode domains in Punycode: such a domain is written that way, and a member whose address SES
cannot send to at all is handled like a permanent bounce - reached in the app, counted, alarmed,
never retried for ever and never silently dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.stack import FIRST_SWEEP

DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


def test_an_address_with_a_unicode_domain_is_sent_to_in_punycode(stack):
    # GIVEN a member whose address has a German domain
    stack.add_inactive_member("m-idn", email="anna.schroeder@bücher.de", locale="de-DE")
    # WHEN the sweep notices them
    stack.run_until(FIRST_SWEEP)
    # THEN the notice went to the same mailbox, its domain written as SES needs it
    [mail] = [m for m in stack.cloud.sent_emails() if "xn--bcher-kva.de" in " ".join(m.to)]
    assert mail.headers.get("X-Membership-Email") == "notice"
    assert stack.member("m-idn").get("email_status") is None


def test_a_member_whose_address_ses_cannot_send_to_is_reached_in_the_app_counted_and_cancelled_only_at_the_deadline(
    stack, capsys
):
    # GIVEN a member whose address has a non-ASCII local part (SES has no SMTPUTF8)
    stack.ttl_on_time()
    stack.add_inactive_member("m-utf8", email="josé@example.com", locale="es-ES")
    # WHEN the sweep opens their notice
    stack.run_until(FIRST_SWEEP)
    # THEN no email went out, the address is recorded as refused, and nothing is left to retry
    assert [m for m in stack.cloud.sent_emails() if "example.com" in " ".join(m.to)] == []
    member = stack.member("m-utf8")
    assert member["email_status"] == "refused"
    assert stack.cloud.queue_messages("StreamFailureQueue") == []
    # AND it was counted (the EmailAddressRefused metric the alarm watches), and logged without the address
    printed = capsys.readouterr().out
    metrics = [json.loads(line) for line in printed.splitlines() if '"_aws"' in line]
    assert any(blob.get("EmailAddressRefused") == [1.0] for blob in metrics)
    assert "josé@example.com" not in printed
    # AND the app shows the notice, so the member can still answer there
    notice = stack.app("GET", "/members/m-utf8/notice").json()["notice"]
    assert notice is not None and notice["deadline"] == "2026-07-02T12:00:00Z"
    # AND with no answer, the deadline cancels them, with billing stopped and no email tried again
    stack.run_until(DEADLINE + timedelta(days=2))
    assert stack.member("m-utf8")["status"] == "cancelled"
    assert [e.detail["member_id"] for e in stack.bus("MembershipCancelled")] == ["m-utf8"]
    assert [m for m in stack.cloud.sent_emails() if "example.com" in " ".join(m.to)] == []
