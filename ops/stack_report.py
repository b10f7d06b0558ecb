"""The campaign report of a deployed stack (``python -m ops report --stack NAME``): the same page
as a rehearsal's, read from the stack itself.

The stack's outputs (CloudFormation DescribeStacks) name its tables; the activity table gives
each member's row (:func:`ops.campaign_report.member_row`), the lifecycle table the rule of each
open notice, and the sweep progress table the runs, whose notices place the notices on weeks
(a member's record forgets when a closed notice opened). Everything is read before anything is
written, so a stack that cannot be read leaves no page behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ops.campaign_report import iso, json_safe, member_row
from ops.funnel import funnel
from ops.stack_access import NO_CREDENTIALS, StackUnreadable, describe, error_message, use_endpoint

NOTICE_RECORD = "notice"  # lifecycle.membership.NOTICE: the sort key of an open notice's item
_TABLE_OUTPUTS = ("ActivityTableName", "MemberDataTableName", "LifecycleTableName", "SweepProgressTableName")
_deserializer = TypeDeserializer()




def read_stack_report(stack_name: str, endpoint_url: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The stack's REPORT.json-shaped dict, as of ``now``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    stack = describe(stack_name, endpoint_url)
    outputs = dict(zip(_TABLE_OUTPUTS, stack.output(*_TABLE_OUTPUTS), strict=True))
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    activity = _items(dynamodb, outputs["ActivityTableName"], stack_name)
    made = {item["member_id"]: item for item in _items(dynamodb, outputs["MemberDataTableName"], stack_name)}
    open_notices = {item["member_id"]: item for item in _items(dynamodb, outputs["LifecycleTableName"], stack_name)
                    if item.get("record") == NOTICE_RECORD}
    runs = _sweep_runs(dynamodb, outputs["SweepProgressTableName"], stack_name, endpoint_url)
    members = {}
    for item in activity:
        row = member_row(item, made.get(item["member_id"]))
        row["emails"] = []
        notice = open_notices.get(item["member_id"])
        if notice and notice.get("reason"):
            row["notice_rule"] = notice["reason"]  # the rule the sweep opened it by
        members[str(item["member_id"])] = row
    report: dict[str, Any] = {
        "stack": {"name": stack_name, "read_at": iso(now), "sweep_runs": runs},
        "params": dict(stack.parameters),
        "start": None,
        "end": iso(now),
        "members": members,
        # a run's notices are placed in the week it started; a dry run opens none
        "notices_by_run": [{"at": run["started_at"], "notices": (run.get("actions") or {}).get("open_notice", 0)}
                           for run in runs if not run.get("dry_run")],
    }
    report["summary"] = json_safe(funnel(report))
    return report


def _items(dynamodb: Any, table: str, stack_name: str) -> Iterator[dict[str, Any]]:
    """Every item of ``table`` as plain values (read whole before the caller goes on)."""
    try:
        pages = list(dynamodb.get_paginator("scan").paginate(TableName=table))
    except ClientError as problem:
        if problem.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise StackUnreadable(f"the stack {stack_name}'s table {table} does not exist") from None
        raise StackUnreadable(f"cannot read the table {table}: {error_message(problem)}") from None
    except NoCredentialsError:
        raise StackUnreadable(NO_CREDENTIALS) from None
    except BotoCoreError as problem:
        raise StackUnreadable(f"cannot read the table {table}: {problem}") from None
    return iter([json_safe({name: _deserializer.deserialize(value) for name, value in item.items()})
                 for page in pages for item in page.get("Items", ())])


def _sweep_runs(dynamodb: Any, table: str, stack_name: str, endpoint_url: str | None) -> list[dict[str, Any]]:
    """Each run the progress table still holds, oldest first, totalled as the sweep totals it."""
    from lifecycle.errors import DeliveryFailed
    from lifecycle.settings import SweepSettings
    from lifecycle.sweep.progress import RUN, SweepProgress
    from lifecycle.sweep.segments import run_report

    run_ids = sorted({str(item["run_id"]) for item in _items(dynamodb, table, stack_name) if item.get("part") == RUN})
    use_endpoint(endpoint_url)  # the layer's own client, which totals the run, reaches the same endpoint
    progress = SweepProgress(SweepSettings(progress_table=table))
    runs = []
    for run_id in run_ids:
        try:
            totals = progress.totals(run_id)
        except DeliveryFailed as problem:
            raise StackUnreadable(f"cannot read the sweep run {run_id} from {table}: {problem}") from None
        if totals is not None:
            runs.append(json_safe(run_report(run_id, totals)))
    return runs


def write_stack_report(stack_name: str, out_dir: Path, endpoint_url: str | None = None) -> Path:
    """Read the stack, then write ``out_dir/report.html``; nothing is written when reading fails."""
    from ops.report_html import write_report

    report = read_stack_report(stack_name, endpoint_url)
    return write_report(report, out_dir)
