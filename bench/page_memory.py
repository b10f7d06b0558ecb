"""Peak memory of the sweep's page processing, with no server at all: synthetic Scan answers
(``{"Items": [...], "Count": n, "ScannedCount": n, "LastEvaluatedKey": ...}``) are built one page
at a time, as a 1 MB page would arrive, and fed through ``campaign.sweep`` itself (a dry run, so
nothing is written) behind a store whose ``scan_members`` yields them. ``tracemalloc`` measures
the peak; the baseline is the same pages read and dropped, with no processing.

The pages repeat the real population's projected items under new member ids. Which members a
page carries is what the storage-side prefilter returned for the same members in the measured
scan, or every member (the prefilter switched off) as the worst case.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bench.item_sizes import PAGE_BYTES
from lifecycle.campaign import sweep
from lifecycle.repository import SWEEP_PROJECTION, ScanPage
from lifecycle.settings import Settings


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


def synthetic_scan_answers(
    members: int, pool: MemberPool, members_per_page: int, every_member: bool
) -> Iterator[dict[str, Any]]:
    """Scan answers for a table of ``members``, each page built only when asked for."""
    for first in range(0, members, members_per_page):
        scanned = min(members_per_page, members - first)
        items = []
        for index in range(first, first + scanned):
            template = index % len(pool.items)
            if every_member or pool.returned_by_prefilter[template]:
                item = {name: dict(value) for name, value in pool.items[template].items()}
                item["member_id"] = {"S": synthetic_member_id(index)}
                items.append(item)
        answer: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": scanned}
        if first + scanned < members:
            answer["LastEvaluatedKey"] = {"member_id": {"S": synthetic_member_id(first + scanned - 1)}}
        yield answer


class SyntheticMembershipStore:
    """Just enough of ``MembershipStore`` for a dry-run sweep: the pages of its scan."""

    def __init__(self, answers: Callable[[], Iterator[dict[str, Any]]]) -> None:
        self._answers = answers

    def scan_members(self, cutoffs=None, segment: int = 0, total_segments: int = 1, page_size=None):
        for answer in self._answers():
            yield ScanPage(answer.get("Items", []), answer.get("ScannedCount", 0))


@dataclass(frozen=True)
class MemoryPeak:
    members: int
    every_member: bool
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


def measure_peaks(
    sizes: list[int], pool: MemberPool, members_per_page: int, now: datetime, settings: Settings, every_member: bool
) -> list[MemoryPeak]:
    # A dry run acts on nothing; the guard is opened wide so the pass goes to its very end
    # (sorting and walking the members found inactive) whatever share it finds.
    dry_run = replace(settings, policy=replace(settings.policy, dry_run=True, max_notice_share=1.0))
    peaks = []
    tracemalloc.start()
    try:
        for members in sizes:
            store = SyntheticMembershipStore(
                lambda members=members: synthetic_scan_answers(members, pool, members_per_page, every_member)
            )
            pages_peak, returned = _traced_peak(lambda store=store: _read_and_drop(store))
            sweep_peak, report = _traced_peak(lambda store=store: sweep(store, now, dry_run))
            if report.scanned != members:
                raise AssertionError(f"the sweep read {report.scanned} of {members} synthetic members")
            peaks.append(MemoryPeak(members, every_member, sweep_peak, pages_peak, returned, report.inactive_found))
    finally:
        tracemalloc.stop()
    return peaks


def _read_and_drop(store: SyntheticMembershipStore) -> int:
    """The baseline: every page arrives and is let go, nothing is done with it."""
    return sum(len(page.items) for page in store.scan_members())


def members_per_page(average_item_bytes: float) -> int:
    return max(1, int(PAGE_BYTES // average_item_bytes))
