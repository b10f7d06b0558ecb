"""Schedules: AWS cron and rate expressions, fired by the virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from local_cloud_support import START

from local.schedules import CronExpression, RateExpression, ScheduleExpressionError, parse_expression

UTC_ZONE = ZoneInfo("UTC")


def _cron(body: str, after: datetime, until: datetime, zone: str = "UTC") -> list[datetime]:
    return list(CronExpression.parse(body).between(after, until, ZoneInfo(zone)))


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekday_cron_across_a_month_boundary():
    # GIVEN 06:30 on weekdays, from Friday 31 January 2025
    # WHEN listing the occurrences up to Wednesday 5 February
    found = _cron("30 6 ? * MON-FRI *", _at(2025, 1, 31), _at(2025, 2, 5, 23, 59))
    # THEN the weekend is skipped and February follows January
    assert found == [_at(2025, 1, 31, 6, 30), _at(2025, 2, 3, 6, 30), _at(2025, 2, 4, 6, 30), _at(2025, 2, 5, 6, 30)]


def test_day_of_week_numbers_are_one_for_sunday_to_seven_for_saturday():
    # GIVEN day-of-week 1 and 7 WHEN listed over a week THEN they are Sunday and Saturday
    week = (_at(2025, 2, 2), _at(2025, 2, 9))  # Sunday 2 February is excluded, the 9th included
    assert _cron("0 0 ? * 1 *", *week) == [_at(2025, 2, 9)]
    assert _cron("0 0 ? * 7 *", *week) == [_at(2025, 2, 8)]
    assert _cron("0 0 ? * 2-6 *", *week) == [_at(2025, 2, d) for d in (3, 4, 5, 6, 7)]
    assert _cron("0 0 ? * SUN,SAT *", *week) == [_at(2025, 2, 8), _at(2025, 2, 9)]


def test_last_day_nth_weekday_and_nearest_weekday():
    # last day of each month, across February of a leap year
    assert _cron("0 12 L * ? *", _at(2024, 1, 1), _at(2024, 3, 31, 23)) == [
        _at(2024, 1, 31, 12),
        _at(2024, 2, 29, 12),
        _at(2024, 3, 31, 12),
    ]
    # the third Friday
    assert _cron("0 9 ? * 6#3 *", _at(2025, 1, 1), _at(2025, 3, 1)) == [_at(2025, 1, 17, 9), _at(2025, 2, 21, 9)]
    # the last Monday
    assert _cron("0 9 ? * 2L *", _at(2025, 1, 1), _at(2025, 2, 28)) == [_at(2025, 1, 27, 9), _at(2025, 2, 24, 9)]
    # the weekday nearest the 1st (Saturday 1 February 2025 -> Monday the 3rd)
    assert _cron("0 9 1W * ? *", _at(2025, 1, 15), _at(2025, 2, 15)) == [_at(2025, 2, 3, 9)]


def test_steps_lists_and_years():
    assert _cron("0/20 8,20 * * ? 2025", _at(2024, 12, 31, 23), _at(2025, 1, 1, 21)) == [
        _at(2025, 1, 1, 8, 0),
        _at(2025, 1, 1, 8, 20),
        _at(2025, 1, 1, 8, 40),
        _at(2025, 1, 1, 20, 0),
        _at(2025, 1, 1, 20, 20),
        _at(2025, 1, 1, 20, 40),
    ]
    assert _cron("0 0 1 * ? 2024", _at(2024, 12, 15), _at(2025, 3, 1)) == []


def test_cron_in_a_time_zone_follows_daylight_saving():
    # GIVEN 09:00 on the 1st in Paris WHEN listed over winter and summer
    found = _cron("0 9 1 * ? *", _at(2025, 2, 15), _at(2025, 4, 15), "Europe/Paris")
    # THEN it is 08:00 UTC in winter and 07:00 UTC in summer
    assert found == [_at(2025, 3, 1, 8), _at(2025, 4, 1, 7)]


def test_a_wall_time_daylight_saving_skips_does_not_fire_and_one_it_repeats_fires_once():
    # GIVEN 02:30 every day in Paris, which 30 March 2025 skips and 26 October 2025 has twice
    spring = _cron("30 2 * * ? *", _at(2025, 3, 28, 12), _at(2025, 3, 31, 12), "Europe/Paris")
    autumn = _cron("30 2 * * ? *", _at(2025, 10, 24, 12), _at(2025, 10, 27, 12), "Europe/Paris")
    # THEN, as the Scheduler does, the skipped day has no invocation and the repeated hour one
    assert spring == [_at(2025, 3, 29, 1, 30), _at(2025, 3, 31, 0, 30)]
    assert autumn == [_at(2025, 10, 25, 0, 30), _at(2025, 10, 26, 0, 30), _at(2025, 10, 27, 1, 30)]


def test_rate_counts_from_the_schedule_creation():
    rate = RateExpression.parse("6 hours")
    created = _at(2025, 1, 31, 1, 15)
    assert list(rate.between(created, _at(2025, 2, 1, 2), created)) == [
        _at(2025, 1, 31, 7, 15),
        _at(2025, 1, 31, 13, 15),
        _at(2025, 1, 31, 19, 15),
        _at(2025, 2, 1, 1, 15),
    ]
    assert RateExpression.parse("1 minute").interval == timedelta(minutes=1)
    assert RateExpression.parse("2 days").interval == timedelta(days=2)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 * * * *)",  # both day fields given
        "cron(0 3 ? * ? *)",  # neither
        "cron(0 3 * *)",  # too few fields
        "cron(61 3 * * ? *)",
        "cron(0 3 ? * 8 *)",
        "cron(0 3 ? * 0 *)",  # day-of-week counts 1-7
        "cron(0 3 ? * 3#1,6#3 *)",  # '#' takes one expression only
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every day",
    ],
)
def test_invalid_expressions_are_refused(expression):
    with pytest.raises(ScheduleExpressionError):
        parse_expression(expression)


def test_the_clock_fires_each_schedule_at_its_times_with_its_input(cloud):
    # GIVEN the fixture's schedules: weekdays 06:30 (cron), every 6 hours (rate, with Input),
    #       09:00 Paris on the 1st
    # WHEN the clock moves from Friday 31 January 00:00 to Tuesday 4 February 00:00
    cloud.advance_to(START + timedelta(days=4))
    ticks = [(i.trigger.split()[1], i.at, i.event, i.result) for i in cloud.invocations_of("TickFunction")]
    # THEN the invocations came in time order, each with the clock set to its occurrence
    times = [at for _, at, _, _ in ticks]
    assert times == sorted(times)
    assert all(result["now"] == at.isoformat() for _, at, _, result in ticks)
    by_schedule: dict[str, list[datetime]] = {}
    for name, at, _, _ in ticks:
        by_schedule.setdefault(name, []).append(at)
    assert by_schedule["Weekdays"] == [_at(2025, 1, 31, 6, 30), _at(2025, 2, 3, 6, 30)]
    assert by_schedule["EverySixHours"] == [START + timedelta(hours=6 * k) for k in range(1, 17)]
    assert by_schedule["ParisMorning"] == [_at(2025, 2, 1, 8)]
    # AND each got the event the Scheduler sends: its Input, context attributes filled in, else {}
    events = {name: event for name, _, event, _ in ticks}
    assert events["Weekdays"] == {}
    assert events["ParisMorning"] == {"job": "paris"}
    first_six_hourly = next(e for n, _, e, _ in ticks if n == "EverySixHours")
    assert first_six_hourly == {"job": "six-hourly", "at": "2025-01-31T06:00:00Z"}
    assert "Failing" not in by_schedule  # its State is DISABLED


def test_advancing_in_steps_fires_each_occurrence_once(cloud):
    # GIVEN the clock moved in uneven steps over the same four days
    for hours in (1, 5, 6, 7, 29, 48):
        cloud.advance_to(START + timedelta(hours=hours))
    cloud.advance_to(START + timedelta(days=4))
    # THEN the same occurrences fired, once each
    times = [i.at for i in cloud.invocations_of("TickFunction")]
    assert len(times) == len(set(times)) == 2 + 16 + 1


def test_a_failing_scheduled_invocation_is_retried_twice_like_lambda_async(make_cloud):
    # GIVEN the schedule that always fails turned on (noon every day)
    cloud = make_cloud()
    cloud.deploy({"FailingScheduleState": "ENABLED", "TickSchedule": "cron(0 0 1 1 ? 2099)"})
    # WHEN the clock passes one noon
    cloud.advance_to(_at(2025, 1, 31, 13))
    failing = [i for i in cloud.invocations_of("TickFunction") if i.event.get("job") == "failing"]
    # THEN Lambda ran it at noon, one minute later, then two minutes after that, and gave up
    assert [i.at for i in failing] == [_at(2025, 1, 31, 12), _at(2025, 1, 31, 12, 1), _at(2025, 1, 31, 12, 3)]
    assert all("scheduled failure" in i.error for i in failing)


def test_the_clock_never_goes_back(cloud):
    cloud.advance_to(START + timedelta(hours=1))
    with pytest.raises(ValueError, match="forward"):
        cloud.advance_to(START)
