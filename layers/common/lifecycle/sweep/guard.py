"""The sweep's guard: a broken activity feed or load must not open mass notices, and an
ordinary backlog must not be mistaken for one.

Two signs of bad data, judged on a segment's counts so far (DynamoDB hashes members into
segments, so each segment is a random sample of the table):

* an implausible share: more than ``MaxNoticeShare`` of the members read newly inactive at once,
  on any night, the first included;
* activity that moved backwards or vanished: members who look inactive since *before* the last
  run, beyond the ones that run left waiting (deferred by ``MaxNoticesPerRun``, or held). Had
  their activity been recorded as it is now, the last run would have noticed them then. A first
  night's backlog, or a capped night's deferrals, are not counted.

Both count only from ``GuardMinNotices`` members on. A tripped guard holds (is latched) until an
operator releases it (``python -m ops guard release``), so it never trips silently night after
night; releasing accepts what the held runs saw, so the feed is fixed first (README: runbook).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lifecycle.settings import Policy


@dataclass(frozen=True)
class Baseline:
    """What the last finished run (not a dry run) saw: when it ran, how many members it read,
    and how many of those it found newly inactive it left waiting."""

    run_id: str
    at: datetime
    scanned: int
    waiting: int


@dataclass(frozen=True)
class Latch:
    """A tripped guard, held until an operator releases it."""

    run_id: str  # the run that tripped it
    at: datetime
    reason: str


@dataclass(frozen=True)
class GuardState:
    baseline: Baseline | None = None
    latch: Latch | None = None
    released_at: datetime | None = None
    released_by: str | None = None


def verdict(
    *, scanned: int, newly_inactive: int, inactive_before_baseline: int, baseline: Baseline | None, policy: Policy
) -> str | None:
    """Why the run must open no more notices, in words an operator can act on; None when the
    counts look like an ordinary night."""
    scanned = max(scanned, 1)
    if newly_inactive >= policy.guard_min_notices and newly_inactive > policy.max_notice_share * scanned:
        return (
            f"implausible share: {newly_inactive:,} of {scanned:,} members read look newly inactive at once, "
            f"more than MaxNoticeShare ({policy.max_notice_share:g}); check the activity feed or the last load"
        )
    if baseline is None:
        return None  # the first run: all of it is backlog
    expected = baseline.waiting * scanned / max(baseline.scanned, 1)
    unexplained = inactive_before_baseline - expected
    if unexplained >= policy.guard_min_notices and unexplained > policy.max_unexplained_share * scanned:
        return (
            f"activity moved backwards or vanished: {inactive_before_baseline:,} of {scanned:,} members read look "
            f"inactive since before the last run ({baseline.run_id}), which left about {expected:,.0f} of them "
            f"waiting; more than MaxUnexplainedShare ({policy.max_unexplained_share:g}); check the activity feed "
            "or the last load"
        )
    return None
