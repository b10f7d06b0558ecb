"""The sweep runs of a local stack, read back from its progress table as an operator would."""

from __future__ import annotations

from typing import Any

from lifecycle.settings import Settings
from lifecycle.sweep.progress import RUN, SweepProgress
from lifecycle.sweep.segments import run_report


def sweep_runs(cloud: Any) -> list[dict]:
    """Every sweep run's totals, oldest first (``run_report`` shape)."""
    settings = Settings.from_env(dict(cloud.stack.function("SweepSegmentFunction").environment))
    progress = SweepProgress(settings.sweep)
    pages = cloud.client("dynamodb").get_paginator("scan").paginate(TableName=settings.sweep.progress_table)
    run_ids = sorted(item["run_id"]["S"] for page in pages for item in page["Items"] if item["part"]["S"] == RUN)
    return [run_report(run_id, progress.totals(run_id)) for run_id in run_ids]
