"""The sweep's fan-out on moto with small pages: segments sized from DescribeTable, tasks on
the real queue, hand-offs after every page, and workers that die at every step of a page.
Whatever happens, every member is judged in exactly one committed page, counted once, and
noticed at most once."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

import pytest

from lifecycle import aws
from lifecycle.errors import InvalidRequest
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.sweep.progress import ReadPacer, SegmentTask, SweepProgress
from lifecycle.sweep.segments import SegmentOutcome, run_report, start_sweep, sweep_segment
from tests.stack import FIRST_SWEEP

RUN = "2026-06-01T03:00:00Z"
MEMBERS, INACTIVE = 40, 6


class WorkerDied(Exception):
    """The Lambda running a worker stopped mid-page (timeout, out of memory, host lost)."""


def fanout_settings(stack, **env: str) -> Settings:
    environment = dict(stack.cloud.stack.function("SweepSegmentFunction").environment)
    environment.update({"SWEEP_MEMBERS_PER_SEGMENT": "9", "SWEEP_PAGE_SIZE": "3", "GUARD_MIN_NOTICES": "50", **env})
    return Settings.from_env(environment)


def inactive_ids(inactive: int = INACTIVE) -> set[str]:
    """Every few members one who stopped watching, spread over the table."""
    step = MEMBERS // inactive
    return {f"m-{n:03d}" for n in range(0, step * inactive, step)}


def add_members(stack, inactive: int = INACTIVE) -> None:
    silent = inactive_ids(inactive)
    long_ago, lately = datetime(2023, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    stack.add_members(
        {"member_id": member_id, "joined_at": datetime(2020, 1, 1, tzinfo=UTC),
         "last_watched_at": long_ago if member_id in silent else lately}
        for member_id in (f"m-{n:03d}" for n in range(MEMBERS)))


class Worker:
    """What the segment function does with one message, on the real tables and queue, while
    recording which members each committed page judged (the checkpoint moved past them)."""

    def __init__(self, stack, settings: Settings):
        self.settings = settings
        self.store = Store.on_aws(settings)
        self.progress = SweepProgress(settings.sweep)
        self.committed: Counter = Counter()  # members the prefilter let through, by committed page
        self.committed_scanned = 0  # members DynamoDB read for the committed pages
        self.reports = []
        self.deaths = 0
        self._pages: dict[tuple[int, int], list[str]] = {}
        self._install_page_recorder()

    def _install_page_recorder(self) -> None:
        scan_page, advance = self.store.members.scan_page, self.progress.advance
        current: dict[str, object] = {}

        def recording_scan(*args, **kwargs):
            page = scan_page(*args, **kwargs)
            current["ids"] = [member.view.member_id for member in page.members]
            current["scanned"] = page.scanned
            return page

        def recording_advance(task, at, next_key, counts):
            moved = advance(task, at, next_key, counts)
            if moved is not None:  # this page is now behind the checkpoint: judged for good
                self.committed.update(current["ids"])
                self.committed_scanned += current["scanned"]
            return moved

        self.store.members.scan_page = recording_scan
        self.progress.advance = recording_advance

    def die_after(self, target: object, method: str, nth: int) -> None:
        """The worker dies right after the ``nth`` call of ``target.method`` (counted over the run)."""
        real, calls = getattr(target, method), itertools.count(1)

        def dying(*args, **kwargs):
            result = real(*args, **kwargs)
            if next(calls) == nth:
                self.deaths += 1
                raise WorkerDied(f"died after {method} #{nth}")
            return result

        setattr(target, method, dying)

    def drain(self, seconds_left: float = 0.0, limit: int = 500) -> None:
        """Take messages off the sweep queue until it is empty; a dead worker's message shows
        again at once (on AWS: after the queue's VisibilityTimeout)."""
        sqs, url = aws.client("sqs"), self.settings.sweep.queue_url
        for _ in range(limit):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
            if not messages:
                return
            [message] = messages
            try:
                report = sweep_segment(
                    self.store,
                    self.progress,
                    SegmentTask.from_message(message["Body"]),
                    FIRST_SWEEP,
                    self.settings,
                    seconds_left=lambda: seconds_left,
                )
            except WorkerDied:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
                continue
            self.reports.append(report)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"the sweep queue still had messages after {limit}")

    def totals(self) -> dict:
        return run_report(RUN, self.progress.totals(RUN))


def start(worker: Worker) -> dict:
    return start_sweep(worker.store, worker.progress, RUN, FIRST_SWEEP, worker.settings)


def notices(stack) -> dict[str, int]:
    return {f"m-{n:03d}": len(stack.lifecycle(f"m-{n:03d}")) for n in range(MEMBERS) if stack.lifecycle(f"m-{n:03d}")}


def test_segments_are_sized_from_describe_table_and_each_is_read_once_with_hand_offs(stack):
    # GIVEN 40 members, 9 members a segment, 3-member pages, and a worker that hands its
    # segment on after every page
    add_members(stack)
    worker = Worker(stack, fanout_settings(stack))
    # WHEN the run starts and the queue is drained
    started = start(worker)
    worker.drain(seconds_left=0.0)
    # THEN DescribeTable's 40 members made 5 segments, every member was read in exactly one
    # committed page (the inactive ones handed to the policy once each), and the totals say so
    assert started == {"run_id": RUN, "members": 40, "segments": 5, "dry_run": False, "guard_held": False,
                       "notices_paused": False}
    assert worker.committed_scanned == MEMBERS
    assert worker.committed == Counter(inactive_ids())
    totals = worker.totals()
    assert (totals["scanned"], totals["inactive_found"], totals["segments_done"]) == (MEMBERS, INACTIVE, 5)
    assert totals["actions"] == {"open_notice": INACTIVE} and totals["finished_at"]
    # ... with many hand-offs through the queue, one run finisher, and each inactive member noticed once
    outcomes = Counter(report.outcome for report in worker.reports)
    assert outcomes[SegmentOutcome.HANDED_ON] >= MEMBERS // 3 - 5
    assert outcomes[SegmentOutcome.RUN_FINISHED] == 1
    assert outcomes[SegmentOutcome.SEGMENT_DONE] == 4
    assert notices(stack) == dict.fromkeys(inactive_ids(), 1)


@pytest.mark.parametrize(
    ("where", "method", "nth"),
    [
        ("members", "scan_page", 4),  # read a page, died before counting it
        ("progress", "reserve_page", 3),  # counted a page, died before its notices
        ("lifecycle", "open_notice", 1),  # opened one notice of a page, died before the checkpoint
        ("progress", "advance", 2),  # moved the checkpoint, died before the next page
        ("progress", "queue", 2),  # handed the segment on, died before the message was deleted
    ],
)
def test_a_worker_that_dies_mid_segment_is_retried_from_its_checkpoint_and_nothing_is_counted_twice(
    stack, where, method, nth
):
    # GIVEN a run whose worker dies once, at one step of a page
    add_members(stack)
    worker = Worker(stack, fanout_settings(stack))
    targets = {"members": worker.store.members, "lifecycle": worker.store.lifecycle, "progress": worker.progress}
    worker.die_after(targets[where], method, nth)
    start(worker)
    # WHEN the queue is drained (the dead worker's message shows again)
    worker.drain(seconds_left=0.0)
    # THEN the worker did die, and still every member was judged in exactly one committed
    # page, the totals count each once, and each inactive member has one notice
    assert worker.deaths == 1
    assert worker.committed_scanned == MEMBERS
    assert worker.committed == Counter(inactive_ids())
    totals = worker.totals()
    assert (totals["scanned"], totals["inactive_found"], totals["segments_done"]) == (MEMBERS, INACTIVE, 5)
    # (a notice a dying worker opened before its checkpoint is there, but counted by nobody)
    assert INACTIVE - worker.deaths <= totals["actions"].get("open_notice", 0) <= INACTIVE
    assert notices(stack) == dict.fromkeys(inactive_ids(), 1)


def test_a_duplicate_task_finds_the_checkpoint_moved_and_stops(stack):
    # GIVEN a run whose every task was queued twice (a retried schedule starts the run again)
    add_members(stack)
    worker = Worker(stack, fanout_settings(stack))
    first, again = start(worker), start(worker)
    # WHEN the queue is drained, with no hand-off needed
    worker.drain(seconds_left=900.0)
    # THEN the second start kept the first's segments, and each segment was read by one worker
    assert first == again
    outcomes = Counter(report.outcome for report in worker.reports)
    assert outcomes[SegmentOutcome.ALREADY_DONE] == 5
    assert worker.committed_scanned == MEMBERS and worker.committed == Counter(inactive_ids())
    assert worker.totals()["scanned"] == MEMBERS


def test_the_guard_stops_every_segments_notices_and_nothing_else(stack):
    # GIVEN 40 members of whom 30 look inactive (a broken load: more than MaxNoticeShare's half),
    # the guard from 4 notices on, and one member whose reminder is due
    add_members(stack, inactive=30)
    stack.add_member(
        "m-remind",
        joined_at=datetime(2020, 1, 1, tzinfo=UTC),
        last_watched_at=datetime(2023, 1, 1, tzinfo=UTC),
        notice_id="n-remind",
        notice_opened_at="2026-05-05T03:00:00Z",
        notice_deadline="2026-06-05T12:00:00Z",
    )
    worker = Worker(stack, fanout_settings(stack, GUARD_MIN_NOTICES="4"))
    start(worker)
    worker.drain(seconds_left=0.0)
    # THEN one worker tripped the guard; each segment opened fewer than 4 notices before it
    # (every segment is a sample of the table, and judges the share by its own), none after
    reports = worker.reports
    [tripper] = [n for n, report in enumerate(reports) if report.tripped_guard]
    assert sum(notices(stack).values()) < 4 * 5
    assert all(not report.actions.get("open_notice") for report in reports[tripper:])
    # ... and the rest of the sweep went on: every member read, the reminder tried, the run finished
    totals = worker.totals()
    assert totals["guard_tripped"] is True and totals["finished_at"]
    assert totals["scanned"] == MEMBERS + 1
    # (m-remind's notice item was never written here, so the conditional write declines: a lost race)
    assert totals["actions"].get("request_reminder", 0) + totals["lost_races"].get("request_reminder", 0) == 1


def test_max_notices_per_run_is_shared_by_all_segments(stack):
    # GIVEN 8 inactive members spread over 5 segments, and at most 3 notices a run
    add_members(stack, inactive=8)
    worker = Worker(stack, fanout_settings(stack, MAX_NOTICES_PER_RUN="3", MAX_NOTICE_SHARE="1"))
    start(worker)
    worker.drain(seconds_left=0.0)
    # THEN exactly 3 notices were opened across the segments, the other 5 deferred
    totals = worker.totals()
    assert totals["actions"] == {"open_notice": 3} and totals["deferred"] == 5
    assert sum(notices(stack).values()) == 3


def test_a_task_for_an_unknown_run_is_refused_with_a_precise_message(stack):
    worker = Worker(stack, fanout_settings(stack))
    with pytest.raises(InvalidRequest, match="no sweep run '2026-01-01T03:00:00Z'"):
        sweep_segment(
            worker.store,
            worker.progress,
            SegmentTask("2026-01-01T03:00:00Z", 0, 1),
            FIRST_SWEEP,
            worker.settings,
            lambda: 900,
        )


class StoppedClock:
    """Time that moves only when the pacer waits (as if reading and judging took no time)."""

    def __init__(self) -> None:
        self.now, self.waits = 0.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_each_worker_keeps_to_its_share_of_the_read_rate(stack):
    # GIVEN a sweep allowed 10 read units a second, shared by its 5 segments: 2 each
    add_members(stack)
    worker = Worker(stack, fanout_settings(stack, SWEEP_READ_UNITS_PER_SECOND="10"))
    start(worker)
    clock = StoppedClock()
    task = SegmentTask.from_message(
        aws.client("sqs").receive_message(QueueUrl=worker.settings.sweep.queue_url)["Messages"][0]["Body"]
    )
    # WHEN one worker reads its whole segment
    pacer = ReadPacer.for_worker(
        worker.settings.sweep, task.total_segments, monotonic=clock.monotonic, sleep=clock.sleep
    )
    report = sweep_segment(worker.store, worker.progress, task, FIRST_SWEEP, worker.settings, lambda: 900.0, pacer)
    # THEN it waited after its pages exactly as long as the units DynamoDB charged take at 2 a second
    assert report.pages >= 2 and report.read_units > 0
    assert pacer.units_per_second == 2
    assert clock.now == pytest.approx(report.read_units / 2)
    assert report.waited_seconds == pytest.approx(report.read_units / 2, abs=0.001)
