"""Client CPU of a whole sweep against a moto server in another process, beside two baselines:

* the sweep itself: ``start_sweep`` sizes the table (DescribeTable), records the run in the
  progress table and queues one task per segment; every queued task is then taken off the
  queue and given to ``sweep_segment``, which reads its segment page by page (prefilter and
  projection), judges each page, reserves it in the run's totals, moves the checkpoint and
  paces its reads: exactly what the segment workers do, drained here in one process;
* the baseline a user would write: PynamoDB ``MemberRecord.scan()`` over the whole table, each
  model turned into a ``MemberView`` and judged by ``plan``;
* the floor: signed Scan requests over urllib3, only ``json.loads`` of every page of the whole
  table: the least it costs to bring every member to the client.

The sweep runs dry (nothing is changed between repeats, and each repeat is a run of its own
``run_id``) with the guard opened wide, so it reads every member whatever share it finds.
Only ``time.process_time()`` of this process is counted: the server's work is in its own process.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.moto_process import FAKE_CREDENTIALS, REGION
from lifecycle import aws
from lifecycle.adapters.dynamodb import DynamoDBMembers
from lifecycle.membership import ScanPage
from lifecycle.models import MemberRecord
from lifecycle.observability import logger
from lifecycle.policy import MemberView, SweepAction, plan, prefilter_cutoffs
from lifecycle.settings import Policy, Settings, SweepSettings
from lifecycle.store import Store
from lifecycle.sweep.progress import SegmentTask, SweepProgress
from lifecycle.sweep.segments import SegmentOutcome, SegmentReport, run_report, start_sweep, sweep_segment

BENCH_SETTINGS = Settings(
    activity_table="bench-membership-activity",
    lifecycle_table="bench-membership-lifecycle",
    member_data_table="bench-membership-member-data",
    link_table="bench-membership-links",
    sweep=SweepSettings(progress_table="bench-sweep-progress"),
)
QUEUE_NAME = "bench-sweep-segments"
BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem
TURN_SECONDS = 900.0  # a worker's whole Lambda timeout: no hand-off within the benchmark's runs


@dataclass
class ReadPass:
    """One whole pass of a read path over the table."""

    cpu_seconds: float
    scanned: int  # members the server read (ScannedCount, summed)
    returned: int  # members sent to the client
    acting_on: set[str] = field(default_factory=set)  # members ``plan`` would act on (baseline, read path)
    returned_ids: set[str] = field(default_factory=set)  # the sweep's pages only
    scanned_per_page: list[int] = field(default_factory=list)
    segment_of_page: list[int] = field(default_factory=list)
    # a whole sweep run only
    segments: int = 0
    reports: list[SegmentReport] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)  # the run's totals, as the progress table holds them

    @property
    def would_act(self) -> int:
        """Actions the sweep counted (a dry run counts what it would do)."""
        return sum(sum(report.actions.values()) for report in self.reports)


def create_activity_table(table_name: str) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "member_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "member_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def create_progress_table(table_name: str) -> None:
    """The sweep's progress table, keyed as the template's SweepProgressTable."""
    boto3.client("dynamodb").create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "run_id", "KeyType": "HASH"}, {"AttributeName": "part", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "run_id", "AttributeType": "S"},
            {"AttributeName": "part", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_queue(name: str) -> str:
    return boto3.client("sqs").create_queue(QueueName=name, Attributes={"VisibilityTimeout": "900"})["QueueUrl"]


def write_items(table_name: str, items: list[dict]) -> None:
    dynamodb = boto3.client("dynamodb")
    for first in range(0, len(items), BATCH_WRITE_LIMIT):
        batch = {table_name: [{"PutRequest": {"Item": item}} for item in items[first : first + BATCH_WRITE_LIMIT]]}
        while batch:
            batch = dynamodb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or None


def sweep_settings(queue_url: str, members_per_segment: int) -> Settings:
    """The benchmark's tables and queue for a sweep run: a dry run (members are not changed
    between repeats) with the guard opened wide (the synthetic population's first night finds
    more than MaxNoticeShare inactive, and the run must read every member)."""
    return replace(
        BENCH_SETTINGS,
        policy=replace(BENCH_SETTINGS.policy, dry_run=True, max_notice_share=1.0),
        sweep=replace(BENCH_SETTINGS.sweep, queue_url=queue_url, members_per_segment=members_per_segment),
    )


# ------------------------------------------------------------------ the read paths
class RecordingMembers(DynamoDBMembers):
    """The real members' adapter, noting of each page its segment, what DynamoDB read and which
    members it sent (a few list appends a page: for read-unit accounting and the checks, not the
    sweep)."""

    def __init__(self, settings: Settings, record: ReadPass) -> None:
        super().__init__(settings.activity_table, settings.member_data_table)
        self.record = record

    def scan_page(self, cutoffs=None, segment=0, total_segments=1, start_key=None, page_size=None) -> ScanPage:
        page = super().scan_page(cutoffs, segment, total_segments, start_key, page_size)
        self.record.scanned += page.scanned
        self.record.returned += len(page.members) + len(page.malformed)
        self.record.scanned_per_page.append(page.scanned)
        self.record.segment_of_page.append(segment)
        self.record.returned_ids.update(member.view.member_id for member in page.members)
        return page


def sweep_run(now: datetime, settings: Settings, run_id: str) -> ReadPass:
    """A whole sweep run: ``start_sweep``, then ``sweep_segment`` for every task on the queue
    until it is empty (what the segment workers do, one after the other)."""
    result = ReadPass(0.0, 0, 0)
    store = replace(Store.on_aws(settings), members=RecordingMembers(settings, result))
    progress = SweepProgress(settings.sweep)
    result.segments = start_sweep(store, progress, run_id, now, settings)["segments"]
    sqs, queue_url = aws.client("sqs"), settings.sweep.queue_url
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            task = SegmentTask.from_message(message["Body"])
            result.reports.append(sweep_segment(store, progress, task, now, settings, lambda: TURN_SECONDS))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return result


def with_totals(run: ReadPass, settings: Settings, run_id: str) -> ReadPass:
    """The run's totals, as the progress table holds them (read after the run, not timed)."""
    run.totals = run_report(run_id, SweepProgress(settings.sweep).totals(run_id))
    return run


def count_calls(work: Callable[[], ReadPass]) -> tuple[Counter, ReadPass]:
    """The calls ``work`` makes on the sweep's own clients (progress table and queue; the
    activity table's Scan and DescribeTable go through PynamoDB's client and are not counted)."""
    calls: Counter = Counter()

    def note(model, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    clients = [aws.client("dynamodb"), aws.client("sqs")]
    for client in clients:
        client.meta.events.register("before-call", note)
    try:
        result = work()
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", note)
    return calls, result


def progress_calls_by_design(pages: int, turns: int, segments: int) -> Counter:
    """The progress table and queue calls ``sweep.progress`` makes for a run without hand-offs,
    contention or MaxNoticesPerRun (what docs/capacity.py counts): per page a conditional
    update of the segment's item that reserves it, one that moves the checkpoint, and a
    strongly consistent read of the run's item (the guard's flag); per worker turn a read of
    the run and of the checkpoint; per finished segment a Query of the run's items (is the run
    finished?); per run its record, read back, the update that marks it finished, and the
    tasks queued ten to a request. ReceiveMessage and DeleteMessage are the event source
    mapping's work on AWS (here the benchmark's drain)."""
    return Counter(
        {
            "dynamodb:UpdateItem": 2 * pages + 1,
            "dynamodb:GetItem": pages + 2 * turns + 1,
            "dynamodb:Query": segments,
            "dynamodb:PutItem": 1,
            "sqs:SendMessageBatch": -(-segments // 10),
            "sqs:DeleteMessage": turns,
        }
    )


def check_one_whole_run(run: ReadPass, members: int, segments: int) -> None:
    """The run read every member exactly once, in the segments it was sized for, and finished."""
    outcomes = [report.outcome for report in run.reports]
    problems = []
    if run.segments != segments:
        problems.append(f"{run.segments} segments, not {segments}")
    if sorted(report.segment for report in run.reports) != list(range(segments)):
        problems.append(f"segments swept: {sorted(report.segment for report in run.reports)}")
    if outcomes.count(SegmentOutcome.RUN_FINISHED) != 1 or not set(outcomes) <= {
        SegmentOutcome.RUN_FINISHED,
        SegmentOutcome.SEGMENT_DONE,
    }:
        problems.append(f"outcomes {[str(outcome) for outcome in outcomes]}")
    reported = sum(report.scanned for report in run.reports)
    if not run.scanned == reported == run.totals["scanned"] == members:
        problems.append(
            f"scanned {run.scanned} (pages), {reported} (segment reports), {run.totals['scanned']} (run totals)"
            f" of {members} members"
        )
    if run.totals["finished_at"] is None or run.totals["segments_done"] != segments:
        problems.append(f"run not finished: {run.totals}")
    if problems:
        raise AssertionError("the sweep run was not one whole pass: " + "; ".join(problems))


def sweep_read_path(now: datetime, policy: Policy, prefilter: bool = True) -> ReadPass:
    """The sweep's read path alone: ``scan_page`` (one segment, the sweep's page size), then
    each member read from its item, and ``plan`` on every one; no progress table, no queue."""
    members = DynamoDBMembers(BENCH_SETTINGS.activity_table, BENCH_SETTINGS.member_data_table)
    result = ReadPass(0.0, 0, 0)
    cutoffs = prefilter_cutoffs(now, policy) if prefilter else None
    start_key = None
    while True:
        page = members.scan_page(cutoffs, start_key=start_key, page_size=BENCH_SETTINGS.sweep.page_size)
        result.scanned += page.scanned
        result.scanned_per_page.append(page.scanned)
        result.returned += len(page.members) + len(page.malformed)
        for snapshot in page.members:
            if plan(snapshot.view, now, policy).action is not SweepAction.NOTHING:
                result.acting_on.add(snapshot.view.member_id)
        start_key = page.next_key
        if not start_key:
            return result


def member_view(record: MemberRecord) -> MemberView:
    """A ``MemberView`` from a PynamoDB model, as code reading models would build it."""
    return MemberView(
        member_id=record.member_id,
        status=record.status,
        monthly_price=Decimal(record.monthly_price),
        joined_at=record.joined_at,
        last_watched_at=record.last_watched_at,
        engaged_at=record.engaged_at,
        notice_id=record.notice_id,
        notice_opened_at=record.notice_opened_at,
        notice_deadline=record.notice_deadline,
        notice_reminded_at=record.notice_reminded_at,
        retained_until=record.retained_until,
        purged_at=record.purged_at,
        cancelled_at=record.cancelled_at,
        cancellation_announced=record.cancellation_announced_at is not None,
    )


def model_scan_baseline(now: datetime, policy: Policy) -> ReadPass:
    """The straightforward version: every member as a model, judged in Python."""
    DynamoDBMembers(
        BENCH_SETTINGS.activity_table, BENCH_SETTINGS.member_data_table
    )  # binds the models to the benchmark's tables
    result = ReadPass(0.0, 0, 0)
    records = MemberRecord.scan()
    for record in records:
        result.returned += 1
        if plan(member_view(record), now, policy).action is not SweepAction.NOTHING:
            result.acting_on.add(record.member_id)
    result.scanned = records.total_count
    return result


class RawScan:
    """Signed DynamoDB Scan requests over one urllib3 connection pool, answers only ``json.loads``-ed."""

    def __init__(self, endpoint_url: str, table_name: str) -> None:
        self.url = endpoint_url.rstrip("/") + "/"
        self.table_name = table_name
        self.pool = urllib3.PoolManager()
        self.signer = SigV4Auth(
            Credentials(FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
            "dynamodb",
            REGION,
        )

    def page(
        self,
        start_key: dict | None = None,
        limit: int | None = None,
        projection: str | None = None,
        segment: tuple[int, int] | None = None,
    ) -> dict:
        request_body: dict = {"TableName": self.table_name}
        if start_key:
            request_body["ExclusiveStartKey"] = start_key
        if limit:
            request_body["Limit"] = limit
        if projection:
            request_body["ProjectionExpression"] = projection
        if segment:
            request_body["Segment"], request_body["TotalSegments"] = segment
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=json.dumps(request_body).encode(),
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Scan"},
        )
        self.signer.add_auth(request)
        answer = self.pool.request("POST", self.url, body=request.body, headers=dict(request.headers))
        if answer.status != 200:
            raise RuntimeError(f"Scan answered HTTP {answer.status}: {answer.data[:200]!r}")
        return json.loads(answer.data)

    def pages(self, projection: str | None = None, segment: tuple[int, int] | None = None):
        start_key = None
        while True:
            page = self.page(start_key, projection=projection, segment=segment)
            yield page
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                return


def raw_scan_floor(scanner: RawScan) -> ReadPass:
    result = ReadPass(0.0, 0, 0)
    for page in scanner.pages():
        result.scanned += page["ScannedCount"]
        result.returned += page["Count"]
    return result


def member_ids_in_scan_order(scanner: RawScan, segment: int = 0, total_segments: int = 1) -> list[str]:
    """Every member id of one scan segment, in the order a Scan reads it (for read-unit
    accounting, not timed)."""
    where = (segment, total_segments) if total_segments > 1 else None
    return [
        item["member_id"]["S"]
        for page in scanner.pages(projection="member_id", segment=where)
        for item in page["Items"]
    ]


def bytes_of_sweep_pages(run: ReadPass, scanner: RawScan, size_by_member: dict[str, int]) -> list[int]:
    """Bytes DynamoDB read for each page of a sweep run: each segment's pages read ScannedCount
    whole items in that segment's scan order (the projection and the filter change what is sent,
    not what DynamoDB reads and bills)."""
    pages = []
    for segment in range(run.segments):
        order = member_ids_in_scan_order(scanner, segment, run.segments)
        counts = [count for count, of in zip(run.scanned_per_page, run.segment_of_page, strict=True) if of == segment]
        if sum(counts) != len(order):
            raise AssertionError(
                f"segment {segment}: the sweep read {sum(counts)} members, the segment has {len(order)}"
            )
        first = 0
        for count in counts:
            pages.append(sum(size_by_member[member_id] for member_id in order[first : first + count]))
            first += count
    return pages


# ------------------------------------------------------------------ measuring
def warm_up(now: datetime, settings: Settings, scanner: RawScan) -> None:
    """Pay the one-time costs (botocore's service models, connection pools) before timing: a
    nightly sweep pays them once, not per million members."""
    sweep_run(now, settings, "warm-up")
    DynamoDBMembers(BENCH_SETTINGS.activity_table, BENCH_SETTINGS.member_data_table).scan_page(
        prefilter_cutoffs(now, settings.policy), page_size=10
    )
    for record in MemberRecord.scan(limit=10):
        member_view(record)
    scanner.page(limit=10)


@contextmanager
def quiet_sweep_logs() -> Iterator[None]:
    """The sweep's INFO lines (run started, notices) off the benchmark's console; warnings stay."""
    level = logger.log_level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def timed(read: Callable[[], ReadPass]) -> ReadPass:
    gc.collect()
    started = time.process_time()
    result = read()
    result.cpu_seconds = time.process_time() - started
    return result


def median_pass(passes: list[ReadPass]) -> ReadPass:
    """The pass of median CPU (all passes read the same table and find the same members)."""
    middle = statistics.median_low(p.cpu_seconds for p in passes)
    return next(p for p in passes if p.cpu_seconds == middle)
