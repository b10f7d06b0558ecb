"""The sweep's fan-out arithmetic: how many segments, which run a schedule event names, what a
task message must hold, and how a worker keeps to its share of the read rate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lifecycle.errors import InvalidRequest
from lifecycle.settings import Settings, SettingsError, SweepSettings
from lifecycle.sweep.progress import ReadPacer, SegmentTask, run_id_for, segment_count

NOW = datetime(2026, 6, 1, 3, 0, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (0, 1),  # an empty table still gets its one segment (and its run finishes)
        (1, 1),
        (3_000_000, 1),
        (3_000_001, 2),
        (200_000_000, 67),
        (10_000_000_000, 256),  # capped by SweepMaxSegments
    ],
)
def test_segments_are_sized_from_the_member_count_and_capped(members, expected):
    assert segment_count(members, SweepSettings()) == expected


def test_a_run_is_named_after_the_schedules_time_and_by_hand_after_now():
    assert run_id_for("2026-06-01T03:00:00Z", NOW) == "2026-06-01T03:00:00Z"
    assert run_id_for("2026-06-01T05:00:00+02:00", NOW) == "2026-06-01T03:00:00Z"
    assert run_id_for(None, NOW) == "2026-06-01T03:00:07Z"


@pytest.mark.parametrize(
    ("value", "why"),
    [("yesterday", "not an ISO 8601 time"), ("2026-06-01T03:00:00", "has no time zone"), (42, "ISO 8601")],
)
def test_a_schedule_time_that_is_no_time_is_refused(value, why):
    with pytest.raises(InvalidRequest, match=why):
        run_id_for(value, NOW)


def test_a_task_goes_through_the_queue_unchanged():
    task = SegmentTask("2026-06-01T03:00:00Z", 6, 67)
    assert SegmentTask.from_message(task.to_message()) == task
    assert task.part == "segment#00006"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("", "not JSON"),
        ('"text"', "got str"),
        ('{"segment": 0, "total_segments": 1}', "lacks run_id"),
        ('{"run_id": "", "segment": 0, "total_segments": 1}', "non-empty string"),
        ('{"run_id": "r", "segment": true, "total_segments": 1}', "segment must be a whole number"),
        ('{"run_id": "r", "segment": 0, "total_segments": 1.5}', "total_segments must be a whole number"),
        ('{"run_id": "r", "segment": -1, "total_segments": 1}', "out of range"),
        ('{"run_id": "r", "segment": 0, "total_segments": 1000001}', "out of range"),
    ],
)
def test_a_task_that_is_not_a_task_is_refused_precisely(body, why):
    with pytest.raises(InvalidRequest, match=why):
        SegmentTask.from_message(body)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_worker_waits_just_long_enough_to_keep_to_its_share_of_the_read_rate():
    # GIVEN 20,000 read units a second shared by 64 workers: 312.5 each
    clock = FakeClock()
    pacer = ReadPacer.for_worker(SweepSettings(), 67, monotonic=clock.monotonic, sleep=clock.sleep)
    assert pacer.units_per_second == 312.5
    # WHEN a 128-unit page arrives at once, then another after 1 s of work
    first = pacer.spend(128)
    clock.now += 1.0
    second = pacer.spend(128)
    # THEN it waited 0.4096 s for the first, and not at all for the second (the 256 units fit
    # the 1.41 s gone by)
    assert first == pytest.approx(128 / 312.5)
    assert second == pytest.approx(0.0)
    assert clock.now == pytest.approx(1 + 128 / 312.5)
    # AND a larger third page right away waits until all three pages fit the rate
    elapsed = clock.now
    assert pacer.spend(400) == pytest.approx((128 + 128 + 400) / 312.5 - elapsed)
    assert pacer.units == 656 and clock.now == pytest.approx(656 / 312.5)


def test_fewer_segments_than_workers_share_the_rate_among_the_segments():
    assert ReadPacer.for_worker(SweepSettings(read_units_per_second=1000), 4).units_per_second == 250


@pytest.mark.parametrize(
    ("name", "value"),
    [("SWEEP_MEMBERS_PER_SEGMENT", "0"), ("SWEEP_PAGE_SIZE", "0"), ("SWEEP_READ_UNITS_PER_SECOND", "0")],
)
def test_sweep_settings_that_make_no_sense_are_refused(name, value):
    env = {"ACTIVITY_TABLE": "a", "LIFECYCLE_TABLE": "l", "MEMBER_DATA_TABLE": "d", "LINK_TABLE": "n", name: value}
    with pytest.raises(SettingsError):
        Settings.from_env(env)
