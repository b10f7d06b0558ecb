"""The inactivity policy and the sweep's decisions, at every boundary the mission names."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.policy import (
    Inactivity,
    MemberView,
    SweepAction,
    SweepDecision,
    deadline_for,
    inactivity,
    notice_still_stands,
    plan,
    reminder_due,
    respond_by,
    retained_until,
    viewing_day_start,
    watched_through,
)
from lifecycle.settings import Policy, SettingsError

POLICY = Policy()  # 12 months never watched, 24 months dormant, 30 days, reminder 7 days before, 10 months
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def member(**overrides) -> MemberView:
    fields = {
        "member_id": "m-1",
        "status": "active",
        "monthly_price": Decimal("9.99"),
        "joined_at": datetime(2020, 1, 1, tzinfo=UTC),
        "last_watched_at": NOW - timedelta(days=3),
    }
    fields.update(overrides)
    return MemberView(**fields)


# ------------------------------------------------------------ never watched
def test_member_who_joined_exactly_twelve_months_ago_and_never_watched_is_inactive():
    # GIVEN a member who joined to the second 12 months ago and never watched
    joined = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    # WHEN the policy looks at them now, and one second earlier
    # THEN the anniversary itself counts, the second before it does not
    assert inactivity(member(joined_at=joined, last_watched_at=None), NOW, POLICY) is Inactivity.NEVER_WATCHED
    assert inactivity(member(joined_at=joined + timedelta(seconds=1), last_watched_at=None), NOW, POLICY) is None


def test_member_who_watched_once_is_not_judged_by_the_never_watched_rule():
    # GIVEN two members who joined 13 months ago; one never watched, one watched once on day one
    joined = NOW - timedelta(days=400)
    never = member(joined_at=joined, last_watched_at=None)
    once = member(joined_at=joined, last_watched_at=joined)
    # THEN only the one who never watched is inactive (the other needs 24 months of silence)
    assert inactivity(never, NOW, POLICY) is Inactivity.NEVER_WATCHED
    assert inactivity(once, NOW, POLICY) is None


def test_leap_day_joiner_has_an_anniversary_on_the_28th_of_february():
    # GIVEN a member who joined on 29 February 2024 and never watched
    leap = member(joined_at=datetime(2024, 2, 29, 0, 0, tzinfo=UTC), last_watched_at=None)
    # THEN they are inactive from 28 February 2025, not before
    assert inactivity(leap, datetime(2025, 2, 27, 23, 59, 59, tzinfo=UTC), POLICY) is None
    assert inactivity(leap, datetime(2025, 2, 28, 0, 0, tzinfo=UTC), POLICY) is Inactivity.NEVER_WATCHED


def test_month_end_joiner_counts_calendar_months_not_days():
    # GIVEN a member who joined 31 March 2025 (a year of 365 days ends 31 March 2026 too, but
    # 31 March 2024 + 12 months differs from 365 days in a leap year)
    joined = member(joined_at=datetime(2024, 3, 31, 8, 0, tzinfo=UTC), last_watched_at=None)
    # THEN the anniversary is 31 March 2025 at 08:00 UTC
    assert inactivity(joined, datetime(2025, 3, 31, 7, 59, tzinfo=UTC), POLICY) is None
    assert inactivity(joined, datetime(2025, 3, 31, 8, 0, tzinfo=UTC), POLICY) is Inactivity.NEVER_WATCHED


def test_time_zones_are_the_same_instant_whatever_offset_they_are_written_in():
    # GIVEN a member who joined at 00:30 in Paris (+02:00) on 1 June 2025, i.e. 22:30 UTC on 31 May
    paris = timezone(timedelta(hours=2))
    joined = member(joined_at=datetime(2025, 6, 1, 0, 30, tzinfo=paris), last_watched_at=None)
    # THEN the anniversary is 31 May 2026 22:30 UTC, also when "now" is written in another zone
    tokyo = timezone(timedelta(hours=9))
    assert inactivity(joined, datetime(2026, 6, 1, 7, 29, tzinfo=tokyo), POLICY) is None
    assert inactivity(joined, datetime(2026, 6, 1, 7, 30, tzinfo=tokyo), POLICY) is Inactivity.NEVER_WATCHED


def test_naive_times_are_refused_rather_than_guessed():
    # GIVEN a time without a zone THEN the policy refuses to decide
    with pytest.raises(ValueError, match="no time zone"):
        inactivity(member(joined_at=datetime(2020, 1, 1), last_watched_at=None), NOW, POLICY)


# ------------------------------------------------------------------ dormant
def test_dormant_twenty_four_months_after_the_day_of_the_last_viewing_ended():
    # GIVEN a member whose last recorded viewing was at noon on 1 June 2024 (UTC), the day's
    # first: later viewings that day are not written
    last = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    day_ended = datetime(2024, 6, 2, tzinfo=UTC)
    # THEN they are dormant 24 months after that day ended, not a second before (never early)
    assert inactivity(member(last_watched_at=last), day_ended + relativedelta(months=24), POLICY) is Inactivity.DORMANT
    assert inactivity(member(last_watched_at=last), day_ended + relativedelta(months=24, seconds=-1), POLICY) is None
    # AND any viewing on that day counts the same, the first second of it as the last
    for watched in (datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 1, 23, 59, 59, tzinfo=UTC)):
        assert inactivity(member(last_watched_at=watched), NOW + timedelta(days=1), POLICY) is Inactivity.DORMANT
        assert inactivity(member(last_watched_at=watched), NOW + timedelta(hours=11), POLICY) is None


def test_watched_through_is_the_end_of_the_viewing_s_utc_day_whatever_its_zone():
    tokyo = ZoneInfo("Asia/Tokyo")
    # 08:30 in Tokyo on 2 June is 23:30 UTC on 1 June
    assert watched_through(datetime(2024, 6, 2, 8, 30, tzinfo=tokyo)) == datetime(2024, 6, 2, tzinfo=UTC)
    assert viewing_day_start(datetime(2024, 6, 2, 8, 30, tzinfo=tokyo)) == datetime(2024, 6, 1, tzinfo=UTC)


def test_keep_restarts_the_clock():
    # GIVEN a member silent for 30 months who said "keep" 11 months ago
    kept = member(last_watched_at=NOW - timedelta(days=900), engaged_at=NOW - timedelta(days=335))
    # THEN they are not inactive; 24 months after the keep, they are
    assert inactivity(kept, NOW, POLICY) is None
    assert inactivity(kept, NOW + timedelta(days=400), POLICY) is Inactivity.DORMANT


def test_never_watched_member_who_rejoined_is_judged_from_the_rejoin():
    # GIVEN a member who joined years ago, never watched, and rejoined 6 months ago
    rejoined = member(
        joined_at=datetime(2019, 1, 1, tzinfo=UTC), last_watched_at=None, engaged_at=NOW - timedelta(days=183)
    )
    # THEN the 12-month never-watched clock runs from the rejoin
    assert inactivity(rejoined, NOW, POLICY) is None
    assert inactivity(rejoined, NOW + timedelta(days=183), POLICY) is Inactivity.NEVER_WATCHED


def test_thresholds_come_from_the_parameters():
    # GIVEN a deployment that notices after 6 and 12 months
    strict = Policy(never_watched_months=6, inactive_months=12)
    silent_13_months = member(last_watched_at=NOW - timedelta(days=396))
    assert inactivity(silent_13_months, NOW, POLICY) is None
    assert inactivity(silent_13_months, NOW, strict) is Inactivity.DORMANT


# -------------------------------------------------------- the sweep's plan
INACTIVE = {"joined_at": datetime(2020, 1, 1, tzinfo=UTC), "last_watched_at": datetime(2023, 1, 1, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("overrides", "action", "why"),
    [
        ({}, SweepAction.OPEN_NOTICE, "dormant"),
        ({"last_watched_at": None}, SweepAction.OPEN_NOTICE, "never_watched"),
        ({"monthly_price": Decimal("0.00")}, SweepAction.NOTHING, "not paying"),
        ({"status": "cancelled"}, SweepAction.NOTHING, "cancelled"),
        ({"status": "suspended"}, SweepAction.NOTHING, "status suspended"),
        ({"last_watched_at": NOW - timedelta(days=1)}, SweepAction.NOTHING, "active"),
    ],
)
def test_who_gets_a_notice(overrides, action, why):
    decision = plan(member(**{**INACTIVE, **overrides}), NOW, POLICY)
    assert (decision.action, decision.why) == (action, why)


def open_notice_member(opened: datetime, **overrides) -> MemberView:
    return member(
        **{
            **INACTIVE,
            "notice_id": "n1",
            "notice_opened_at": opened,
            "notice_deadline": deadline_for(opened, POLICY),
            **overrides,
        }
    )


def test_member_with_an_open_notice_gets_no_second_one():
    assert plan(open_notice_member(NOW - timedelta(days=1)), NOW, POLICY).action is SweepAction.NOTHING


def test_reminder_falls_due_seven_days_before_the_deadline_once():
    opened = NOW - timedelta(days=10)
    deadline = deadline_for(opened, POLICY)
    due = deadline - timedelta(days=7)
    assert plan(open_notice_member(opened), due - timedelta(seconds=1), POLICY).action is SweepAction.NOTHING
    assert plan(open_notice_member(opened), due, POLICY).action is SweepAction.REQUEST_REMINDER
    reminded = open_notice_member(opened, notice_reminded_at=due)
    assert plan(reminded, due + timedelta(days=1), POLICY).action is SweepAction.NOTHING


def test_no_reminder_when_the_parameter_is_zero():
    assert not reminder_due(NOW, NOW - timedelta(hours=1), Policy(reminder_days_before=0))


def test_overdue_notice_is_settled_and_a_member_who_watched_meanwhile_is_kept():
    opened = NOW - timedelta(days=40)
    assert plan(open_notice_member(opened), NOW, POLICY).action is SweepAction.SETTLE_OVERDUE_NOTICE
    watched = open_notice_member(opened, last_watched_at=opened + timedelta(days=2))
    assert plan(watched, NOW, POLICY).action is SweepAction.KEEP_FOR_ACTIVITY


def test_a_viewing_recorded_late_that_happened_before_the_notice_keeps_the_member():
    # GIVEN a notice opened for a member silent for three years, now overdue
    opened = NOW - timedelta(days=40)
    # WHEN the feed, lagging, records a viewing of the day before the notice opened
    late = open_notice_member(opened, last_watched_at=opened - timedelta(days=1))
    # THEN the notice no longer stands: the member was not inactive when it opened, and is kept
    assert not notice_still_stands(late, POLICY)
    assert plan(late, NOW, POLICY).action is SweepAction.KEEP_FOR_ACTIVITY
    # AND a viewing recorded late that is itself 24 months old changes nothing
    old = open_notice_member(opened, last_watched_at=opened - timedelta(days=800))
    assert notice_still_stands(old, POLICY)
    assert plan(old, NOW, POLICY).action is SweepAction.SETTLE_OVERDUE_NOTICE


@given(
    silent_for=st.integers(0, 5 * 365),
    opened_ago=st.integers(0, 60),
    never_watched=st.booleans(),
)
def test_a_notice_stands_only_while_the_policy_still_finds_the_member_inactive_when_it_opened(
    silent_for, opened_ago, never_watched
):
    # GIVEN a notice opened some days ago, and whatever viewing is recorded now
    opened = NOW - timedelta(days=opened_ago)
    watched = None if never_watched else opened - timedelta(days=silent_for)
    view = open_notice_member(opened, last_watched_at=watched, joined_at=datetime(2019, 1, 1, tzinfo=UTC))
    # THEN it stands exactly when the policy, applied to that activity at the opening, finds them inactive
    assert notice_still_stands(view, POLICY) == (inactivity(view, opened, POLICY) is not None)


def test_a_member_active_again_after_a_cancellation_rejoined_elsewhere_and_is_engaged_from_then():
    # GIVEN a member the campaign cancelled, whom the service's sign-up flow made active again
    cancelled = NOW - timedelta(days=120)
    back = member(**INACTIVE, cancelled_at=cancelled, retained_until=cancelled + timedelta(days=300))
    # THEN the sweep records the rejoin instead of opening a notice
    assert plan(back, NOW, POLICY) == SweepDecision(
        SweepAction.RECORD_REJOIN, "active again after a cancellation (rejoined elsewhere)"
    )
    # AND once recorded (engaged from then), no notice is due for another 24 months
    recorded = member(**INACTIVE, cancelled_at=cancelled, rejoined_at=NOW, engaged_at=NOW)
    assert plan(recorded, NOW + timedelta(days=700), POLICY).action is SweepAction.NOTHING
    assert plan(recorded, NOW + timedelta(days=732), POLICY).action is SweepAction.OPEN_NOTICE


def test_kept_data_of_a_member_who_rejoined_since_the_cancellation_is_never_purged():
    # GIVEN a member cancelled again (elsewhere) after rejoining, the old retention's end long past
    cancelled = NOW - timedelta(days=400)
    again = member(status="cancelled", cancelled_at=cancelled, rejoined_at=cancelled + timedelta(days=30),
                   retained_until=cancelled + timedelta(days=300))
    # THEN the sweep purges nothing
    assert plan(again, NOW, POLICY).action is SweepAction.NOTHING


def test_retention_is_purged_after_ten_months_and_not_before():
    cancelled = datetime(2025, 8, 1, tzinfo=UTC)
    held = member(status="cancelled", retained_until=retained_until(cancelled, POLICY))
    assert retained_until(cancelled, POLICY) == datetime(2026, 6, 1, tzinfo=UTC)
    assert plan(held, datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC), POLICY).action is SweepAction.NOTHING
    assert plan(held, datetime(2026, 6, 1, tzinfo=UTC), POLICY).action is SweepAction.PURGE_RETAINED_DATA
    purged = member(status="cancelled", retained_until=datetime(2026, 6, 1, tzinfo=UTC), purged_at=NOW)
    assert plan(purged, NOW, POLICY).action is SweepAction.NOTHING


# ------------------------------------------------------------------ deadline
def test_deadline_is_the_end_of_the_respond_by_day_everywhere_on_earth():
    # GIVEN a notice opened 1 June 2026 at 12:00 UTC with a 30-day window
    opened = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    # THEN the email says "by 1 July 2026" and the notice closes when 1 July ends in UTC-12
    assert respond_by(opened, POLICY) == date(2026, 7, 1)
    assert deadline_for(opened, POLICY) == datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=120),
)
def test_the_deadline_never_falls_before_the_promised_day_ends_anywhere(opened, window):
    # GIVEN any opening time and window
    policy = Policy(response_window_days=window, reminder_days_before=0)
    # THEN in the earliest zone (UTC+14) and the latest (UTC-12) the respond-by date has fully passed
    # only at or after the deadline
    deadline = deadline_for(opened, policy)
    for offset in (14, -12):
        local = deadline.astimezone(timezone(timedelta(hours=offset)))
        assert local.date() > respond_by(opened, policy) or (local.hour, local.minute) == (0, 0)
    assert deadline - opened >= timedelta(days=window)


def test_policy_parameters_that_make_no_sense_are_refused():
    with pytest.raises(SettingsError, match="reminder_days_before"):
        Policy(response_window_days=5, reminder_days_before=5)
    with pytest.raises(SettingsError, match="never_watched_months"):
        Policy(never_watched_months=0)


def test_stored_times_always_have_four_digit_years_so_they_compare_as_text():
    from lifecycle.clock import iso, parse_iso

    old = datetime(501, 3, 1, tzinfo=UTC)
    assert iso(old) == "0501-03-01T00:00:00Z" and parse_iso(iso(old)) == old
    assert iso(old) < iso(datetime(2026, 1, 1, tzinfo=UTC))
