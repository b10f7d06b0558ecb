"""The nightly sweep's segments: each worker reads its scan segment page by page from its
checkpoint, judges every member with the pure policy, and carries out what is due (open notices
under the guard, reminders, overdue settlements, rejoins recorded, purges, catch-ups), each
through the single-member steps of ``lifecycle.campaign``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lifecycle.campaign import (
    Outcome,
    open_notice,
    purge_retained_data,
    record_rejoin_elsewhere,
    request_reminder,
    settle_notice,
)
from lifecycle.errors import InvalidRequest
from lifecycle.membership import MemberSnapshot, ScanPage, SendLease
from lifecycle.notifications import catch_up, republish_billing_stop
from lifecycle.observability import logger
from lifecycle.policy import (
    Inactivity,
    SweepAction,
    inactive_from,
    plan,
    prefilter_cutoffs,
)
from lifecycle.settings import Policy, Settings
from lifecycle.store import Store
from lifecycle.sweep import guard
from lifecycle.sweep.progress import ReadPacer, Reserved, RunTotals, SegmentTask, SweepProgress, segment_count
from lifecycle.switch import notices_paused


class SegmentOutcome(StrEnum):
    """How a worker's turn on a segment ended."""

    HANDED_ON = "handed_on"  # its time was nearly up: the segment is queued again
    SEGMENT_DONE = "segment_done"
    RUN_FINISHED = "run_finished"  # the last segment of the run is done
    ALREADY_DONE = "already_done"  # a duplicate task for a finished segment
    SUPERSEDED = "superseded"  # another worker moved the checkpoint first (a duplicate task)


@dataclass
class SegmentReport:
    """What one worker's turn on a segment did (the run's totals are in ``SweepProgress``)."""

    run_id: str
    segment: int
    outcome: SegmentOutcome | None = None
    pages: int = 0
    scanned: int = 0
    malformed: int = 0
    inactive_found: int = 0
    deferred: int = 0
    read_units: float = 0.0
    waited_seconds: float = 0.0
    actions: Counter[str] = field(default_factory=Counter)  # done (or, in a dry run, that would be done)
    skipped: Counter[str] = field(default_factory=Counter)  # actions not taken because a condition failed
    caught_up: Counter[str] = field(default_factory=Counter)  # emails and events a lost stream record owed
    paused: Counter[str] = field(default_factory=Counter)  # actions the pause button held back
    notices_paused: bool = False  # the pause button was on during this turn
    run: RunTotals | None = None  # the run's totals, for the worker that finished the run
    tripped_guard: bool = False  # this worker found the data implausible and stopped the run's notices

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "segment": self.segment,
            "outcome": self.outcome.value if self.outcome else None,
            "tripped_guard": self.tripped_guard,
            "pages": self.pages,
            "scanned": self.scanned,
            "malformed": self.malformed,
            "inactive_found": self.inactive_found,
            "deferred": self.deferred,
            "read_units": self.read_units,
            "waited_seconds": round(self.waited_seconds, 3),
            "actions": dict(self.actions),
            "lost_races": dict(self.skipped),
            "caught_up": dict(self.caught_up),
            "notices_paused": self.notices_paused,
            "held_by_pause": dict(self.paused),
        }


@dataclass
class JudgedPage:
    """One page judged: every action but opening notices carried out, the newly inactive
    members listed (at most a page of them is ever held)."""

    scanned: int = 0
    malformed: int = 0
    newly_inactive: list[tuple[MemberSnapshot, str]] = field(default_factory=list)
    inactive_before_baseline: int = 0  # of those, inactive already when the last run read the table
    deferred: int = 0  # newly inactive members left for the next run by MaxNoticesPerRun
    actions: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    caught_up: Counter[str] = field(default_factory=Counter)
    paused: Counter[str] = field(default_factory=Counter)  # actions held back while notices are paused

    @property
    def seen(self) -> dict[str, int]:
        return {"scanned": self.scanned, "inactive_found": len(self.newly_inactive),
                "inactive_before_baseline": self.inactive_before_baseline, "malformed": self.malformed}


def start_sweep(
    store: Store, progress: SweepProgress, run_id: str, now: datetime, settings: Settings
) -> dict[str, Any]:
    """Start run ``run_id``: segments sized from the table's member count, one task queued
    for each. Starting the same run again (a retried schedule) queues its tasks again; a
    duplicate task finds its segment done or its checkpoint moved, and stops."""
    members = store.members.count()
    run = progress.start_run(run_id, segment_count(members, settings.sweep), now, settings.policy.dry_run)
    progress.queue([SegmentTask(run_id, segment, run.total_segments) for segment in range(run.total_segments)])
    logger.info("sweep started", extra={"run_id": run_id, "members": members, "segments": run.total_segments})
    if run.guard_tripped:
        logger.error("sweep opens no notices: the guard is held", extra={"run_id": run_id, "why": run.guard_reason})
    paused = notices_paused(settings)
    if paused:
        logger.warning("notices are paused: no notice, reminder or cancellation for no answer until resumed",
                       extra={"run_id": run_id})
    return {"run_id": run_id, "members": members, "segments": run.total_segments, "dry_run": run.dry_run,
            "guard_held": run.guard_tripped, "notices_paused": paused}


def sweep_segment(
    store: Store,
    progress: SweepProgress,
    task: SegmentTask,
    now: datetime,
    settings: Settings,
    seconds_left: Callable[[], float],
    pacer: ReadPacer | None = None,
) -> SegmentReport:
    """Read one segment from its checkpoint, page by page: open notices, request reminders,
    settle overdue notices, purge expired retention, and catch up emails and events whose
    stream record was lost. Every page is reserved (its counts added to its segment's, for the
    guard) before its notices are opened, and the checkpoint moves after; once the guard has
    tripped, no worker of the run opens a notice, but every other step goes on. The worker
    hands the segment on when fewer than SweepHandOffSeconds are left."""
    policy = settings.policy
    report = SegmentReport(task.run_id, task.segment)
    run = progress.run(task.run_id)
    if run is None:
        raise InvalidRequest(f"no sweep run {task.run_id!r}: it is older than 30 days or was never started")
    if run.total_segments != task.total_segments:
        raise InvalidRequest(f"sweep run {task.run_id!r} has {run.total_segments} segments, not {task.total_segments}")
    at = progress.checkpoint(task)
    if at.done:
        report.outcome = SegmentOutcome.ALREADY_DONE
        return report
    pacer = pacer or ReadPacer.for_worker(settings.sweep, task.total_segments)
    # emails the catch-up sends are leased until this worker's deadline; its task's retry takes them back
    lease = SendLease.for_delivery(f"sweep:{task.run_id}:{task.segment}", now, seconds_left())
    cutoffs = prefilter_cutoffs(now, policy)
    while True:
        page = store.members.scan_page(
            cutoffs, task.segment, task.total_segments, at.next_key, settings.sweep.page_size
        )
        paused = notices_paused(settings)  # read at every page (cached a minute): a pause takes effect mid-run
        if paused and not report.notices_paused:
            report.notices_paused = True
            progress.mark_paused(task.run_id)
        judged = judge_page(store, page, now, settings, lease, run.baseline.at if run.baseline else None, paused)
        reserved, counted = progress.reserve_page(task, at, judged.seen, now)
        if reserved == Reserved.LOST:
            report.outcome = SegmentOutcome.SUPERSEDED
            return report
        # the guard holds back notices only: reminders, settlements, purges and catch-ups go on
        run = progress.run(task.run_id)
        if run is None:  # it was there before the first page: only TTL (30 days) or a person removes it
            raise InvalidRequest(f"sweep run {task.run_id!r} is gone: older than 30 days, or deleted")
        held_back = run.guard_tripped
        why = None if held_back else guard.verdict(
            scanned=counted.count("scanned"),
            newly_inactive=counted.count("inactive_found"),
            inactive_before_baseline=counted.count("inactive_before_baseline"),
            baseline=run.baseline,
            policy=policy,
        )
        if why is not None:
            held_back = True
            if progress.trip_guard(task.run_id, why, now, latch=not policy.dry_run):
                report.tripped_guard = True
                logger.error("sweep opens no more notices until the guard is released",
                             extra={"run_id": task.run_id, "segment": task.segment, "why": why})
        if not held_back and not paused:
            _open_notices(store, progress, task.run_id, judged, now, policy)
        moved = progress.advance(task, at, page.next_key, _done_counts(judged))
        if moved is None:
            report.outcome = SegmentOutcome.SUPERSEDED
            return report
        at = moved
        _add_page(report, page, judged)
        report.waited_seconds += pacer.spend(page.read_units)
        if at.done:
            report.run = progress.finish_run(task.run_id, now)
            report.outcome = SegmentOutcome.RUN_FINISHED if report.run else SegmentOutcome.SEGMENT_DONE
            return report
        if seconds_left() < settings.sweep.hand_off_seconds:
            progress.queue([task])
            report.outcome = SegmentOutcome.HANDED_ON
            return report


# what the pause button holds back besides opening notices: a reminder, and a settlement (which may cancel)
HELD_BY_PAUSE = (SweepAction.REQUEST_REMINDER, SweepAction.SETTLE_OVERDUE_NOTICE)


def judge_page(
    store: Store,
    page: ScanPage,
    now: datetime,
    settings: Settings,
    lease: SendLease,
    baseline_at: datetime | None,
    paused: bool = False,
) -> JudgedPage:
    policy = settings.policy
    judged = JudgedPage(scanned=page.scanned, malformed=len(page.malformed))
    for problem in page.malformed:
        logger.warning("malformed member skipped", extra={"problem": problem})
    for snapshot in page.members:
        decision = plan(snapshot.view, now, policy)
        if decision.action is SweepAction.OPEN_NOTICE:
            judged.newly_inactive.append((snapshot, decision.why))  # opened once the guard has seen the page
            if baseline_at is not None and inactive_from(snapshot.view, policy)[1] <= baseline_at:
                judged.inactive_before_baseline += 1
        elif paused and decision.action in HELD_BY_PAUSE:
            judged.paused[decision.action.value] += 1
        elif decision.action is not SweepAction.NOTHING:
            done = policy.dry_run or _carry_out(store, snapshot, decision.action, now, policy)
            (judged.actions if done else judged.skipped)[decision.action.value] += 1
        view = snapshot.view
        if not policy.dry_run and (view.has_open_notice or not view.cancellation_announced):
            judged.caught_up.update(catch_up(store, view, now, settings, lease))
    return judged


def _open_notices(
    store: Store, progress: SweepProgress, run_id: str, judged: JudgedPage, now: datetime, policy: Policy
) -> None:
    # those inactive the longest first, when MaxNoticesPerRun paces the emails
    waiting = sorted(judged.newly_inactive, key=lambda pair: pair[0].view.last_watched_at or pair[0].view.joined_at)
    granted = len(waiting)
    if policy.max_notices_per_run and waiting:
        granted = progress.grant_notices(run_id, len(waiting), policy.max_notices_per_run)
    judged.deferred = len(waiting) - granted
    for snapshot, why in waiting[:granted]:
        done = policy.dry_run or open_notice(store, snapshot, Inactivity(why), now, policy)
        (judged.actions if done else judged.skipped)[SweepAction.OPEN_NOTICE.value] += 1


def _done_counts(judged: JudgedPage) -> dict[str, int]:
    """What a page did, as the run's total counters name it."""
    counts = {**judged.actions, "deferred": judged.deferred}
    counts.update({f"lost_race_{name}": count for name, count in judged.skipped.items()})
    counts.update({f"caught_up_{kind}": count for kind, count in judged.caught_up.items()})
    counts.update({f"paused_{name}": count for name, count in judged.paused.items()})
    return counts


def _add_page(report: SegmentReport, page: ScanPage, judged: JudgedPage) -> None:
    report.pages += 1
    report.scanned += judged.scanned
    report.malformed += judged.malformed
    report.inactive_found += len(judged.newly_inactive)
    report.deferred += judged.deferred
    report.read_units += page.read_units
    report.actions.update(judged.actions)
    report.skipped.update(judged.skipped)
    report.caught_up.update(judged.caught_up)
    report.paused.update(judged.paused)


def run_report(run_id: str, run: RunTotals) -> dict[str, Any]:
    """A run's totals, in the shape operators read in the logs and the rehearsal reports."""
    actions, lost, caught_up, paused = {}, {}, {}, {}
    for name, count in run.counts.items():
        if name.startswith("paused_"):
            paused[name.removeprefix("paused_")] = count
        elif name.startswith("lost_race_"):
            lost[name.removeprefix("lost_race_")] = count
        elif name.startswith("caught_up_"):
            caught_up[name.removeprefix("caught_up_")] = count
        elif name in SweepAction._value2member_map_:
            actions[name] = count
    return {
        "run_id": run_id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "segments": run.total_segments,
        "segments_done": run.segments_done,
        "scanned": run.count("scanned"),
        "malformed": run.count("malformed"),
        "dry_run": run.dry_run,
        "actions": actions,
        "lost_races": lost,
        "inactive_found": run.count("inactive_found"),
        "deferred": run.count("deferred"),
        "guard_tripped": run.guard_tripped,
        "guard_reason": run.guard_reason,
        "notices_paused": run.notices_paused,
        "held_by_pause": paused,
        "caught_up": caught_up,
    }


def _carry_out(store: Store, snapshot: MemberSnapshot, action: SweepAction, now: datetime, policy: Policy) -> bool:
    """Every action but opening a notice (which waits for the guard)."""
    view = snapshot.view
    match action:
        case SweepAction.REQUEST_REMINDER:
            assert view.notice_id is not None, "plan asks for a reminder only while a notice is open"
            return request_reminder(store, view.member_id, view.notice_id, now)
        case SweepAction.KEEP_FOR_ACTIVITY:
            assert view.notice_id is not None, "plan keeps a member for activity only while a notice is open"
            return store.lifecycle.close_kept(
                view.member_id, view.notice_id, Outcome.KEPT_BY_WATCHING, now, engaged=False
            )
        case SweepAction.SETTLE_OVERDUE_NOTICE:
            assert view.notice_id is not None, "plan settles a notice only while one is open"
            return settle_notice(store, view.member_id, view.notice_id, now, policy) is not None
        case SweepAction.RECORD_REJOIN:
            return record_rejoin_elsewhere(store, snapshot, now)
        case SweepAction.REPUBLISH_BILLING_STOP:
            return republish_billing_stop(store, view.member_id, now, policy)
        case SweepAction.PURGE_RETAINED_DATA:
            cancelled_at = store.members.snapshot(view.member_id).view.cancelled_at
            return cancelled_at is not None and purge_retained_data(store, view.member_id, cancelled_at, now)
    return False
