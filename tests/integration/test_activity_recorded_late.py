"""A viewing that happened before a notice opened but was recorded after it (a lagging feed, an
app that was offline) shows the member was not inactive after all: at every settlement - the
app's activity route, the TTL expiry, the nightly sweep - such a member keeps the membership."""

from __future__ import annotations

from datetime import timedelta

from tests.stack import FIRST_SWEEP, iso

DEADLINE = FIRST_SWEEP.replace(month=7, day=2, hour=12)  # notice opened 1 June: respond by 1 July


def assert_kept_by_watching(stack, member_id: str) -> None:
    member = stack.member(member_id)
    assert member["status"] == "active", member
    assert member["notice_outcome"] == "kept_by_watching"
    assert "cancelled" not in stack.email_kinds(member_id)
    assert [event for event in stack.bus("MembershipCancelled") if event.detail["member_id"] == member_id] == []


def test_a_viewing_from_before_the_notice_recorded_late_by_the_app_closes_the_notice_at_once(stack):
    # GIVEN a member noticed for three years of silence
    stack.add_inactive_member("m-offline-app")
    stack.run_until(FIRST_SWEEP + timedelta(days=2))
    # WHEN the app, back online, records the viewing it kept from the day before the notice
    answer = stack.app("POST", "/members/m-offline-app/activity", {"watched_at": iso(FIRST_SWEEP - timedelta(days=1))})
    # THEN the notice closes at once, and nothing more comes: no reminder, no cancellation
    assert answer.status_code == 200 and answer.json()["notice_closed"] is True
    stack.run_until(DEADLINE + timedelta(days=3))
    assert_kept_by_watching(stack, "m-offline-app")
    assert stack.email_kinds("m-offline-app") == ["notice"]


def test_a_viewing_recorded_late_by_the_feed_keeps_the_member_when_the_notice_expires(stack):
    # GIVEN a noticed member, and DynamoDB TTL on time (the expire function settles the notice)
    stack.ttl_on_time()
    stack.add_inactive_member("m-lagging-feed")
    stack.run_until(DEADLINE - timedelta(hours=2))  # after the last sweep before the deadline
    # WHEN the service's feed, weeks behind, writes a viewing of the evening before the notice
    stack.set_member("m-lagging-feed", last_watched_at=iso(FIRST_SWEEP - timedelta(hours=8)))
    stack.run_until(DEADLINE + timedelta(days=3))
    # THEN the expiry keeps the member instead of cancelling
    assert_kept_by_watching(stack, "m-lagging-feed")
    assert any(inv.function == "ExpireFunction" for inv in stack.cloud.invocations)


def test_a_viewing_recorded_late_keeps_the_member_when_the_sweep_settles_an_overdue_notice(stack):
    # GIVEN TTL so late that the nightly sweep is the one that settles the overdue notice
    stack.cloud.ttl_reaper.max_delay = timedelta(days=3650)
    stack.add_inactive_member("m-late-ttl")
    stack.run_until(DEADLINE - timedelta(hours=1))
    # WHEN, just before the deadline, the feed writes a viewing from before the notice opened
    stack.set_member("m-late-ttl", last_watched_at=iso(FIRST_SWEEP - timedelta(days=3)))
    stack.run_until(DEADLINE + timedelta(days=1))
    # THEN the first sweep after the deadline keeps the member
    assert_kept_by_watching(stack, "m-late-ttl")
    assert stack.member("m-late-ttl")["notice_closed_at"] == "2026-07-03T03:00:00Z"


def test_a_viewing_recorded_late_that_is_itself_years_old_changes_nothing(stack):
    # GIVEN a noticed member whose feed, late, records a viewing older than the inactivity threshold
    stack.ttl_on_time()
    stack.add_inactive_member("m-old-viewing", last_watched_at=FIRST_SWEEP - timedelta(days=4 * 365))
    stack.run_until(FIRST_SWEEP + timedelta(days=3))
    stack.set_member("m-old-viewing", last_watched_at=iso(FIRST_SWEEP - timedelta(days=3 * 365)))
    # WHEN the deadline passes without an answer
    stack.run_until(DEADLINE + timedelta(days=3))
    # THEN the member is the inactive member the notice was for, and is cancelled
    member = stack.member("m-old-viewing")
    assert member["status"] == "cancelled" and member["cancel_reason"] == "no_response"
