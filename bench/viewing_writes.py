"""A day of plays through the inbound consumer, counted in DynamoDB calls and capacity units.

The members are the synthetic population (``ops.population``: real id formats, locales,
prices); half of them watch during the day (the share of 100 million daily viewers among 200
million members), each a number of plays drawn from a geometric law, at times spread over the
day; among them, 10 members with a notice open, as the sweep opens them (their plays follow
the rule for an open notice, and the first closes it). The
plays reach the consumer as the inbound queue hands them over: in time order, in batches of
the event source mapping's BatchSize. Each batch goes through the real
``lifecycle.inbound.Batch`` and the real DynamoDB adapter, against moto, and every call the
adapter makes is counted.

Beside it, from the same batches, two baselines (counted, not run: each is one call per play
or per member of a batch, by definition):

* naive: one write per play (``UpdateItem`` of ``last_watched_at``);
* coalesced only: a batch's plays of one member coalesced, then one conditional write per
  member of a batch; a write the condition refuses still costs its write unit (AWS: "a failed
  conditional write consumes write capacity"), and nothing is read first.

Units: every activity item here is under 1 KB (checked), so a write (done or refused) costs one
write request unit; an eventually consistent read of an item under 4 KB costs half a read
request unit, a strongly consistent one a whole unit, a key that names no item as much as one
that does; ``TransactWriteItems`` costs two write units an item.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto import mock_aws

from bench.item_sizes import item_bytes
from bench.moto_process import FAKE_CREDENTIALS, REGION
from bench.population_items import POPULATION_START, population_rows, table_items
from bench.sweep_reads import BENCH_SETTINGS, create_activity_table, quiet_sweep_logs, write_items
from lifecycle import campaign, inbound
from lifecycle.aws import forget_clients
from lifecycle.clock import iso
from lifecycle.policy import inactivity
from lifecycle.store import Store
from local.lambda_runtime import environment

DAY = POPULATION_START + timedelta(days=1)  # the day of plays: the population's second day
VIEWER_SHARE = 0.5  # 100 million daily viewers of 200 million members
MEAN_PLAYS_PER_VIEWER = 12.0
BATCH_SIZE = 100  # the inbound queue's event source mapping (template: InboundFunction BatchSize)
SEED = 11
NOTICES = 10  # members with a notice open who watch during the day (each closes it)


@dataclass(frozen=True)
class Play:
    member_id: str
    at: datetime


@dataclass
class CallCounts:
    """What the adapter asked of DynamoDB, and what it cost."""

    calls: Counter[str] = field(default_factory=Counter)
    refused_writes: int = 0  # conditional writes the condition refused (still paid for)
    keys_read_eventually: int = 0
    items_read_strongly: int = 0
    transaction_items: int = 0

    @property
    def writes_done(self) -> int:
        return self.calls["UpdateItem"] - self.refused_writes

    @property
    def write_units(self) -> float:
        return self.calls["UpdateItem"] + self.calls["PutItem"] + 2 * self.transaction_items

    @property
    def read_units(self) -> float:
        return 0.5 * self.keys_read_eventually + self.items_read_strongly


def day_of_plays(member_ids: list[str], noticed: list[str], rng: random.Random) -> list[Play]:
    """Half the members watch (the noticed ones among them), each a geometric number of plays
    (mean 12) at uniform times."""
    plays = []
    others = [member_id for member_id in member_ids if member_id not in set(noticed)]
    for member_id in noticed + rng.sample(others, round(len(member_ids) * VIEWER_SHARE) - len(noticed)):
        count = 1 + int(math.log(1 - rng.random()) / math.log(1 - 1 / MEAN_PLAYS_PER_VIEWER))
        plays += [Play(member_id, DAY + timedelta(seconds=rng.randrange(86_400))) for _ in range(count)]
    return sorted(plays, key=lambda play: play.at)


def batches_of(plays: list[Play]) -> list[list[Play]]:
    return [plays[start : start + BATCH_SIZE] for start in range(0, len(plays), BATCH_SIZE)]


def message(play: Play) -> str:
    """The SQS body as the inbound rule delivers a ViewingRecorded event."""
    return json.dumps({"version": "0", "id": f"{play.member_id}/{iso(play.at)}", "detail-type": "ViewingRecorded",
                       "source": "streamly.playback", "account": "123456789012", "time": iso(play.at),
                       "region": "us-east-1", "resources": [],
                       "detail": {"member_id": play.member_id, "occurred_at": iso(play.at)}})


@contextmanager
def counting() -> Iterator[CallCounts]:
    """Counts every DynamoDB call this process makes while the block is open."""
    counts = CallCounts()
    original = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            counts.calls[operation] += 1
            if operation == "BatchGetItem":
                counts.keys_read_eventually += sum(len(table["Keys"]) for table in params["RequestItems"].values())
            elif operation == "GetItem":
                counts.items_read_strongly += 1 if params.get("ConsistentRead") else 0
                counts.keys_read_eventually += 0 if params.get("ConsistentRead") else 1
            elif operation == "TransactWriteItems":
                counts.transaction_items += len(params["TransactItems"])
        try:
            return original(client, operation, params)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                counts.refused_writes += 1
            raise

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def create_notice_tables() -> None:
    """The lifecycle and link tables, keyed as the template's (a notice closed by a viewing writes both)."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=BENCH_SETTINGS.lifecycle_table,
        KeySchema=[{"AttributeName": "member_id", "KeyType": "HASH"}, {"AttributeName": "record", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "member_id", "AttributeType": "S"},
                              {"AttributeName": "record", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    dynamodb.create_table(
        TableName=BENCH_SETTINGS.link_table, KeySchema=[{"AttributeName": "notice_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "notice_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")


class CountedParking:
    """Where invalid events would go (none of these plays is invalid: the count says so)."""

    def __init__(self) -> None:
        self.parked = 0

    def park(self, body: str, reason: str, kind: str | None) -> None:
        self.parked += 1


def open_notices(store: Store, candidates: list[dict[str, Any]], now: datetime, most: int) -> list[str]:
    """Notices opened as the sweep opens them, for the first ``most`` paying members inactive on the day."""
    policy, opened = BENCH_SETTINGS.policy, []
    for item in candidates:
        snapshot = store.members.snapshot(item["member_id"]["S"])
        rule = inactivity(snapshot.view, now, policy)
        if rule is not None and snapshot.view.is_paying and campaign.open_notice(store, snapshot, rule, now, policy):
            opened.append(snapshot.view.member_id)
            if len(opened) == most:
                break
    return opened


def naive_counts(batches: list[list[Play]]) -> dict[str, float]:
    plays = sum(map(len, batches))
    return {"writes": plays, "write_units": plays, "read_units": 0}


def coalesced_only_counts(batches: list[list[Play]]) -> dict[str, float]:
    writes = sum(len({play.member_id for play in batch}) for batch in batches)
    return {"writes": writes, "write_units": writes, "read_units": 0}


def run(members: int, console_log: Callable[[str], None]) -> dict[str, Any]:
    """Loads ``members`` members on moto (in this process: its HTTP server would only add time
    to every call, not change what is called), opens notices, then sends a day of their plays
    through the consumer; the counts beside the baselines."""
    # in-process moto, not a server: no endpoint
    settings = {"AWS_ENDPOINT_URL": None, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, **FAKE_CREDENTIALS}
    with mock_aws(), environment(settings), quiet_sweep_logs():
        forget_clients()  # the layer's clients, made for another endpoint, are made again for moto's
        try:
            return _run(members, console_log)
        finally:
            forget_clients()


def _run(members: int, console_log: Callable[[str], None]) -> dict[str, Any]:
    rng = random.Random(SEED)
    activity_items, _ = table_items(population_rows(members))
    member_ids = [item["member_id"]["S"] for item in activity_items]
    create_activity_table(BENCH_SETTINGS.activity_table)
    create_notice_tables()
    started = time.perf_counter()
    # the candidates for a notice first, while the table is small: moto copies every table a
    # transaction touches, and opening a notice is one
    cutoff = iso(DAY - timedelta(days=365))
    candidates = [item for item in activity_items if item.get("last_watched_at", {}).get("S", "") < cutoff]
    write_items(BENCH_SETTINGS.activity_table, candidates)
    store = Store.on_aws(BENCH_SETTINGS)
    noticed = open_notices(store, candidates, DAY, NOTICES)
    chosen = {item["member_id"]["S"] for item in candidates}
    write_items(BENCH_SETTINGS.activity_table,
                [item for item in activity_items if item["member_id"]["S"] not in chosen])
    plays = day_of_plays(member_ids, noticed, rng)
    batches = batches_of(plays)
    console_log(f"  set up in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    console_log(f"viewing feed: {members:,} members, {len(noticed)} notices open, {len(plays):,} plays "
                f"in {len(batches):,} batches of {BATCH_SIZE}")
    outcomes: Counter[str] = Counter()
    parking = CountedParking()
    with counting() as counts:
        for batch in batches:
            bodies = {str(n): message(play) for n, play in enumerate(batch)}
            now = batch[-1].at + timedelta(seconds=30)  # the batch window: delivered just after its last play
            applying = inbound.Batch(bodies)
            for message_id, body in bodies.items():
                outcomes[applying.apply(store, parking, message_id, body, now, BENCH_SETTINGS.policy)] += 1
    console_log(f"  consumed in {time.perf_counter() - started:.0f} s")
    largest = max(item_bytes(item) for item in activity_items)
    if largest >= 1024:
        raise AssertionError(f"an activity item of {largest} B: a write costs more than one unit")
    viewers = len({play.member_id for play in plays})
    return {
        "members": members,
        "viewers": viewers,
        "plays": len(plays),
        "batches": len(batches),
        "batch_size": BATCH_SIZE,
        "notices_open": len(noticed),
        "outcomes": dict(outcomes),
        "parked": parking.parked,
        "largest_activity_item_bytes": largest,
        "ours": {
            "calls": dict(counts.calls),
            "writes": counts.writes_done,
            "writes_refused": counts.refused_writes,
            "write_units": counts.write_units,
            "read_units": counts.read_units,
        },
        "naive": naive_counts(batches),
        "coalesced_only": coalesced_only_counts(batches),
    }

