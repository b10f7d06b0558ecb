"""Speed-ups of the local cloud that change no answer.

**Scan.** moto (5.2) deep-copies every scanned item and measures it twice before it applies the
FilterExpression, so a filtered scan costs as much as reading the whole table back. The
nightly sweep filters out almost every member, and a rehearsal runs it hundreds of times:
this scan judges each item first and copies only the ones it returns. Pages, ``Limit``, the
1 MB page size, segments, ``ScannedCount`` and ``LastEvaluatedKey`` are moto's; a test
compares both scans on random tables. Scans with an index or the legacy ``ScanFilter`` go to
moto's own code.

**Service models.** botocore reads and parses a service's JSON model once per session; every
function copy, the cloud and the tests make sessions of their own, so a test paid about 0.2 s
of parsing per client. Every session here shares one loader (per data path), as the clients
of one session always do: the models are read-only, so no client can tell.
"""
from __future__ import annotations

import copy
import threading
from typing import Any

import botocore.loaders
import botocore.session
from moto.dynamodb.models import table as moto_table

_moto_scan = moto_table.Table.scan
_own_create_loader = botocore.session.create_loader
_loaders: dict[str | None, botocore.loaders.Loader] = {}
_loaders_lock = threading.Lock()


def lean_scan(
    self: moto_table.Table,
    filters: dict[str, Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    filter_expression: Any = None,
    index_name: str | None = None,
    consistent_read: bool = False,
    projection_expression: list[list[str]] | None = None,
    segments: tuple[None, None] | tuple[int, int] = (None, None),
) -> tuple[list[moto_table.Item], int, dict[str, Any] | None]:
    if index_name or filters:
        return _moto_scan(self, filters, limit, exclusive_start_key, filter_expression, index_name, consistent_read,
                          projection_expression, segments)
    hash_attrs, range_attrs = [self.hash_key_attr], [self.range_key_attr]
    results: list[moto_table.Item] = []
    scanned_count, scanned_size = 0, 0
    last_scanned, last_evaluated_key = None, None
    skipping = exclusive_start_key is not None
    for item in self.all_items():
        if not item.is_within_segment(segments):
            continue
        if skipping:
            if self._item_comes_before_dct(item, exclusive_start_key, hash_attrs, range_attrs, True):
                continue
            skipping = False
        size = item.size()
        if scanned_count == limit or scanned_size + size > moto_table.RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(last_scanned, None)
            break
        scanned_size += size
        scanned_count += 1
        last_scanned = item
        if filter_expression is None or filter_expression.expr(item):
            results.append(copy.deepcopy(item))
    if projection_expression:
        results = [result.project(projection_expression) for result in results]
    return results, scanned_count, last_evaluated_key


def shared_loader(search_paths_string: str | None = None) -> botocore.loaders.Loader:
    with _loaders_lock:
        if search_paths_string not in _loaders:
            _loaders[search_paths_string] = _own_create_loader(search_paths_string)
        return _loaders[search_paths_string]


def install() -> None:
    moto_table.Table.scan = lean_scan
    botocore.session.create_loader = shared_loader  # what Session._register_data_loader calls


def uninstall() -> None:
    moto_table.Table.scan = _moto_scan
    botocore.session.create_loader = _own_create_loader
