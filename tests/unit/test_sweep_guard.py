"""The sweep's guard: a broken feed or load is told from an ordinary backlog."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.settings import Policy
from lifecycle.sweep.guard import Baseline, verdict

DEFAULTS = Policy()  # the template's defaults (tests/unit/test_settings.py holds the two equal)
LAST_RUN = Baseline("2026-06-01T03:00:00Z", datetime(2026, 6, 1, 3, tzinfo=UTC), scanned=10_000, waiting=0)


def test_the_first_nights_backlog_passes_however_large_unless_implausible():
    assert verdict(scanned=10_000, newly_inactive=4_999, inactive_before_baseline=0, baseline=None,
                   policy=DEFAULTS) is None
    why = verdict(scanned=10_000, newly_inactive=5_001, inactive_before_baseline=0, baseline=None, policy=DEFAULTS)
    assert why is not None and why.startswith("implausible share: 5,001 of 10,000 members read")


def test_members_inactive_since_before_the_last_run_beyond_its_backlog_trip_the_guard():
    # the last run left 300 waiting (deferred by the cap): 300 of them again are expected
    left_waiting = Baseline(LAST_RUN.run_id, LAST_RUN.at, scanned=10_000, waiting=300)
    assert verdict(scanned=10_000, newly_inactive=310, inactive_before_baseline=300, baseline=left_waiting,
                   policy=DEFAULTS) is None
    why = verdict(scanned=10_000, newly_inactive=420, inactive_before_baseline=410, baseline=left_waiting,
                  policy=DEFAULTS)
    assert why is not None and why.startswith(
        "activity moved backwards or vanished: 410 of 10,000 members read look inactive since before the last run "
        "(2026-06-01T03:00:00Z), which left about 300 of them waiting")


@given(scanned=st.integers(1, 10_000_000), fraction=st.floats(0, 1), min_notices=st.integers(0, 1000))
def test_below_guard_min_notices_nothing_trips(scanned, fraction, min_notices):
    policy = Policy(guard_min_notices=min_notices)
    below = max(0, min(scanned, min_notices - 1))
    inactive = int(below * fraction)
    assert verdict(scanned=scanned, newly_inactive=below, inactive_before_baseline=inactive, baseline=LAST_RUN,
                   policy=policy) is None


@given(segment_share=st.floats(0.001, 1), waiting=st.integers(0, 1_000_000), seen=st.integers(1, 1_000_000))
def test_a_segment_that_sees_its_share_of_the_last_runs_backlog_never_trips(segment_share, waiting, seen):
    # each segment is a random sample: it sees the backlog in proportion to what it read
    baseline = Baseline(LAST_RUN.run_id, LAST_RUN.at, scanned=max(seen, waiting), waiting=waiting)
    scanned = max(1, int(baseline.scanned * segment_share))
    expected = int(waiting * scanned / baseline.scanned)
    assert verdict(scanned=scanned, newly_inactive=expected, inactive_before_baseline=expected, baseline=baseline,
                   policy=Policy(max_notice_share=1)) is None
