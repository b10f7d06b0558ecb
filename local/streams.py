"""DynamoDB Streams to Lambda, the way Lambda's event source mappings deliver them.

Owns:

* :class:`StreamReader` - reads each table stream's new records from moto
  (``dynamodbstreams`` GetShardIterator/GetRecords), keeping a position per shard so no
  record is delivered twice or skipped, and shapes them as Lambda hands them to a function
  (``eventSourceARN``, ``eventVersion`` 1.1, ``ApproximateCreationDateTime`` in epoch seconds
  of the virtual clock, ``userIdentity`` on REMOVE records the TTL reaper caused - moto's
  records never carry one);
* :class:`RecordFilter` - a mapping's ``FilterCriteria`` patterns, matched the AWS way;
* :class:`EventSourceMapping` - one function's mapping: filter, batches of BatchSize,
  failures like AWS (a raise fails the whole batch; ``ReportBatchItemFailures`` retries from
  the lowest failed sequence number; ``BisectBatchOnFunctionError`` splits a failing batch;
  at most ``MaximumRetryAttempts`` retries; what still fails goes to the on-failure
  destination as AWS's message and never blocks later records);
* :class:`StreamPump` - reads and delivers until no new record appears.
"""
from __future__ import annotations

import base64
import logging
import uuid
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from local.template import REGION, StreamEventSource, TableSpec
from local.ttl import TtlReaper

log = logging.getLogger("local.streams")

TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

# MaximumRetryAttempts -1 means "until the record expires" (24 h); the virtual clock stands still
# while streams are pumped, so a record that always fails would loop forever: stop it here
INFINITE_RETRIES_CAP = 100


def reported_failures(result: Any, identifiers: Collection[str], name: str) -> list[str] | None:
    """The items a partial batch response names failed, read as Lambda reads it for streams and
    queues alike: none for a success (a null response, no list, a null or empty one), None when
    the whole batch fails (a response that is not an object, a list that is not a list, an entry
    naming no item of the batch)."""
    if result is None:
        return []
    if not isinstance(result, dict):
        log.warning("%s: response %r is not a batch response: the whole batch fails", name, result)
        return None
    failures = result.get("batchItemFailures")
    if not failures:
        return []
    if not isinstance(failures, list):
        log.warning("%s: batchItemFailures %r is not a list: the whole batch fails", name, failures)
        return None
    named = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in identifiers:
            log.warning("%s: batchItemFailures entry %r names no item of the batch: the whole batch fails",
                        name, failure)
            return None
        named.append(identifier)
    return named


@dataclass(frozen=True)
class StreamRecord:
    """One stream record as Lambda delivers it, with where it came from."""

    stream_arn: str
    shard_id: str
    event: Mapping[str, Any]

    @property
    def sequence_number(self) -> str:
        return self.event["dynamodb"]["SequenceNumber"]

    @property
    def created_at(self) -> int:
        return self.event["dynamodb"]["ApproximateCreationDateTime"]


def _jsonable(value: Any) -> Any:
    # the low-level client returns B/BS attributes as bytes; Lambda's JSON carries base64
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def shape_record(raw: Mapping[str, Any], *, stream_arn: str, created_at: datetime,
                 ttl_deletion: bool) -> dict[str, Any]:
    """A moto stream record in the shape Lambda delivers to a function."""
    data = {k: _jsonable(v) for k, v in (raw.get("dynamodb") or {}).items()}
    data["ApproximateCreationDateTime"] = int(created_at.timestamp())
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion") or REGION,
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }
    if ttl_deletion:
        record["userIdentity"] = dict(TTL_USER_IDENTITY)
    return record


class StreamReader:
    """Reads new records of every table stream from moto, each exactly once."""

    def __init__(self, streams_client: Any, tables: Mapping[str, TableSpec], now: Callable[[], datetime], *,
                 peek: Callable[[str], int], ttl: TtlReaper | None = None):
        self._client = streams_client
        self._tables = {t.stream_arn: t for t in tables.values() if t.stream_arn}
        self._now = now
        self._ttl = ttl
        # peek(table name) -> how many records the table's stream has ever had, known without a
        # request: a poll reads until it has them all, and makes no call when there are none new
        self._peek = peek
        self._shards: dict[str, str] = {}  # stream ARN -> its shard's id
        self._iterators: dict[str, str] = {}  # stream ARN -> where the next read starts
        self._read_per_stream: dict[str, int] = {}

    @property
    def stream_arns(self) -> list[str]:
        return list(self._tables)

    def _iterator(self, arn: str) -> str:
        # moto gives a table's stream one shard, never closed; its iterators never expire and its
        # NextShardIterator keeps pointing after the last record read: one iterator serves for good
        if arn not in self._iterators:
            [shard] = self._client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            self._shards[arn] = shard["ShardId"]
            self._iterators[arn] = self._client.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return self._iterators[arn]

    def poll(self) -> list[StreamRecord]:
        """Every record written since the last poll, in order."""
        found: list[StreamRecord] = []
        for arn, table in self._tables.items():
            written = self._peek(table.name)
            while self._read_per_stream.get(arn, 0) < written:
                response = self._client.get_records(ShardIterator=self._iterator(arn), Limit=1000)
                self._iterators[arn] = response["NextShardIterator"]
                records = response.get("Records", [])
                for raw in records:
                    if self._ttl is not None:
                        self._ttl.observe_record(table.name, raw)
                    ttl_deletion = self._ttl is not None and self._ttl.claim_ttl_removal(table.name, raw)
                    event = shape_record(raw, stream_arn=arn, created_at=self._now(), ttl_deletion=ttl_deletion)
                    found.append(StreamRecord(arn, self._shards[arn], event))
                self._read_per_stream[arn] = self._read_per_stream.get(arn, 0) + len(records)
                if not records:
                    break
        return found


class RecordFilter:
    """A mapping's FilterCriteria: a record passes when it matches any pattern (or there are none).

    Patterns are matched with moto's EventBridge matcher, whose semantics are those of
    Lambda event filtering for what templates use here (nested keys, value lists,
    ``exists``, ``prefix``, ``anything-but``, ``numeric``); tests pin them down."""

    def __init__(self, patterns: Sequence[str]):
        self.patterns = tuple(patterns)
        self._compiled = [EventPattern.load(p) for p in self.patterns]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self._compiled or any(p.matches_event(dict(record)) for p in self._compiled)


@dataclass
class _Work:
    records: list[StreamRecord]
    retries: int = 0


Invoke = Callable[[str, dict[str, Any], str], Any]
"""(function logical id, event, trigger description) -> handler result (raises on function error)."""

SendFailure = Callable[[str, dict[str, Any]], None]
"""(destination ARN, message) -> None."""


class EventSourceMapping:
    """One function's DynamoDB event source mapping."""

    def __init__(self, function_id: str, function_arn: str, source: StreamEventSource, *, invoke: Invoke,
                 send_failure: SendFailure, now: Callable[[], datetime]):
        self.function_id = function_id
        self.function_arn = function_arn
        self.source = source
        self.filter = RecordFilter(source.filter_patterns)
        self._invoke = invoke
        self._send_failure = send_failure
        self._now = now
        self.backlog: deque[StreamRecord] = deque()
        self.invocations = 0
        max_retries = source.maximum_retry_attempts
        self.max_retries = INFINITE_RETRIES_CAP if max_retries < 0 else max_retries

    @property
    def name(self) -> str:
        return f"{self.function_id}.{self.source.event_id}"

    def offer(self, record: StreamRecord) -> None:
        if self.source.enabled and record.stream_arn == self.source.stream_arn and self.filter.matches(record.event):
            self.backlog.append(record)

    def drain(self) -> int:
        """Delivers everything in the backlog; returns how many invocations it took."""
        before = self.invocations
        while self.backlog:
            self._deliver(self._next_batch())
        return self.invocations - before

    def _next_batch(self) -> list[StreamRecord]:
        # a batch never mixes shards
        first = self.backlog.popleft()
        batch = [first]
        while self.backlog and len(batch) < self.source.batch_size and self.backlog[0].shard_id == first.shard_id:
            batch.append(self.backlog.popleft())
        return batch

    def _deliver(self, batch: list[StreamRecord]) -> None:
        work: deque[_Work] = deque([_Work(batch)])
        while work:
            item = work.popleft()
            failed_from, function_error = self._invoke_batch(item.records)
            if failed_from is None:
                continue
            remaining = item.records[failed_from:]
            if function_error and self.source.bisect_batch_on_function_error and len(remaining) > 1:
                # splitting does not count as a retry (AWS); each half is tried on its own
                middle = len(remaining) // 2
                work.appendleft(_Work(remaining[middle:], item.retries))
                work.appendleft(_Work(remaining[:middle], item.retries))
            elif item.retries >= self.max_retries:
                self._give_up(remaining, invoke_count=item.retries + 1, function_error=function_error)
            else:
                work.appendleft(_Work(remaining, item.retries + 1))

    def _invoke_batch(self, records: list[StreamRecord]) -> tuple[int | None, bool]:
        """(index of the first record to retry or None when all succeeded, was it a function error)."""
        self.invocations += 1
        event = {"Records": [dict(r.event) for r in records]}
        try:
            result = self._invoke(self.function_id, event, f"stream {self.source.event_id}")
        except Exception:
            return 0, True
        if not self.source.report_batch_item_failures:
            return None, False
        positions = {r.sequence_number: i for i, r in enumerate(records)}
        failed = reported_failures(result, positions, self.name)
        if failed is None:
            return 0, False
        # Lambda checkpoints before the lowest failed sequence number and retries from there
        return min((positions[identifier] for identifier in failed), default=None), False

    def _give_up(self, records: list[StreamRecord], *, invoke_count: int, function_error: bool) -> None:
        message = self.failure_message(records, invoke_count=invoke_count, function_error=function_error)
        destination = self.source.on_failure_destination
        log.warning("%s: %d record(s) failed after %d attempt(s)%s", self.name, len(records), invoke_count,
                    f"; sent to {destination}" if destination else "; discarded (no on-failure destination)")
        if destination:
            self._send_failure(destination, message)

    def failure_message(self, records: list[StreamRecord], *, invoke_count: int,
                        function_error: bool) -> dict[str, Any]:
        """What Lambda sends to an on-failure destination for a stream batch it gave up on."""

        def iso(epoch: int) -> str:
            return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        now = self._now().astimezone(UTC)
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response_context["functionError"] = "Unhandled"
        first, last = records[0], records[-1]
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invoke_count,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z",
            "DDBStreamBatchInfo": {
                "shardId": first.shard_id,
                "startSequenceNumber": first.sequence_number,
                "endSequenceNumber": last.sequence_number,
                "approximateArrivalOfFirstRecord": iso(first.created_at),
                "approximateArrivalOfLastRecord": iso(last.created_at),
                "batchSize": len(records),
                "streamArn": first.stream_arn,
            },
        }


class StreamsDidNotSettle(RuntimeError):
    """Handlers kept writing records that kept triggering handlers."""


RecordHook = Callable[[list[StreamRecord]], list[StreamRecord]]
"""The records one poll read -> those the mappings are offered (the others are lost)."""


class StreamPump:
    """Reads new records and hands them to every mapping until the streams are quiet."""

    def __init__(self, reader: StreamReader, mappings: Sequence[EventSourceMapping],
                 record_hooks: Sequence[RecordHook] = ()):
        self.reader = reader
        self.mappings = list(mappings)
        self.record_hooks = record_hooks  # read at each poll: hooks added later apply too

    def pump(self, max_rounds: int = 10_000) -> int:
        """Returns the number of invocations made."""
        invocations = 0
        for _ in range(max_rounds):
            records = self.reader.poll()
            for hook in self.record_hooks:
                records = hook(records)
            for record in records:
                for mapping in self.mappings:
                    mapping.offer(record)
            delivered = sum(mapping.drain() for mapping in self.mappings)
            invocations += delivered
            if not records and not delivered:
                return invocations
        raise StreamsDidNotSettle(f"stream records kept coming after {max_rounds} rounds of delivery")

