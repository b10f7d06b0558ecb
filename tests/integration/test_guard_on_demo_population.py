"""The guard on the demo's own population with the template's defaults, at the sizes operators
rehearse: pure (no cloud), but generating 100,000 members takes a while."""

from __future__ import annotations

import bisect
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lifecycle.policy import MemberView, inactive_from
from lifecycle.settings import Policy
from lifecycle.sweep.guard import Baseline, verdict
from ops.population import generate

DEFAULTS = Policy()  # the template's defaults (tests/unit/test_settings.py holds the two equal)


@pytest.mark.slow
@pytest.mark.parametrize("members", [2_000, 8_000, 100_000])
def test_the_demo_population_passes_the_defaults_every_night_for_14_months(members):
    # GIVEN the demo's population (before anyone acts), swept nightly with the template's defaults
    start = datetime(2026, 1, 1, 3, tzinfo=UTC)
    rows, _ = generate(members, 7, start, 14)
    paying = [row for row in rows if row["status"] == "active" and Decimal(row["monthly_price"]) > 0]
    due = sorted(inactive_from(_view(row), DEFAULTS)[1] for row in paying)
    # WHEN each night notices the members who became inactive since the last one
    nights = [start + timedelta(days=n) for n in range(425)]
    found = [bisect.bisect_right(due, nights[0])] + [
        bisect.bisect_right(due, night) - bisect.bisect_right(due, last) for last, night in itertools.pairwise(nights)]
    # THEN the guard never trips: the first night is backlog, later nights are members crossing the line
    for night, newly in zip(nights, found, strict=True):
        baseline = None if night == start else Baseline("last", night - timedelta(days=1), len(rows), 0)
        assert verdict(scanned=len(rows), newly_inactive=newly, inactive_before_baseline=0, baseline=baseline,
                       policy=DEFAULTS) is None, night
    assert found[0] > DEFAULTS.guard_min_notices or members < 8_000  # the guard applies: it is not too small


def _view(row: dict) -> MemberView:
    last = row["last_watched_at"]
    return MemberView(row["member_id"], row["status"], Decimal(row["monthly_price"]),
                      datetime.fromisoformat(row["joined_at"]), datetime.fromisoformat(last) if last else None)
