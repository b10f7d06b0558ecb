"""Members a second ``ops.first_load`` loads into the stack on the local cloud, beside the
naive loader (one PutItem a member), in the same run on the same cloud.

The export is the synthetic population (``ops.population``: real id formats, addresses,
locales and prices) written as MEMBERS.jsonl lines, profiles included, as a business's export
would carry them. The figure includes checking every row first, as the command does.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.population_items import population_rows
from lifecycle.aws import forget_clients
from ops.first_load import items_of, load

BASELINE_MEMBERS = 2_000


def _export(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as lines:
        for row in rows:
            lines.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def measure(members: int) -> dict[str, Any]:
    from local import LocalCloud
    from ops.rehearsal import _member

    rows = population_rows(members)
    with tempfile.TemporaryDirectory() as folder, LocalCloud(datetime(2026, 1, 1, tzinfo=UTC), seed=7) as cloud:
        cloud.deploy({"Stage": "bench"})
        activity, made = cloud.table_name("ActivityTable"), cloud.table_name("MemberDataTable")
        export = _export(rows, Path(folder) / "members.jsonl")
        started = time.perf_counter()
        summary = load(export, cloud.client("dynamodb"), activity, made)
        seconds = time.perf_counter() - started  # the check of every row included
        # the baseline: one PutItem a member (and one for its profiles), on the same tables
        dynamodb = cloud.client("dynamodb")
        started = time.perf_counter()
        for number, row in enumerate(rows[:BASELINE_MEMBERS], start=1):
            item, profiles = items_of(_member(row, f"row {number}"))
            dynamodb.put_item(TableName=activity, Item=item)
            if profiles is not None:
                dynamodb.put_item(TableName=made, Item=profiles)
        baseline_seconds = time.perf_counter() - started
    forget_clients()  # the layer's cached clients were this cloud's
    return {
        "members": members,
        "members_per_second": members / seconds,
        "seconds": seconds,
        "requests": summary.requests,
        "baseline_members": BASELINE_MEMBERS,
        "baseline_members_per_second": BASELINE_MEMBERS / baseline_seconds,
        "with_profiles": summary.member_data_written,
    }
