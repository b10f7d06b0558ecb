"""SQS to Lambda, the way Lambda's SQS event source mappings deliver messages.

Owns:

* :func:`shape_message` - a ReceiveMessage message in the shape Lambda hands it to a function
  (``messageId``, ``receiptHandle``, ``body``, ``attributes``, ``messageAttributes`` with
  lower-case keys and base64 binaries, ``md5OfBody``, ``eventSource`` ``aws:sqs``,
  ``eventSourceARN``, ``awsRegion``);
* :class:`QueueEventSource` - one function's SQS mapping: receives up to BatchSize messages
  from moto, applies ``FilterCriteria`` (a message that matches no pattern is deleted
  unseen, as AWS does), invokes the function, deletes what succeeded and leaves what failed
  on the queue: a raise fails the whole batch; with ``ReportBatchItemFailures`` the listed
  messages fail and the others are deleted; an invalid response (not an object, or an entry
  that names no message of the batch) fails the whole batch. A failed message is received
  again, its ``ApproximateReceiveCount`` growing, until it succeeds or SQS moves it to the
  dead-letter queue of the queue's ``RedrivePolicy``: moto's ReceiveMessage does that itself,
  as SQS does, once a message has been received ``maxReceiveCount`` times;
* :class:`QueuePump` - drains every mapping until no queue has a message to deliver.

The one local shortcut: a failed message is made visible again at once
(ChangeMessageVisibility 0) instead of after the queue's VisibilityTimeout, once the messages
visible meanwhile were delivered (so retries come after the messages that were waiting, as in
AWS).

Bounds: the virtual clock stands still while queues are pumped, and a queue without a
redrive policy would hand a failing message back until its retention period ends. So within
one pump a message is tried at most :data:`MAX_ATTEMPTS_WITHOUT_REDRIVE` times; then it is
held back (left on the queue, invisible) with a warning until :meth:`QueuePump.release`,
which the cloud calls when the pump is over. A queue with a redrive policy never needs this:
its message reaches the dead-letter queue after ``maxReceiveCount`` attempts.

Times: ``SentTimestamp`` and ``ApproximateFirstReceiveTimestamp`` are those of the virtual
clock when the mapping first saw the message (moto stamps the wall clock; delivery is
immediate on the virtual clock, so sending and first receipt are the same virtual moment).
A message sent with a delay (``DelaySeconds``) is not delivered before that many real
seconds have passed: delays do not follow the virtual clock.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from local.streams import Invoke, RecordFilter, reported_failures
from local.template import REGION, SqsEventSource

log = logging.getLogger("local.queues")

MAX_ATTEMPTS_WITHOUT_REDRIVE = 10
_RECEIVE_LIMIT = 10  # ReceiveMessage returns at most 10 messages a call

class QueuesDidNotSettle(RuntimeError):
    """Handlers kept sending messages that kept triggering handlers."""


@dataclass(frozen=True)
class RedrivePolicy:
    dead_letter_target_arn: str
    max_receive_count: int

    @classmethod
    def parse(cls, text: str | None) -> RedrivePolicy | None:
        """A queue's RedrivePolicy attribute (a JSON string), or None when it has none."""
        if not text:
            return None
        policy = json.loads(text)
        if not policy.get("deadLetterTargetArn"):
            return None
        return cls(str(policy["deadLetterTargetArn"]), int(policy["maxReceiveCount"]))


@dataclass(frozen=True)
class QueueMessage:
    """A message on a queue, as the local cloud's helpers report it."""

    message_id: str
    body: str
    receive_count: int
    message_attributes: Mapping[str, Any]

    def json(self) -> Any:
        return json.loads(self.body)


def _b64(value: Any) -> str:
    return base64.b64encode(value if isinstance(value, (bytes, bytearray)) else str(value).encode()).decode()


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = _b64(value["BinaryValue"])
    shaped["stringListValues"] = list(value.get("StringListValues") or [])
    shaped["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues") or []]
    shaped["dataType"] = value["DataType"]
    return shaped


def shape_message(raw: Mapping[str, Any], *, queue_arn: str, sent_at_ms: int | None = None) -> dict[str, Any]:
    """A ReceiveMessage message in the shape Lambda delivers to a function. ``sent_at_ms``
    (epoch milliseconds) replaces moto's SentTimestamp and ApproximateFirstReceiveTimestamp."""
    attributes = dict(raw.get("Attributes") or {})
    if sent_at_ms is not None:
        attributes["SentTimestamp"] = str(sent_at_ms)
        attributes["ApproximateFirstReceiveTimestamp"] = str(sent_at_ms)
    record: dict[str, Any] = {
        "messageId": raw["MessageId"],
        "receiptHandle": raw["ReceiptHandle"],
        "body": raw["Body"],
        "attributes": attributes,
        "messageAttributes": {k: _message_attribute(v) for k, v in (raw.get("MessageAttributes") or {}).items()},
        "md5OfBody": raw["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
    if raw.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = raw["MD5OfMessageAttributes"]
    return record


def filter_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as Lambda's event filtering sees it: a JSON object body is matched as data."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return dict(record)
    return {**record, "body": body} if isinstance(body, dict) else dict(record)


class QueueEventSource:
    """One function's SQS event source mapping."""

    def __init__(self, function_id: str, source: SqsEventSource, *, sqs: Any, queue_url: str, invoke: Invoke,
                 now: Callable[[], datetime], peek: Callable[[str], bool]):
        self.function_id = function_id
        self.source = source
        self.queue_url = queue_url
        self.filter = RecordFilter(source.filter_patterns)
        self._sqs = sqs
        self._invoke = invoke
        self._now = now
        # peek(queue name) -> whether a receive would find a message, known without a request:
        # draining an empty queue then costs nothing
        self._peek = peek
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "RedrivePolicy"])
        self.queue_arn: str = attributes["Attributes"]["QueueArn"]
        self.queue_name = self.queue_arn.rsplit(":", 1)[-1]
        self.redrive = RedrivePolicy.parse(attributes["Attributes"].get("RedrivePolicy"))
        # with a redrive policy SQS moves the message first; the bound is a safety net only
        self.max_attempts = self.redrive.max_receive_count + 1 if self.redrive else MAX_ATTEMPTS_WITHOUT_REDRIVE
        self.invocations = 0
        self._first_seen: dict[str, int] = {}  # message id -> virtual epoch ms
        self._attempts: Counter[str] = Counter()  # failed attempts of each message in this pump
        self._waiting: dict[str, str] = {}  # failed, visible again once the queue is drained
        self._held: dict[str, str] = {}  # failed too often in this pump: hidden until release()

    @property
    def name(self) -> str:
        return f"{self.function_id}.{self.source.event_id}"

    def drain(self, max_invocations: int | None = None) -> int:
        """Delivers messages until the queue has none visible (failed ones are tried again
        meanwhile) or ``max_invocations`` were made; returns how many invocations it took."""
        before = self.invocations
        if not self.source.enabled:
            return 0
        try:
            while max_invocations is None or self.invocations - before < max_invocations:
                batch = self._receive()
                if batch:
                    self._deliver(batch)
                elif self._waiting:
                    # locally the VisibilityTimeout is not waited out: failed messages show again now
                    self._make_visible(self._waiting)
                    self._waiting = {}
                else:
                    break
        finally:
            if self._waiting:
                self._make_visible(self._waiting)
                self._waiting = {}
        return self.invocations - before

    def release(self) -> None:
        """Makes held-back messages visible again and forgets the attempts of this pump."""
        if self._held:
            self._make_visible(self._held)
        self._held = {}
        self._attempts.clear()

    # -- receiving and deleting

    def _receive(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        while len(batch) < self.source.batch_size and self._peek(self.queue_name):
            response = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(_RECEIVE_LIMIT, self.source.batch_size - len(batch)),
                WaitTimeSeconds=0,  # never long-poll: an empty queue answers at once
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                break
            batch += messages
        return batch

    def _delete(self, receipts: Mapping[str, str]) -> None:
        self._in_batches(self._sqs.delete_message_batch, receipts, {}, "delete a message")
        for message_id in receipts:
            self._first_seen.pop(message_id, None)

    def _make_visible(self, receipts: Mapping[str, str]) -> None:
        self._in_batches(self._sqs.change_message_visibility_batch, receipts, {"VisibilityTimeout": 0},
                         "make a message visible")

    def _in_batches(self, call: Callable[..., Any], receipts: Mapping[str, str], extra: Mapping[str, Any],
                    what: str) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": handle, **extra} for i, handle in enumerate(receipts.values())]
        for start in range(0, len(entries), _RECEIVE_LIMIT):
            response = call(QueueUrl=self.queue_url, Entries=entries[start : start + _RECEIVE_LIMIT])
            for failure in response.get("Failed", []):  # e.g. the handler deleted it itself
                log.debug("%s: could not %s: %s", self.name, what, failure)

    # -- delivering

    def _shape(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        message_id = raw["MessageId"]
        if message_id not in self._first_seen:
            self._first_seen[message_id] = int(self._now().timestamp() * 1000)
        return shape_message(raw, queue_arn=self.queue_arn, sent_at_ms=self._first_seen[message_id])

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        kept, dropped = [], {}
        for record in (self._shape(raw) for raw in batch):
            if self.filter.matches(filter_view(record)):
                kept.append(record)
            else:
                dropped[record["messageId"]] = record["receiptHandle"]
        if dropped:
            self._delete(dropped)
        if not kept:
            return
        failed = self._invoke_batch(kept)
        succeeded = {r["messageId"]: r["receiptHandle"] for r in kept if r["messageId"] not in failed}
        if succeeded:
            self._delete(succeeded)
        for record in kept:
            message_id = record["messageId"]
            if message_id not in failed:
                continue
            self._attempts[message_id] += 1
            if self._attempts[message_id] >= self.max_attempts:
                log.warning("%s: message %s failed %d times in a row; left on the queue (%s)", self.name, message_id,
                            self._attempts[message_id],
                            "no redrive policy" if self.redrive is None else "SQS did not move it")
                self._held[message_id] = record["receiptHandle"]
            else:
                self._waiting[message_id] = record["receiptHandle"]
            receives = int(record["attributes"].get("ApproximateReceiveCount", 0))
            if self.redrive is not None and receives >= self.redrive.max_receive_count:
                self._first_seen.pop(message_id, None)  # its next receive moves it to the dead-letter queue

    def _invoke_batch(self, records: list[dict[str, Any]]) -> set[str]:
        """The ids of the messages that failed."""
        self.invocations += 1
        ids = [r["messageId"] for r in records]
        try:
            result = self._invoke(self.function_id, {"Records": records}, f"sqs {self.source.event_id}")
        except Exception:
            return set(ids)
        if not self.source.report_batch_item_failures:
            return set()
        failed = reported_failures(result, ids, self.name)
        return set(ids) if failed is None else set(failed)


class QueuePump:
    """Drains every queue mapping until a whole pass delivers nothing."""

    def __init__(self, sources: Sequence[QueueEventSource], *, max_invocations: int = 100_000):
        self.sources = list(sources)
        self.max_invocations = max_invocations

    def pump(self) -> int:
        """Returns the number of invocations made. Messages that failed too often stay hidden
        until :meth:`release`."""
        total = 0
        while True:
            delivered = 0
            for source in self.sources:
                # one more than the budget allows shows whether the queue kept going
                made = source.drain(self.max_invocations - total + 1)
                total += made
                delivered += made
                if total > self.max_invocations:
                    raise QueuesDidNotSettle(f"queue messages kept coming after {self.max_invocations} invocations "
                                             f"(last: {source.name})")
            if not delivered:
                return total

    def release(self) -> None:
        """Makes the messages held back during the pump visible again."""
        for source in self.sources:
            source.release()
