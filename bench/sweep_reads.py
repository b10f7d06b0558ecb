"""Client CPU of a whole sweep's reads against a moto server in another process, three ways:

* the sweep's own read path: ``MembershipStore.scan_members`` with the prefilter and the
  projection, then ``snapshot_from_item`` and ``plan`` on every member returned;
* the baseline a user would write: PynamoDB ``MemberRecord.scan()`` over the whole table, each
  model turned into a ``MemberView`` and judged by ``plan``;
* the floor: signed Scan requests over urllib3, only ``json.loads`` of every page of the whole
  table: the least it costs to bring every member to the client.

Only ``time.process_time()`` of this process is counted: the server's work is in its own process.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.moto_process import FAKE_CREDENTIALS, REGION
from lifecycle.models import MemberRecord
from lifecycle.policy import MemberView, SweepAction, plan, prefilter_cutoffs
from lifecycle.repository import MalformedMember, MembershipStore, snapshot_from_item
from lifecycle.settings import Policy, Settings

BENCH_SETTINGS = Settings(
    activity_table="bench-membership-activity",
    lifecycle_table="bench-membership-lifecycle",
    member_data_table="bench-membership-member-data",
)
BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem


@dataclass
class ReadPass:
    """One whole pass of a read path over the table."""

    cpu_seconds: float
    scanned: int  # members the server read (ScannedCount, summed)
    returned: int  # members sent to the client
    acting_on: set[str] = field(default_factory=set)  # members ``plan`` would act on (empty for the floor)
    returned_ids: set[str] = field(default_factory=set)  # the sweep's read path only
    scanned_per_page: list[int] = field(default_factory=list)


def create_activity_table(table_name: str) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "member_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "member_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def write_items(table_name: str, items: list[dict]) -> None:
    dynamodb = boto3.client("dynamodb")
    for first in range(0, len(items), BATCH_WRITE_LIMIT):
        batch = {table_name: [{"PutRequest": {"Item": item}} for item in items[first : first + BATCH_WRITE_LIMIT]]}
        while batch:
            batch = dynamodb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or None


# ------------------------------------------------------------------ the three read paths
def sweep_read_path(now: datetime, policy: Policy, prefilter: bool = True) -> ReadPass:
    """What ``campaign.sweep`` does to read and judge every member (without acting)."""
    store = MembershipStore(BENCH_SETTINGS)
    result = ReadPass(0.0, 0, 0)
    for page in store.scan_members(prefilter_cutoffs(now, policy) if prefilter else None):
        result.scanned += page.scanned
        result.scanned_per_page.append(page.scanned)
        result.returned += len(page.items)
        for item in page.items:
            try:
                snapshot = snapshot_from_item(item)
            except MalformedMember:
                continue
            result.returned_ids.add(snapshot.view.member_id)
            if plan(snapshot.view, now, policy).action is not SweepAction.NOTHING:
                result.acting_on.add(snapshot.view.member_id)
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
    MembershipStore(BENCH_SETTINGS)  # binds the models to the benchmark's tables
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

    def page(self, start_key: dict | None = None, limit: int | None = None, projection: str | None = None) -> dict:
        request_body: dict = {"TableName": self.table_name}
        if start_key:
            request_body["ExclusiveStartKey"] = start_key
        if limit:
            request_body["Limit"] = limit
        if projection:
            request_body["ProjectionExpression"] = projection
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

    def pages(self, projection: str | None = None):
        start_key = None
        while True:
            page = self.page(start_key, projection=projection)
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


def member_ids_in_scan_order(scanner: RawScan) -> list[str]:
    """Every member id, in the order a Scan reads the table (for read-unit accounting, not timed)."""
    return [item["member_id"]["S"] for page in scanner.pages(projection="member_id") for item in page["Items"]]


# ------------------------------------------------------------------ measuring
def warm_up(now: datetime, policy: Policy, scanner: RawScan) -> None:
    """Pay the one-time costs (botocore's service model, connection pools) before timing: a
    nightly sweep pays them once, not per million members."""
    store = MembershipStore(BENCH_SETTINGS)
    next(store.scan_members(prefilter_cutoffs(now, policy), page_size=10))
    for record in MemberRecord.scan(limit=10):
        member_view(record)
    scanner.page(limit=10)


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
