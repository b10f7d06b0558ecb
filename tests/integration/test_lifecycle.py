"""Every step of a member's lifecycle, end to end on the local cloud with the real handlers:
what the member receives and sees, and what the operator finds in the tables and on the bus."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.stack import FIRST_SWEEP, iso

DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)  # notice opened 1 June: respond by 1 July, everywhere on Earth
RESPOND_BY_FR = "1\u00a0juillet\u00a02026"  # no-break spaces: a date never splits across lines


def test_the_sweep_notices_an_inactive_member_once_in_their_language(stack):
    # GIVEN a French member silent for three years, and members who must be left alone
    stack.add_inactive_member("m-fr", locale="fr-FR", monthly_price="13.49", currency="EUR")
    stack.add_member(
        "m-active", joined_at=datetime(2020, 1, 1, tzinfo=UTC), last_watched_at=datetime(2026, 5, 20, tzinfo=UTC)
    )
    stack.add_inactive_member("m-free", monthly_price="0.00")
    stack.add_inactive_member("m-gone", status="cancelled")
    # WHEN the nightly schedule fires
    stack.run_until(FIRST_SWEEP)
    # THEN one notice is open, its deadline the end of 1 July everywhere, its TTL at that deadline
    notice = stack.lifecycle("m-fr")["notice"]
    assert notice["deadline"] == iso(DEADLINE)
    assert notice["expires_at"] == int(DEADLINE.timestamp())
    assert stack.member("m-fr")["notice_deadline"] == iso(DEADLINE)
    # AND the member got one email, in French, with both parts, the date as French writes it and two choices
    [mail] = stack.emails_to("m-fr")
    assert mail.headers["Content-Language"] == "fr"
    assert "conserver votre abonnement" in mail.subject
    assert RESPOND_BY_FR in mail.html and RESPOND_BY_FR in mail.text
    assert "13,49" in mail.text
    assert {link.rsplit("=", 1)[1] for link in mail.links if "choice=" in link} == {"keep", "cancel"}
    assert "@" not in "".join(link for link in mail.links if "/n/" in link)
    # AND nobody else was written to
    assert stack.cloud.sent_emails() == [mail]
    assert {m: stack.lifecycle(m) for m in ("m-active", "m-free", "m-gone")} == {
        "m-active": {},
        "m-free": {},
        "m-gone": {},
    }
    # WHEN the sweep runs again the next night, and once more by hand
    stack.run_until(FIRST_SWEEP + timedelta(days=1))
    stack.cloud.invoke("SweepFunction", {"job": "nightly-sweep"})
    # THEN there is still one notice and one email
    assert len(stack.emails_to("m-fr")) == 1
    assert stack.lifecycle("m-fr")["notice"]["notice_id"] == notice["notice_id"]


def test_opening_a_link_changes_nothing_and_keep_on_the_page_keeps_the_membership(stack):
    stack.add_inactive_member("m-keep", locale="de-DE", currency="EUR")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-keep", "keep")
    before = stack.member("m-keep")
    # WHEN the member (or a mail scanner) opens the link, twice, and with HEAD
    for _ in range(2):
        page = requests.get(link, timeout=30)
    requests.head(link, timeout=30)
    # THEN the page asks, in German, with both choices, and nothing changed
    assert page.status_code == 200
    assert 'lang="de"' in page.text and "1.\u00a0Juli\u00a02026" in page.text
    assert 'value="keep"' in page.text and 'value="cancel"' in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert stack.member("m-keep") == before
    # WHEN the member chooses "keep" on the page
    kept = requests.post(link.split("?")[0], data={"choice": "keep"}, timeout=30)
    # THEN the page confirms, the notice is closed, the clock restarts
    assert kept.status_code == 200 and 'lang="de"' in kept.text
    member = stack.member("m-keep")
    assert member["status"] == "active" and member["notice_outcome"] == "kept"
    assert "notice_id" not in member and member["engaged_at"] == iso(FIRST_SWEEP)
    assert stack.lifecycle("m-keep") == {}
    # AND past the deadline nothing more happens: no reminder, no cancellation
    stack.run_until(DEADLINE + timedelta(days=5))
    assert stack.member("m-keep")["status"] == "active"
    assert stack.email_kinds("m-keep") == ["notice"]
    # AND the same link now says it was already answered, and changes nothing
    again = requests.post(link.split("?")[0], data={"choice": "cancel"}, timeout=30)
    assert again.status_code == 409
    assert stack.member("m-keep")["status"] == "active"


def test_cancel_now_stops_billing_keeps_things_and_says_how_to_come_back(stack):
    stack.add_inactive_member("m-cancel", locale="es-ES", currency="EUR")
    stack.run_until(FIRST_SWEEP)
    cancel_day = FIRST_SWEEP + timedelta(days=3)
    stack.run_until(cancel_day)
    # WHEN the member clicks "cancel" in the email and confirms on the page
    link = stack.link("m-cancel", "cancel")
    assert 'value="cancel"' in requests.get(link, timeout=30).text
    done = requests.post(link.split("?")[0], data={"choice": "cancel"}, timeout=30)
    stack.cloud.settle()
    # THEN the page confirms in Spanish and the membership is cancelled at once, billing stopped
    assert done.status_code == 200 and 'lang="es"' in done.text
    member = stack.member("m-cancel")
    assert member["status"] == "cancelled"
    assert member["cancel_reason"] == "member_request"
    assert member["billing_stopped_at"] == iso(cancel_day)
    assert member["retained_until"] == "2027-04-04T03:00:00Z"
    assert stack.profiles("m-cancel")[0]["my_list"] == ["The Long Night"]
    # AND billing hears it once, and the member gets one short confirmation
    [event] = stack.bus("MembershipCancelled")
    assert event.detail == {
        "member_id": "m-cancel",
        "cancelled_at": iso(cancel_day),
        "reason": "member_request",
        "billing": "stop",
        "ends_at": iso(cancel_day),
        "retained_until": "2027-04-04T03:00:00Z",
    }
    assert stack.email_kinds("m-cancel") == ["notice", "cancelled"]
    confirmation = stack.emails_to("m-cancel")[-1]
    assert "https://streamly.example/rejoin" in confirmation.text
    # AND the retention hold waits 10 months
    assert stack.lifecycle("m-cancel")["hold"]["expires_at"] == int(datetime(2027, 4, 4, 3, tzinfo=UTC).timestamp())


def test_no_answer_gets_a_reminder_then_cancellation_when_the_notice_expires(stack):
    stack.ttl_on_time()
    stack.add_inactive_member("m-silent", locale="en-GB", currency="GBP")
    # WHEN the whole window passes without an answer (TTL deletes the notice up to 48 h late)
    stack.run_until(DEADLINE + timedelta(days=3))
    # THEN a reminder came 7 days before the deadline, then the cancellation
    assert stack.email_kinds("m-silent") == ["notice", "reminder", "cancelled"]
    reminder = stack.emails_to("m-silent")[1]
    assert reminder.headers["Date"].startswith("Fri, 26 Jun 2026 03:00")  # first sweep after deadline - 7 days
    member = stack.member("m-silent")
    assert member["status"] == "cancelled" and member["cancel_reason"] == "no_response"
    assert member["notice_outcome"] == "cancelled_no_response"
    assert member["cancelled_at"] == iso(DEADLINE)
    assert len(stack.bus("MembershipCancelled")) == 1
    # AND the expire function did it, from the TTL deletion
    assert any(inv.function == "ExpireFunction" for inv in stack.cloud.invocations)


def test_when_ttl_is_late_the_nightly_sweep_cancels_at_its_first_run_after_the_deadline(stack):
    # GIVEN DynamoDB TTL running two days behind
    stack.cloud.ttl_reaper.max_delay = timedelta(days=2, hours=1)
    stack.add_inactive_member("m-late")
    # WHEN the deadline passes without an answer
    stack.run_until(DEADLINE + timedelta(days=3))
    # THEN the sweep after the deadline cancelled, once, and the late TTL deletion changed nothing more
    member = stack.member("m-late")
    assert member["status"] == "cancelled" and member["cancel_reason"] == "no_response"
    assert member["cancelled_at"] == "2026-07-03T03:00:00Z"
    assert stack.email_kinds("m-late") == ["notice", "reminder", "cancelled"]
    assert len(stack.bus("MembershipCancelled")) == 1


def test_watching_during_the_window_keeps_the_membership(stack):
    stack.add_inactive_member("m-app")
    stack.add_inactive_member("m-feed")
    stack.run_until(FIRST_SWEEP + timedelta(days=2))
    # WHEN one member watches through the app, and the other's viewing arrives straight from the activity feed
    answer = stack.app("POST", "/members/m-app/activity", {"watched_at": iso(FIRST_SWEEP + timedelta(days=1))})
    stack.set_member("m-feed", last_watched_at=iso(FIRST_SWEEP + timedelta(days=2)))
    stack.run_until(DEADLINE + timedelta(days=3))
    # THEN the app's notice closed at once, the feed's was settled as kept, and nobody was cancelled
    assert answer.status_code == 200 and answer.json()["notice_closed"] is True
    for member_id in ("m-app", "m-feed"):
        member = stack.member(member_id)
        assert member["status"] == "active"
        assert member["notice_outcome"] == "kept_by_watching"
        assert "cancelled" not in stack.email_kinds(member_id)
    assert stack.email_kinds("m-app") == ["notice"]  # closed before any reminder
    assert stack.bus("MembershipCancelled") == []


@pytest.mark.slow
def test_rejoining_within_ten_months_finds_everything_as_it_was(stack):
    profiles = [
        {"name": "Léa", "my_list": ["Les Nuits", "Orbit"], "preferences": {"subtitles": "fr", "autoplay": "off"}},
        {"name": "Tom", "my_list": [], "preferences": {"maturity": "kids"}},
    ]
    stack.add_inactive_member("m-back", locale="fr-FR", profiles=profiles)
    stack.run_until(DEADLINE + timedelta(days=3))
    assert stack.member("m-back")["status"] == "cancelled"
    # WHEN the member rejoins five months later through the app
    stack.run_until(datetime(2026, 12, 1, tzinfo=UTC))
    answer = stack.app("POST", "/members/m-back/rejoin")
    stack.cloud.settle()
    # THEN membership and billing resume and every profile, list and preference is as it was
    assert answer.status_code == 200
    assert answer.json()["status"] == "active"
    assert answer.json()["profiles"] == profiles
    assert stack.profiles("m-back") == profiles
    assert [e.detail["billing"] for e in stack.bus("MembershipRejoined")] == ["resume"]
    # AND nothing is purged when the old retention would have ended
    stack.run_until(datetime(2027, 6, 1, tzinfo=UTC))
    assert stack.profiles("m-back") == profiles
    assert "purged_at" not in stack.member("m-back")
    # AND rejoining twice is refused without changing anything
    assert stack.app("POST", "/members/m-back/rejoin").status_code == 409


@pytest.mark.slow
def test_retained_data_is_purged_after_ten_months_and_not_a_day_before(stack):
    stack.ttl_on_time()
    stack.add_inactive_member("m-purge", email="Anna.Schmidt@Bücher.example", locale="de-DE")
    stack.run_until(DEADLINE + timedelta(days=3))
    member = stack.member("m-purge")
    retained_until = datetime.fromisoformat(member["retained_until"])
    # WHEN time reaches the day before retention ends
    stack.run_until(retained_until - timedelta(days=1))
    assert stack.profiles("m-purge")
    assert stack.member("m-purge")["email"] == "Anna.Schmidt@Bücher.example"
    # THEN after it ends (and TTL catches up) the kept data is gone for good
    stack.run_until(retained_until + timedelta(days=3))
    purged = stack.member("m-purge")
    assert stack.profiles("m-purge") is None
    assert purged["purged_at"] == iso(retained_until)
    assert purged["status"] == "cancelled"
    assert any(inv.function == "ExpireFunction" for inv in stack.cloud.invocations)
    # AND the member's row no longer holds the address or the language, but the address's hash
    # under the stack's key, which support computes again from the address as it is told it
    assert not {"email", "locale"} & purged.keys()
    assert "schmidt" not in json.dumps(purged, ensure_ascii=False).lower()
    secret = stack.cloud.client("secretsmanager").get_secret_value(SecretId=stack.cloud.outputs["AddressHashSecretArn"])
    key = json.loads(secret["SecretString"])["key"].encode()
    told = b"purged-email:anna.schmidt@xn--bcher-kva.example"  # as support normalises what it hears
    assert purged["email_hash"] == hmac.new(key, told, hashlib.sha256).hexdigest()
    # AND it keeps the record of the membership: when, why, billing stopped and confirmed, the plan
    assert (purged["cancel_reason"], purged["joined_at"], purged["monthly_price"], purged["currency"]) == (
        "no_response", "2020-01-01T00:00:00Z", "9.99", "USD")
    assert purged["billing_stopped_at"] == purged["cancelled_at"] and purged["billing_confirmed_at"]
    # AND the apps see what happened; a "keep" finds nothing open
    shown = stack.app("GET", "/members/m-purge/notice").json()
    assert (shown["status"], shown["purged_at"], shown["notice"]) == ("cancelled", iso(retained_until), None)
    assert stack.app("POST", "/members/m-purge/keep").json()["error"] == "no_open_notice"
    # AND a member who rejoins after that starts afresh
    answer = stack.app("POST", "/members/m-purge/rejoin")
    assert answer.status_code == 200 and answer.json()["profiles"] == []
    assert (answer.json()["status"], answer.json()["purged_at"]) == ("active", iso(retained_until))
    assert "email" not in stack.member("m-purge")
    # AND the address got its notice, reminder and cancellation, and nothing after
    sent = [mail for mail in stack.cloud.sent_emails() if "anna.schmidt@xn--bcher-kva.example" in
            [to.lower() for to in mail.to]]
    assert [mail.headers.get("X-Membership-Email") for mail in sent] == ["notice", "reminder", "cancelled"]


def test_the_app_shows_the_same_notice_and_can_keep(stack):
    stack.add_inactive_member("m-inapp")
    stack.run_until(FIRST_SWEEP)
    # WHEN the app reads the member's notice
    shown = stack.app("GET", "/members/m-inapp/notice")
    # THEN it has the same deadline as the email
    assert shown.status_code == 200
    assert shown.json()["notice"]["deadline"] == iso(DEADLINE)
    assert "email" not in shown.json()
    # WHEN the member taps "keep" in the app
    kept = stack.app("POST", "/members/m-inapp/keep")
    assert kept.status_code == 200 and kept.json()["notice"] is None
    assert stack.member("m-inapp")["notice_outcome"] == "kept"
    # AND a second keep says there is nothing open, changing nothing
    again = stack.app("POST", "/members/m-inapp/keep")
    assert again.status_code == 409 and again.json()["error"] == "no_open_notice"


def test_app_routes_need_iam_and_answer_precise_errors(stack):
    stack.add_inactive_member("m-x")
    assert stack.app("GET", "/members/m-x/notice", signed=False).status_code == 403
    assert stack.app("GET", "/members/nobody/notice").json() == {
        "error": "member_not_found",
        "message": "no member 'nobody'",
    }
    bad = stack.app("POST", "/members/m-x/activity", {"watched_at": "yesterday"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["message"]
    future = stack.app("POST", "/members/m-x/activity", {"watched_at": "2099-01-01T00:00:00Z"})
    assert future.status_code == 400
    assert "last_watched_at" in stack.member("m-x") and stack.member("m-x")["last_watched_at"] == "2023-01-01T00:00:00Z"


def test_forged_and_expired_links_get_a_friendly_page_and_change_nothing(stack):
    stack.add_inactive_member("m-link", locale="fr-FR")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-link", "cancel").split("?")[0]
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    # WHEN someone posts with an altered link
    answer = requests.post(forged, data={"choice": "cancel"}, headers={"Accept-Language": "de-DE,de;q=0.9"}, timeout=30)
    # THEN they get the "invalid link" page in their browser's language, and nothing changed
    assert answer.status_code == 400 and 'lang="de"' in answer.text
    assert stack.member("m-link")["status"] == "active"
    # WHEN the member comes back long after the deadline and the grace period
    stack.run_until(DEADLINE + timedelta(days=10))
    expired = requests.get(link, timeout=30)
    # THEN the page says the link expired, in the member's language
    assert expired.status_code == 410 and 'lang="fr"' in expired.text


def test_a_form_post_from_another_site_is_refused_and_changes_nothing(stack):
    stack.add_inactive_member("m-csrf")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-csrf", "cancel").split("?")[0]
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        answer = requests.post(link, data={"choice": "cancel"}, headers=headers, timeout=30)
        assert answer.status_code == 400
    assert stack.member("m-csrf")["status"] == "active"
    # AND the same post from the page's own origin works
    same = requests.post(link, data={"choice": "keep"}, headers={"Origin": stack.cloud.api_url}, timeout=30)
    assert same.status_code == 200 and stack.member("m-csrf")["notice_outcome"] == "kept"


def test_after_a_permanent_bounce_no_more_email_goes_out_but_the_app_still_shows_the_notice(stack):
    # GIVEN a member whose notice email bounced for good
    stack.ttl_on_time()
    stack.add_inactive_member("m-bounce")
    stack.run_until(FIRST_SWEEP)
    event = {
        "source": "aws.ses",
        "detail-type": "Email Bounced",
        "time": iso(FIRST_SWEEP),
        "detail": {"bounce": {"bounceType": "Permanent"}, "mail": {"tags": {"member": ["m-bounce"]}}},
    }
    assert stack.cloud.invoke("FeedbackFunction", event)["recorded"] is True
    assert stack.app("GET", "/members/m-bounce/notice").json()["notice"]["deadline"] == iso(DEADLINE)
    # WHEN the window passes
    stack.run_until(DEADLINE + timedelta(days=1))
    # THEN no reminder or cancellation email was sent to that address, the app showed the notice
    # meanwhile, and the deadline held: the member was cancelled when it passed
    assert stack.email_kinds("m-bounce") == ["notice"]
    member = stack.member("m-bounce")
    assert (member["status"], member["cancel_reason"], member["cancelled_at"]) == (
        "cancelled",
        "no_response",
        iso(DEADLINE),
    )
    assert len(stack.bus("MembershipCancelled")) == 1


def test_a_transient_bounce_changes_nothing(stack):
    stack.add_inactive_member("m-full")
    event = {
        "source": "aws.ses",
        "detail-type": "Email Bounced",
        "time": iso(FIRST_SWEEP),
        "detail": {"bounce": {"bounceType": "Transient"}, "mail": {"tags": {"member": ["m-full"]}}},
    }
    assert stack.cloud.invoke("FeedbackFunction", event) == {"recorded": False, "why": "transient bounce"}
    assert "email_status" not in stack.member("m-full")
