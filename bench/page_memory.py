"""Peak memory of the sweep's page processing, with no server at all: synthetic Scan pages are
built one at a time, as a page would arrive (``SweepPageSize`` members, fewer when 1 MB of
items comes first), and fed through the real ``start_sweep`` and ``sweep_segment`` (a dry run,
so nothing is written, with the guard opened wide) behind a store whose ``scan_page`` builds the
page after its ``start_key`` and an in-memory stand-in for ``SweepProgress``, both O(1) in
memory. ``tracemalloc`` measures the peak; the baseline is the same pages read and dropped,
with no processing.

The pages repeat the real population's projected items under new member ids. Which members a
page carries is what the storage-side prefilter returned for the same members in the measured
scan, or every member (the prefilter switched off) as the worst case.
"""

from __future__ import annotations

import gc
import math
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from bench.item_sizes import PAGE_BYTES
from lifecycle.adapters.dynamodb import SWEEP_PROJECTION, snapshot_from_item
from lifecycle.clock import iso
from lifecycle.membership import ScanPage
from lifecycle.settings import Settings
from lifecycle.sweep.progress import Checkpoint, ReadPacer, Reserved, RunTotals, SegmentTask
from lifecycle.sweep.segments import start_sweep, sweep_segment

NO_TIME_LIMIT = math.inf  # a worker that never hands its segment on
NO_READ_CAP = math.inf  # and never waits for the read-rate cap


@dataclass(frozen=True)
class MemberPool:
    """Projected activity items of the population, and whether the prefilter returned each one."""

    items: list[dict[str, Any]]
    returned_by_prefilter: list[bool]

    @classmethod
    def from_activity_items(cls, items: list[dict[str, Any]], returned_ids: set[str]) -> MemberPool:
        projected = [{name: value for name, value in item.items() if name in SWEEP_PROJECTION} for item in items]
        return cls(projected, [item["member_id"]["S"] in returned_ids for item in items])


def synthetic_member_id(index: int) -> str:
    return f"m-{index:09d}"


class SyntheticMembers:
    """Just enough of ``ports.Members`` for a dry-run sweep: the table's size and its pages,
    each built from its ``start_key`` when asked for (one segment: the pages are the table's)
    and read as the DynamoDB adapter reads them."""

    def __init__(self, members: int, pool: MemberPool, members_per_page: int, every_member: bool) -> None:
        self.members = members
        self.pool = pool
        self.members_per_page = members_per_page  # members in 1 MB of items
        self.every_member = every_member

    def count(self) -> int:
        return self.members

    def scan_page(
        self, cutoffs=None, segment: int = 0, total_segments: int = 1, start_key=None, page_size=None
    ) -> ScanPage:
        if total_segments != 1:
            raise ValueError("the synthetic table is read in one segment")
        first = 0 if start_key is None else int(start_key["member_id"]["S"].removeprefix("m-")) + 1
        scanned = min(self.members_per_page, page_size or self.members_per_page, self.members - first)
        items = []
        for index in range(first, first + scanned):
            template = index % len(self.pool.items)
            if self.every_member or self.pool.returned_by_prefilter[template]:
                item = {name: dict(value) for name, value in self.pool.items[template].items()}
                item["member_id"] = {"S": synthetic_member_id(index)}
                items.append(item)
        last = first + scanned - 1
        next_key = {"member_id": {"S": synthetic_member_id(last)}} if last + 1 < self.members else None
        return ScanPage([snapshot_from_item(item) for item in items], [], scanned, next_key)


class InMemoryProgress:
    """``SweepProgress`` for one worker and no server: each run's item, each segment's
    checkpoint (with its counts) and the queued tasks in dictionaries and a list (a few items
    whatever the table)."""

    def __init__(self) -> None:
        self.runs: dict[str, RunTotals] = {}
        self.checkpoints: dict[tuple[str, int], Checkpoint] = {}
        self.queued: list[SegmentTask] = []

    def start_run(self, run_id: str, total_segments: int, now: datetime, dry_run: bool = False) -> RunTotals:
        return self.runs.setdefault(run_id, RunTotals(total_segments, started_at=iso(now), dry_run=dry_run))

    def run(self, run_id: str) -> RunTotals | None:
        return self.runs.get(run_id)

    def totals(self, run_id: str) -> RunTotals | None:
        run = self.runs.get(run_id)
        if run is None:
            return None
        totals = replace(run, counts={}, segments_done=0)
        for (owner, _), segment in self.checkpoints.items():
            if owner == run_id:
                totals.segments_done += segment.done
                for name, count in segment.counts.items():
                    totals.counts[name] = totals.counts.get(name, 0) + count
        return totals

    def trip_guard(self, run_id: str, reason: str, now: datetime, latch: bool = True) -> bool:
        run = self.runs[run_id]
        tripped_first, run.guard_tripped = not run.guard_tripped, True
        run.guard_reason = run.guard_reason or reason
        return tripped_first

    def grant_notices(self, run_id: str, wanted: int, cap: int) -> int:
        run = self.runs[run_id]
        share = max(0, min(wanted, cap - run.notices_granted))
        run.notices_granted += share
        return share

    def finish_run(self, run_id: str, now: datetime) -> RunTotals | None:
        totals = self.totals(run_id)
        if totals is None or totals.segments_done != totals.total_segments or totals.finished_at is not None:
            return None
        self.runs[run_id].finished_at = totals.finished_at = iso(now)
        return totals

    def checkpoint(self, task: SegmentTask) -> Checkpoint:
        return replace(self.checkpoints.get((task.run_id, task.segment), Checkpoint()))

    def reserve_page(
        self, task: SegmentTask, at: Checkpoint, seen: Mapping[str, int], now: datetime
    ) -> tuple[str, Checkpoint]:
        stored = self.checkpoints.setdefault((task.run_id, task.segment), Checkpoint())
        if stored.pages != at.pages:
            return Reserved.LOST, replace(stored)
        if stored.reserved > at.pages:
            return Reserved.EARLIER, replace(stored)
        stored.reserved = at.pages + 1
        _add(stored.counts, seen)
        return Reserved.NOW, replace(stored, counts=dict(stored.counts))

    def advance(
        self, task: SegmentTask, at: Checkpoint, next_key: dict[str, Any] | None, done_counts: Mapping[str, int]
    ) -> Checkpoint | None:
        stored = self.checkpoints.setdefault((task.run_id, task.segment), Checkpoint())
        if stored.pages != at.pages:
            return None
        stored.pages, stored.next_key, stored.done = at.pages + 1, next_key, next_key is None
        _add(stored.counts, done_counts)
        return replace(stored, counts=dict(stored.counts))

    def queue(self, tasks: list[SegmentTask]) -> None:
        self.queued.extend(tasks)


def _add(counts: dict[str, int], more: Mapping[str, int]) -> None:
    for name, count in more.items():
        if count:
            counts[name] = counts.get(name, 0) + count


@dataclass(frozen=True)
class MemoryPeak:
    members: int
    every_member: bool
    members_per_page: int
    sweep_peak_bytes: int
    pages_only_peak_bytes: int
    members_returned: int
    newly_inactive: int


def _traced_peak(work: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    result = work()
    _, peak = tracemalloc.get_traced_memory()
    return peak - before, result


def dry_run_settings(settings: Settings) -> Settings:
    """A dry run acts on nothing; the guard is opened wide so the run goes to its very end
    whatever share it finds."""
    return replace(settings, policy=replace(settings.policy, dry_run=True, max_notice_share=1.0))


def sweep_whole_table(members: SyntheticMembers, now: datetime, settings: Settings) -> RunTotals:
    """``start_sweep``, then ``sweep_segment`` for every queued task, as the workers would."""
    progress = InMemoryProgress()
    store = SimpleNamespace(members=members)  # a dry run reads members and changes nothing
    run_id = iso(now)
    start_sweep(store, progress, run_id, now, settings)
    while progress.queued:
        task = progress.queued.pop(0)
        sweep_segment(store, progress, task, now, settings, lambda: NO_TIME_LIMIT, ReadPacer(NO_READ_CAP))
    run = progress.totals(run_id)
    assert run is not None
    return run


def measure_peaks(
    sizes: list[int], pool: MemberPool, members_per_page: int, now: datetime, settings: Settings, every_member: bool
) -> list[MemoryPeak]:
    dry_run = dry_run_settings(settings)
    page_members = min(members_per_page, dry_run.sweep.page_size)
    peaks = []
    tracemalloc.start()
    try:
        for members in sizes:
            store = SyntheticMembers(members, pool, members_per_page, every_member)
            pages_peak, returned = _traced_peak(lambda store=store: _read_and_drop(store, dry_run.sweep.page_size))
            sweep_peak, run = _traced_peak(lambda store=store: sweep_whole_table(store, now, dry_run))
            if run.count("scanned") != members or run.finished_at is None:
                raise AssertionError(f"the sweep read {run.count('scanned')} of {members} synthetic members")
            peaks.append(
                MemoryPeak(
                    members,
                    every_member,
                    page_members,
                    sweep_peak,
                    pages_peak,
                    returned,
                    run.count("inactive_found"),
                )
            )
    finally:
        tracemalloc.stop()
    return peaks


def _read_and_drop(store: SyntheticMembers, page_size: int) -> int:
    """The baseline: every page arrives and is let go, nothing is done with it."""
    returned, start_key = 0, None
    while True:
        page = store.scan_page(start_key=start_key, page_size=page_size)
        returned += len(page.members)
        start_key = page.next_key
        if start_key is None:
            return returned


def members_per_page(average_item_bytes: float) -> int:
    """Members in a page of 1 MB of items (``SweepPageSize`` may make pages smaller)."""
    return max(1, int(PAGE_BYTES // average_item_bytes))
