"""What a member receives can be trusted: the emails come from the service by name, say where
to get help and that the app can answer too, and a cancellation is confirmed at once with its
record (what was cancelled, when, and when access and billing end), in the email and on the page."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_string, policy

import requests

from tests.stack import FIRST_SWEEP, iso

HELP_URL = "https://help.streamly.example/membership"
REPLY_TO = "membership-help@streamly.example"


def deploy_with_help(stack, **params: str) -> None:
    stack.cloud.deploy({**stack.cloud.parameters, "ReplyToAddress": REPLY_TO, "HelpUrl": HELP_URL, **params})


def visible_text(html: str) -> str:
    """The words a reader sees: tags, comments (Outlook's VML copy of each button) and the head left out."""
    body = re.sub(r"(?s)<head>.*?</head>|<!--.*?-->|<wbr>|<[^>]+>", lambda tag: "" if tag[0] == "<wbr>" else " ", html)
    return spaced(body)


def spaced(text: str) -> str:
    """Layout whitespace collapsed; the no-break spaces that hold a date together stay."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def test_the_notice_comes_from_the_service_by_name_and_says_where_to_get_help(stack):
    # GIVEN a stack whose replies are read and whose help page is known
    deploy_with_help(stack)
    stack.add_inactive_member("m-mail")
    # WHEN the sweep sends the notice
    stack.run_until(FIRST_SWEEP)
    [mail] = stack.emails_to("m-mail")
    message = message_from_string(mail.raw, policy=policy.default)
    # THEN the From line names the service beside its address, and replies go to people who read them
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Streamly", "no-reply@example.com")
    assert str(message["Reply-To"]) == REPLY_TO
    # AND the email says how to get help, that replying works, and that the app can answer too
    for part in (visible_text(mail.html), mail.text):
        assert "Questions about your membership? Just reply to this email." in part
        assert "You can also answer in the Streamly app." in part
    assert HELP_URL in mail.links and f"Get help: {HELP_URL}" in mail.text
    # AND the inbox preview line says what to do and by when, hidden in the message itself
    assert "Please answer by July\u00a01,\u00a02026: keep your membership or cancel it, with one click." in mail.html
    # AND the page the link opens links the help page too
    page = requests.get(stack.link("m-mail", "keep"), timeout=30)
    assert f'href="{HELP_URL}"' in page.text


def test_without_a_help_page_or_read_replies_the_email_promises_neither(stack):
    stack.add_inactive_member("m-plain")
    stack.run_until(FIRST_SWEEP)
    [mail] = stack.emails_to("m-plain")
    message = message_from_string(mail.raw, policy=policy.default)
    assert message["Reply-To"] is None
    assert "reply to this email" not in mail.text and "Get help" not in mail.text
    assert "You can also answer in the Streamly app." in mail.text


def test_a_cancellation_is_confirmed_at_once_with_its_record_on_the_page_and_in_the_email(stack):
    # GIVEN a member who received a notice
    deploy_with_help(stack)
    stack.add_inactive_member("m-record")
    stack.run_until(FIRST_SWEEP)
    cancel_moment = FIRST_SWEEP + timedelta(days=2, hours=5, minutes=17)
    stack.run_until(cancel_moment)
    # WHEN they cancel on the page
    link = stack.link("m-record", "cancel")
    done = requests.post(link.split("?")[0], data={"choice": "cancel"}, timeout=30)
    stack.cloud.settle()
    # THEN the page is the record: what was cancelled, when (date and time, UTC when the member's
    # zone is unknown), and when access and billing end (at once, by default)
    assert done.status_code == 200
    record = visible_text(done.text)
    when = "June\u00a03,\u00a02026,\u00a08:17\u202fAM\u00a0UTC"
    assert f"Cancellation record Membership Streamly membership Cancelled on {when}" in record
    assert f"Access and billing end {when}" in record
    assert f'<time datetime="{cancel_moment.isoformat()}">' in done.text
    assert "Save or print this page to keep a record of your cancellation." in record
    assert stack.member("m-record")["cancelled_at"] == iso(cancel_moment)
    # AND the confirmation email repeats the record, and keeps its promise to what billing was asked
    confirmation = stack.emails_to("m-record")[-1]
    assert confirmation.headers["X-Membership-Email"] == "cancelled"
    for part in (visible_text(confirmation.html), spaced(confirmation.text)):
        assert f"Cancelled on {when}" in part and f"Access and billing end {when}" in part
        assert "we have asked billing to stop charging you" in part
        assert "won't be charged" not in part
    assert "Keep this email as your record of the cancellation." in confirmation.text


def test_a_cancellation_at_the_end_of_the_paid_period_says_so_everywhere_in_the_members_time(stack):
    # GIVEN a business whose cancellations take effect when the paid period ends, and a member in
    # Los Angeles whose period ends on 20 June (as the billing system writes it, with its offset)
    deploy_with_help(stack, CancellationTakesEffect="end_of_paid_period")
    stack.add_inactive_member("m-paid", paid_until="2026-06-20T23:59:59-07:00", time_zone="America/Los_Angeles")
    stack.run_until(FIRST_SWEEP)
    # WHEN the member opens the "cancel" link, then cancels, on 3 June at 08:17 UTC
    link = stack.link("m-paid", "cancel")
    asked = requests.get(link, timeout=30)
    stack.run_until(FIRST_SWEEP + timedelta(days=2, hours=5, minutes=17))
    done = requests.post(link.split("?")[0], data={"choice": "cancel"}, timeout=30)
    stack.cloud.settle()
    # THEN before cancelling the page said what the paid period leaves them
    assert "You can keep watching until June\u00a020,\u00a02026, the end of the period you have already paid for." \
        in visible_text(asked.text)
    # AND the record says when, in their own time, and when access and billing end
    record = visible_text(done.text)
    assert "Cancelled on June\u00a03,\u00a02026,\u00a01:17\u202fAM\u00a0PDT" in record
    assert "Access and billing end June\u00a020,\u00a02026,\u00a011:59\u202fPM\u00a0PDT" in record
    assert "You can keep watching until June\u00a020,\u00a02026" in record
    # AND billing is told the same moment, and the member's row says billing stops then
    [event] = stack.bus("MembershipCancelled")
    assert event.detail["cancelled_at"] == "2026-06-03T08:17:00Z" and event.detail["ends_at"] == "2026-06-21T06:59:59Z"
    member = stack.member("m-paid")
    assert member["billing_stopped_at"] == "2026-06-21T06:59:59Z"
    assert member["retained_until"] == "2027-04-21T06:59:59Z"  # kept 10 months from the end
    # AND the apps read it too
    shown = stack.app("GET", "/members/m-paid/notice").json()
    assert (shown["cancelled_at"], shown["ends_at"]) == ("2026-06-03T08:17:00Z", "2026-06-21T06:59:59Z")
    # AND the confirmation email repeats it
    confirmation = stack.emails_to("m-paid")[-1]
    assert "Access and billing end\nJune\u00a020,\u00a02026,\u00a011:59\u202fPM\u00a0PDT" in confirmation.text
    assert "we have asked billing not to charge you after that" in confirmation.text
