"""DynamoDB Time to Live as AWS runs it, for moto (which never expires anything).

Owns the reaper: it deletes items whose TTL attribute (epoch seconds) has passed, late by a
per-item delay drawn uniformly in [0, max_delay] (AWS only promises "within a few days"),
deterministic from a seed and the item's key. Each delete is conditional on the TTL
attribute still holding the value the reaper saw, so an item updated meanwhile survives.
It remembers what it deleted so the stream pump can mark those REMOVE records as TTL
deletions (``userIdentity``), which moto's records never are.

It learns items' TTL values from the table's stream (records of every write, already read by
the pump) so no scan is needed; a TTL table without a stream that carries new images (the sweep's progress
table) is read again, in-process from moto, at each step after a write to it.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import ClientError

from local.template import TableSpec

log = logging.getLogger("local.ttl")

# AWS leaves alone items whose TTL is more than five years in the past
FIVE_YEARS = 5 * 365 * 86400


def key_id(keys: Mapping[str, Any]) -> str:
    """A canonical text for an item key (attribute-value form)."""
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


def ttl_seconds(attribute: Mapping[str, Any] | None) -> int | None:
    """The TTL value of an attribute in attribute-value form, or None when DynamoDB would
    ignore it (missing or not a Number)."""
    if not attribute or "N" not in attribute:
        return None
    try:
        return int(Decimal(attribute["N"]))
    except (InvalidOperation, ValueError):
        return None


@dataclass(order=True)
class _Due:
    due: int
    key: str = field(compare=True)
    ttl: int = field(compare=False)
    keys: Mapping[str, Any] = field(compare=False)


class _TableIndex:
    """TTL values of one table's items, and when each is due for deletion."""

    def __init__(self, spec: TableSpec, delay_for: Any):
        self.spec = spec
        self._delay_for = delay_for
        self.ttl_by_key: dict[str, int] = {}
        self._heap: list[_Due] = []

    def observe(self, keys: Mapping[str, Any], image: Mapping[str, Any] | None) -> None:
        """An item was written (image) or deleted (image None)."""
        kid = key_id(keys)
        ttl = ttl_seconds(image.get(self.spec.ttl_attribute)) if image else None  # type: ignore[arg-type]
        if ttl is None:
            self.ttl_by_key.pop(kid, None)
            return
        if self.ttl_by_key.get(kid) != ttl:
            self.ttl_by_key[kid] = ttl
            heapq.heappush(self._heap, _Due(ttl + self._delay_for(self.spec.name, kid), kid, ttl, dict(keys)))

    def next_due(self) -> int | None:
        while self._heap and self.ttl_by_key.get(self._heap[0].key) != self._heap[0].ttl:
            heapq.heappop(self._heap)  # superseded by a later write or deleted
        return self._heap[0].due if self._heap else None

    def pop_due(self, now: int) -> list[_Due]:
        due = []
        while self.next_due() is not None and self._heap[0].due <= now:
            due.append(heapq.heappop(self._heap))
        return due


class TtlReaper:
    """Deletes expired items of every TTL table, late, the way DynamoDB does."""

    def __init__(self, dynamodb: Any, tables: Mapping[str, TableSpec], *, max_delay: timedelta,
                 read_items: Callable[[TableSpec], list[Mapping[str, Any]]], writes: Callable[[str], int],
                 seed: int = 0):
        self._dynamodb = dynamodb
        self._read_items = read_items  # every item's key and TTL attributes, read from moto in-process
        self._writes = writes  # table name -> how many writes it has had
        self._read_at: dict[str, int] = {}  # table name -> its write count when last read
        self.max_delay = max_delay
        self.seed = seed
        self._tables = {t.name: t for t in tables.values() if t.ttl_attribute}
        self._indexes = {name: _TableIndex(spec, self.delay_seconds) for name, spec in self._tables.items()}
        # a stream with new images tells us every write; otherwise we scan
        self._scanned = {
            name for name, spec in self._tables.items()
            if spec.stream_view_type not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
        }
        self._reaped: dict[tuple[str, str], int] = {}  # (table, key) -> TTL value deleted
        self.deleted_count = 0

    def delay_seconds(self, table: str, kid: str) -> int:
        """This item's lateness: uniform in [0, max_delay], the same on every run with the same seed."""
        maximum = int(self.max_delay.total_seconds())
        if maximum <= 0:
            return 0
        digest = hashlib.sha256(f"{self.seed}|{table}|{kid}".encode()).digest()
        fraction = int.from_bytes(digest[:8], "big") / 2**64
        return int(fraction * (maximum + 1))

    # -- learning TTL values

    def observe_record(self, table_name: str, record: Mapping[str, Any]) -> None:
        """A stream record of ``table_name`` (as moto gives it)."""
        index = self._indexes.get(table_name)
        if index is None or table_name in self._scanned:
            return
        data = record.get("dynamodb") or {}
        index.observe(data.get("Keys") or {}, None if record.get("eventName") == "REMOVE" else data.get("NewImage"))

    def _rescan(self) -> None:
        # this runs at every step of the clock: a table nothing wrote to since is not read again
        for name in self._scanned:
            writes = self._writes(name)
            if self._read_at.get(name) == writes:
                continue
            self._read_at[name] = writes
            index = self._indexes[name]
            spec = self._tables[name]
            seen: set[str] = set()
            for item in self._read_items(spec):
                keys = {k: item[k] for k in spec.key_names}
                seen.add(key_id(keys))
                index.observe(keys, item)
            for gone in set(index.ttl_by_key) - seen:
                index.ttl_by_key.pop(gone, None)

    # -- deleting

    def next_due(self) -> datetime | None:
        """When the next deletion is due (UTC), as far as the reaper knows now."""
        self._rescan()
        dues = [d for d in (index.next_due() for index in self._indexes.values()) if d is not None]
        return datetime.fromtimestamp(min(dues), UTC) if dues else None

    def reap(self, now: datetime) -> int:
        """Deletes every item due at ``now``; returns how many it deleted."""
        self._rescan()
        now_epoch = int(now.timestamp())
        deleted = 0
        for name, index in self._indexes.items():
            spec = self._tables[name]
            for due in index.pop_due(now_epoch):
                if due.ttl < now_epoch - FIVE_YEARS:
                    continue
                if self._delete(spec, due):
                    deleted += 1
                index.ttl_by_key.pop(due.key, None)
        self.deleted_count += deleted
        return deleted

    def _delete(self, spec: TableSpec, due: _Due) -> bool:
        try:
            self._dynamodb.delete_item(
                TableName=spec.name,
                Key=due.keys,
                ConditionExpression="#ttl = :seen",
                ExpressionAttributeNames={"#ttl": spec.ttl_attribute},
                ExpressionAttributeValues={":seen": {"N": str(due.ttl)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                log.debug("TTL: %s %s changed since it was read; not deleted", spec.name, due.key)
                return False
            raise
        self._reaped[(spec.name, due.key)] = due.ttl
        log.debug("TTL: deleted %s %s (ttl %s)", spec.name, due.key, due.ttl)
        return True

    # -- telling the stream pump

    def claim_ttl_removal(self, table_name: str, record: Mapping[str, Any]) -> bool:
        """True (once) when this REMOVE record is one of the reaper's deletions."""
        spec = self._tables.get(table_name)
        if record.get("eventName") != "REMOVE" or spec is None:
            return False
        data = record.get("dynamodb") or {}
        mark = (table_name, key_id(data.get("Keys") or {}))
        ttl = self._reaped.get(mark)
        if ttl is None:
            return False
        old_image = data.get("OldImage")
        if old_image is not None and ttl_seconds(old_image.get(spec.ttl_attribute)) != ttl:
            return False
        del self._reaped[mark]
        return True
