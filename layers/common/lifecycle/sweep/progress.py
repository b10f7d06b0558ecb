"""A sweep run, split into parallel scan segments whose workers hand them on.

The nightly schedule starts a run: it sizes the activity table (DescribeTable), picks the
segment count, records the run and queues one task per segment. A worker takes a task and
reads its segment page by page from the segment's checkpoint; before its 15 minutes run out
it queues the task again. The checkpoint, not the message, says where to go on, so a worker
that dies mid-segment is retried from its last checkpoint, a duplicate message finds the
checkpoint moved and stops, and every page is counted exactly once.

Progress items, one table (``SweepProgressTable``), kept 30 days:

* ``(run_id, "run")``: the segment count, the guard's state and MaxNoticesPerRun's grants, and
  the baseline it judges by (what the last run saw);
* ``(run_id, "segment#00007")``: pages done, the key the segment goes on from, the page whose
  counts are already added (``reserved``), whether the segment is done, and its counts.

One item is kept for good, ``("guard", "state")``: the last finished run's baseline and the
guard's latch (``lifecycle.sweep.guard``).

Every write is one conditional write of one item, and each segment counts into its own
item, so no item is written by more than one worker at a time (no hot key, no transaction
conflicts); a run's totals are the sum of its segments' counts.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, cast

from botocore.exceptions import ClientError

from lifecycle import aws
from lifecycle.clock import iso, parse_iso
from lifecycle.conditional import conditional_write
from lifecycle.errors import DeliveryFailed, InvalidRequest
from lifecycle.settings import SweepSettings
from lifecycle.sweep.guard import Baseline, GuardState, Latch

RUN = "run"
GUARD = ("guard", "state")  # no run is named "guard": run ids are ISO times
KEEP_PROGRESS = timedelta(days=30)
# totals a page adds once it is reserved (before its notices are opened, so the guard sees them)
SEEN_COUNTS = ("scanned", "inactive_found", "inactive_before_baseline", "malformed")


def segment_count(item_count: int, sweep: SweepSettings) -> int:
    """Segments for a table of ``item_count`` members: about ``members_per_segment`` each,
    at least one, at most ``max_segments`` (DynamoDB allows up to 1,000,000)."""
    return max(1, min(sweep.max_segments, math.ceil(max(item_count, 0) / sweep.members_per_segment)))


def run_id_for(scheduled_time: Any, now: datetime) -> str:
    """A run is named after the schedule's time, so a retried or duplicated schedule event
    finds the run it already started; an invocation by hand is named after now."""
    if scheduled_time is None:
        return iso(now)
    if not isinstance(scheduled_time, str):
        raise InvalidRequest("scheduled_time must be an ISO 8601 time, as EventBridge Scheduler sends it")
    try:
        moment = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"scheduled_time {scheduled_time!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"scheduled_time {scheduled_time!r} has no time zone")
    return iso(moment)


@dataclass(frozen=True)
class SegmentTask:
    """One queue message: read this segment of this run (from its checkpoint)."""

    run_id: str
    segment: int
    total_segments: int

    @property
    def part(self) -> str:
        return f"segment#{self.segment:05d}"

    def to_message(self) -> str:
        return json.dumps({"run_id": self.run_id, "segment": self.segment, "total_segments": self.total_segments})

    @classmethod
    def from_message(cls, body: str) -> SegmentTask:
        """The task a message carries; ``InvalidRequest`` says precisely what is wrong."""
        try:
            data = json.loads(body)
        except (TypeError, ValueError):
            raise InvalidRequest("a sweep task must be a JSON object, got text that is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequest(f"a sweep task must be a JSON object, got {type(data).__name__}")
        missing = [name for name in ("run_id", "segment", "total_segments") if name not in data]
        if missing:
            raise InvalidRequest(f"sweep task lacks {', '.join(missing)}")
        run_id, segment, total = data["run_id"], data["segment"], data["total_segments"]
        if not isinstance(run_id, str) or not run_id:
            raise InvalidRequest("sweep task run_id must be a non-empty string")
        for name, value in (("segment", segment), ("total_segments", total)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidRequest(f"sweep task {name} must be a whole number, got {value!r}")
        if not 1 <= total <= 1_000_000 or not 0 <= segment < total:
            raise InvalidRequest(f"sweep task segment {segment} of {total} is out of range")
        return cls(run_id, segment, total)


@dataclass
class Checkpoint:
    """Where a segment is: ``pages`` pages done, going on from ``next_key``."""

    pages: int = 0
    next_key: dict[str, Any] | None = None
    reserved: int = 0  # the last page whose counts are in the segment's counts
    done: bool = False
    counts: dict[str, int] = field(default_factory=dict)  # what the segment's pages read and did

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)


@dataclass
class RunTotals:
    total_segments: int
    started_at: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    notices_granted: int = 0
    segments_done: int = 0
    guard_tripped: bool = False
    guard_reason: str | None = None
    baseline: Baseline | None = None  # what the last run saw, when the run started
    notices_paused: bool = False  # the pause button held notices back during the run
    dry_run: bool = False
    finished_at: str | None = None

    @property
    def waiting(self) -> int:
        """Members found newly inactive and left without a notice: deferred, or held by the guard."""
        opened = self.count("open_notice") + self.count("lost_race_open_notice")
        return self.count("inactive_found") if self.dry_run else max(0, self.count("inactive_found") - opened)

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)


class Reserved(StrEnum):
    """How reserving a page went."""

    NOW = "now"  # counted now
    EARLIER = "earlier"  # a worker that died after counting it already did
    LOST = "lost"  # another worker moved the checkpoint: this one stops


class SweepProgress:
    """The progress table, through the plain DynamoDB client: counters are ADDed, and every
    checkpoint move is conditional on the page it moves from."""

    def __init__(self, sweep: SweepSettings):
        if not sweep.progress_table:
            raise InvalidRequest("environment variable SWEEP_PROGRESS_TABLE is required by the sweep")
        self.table = sweep.progress_table
        self.queue_url = sweep.queue_url

    @property
    def _db(self) -> Any:
        return aws.client("dynamodb")

    def _key(self, run_id: str, part: str) -> dict[str, Any]:
        return {"run_id": {"S": run_id}, "part": {"S": part}}

    def _get(self, run_id: str, part: str) -> dict[str, Any] | None:
        try:
            answer = self._db.get_item(TableName=self.table, Key=self._key(run_id, part), ConsistentRead=True)
        except ClientError as exc:
            raise DeliveryFailed(f"reading sweep progress failed: {exc.response['Error']['Code']}") from exc
        return cast(dict[str, Any] | None, answer.get("Item"))  # absent when there is no such item

    # ------------------------------------------------------------------ runs
    def start_run(self, run_id: str, total_segments: int, now: datetime, dry_run: bool = False) -> RunTotals:
        """The run named ``run_id``: recorded now with ``total_segments``, the last run's
        baseline, and held from the start while the guard is latched; or as recorded before (a
        second start of the same run keeps its first record)."""
        guard = self.guard_state()
        item = {
            **self._key(run_id, RUN),
            "total_segments": {"N": str(total_segments)},
            "started_at": {"S": iso(now)},
            "dry_run": {"BOOL": dry_run},
            "expires_at": {"N": str(int((now + KEEP_PROGRESS).timestamp()))},
        }
        if guard.baseline is not None:
            item.update(_baseline_item(guard.baseline))
        if guard.latch is not None:
            item["guard_tripped"] = {"BOOL": True}
            held = f"held since run {guard.latch.run_id} tripped the guard ({guard.latch.reason})"
            item["guard_reason"] = {"S": f"{held}; release it with: python -m ops guard release"}
        conditional_write(  # refused: the run was started before, and keeps its first record
            lambda: self._db.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(run_id)"
            ),
            "starting the sweep run",
        )
        run = self.run(run_id)
        assert run is not None  # just written, read consistently
        return run

    def run(self, run_id: str) -> RunTotals | None:
        """The run's own item: its segment count and flags (what every page checks)."""
        item = self._get(run_id, RUN)
        return None if item is None else _run_of(item)

    def totals(self, run_id: str) -> RunTotals | None:
        """The run with every segment's counts added up (one Query of the run's items)."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="run_id = :run",
            ExpressionAttributeValues={":run": {"S": run_id}},
            ConsistentRead=True,
        )
        try:
            items = [item for page in pages for item in page["Items"]]
        except ClientError as exc:
            raise DeliveryFailed(f"reading sweep progress failed: {exc.response['Error']['Code']}") from exc
        run = next((_run_of(item) for item in items if item["part"]["S"] == RUN), None)
        if run is None:
            return None
        for item in items:
            if item["part"]["S"] != RUN:
                segment = _checkpoint_of(item)
                run.segments_done += segment.done
                for name, count in segment.counts.items():
                    run.counts[name] = run.counts.get(name, 0) + count
        return run

    def trip_guard(self, run_id: str, reason: str, now: datetime, latch: bool = True) -> bool:
        """Stop every segment of the run, and (unless a dry run) hold every later run until an
        operator releases the guard; True for the worker that tripped it first."""
        tripped = conditional_write(
            lambda: self._db.update_item(
                TableName=self.table,
                Key=self._key(run_id, RUN),
                UpdateExpression="SET guard_tripped = :yes, guard_reason = :why",
                ConditionExpression="attribute_exists(run_id) AND attribute_not_exists(guard_tripped)",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":why": {"S": reason}},
            ),
            "tripping the sweep guard",
        )
        if latch:  # also when another worker tripped the run first: it may have died before latching
            conditional_write(  # refused: latched already, by this run or an earlier one
                lambda: self._db.update_item(
                    TableName=self.table,
                    Key=self._key(*GUARD),
                    UpdateExpression="SET latched_by = :run, latched_at = :at, latch_reason = :why",
                    ConditionExpression="attribute_not_exists(latched_by)",
                    ExpressionAttributeValues={":run": {"S": run_id}, ":at": {"S": iso(now)}, ":why": {"S": reason}},
                ),
                "latching the sweep guard",
            )
        return tripped is not None

    def mark_paused(self, run_id: str) -> bool:
        """Say on the run that the pause button held its notices back (once)."""
        return self._set_on_run_once(run_id, "notices_paused", {"BOOL": True}, "marking the run paused")

    def guard_state(self) -> GuardState:
        item = self._get(*GUARD) or {}
        text = {name: value["S"] for name, value in item.items() if "S" in value}
        baseline = None
        if "baseline_run_id" in text:
            baseline = Baseline(text["baseline_run_id"], parse_iso(text["baseline_at"]),
                                int(item["baseline_scanned"]["N"]), int(item["baseline_waiting"]["N"]))
        latch = None
        if "latched_by" in text:
            latch = Latch(text["latched_by"], parse_iso(text["latched_at"]), text.get("latch_reason", ""))
        released_at = text.get("released_at")
        return GuardState(baseline, latch, parse_iso(released_at) if released_at else None, text.get("released_by"))

    def release_guard(self, released_by: str, now: datetime) -> Latch | None:
        """Lift the latch (an operator checked the feed): the latch it lifted, None when none was held."""
        held = self.guard_state().latch
        if held is None:
            return None
        released = conditional_write(
            lambda: self._db.update_item(
                TableName=self.table,
                Key=self._key(*GUARD),
                UpdateExpression="SET released_at = :at, released_by = :by REMOVE latched_by, latched_at, latch_reason",
                ConditionExpression="latched_by = :run",
                ExpressionAttributeValues={":at": {"S": iso(now)}, ":by": {"S": released_by},
                                           ":run": {"S": held.run_id}},
            ),
            "releasing the sweep guard",
        )
        return held if released is not None else None

    def _set_on_run_once(self, run_id: str, name: str, value: dict[str, Any], doing: str) -> bool:
        """Set ``name`` on the run's item unless it is set already: True for the one caller that set it."""
        written = conditional_write(
            lambda: self._db.update_item(
                TableName=self.table,
                Key=self._key(run_id, RUN),
                UpdateExpression="SET #name = :value",
                ConditionExpression="attribute_exists(run_id) AND attribute_not_exists(#name)",
                ExpressionAttributeNames={"#name": name},
                ExpressionAttributeValues={":value": value},
            ),
            doing,
        )
        return written is not None

    def grant_notices(self, run_id: str, wanted: int, cap: int) -> int:
        """Up to ``wanted`` of the run's ``cap`` notices (MaxNoticesPerRun), shared by every
        segment: each grant is a conditional increment, retried when another segment won."""
        for _ in range(20):
            granted = self.run(run_id).notices_granted  # type: ignore[union-attr]
            share = min(wanted, cap - granted)
            if share <= 0:
                return 0
            granting = conditional_write(
                partial(
                    self._db.update_item,
                    TableName=self.table,
                    Key=self._key(run_id, RUN),
                    UpdateExpression="SET notices_granted = :after",
                    ConditionExpression="attribute_not_exists(notices_granted) OR notices_granted = :before",
                    ExpressionAttributeValues={":after": {"N": str(granted + share)}, ":before": {"N": str(granted)}},
                ),
                "granting notices",
            )
            if granting is not None:
                return share
        return 0  # so much contention that waiting for the next run is the safe answer

    def finish_run(self, run_id: str, now: datetime) -> RunTotals | None:
        """The run's totals, once every segment is done, for the one worker that marks it
        finished; None for every other worker."""
        run = self.totals(run_id)
        if run is None or run.segments_done < run.total_segments or run.finished_at:
            return None
        if not self._set_on_run_once(run_id, "finished_at", {"S": iso(now)}, "finishing the sweep run"):
            return None  # another worker finished it
        run.finished_at = iso(now)
        if not run.dry_run:  # a dry run changed nothing: the next run judges by the last real one
            baseline = Baseline(run_id, parse_iso(run.started_at), run.count("scanned"), run.waiting)
            conditional_write(  # refused: a later run finished first, and is the baseline
                lambda: self._db.update_item(
                    TableName=self.table,
                    Key=self._key(*GUARD),
                    UpdateExpression="SET " + ", ".join(f"{name} = :{name}" for name in _baseline_item(baseline)),
                    ConditionExpression="attribute_not_exists(baseline_at) OR baseline_at < :baseline_at",
                    ExpressionAttributeValues={f":{name}": value for name, value in _baseline_item(baseline).items()},
                ),
                "recording the guard's baseline",
            )
        return run

    # ------------------------------------------------------------------ segments
    def checkpoint(self, task: SegmentTask) -> Checkpoint:
        return _checkpoint_of(self._get(task.run_id, task.part))

    def reserve_page(
        self, task: SegmentTask, at: Checkpoint, seen: Mapping[str, int], now: datetime
    ) -> tuple[str, Checkpoint]:
        """Add a page's counts to its segment's, once: one conditional update that also marks
        the page reserved, on the condition that nobody moved the checkpoint. Returns how it
        went and the segment's counts so far (this page's included)."""
        page = at.pages + 1
        adds = {name: seen.get(name, 0) for name in SEEN_COUNTS}
        answer = conditional_write(
            lambda: self._db.update_item(
                TableName=self.table,
                Key=self._key(task.run_id, task.part),
                UpdateExpression="SET reserved = :page, expires_at = :expires " + _adds(adds),
                ConditionExpression=f"{_AT_PAGE} AND {_NOT_YET_RESERVED}",
                ExpressionAttributeNames=_add_names(adds),
                ExpressionAttributeValues={
                    ":page": {"N": str(page)},
                    ":pages": {"N": str(at.pages)},
                    ":expires": {"N": str(int((now + KEEP_PROGRESS).timestamp()))},
                    **_add_values(adds),
                },
                ReturnValues="ALL_NEW",
            ),
            "reserving a sweep page",
        )
        if answer is not None:
            return Reserved.NOW, _checkpoint_of(answer["Attributes"])
        now_at = self.checkpoint(task)
        if now_at.pages == at.pages and now_at.reserved >= page:
            return Reserved.EARLIER, now_at
        return Reserved.LOST, now_at

    def advance(
        self, task: SegmentTask, at: Checkpoint, next_key: dict[str, Any] | None, done_counts: Mapping[str, int]
    ) -> Checkpoint | None:
        """Move the checkpoint one page on and add what the page did to the segment's counts,
        in one conditional update; None when another worker moved it first (this one stops)."""
        values: dict[str, Any] = {":pages": {"N": str(at.pages)}, ":next": {"N": str(at.pages + 1)}}
        adds = {name: count for name, count in done_counts.items() if count}
        if next_key is None:
            update = "SET pages = :next, done = :yes " + _adds(adds) + " REMOVE next_key"
            values[":yes"] = {"BOOL": True}
        else:
            update = "SET pages = :next, next_key = :key " + _adds(adds)
            values[":key"] = {"S": json.dumps(next_key, sort_keys=True)}
        answer = conditional_write(
            lambda: self._db.update_item(
                TableName=self.table,
                Key=self._key(task.run_id, task.part),
                UpdateExpression=update,
                ConditionExpression=_AT_PAGE,
                ExpressionAttributeValues={**values, **_add_values(adds)},
                **({"ExpressionAttributeNames": _add_names(adds)} if adds else {}),
                ReturnValues="ALL_NEW",
            ),
            "moving a sweep checkpoint",
        )
        return None if answer is None else _checkpoint_of(answer["Attributes"])

    # ------------------------------------------------------------------ the queue
    def queue(self, tasks: list[SegmentTask]) -> None:
        """Queue tasks, ten to a request (SQS's batch limit); raises when any was refused."""
        sqs = aws.client("sqs")
        for start in range(0, len(tasks), 10):
            batch = tasks[start : start + 10]
            try:
                answer = sqs.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(n), "MessageBody": task.to_message()} for n, task in enumerate(batch)],
                )
            except ClientError as exc:
                raise DeliveryFailed(f"queueing sweep segments failed: {exc.response['Error']['Code']}") from exc
            if answer.get("Failed"):
                codes = sorted({entry.get("Code", "?") for entry in answer["Failed"]})
                raise DeliveryFailed(f"queueing {len(answer['Failed'])} sweep segments failed: {', '.join(codes)}")


_AT_PAGE = "(attribute_not_exists(pages) OR pages = :pages)"
_NOT_YET_RESERVED = "(attribute_not_exists(reserved) OR reserved < :page)"


def _baseline_item(baseline: Baseline) -> dict[str, Any]:
    return {
        "baseline_run_id": {"S": baseline.run_id},
        "baseline_at": {"S": iso(baseline.at)},
        "baseline_scanned": {"N": str(baseline.scanned)},
        "baseline_waiting": {"N": str(baseline.waiting)},
    }


def _run_of(item: Mapping[str, Any]) -> RunTotals:
    baseline = None
    if "baseline_run_id" in item:
        baseline = Baseline(item["baseline_run_id"]["S"], parse_iso(item["baseline_at"]["S"]),
                            int(item["baseline_scanned"]["N"]), int(item["baseline_waiting"]["N"]))
    return RunTotals(
        total_segments=int(item["total_segments"]["N"]),
        started_at=item.get("started_at", {}).get("S", ""),
        notices_granted=int(item.get("notices_granted", {}).get("N", 0)),
        guard_tripped=item.get("guard_tripped", {}).get("BOOL", False),
        guard_reason=item.get("guard_reason", {}).get("S"),
        notices_paused=item.get("notices_paused", {}).get("BOOL", False),
        baseline=baseline,
        dry_run=item.get("dry_run", {}).get("BOOL", False),
        finished_at=item.get("finished_at", {}).get("S"),
    )


def _adds(adds: Mapping[str, int]) -> str:
    return ("ADD " + ", ".join(f"#c{n} :c{n}" for n in range(len(adds)))) if adds else ""


def _add_names(adds: Mapping[str, int]) -> dict[str, str]:
    return {f"#c{n}": name for n, name in enumerate(adds)}


def _add_values(adds: Mapping[str, int]) -> dict[str, Any]:
    return {f":c{n}": {"N": str(count)} for n, count in enumerate(adds.values())}


_SEGMENT_FIELDS = {"run_id", "part", "pages", "next_key", "reserved", "done", "expires_at"}


def _checkpoint_of(item: Mapping[str, Any] | None) -> Checkpoint:
    if item is None:
        return Checkpoint()
    return Checkpoint(
        pages=int(item.get("pages", {}).get("N", 0)),
        next_key=json.loads(item["next_key"]["S"]) if "next_key" in item else None,
        reserved=int(item.get("reserved", {}).get("N", 0)),
        done=item.get("done", {}).get("BOOL", False),
        counts={name: int(value["N"]) for name, value in item.items() if name not in _SEGMENT_FIELDS},
    )


class ReadPacer:
    """Keeps one worker's reads at its share of SweepReadUnitsPerSecond: after each page it
    waits as long as it takes for the units DynamoDB charged to fit the rate."""

    def __init__(
        self,
        units_per_second: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.units_per_second = units_per_second
        self._monotonic, self._sleep = monotonic, sleep
        self._started = monotonic()
        self.units = 0.0
        self.waited = 0.0

    @classmethod
    def for_worker(cls, sweep: SweepSettings, total_segments: int, **clock: Any) -> ReadPacer:
        """The run's rate shared by the workers that can run at once."""
        return cls(sweep.read_units_per_second / min(total_segments, sweep.max_concurrency), **clock)

    def spend(self, units: float) -> float:
        """Count a page's units; wait if they came faster than the rate. Returns the wait."""
        self.units += units
        ahead = self.units / self.units_per_second - (self._monotonic() - self._started)
        if ahead > 0:
            self._sleep(ahead)
            self.waited += ahead
            return ahead
        return 0.0
