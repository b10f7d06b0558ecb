"""Capacity of the nightly sweep at 200 million members: read units and dollars per sweep, the
segments the fan-out makes and how long they take under the shared read-rate cap, hand-offs,
Lambda GB-seconds, SQS requests and progress-table writes with their dollars, memory per worker,
SES days to send the notices, and the sweep beside a nightly DynamoDB export to S3.

``python docs/capacity.py`` computes ``docs/capacity.md`` from the inputs below. Measured
inputs (the average activity item's size, the client's CPU per million members of a whole sweep
run, the memory a page takes per member sent) come from ``bench/results.json`` when ``python -m
bench.run`` has written it; the item size is otherwise measured on the synthetic population,
and the other two fall back to the constants below.

``compute(inputs)`` is pure: a ``CapacityInputs`` (or a mapping of its fields) in, a dict of
figures out.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOCS_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = DOCS_ROOT.parent
for _path in (PROJECT_ROOT, PROJECT_ROOT / "layers" / "common"):  # run as a script, as `make bench` does
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from lifecycle.settings import Policy, SweepSettings  # noqa: E402  (the template's defaults, from their one source)

_POLICY, _SWEEP = Policy(), SweepSettings()
CAPACITY_DOCUMENT = DOCS_ROOT / "capacity.md"
BENCH_RESULTS = PROJECT_ROOT / "bench" / "results.json"

PAGE_BYTES = 1024 * 1024  # a Scan page reads at most 1 MB of items
READ_UNIT_BYTES = 4096
EVENTUALLY_CONSISTENT_SHARE = 0.5
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives a function one full vCPU at 1,769 MB, in proportion below
GIBIBYTE = 1024**3
MEBIBYTE = 1024**2
SECONDS_PER_DAY = 86_400
WRITE_UNIT_BYTES = 1024  # a standard write: one write unit per KB of the item, rounded up
PARTITION_WRITE_UNITS_PER_SECOND = 1000  # the most one partition takes
PARTITION_READ_UNITS_PER_SECOND = 3000  # the most strongly consistent read units one partition serves

# What lifecycle.sweep.progress does for each page, worker turn, segment and run, without hand-offs,
# contention or MaxNoticesPerRun. No transactions: every write is one conditional UpdateItem
# of one item, and each segment counts into its own item.
PROGRESS_UPDATES_PER_PAGE = 2  # the segment item: reserve the page (ADD its counts), then move the checkpoint
PROGRESS_READS_PER_PAGE = 1  # the run item, for the guard's flag (strongly consistent GetItem)
PROGRESS_CALLS_PER_PAGE = PROGRESS_UPDATES_PER_PAGE + PROGRESS_READS_PER_PAGE
PROGRESS_READS_PER_TURN = 2  # the run and the segment's checkpoint, when a worker takes a task
PROGRESS_QUERIES_PER_SEGMENT = 1  # the run's items summed once the segment is done (is the run finished?)
PROGRESS_WRITES_PER_RUN = 2  # the run recorded, then marked finished
PROGRESS_READS_PER_RUN = 1  # the run read back when it is recorded
SQS_MESSAGES_PER_SEND = 10  # start_sweep queues the tasks ten to a request
SQS_REQUESTS_PER_TURN = 2  # the event source mapping receives the task, then deletes it
MEMBERS_PER_SEGMENT_COMPARED = (200_000_000, 25_000_000, 6_000_000, 3_200_000, 3_000_000, 1_000_000, 500_000)

# Used when bench/results.json is absent (python -m bench.run writes it).
ASSUMED_CLIENT_CPU_SECONDS_PER_MILLION = 5.0
ASSUMED_PAGE_BYTES_PER_MEMBER_SENT = 3700.0
ASSUMED_ACTIVITY_ITEM_BYTES = 250.0
ASSUMED_PLAYS_PER_VIEWER = 12.0
ASSUMED_VIEWING_WRITE_UNITS_PER_VIEWER = 1.0
ASSUMED_VIEWING_READ_UNITS_PER_PLAY = 0.5
SQS_REQUESTS_PER_INBOUND_MESSAGE = 1 + 2 / 10  # sent by the rule; received and deleted ten to a request


@dataclass(frozen=True)
class CapacityInputs:
    """Every number the capacity figures come from (prices: us-east-1, on demand)."""

    members: int = 200_000_000
    activity_item_bytes: float = ASSUMED_ACTIVITY_ITEM_BYTES
    inactive_share: float = 0.005
    max_notice_share: float = _POLICY.max_notice_share  # the sweep's guard (template Parameter MaxNoticeShare)
    emails_per_inactive_member: int = 3  # notice, reminder, cancellation at most
    ses_emails_per_second: float = 50.0
    members_per_segment: int = _SWEEP.members_per_segment  # SweepMembersPerSegment
    max_segments: int = _SWEEP.max_segments  # SweepMaxSegments
    max_concurrency: int = _SWEEP.max_concurrency  # SweepMaxConcurrency
    read_units_per_second_cap: float = _SWEEP.read_units_per_second  # SweepReadUnitsPerSecond
    page_size: int = _SWEEP.page_size  # SweepPageSize
    hand_off_seconds: float = _SWEEP.hand_off_seconds  # SweepHandOffSeconds
    page_round_trip_seconds: float = 0.1
    progress_call_seconds: float = 0.01
    progress_item_bytes: int = 1024  # a segment's or the run's progress item, at most
    client_cpu_seconds_per_million_members: float = ASSUMED_CLIENT_CPU_SECONDS_PER_MILLION
    page_bytes_per_member_sent: float = ASSUMED_PAGE_BYTES_PER_MEMBER_SENT
    lambda_memory_mb: int = 512
    lambda_timeout_seconds: float = 900.0
    lambda_price_per_gb_second: float = 0.0000133334  # arm64
    lambda_price_per_million_requests: float = 0.20
    read_request_price_per_million: float = 0.125  # on-demand read request units
    write_request_price_per_million: float = 0.625  # on-demand write request units
    sqs_price_per_million_requests: float = 0.40  # standard queue
    ses_price_per_thousand_emails: float = 0.10
    export_price_per_gb: float = 0.10  # DynamoDB full export to S3
    point_in_time_recovery_price_per_gb_month: float = 0.20  # an export needs PITR on the table
    storage_overhead_bytes_per_item: int = 100  # DynamoDB counts 100 bytes per item in a table's size
    nights_per_month: int = 30
    # the viewing feed (lifecycle.inbound): one ViewingRecorded per play, through the inbound bus and queue
    daily_viewers: int = 100_000_000
    plays_per_viewer: float = ASSUMED_PLAYS_PER_VIEWER
    viewing_write_units_per_viewer: float = ASSUMED_VIEWING_WRITE_UNITS_PER_VIEWER
    viewing_read_units_per_play: float = ASSUMED_VIEWING_READ_UNITS_PER_PLAY
    inbound_batch_size: int = 100  # InboundFunction's BatchSize
    inbound_lambda_gb_seconds_per_batch: float = 0.5 * 0.5  # 512 MB for an assumed half second a batch
    eventbridge_price_per_million_events: float = 1.00  # custom events, 64 KB each


INPUT_NOTES: dict[str, tuple[str, str]] = {
    # field: (unit and meaning, source)
    "members": ("members in the activity table", "the issue"),
    "daily_viewers": ("members who watch something on a given day", "the issue"),
    "plays_per_viewer": ("plays a viewer starts a day, each one ViewingRecorded event", "bench.viewing_writes"),
    "viewing_write_units_per_viewer": ("write units the consumer spends per viewer a day", "measured"),
    "viewing_read_units_per_play": ("read units the consumer spends per play (a batch's viewers read once)",
                                    "measured"),
    "inbound_batch_size": ("InboundFunction's BatchSize: messages an invocation takes", "template"),
    "inbound_lambda_gb_seconds_per_batch": ("GB-seconds one batch of plays takes (512 MB × 0.5 s)",
                                            "assumed; measure on Lambda"),
    "eventbridge_price_per_million_events": ("USD per million custom events put on a bus", "us-east-1 price"),
    "activity_item_bytes": ("average activity item, bytes as DynamoDB counts them", "measured"),
    "inactive_share": ("share of members inactive on the first night", "the issue"),
    "max_notice_share": ("MaxNoticeShare: the guard opens no notice above this share", "template default"),
    "emails_per_inactive_member": ("emails one notice can lead to (notice, reminder, cancellation)", "the design"),
    "ses_emails_per_second": ("SES sending rate quota", "assumed account quota"),
    "members_per_segment": ("SweepMembersPerSegment: members per scan segment", "template default"),
    "max_segments": ("SweepMaxSegments: most segments in a run", "template default"),
    "max_concurrency": ("SweepMaxConcurrency: most segment workers running at once", "template default"),
    "read_units_per_second_cap": (
        "SweepReadUnitsPerSecond: read units per second the whole sweep may take, shared by its workers",
        "template default",
    ),
    "page_size": ("SweepPageSize: most members one Scan page reads", "template default"),
    "hand_off_seconds": (
        "SweepHandOffSeconds: a worker hands its segment on with this much time left",
        "template default",
    ),
    "page_round_trip_seconds": ("one Scan page, request to answer", "assumed; measure on the real table"),
    "progress_call_seconds": ("one progress-table call (UpdateItem or GetItem), request to answer", "assumed"),
    "progress_item_bytes": (
        "a progress item (a segment's checkpoint and counts, or the run), at most",
        "assumed upper bound (the items stay under 1 KB)",
    ),
    "client_cpu_seconds_per_million_members": ("client CPU of a whole sweep run per million members", "measured"),
    "page_bytes_per_member_sent": ("memory a page in processing takes per member it carries", "measured"),
    "lambda_memory_mb": ("segment worker memory (MemorySize)", "template"),
    "lambda_timeout_seconds": ("segment worker Timeout (the longest one invocation may run)", "template, AWS limit"),
    "lambda_price_per_gb_second": ("USD per GB-second, arm64", "us-east-1 price"),
    "lambda_price_per_million_requests": ("USD per million invocations", "us-east-1 price"),
    "read_request_price_per_million": ("USD per million read request units, on demand", "us-east-1 price"),
    "write_request_price_per_million": ("USD per million write request units, on demand", "us-east-1 price"),
    "sqs_price_per_million_requests": ("USD per million SQS requests, standard queue", "us-east-1 price"),
    "ses_price_per_thousand_emails": ("USD per thousand emails", "us-east-1 price"),
    "export_price_per_gb": ("USD per GB of table exported to S3 (full export)", "us-east-1 price"),
    "point_in_time_recovery_price_per_gb_month": ("USD per GB-month of PITR, required to export", "us-east-1 price"),
    "storage_overhead_bytes_per_item": ("bytes DynamoDB adds to each item in a table's size", "DynamoDB docs"),
    "nights_per_month": ("sweeps per month", "the schedule"),
}


def _read_units_of(page_bytes: float) -> float:
    """Read units of one eventually consistent Scan page that read ``page_bytes`` of items."""
    return math.ceil(page_bytes / READ_UNIT_BYTES) * EVENTUALLY_CONSISTENT_SHARE


def segment_count(inputs: CapacityInputs) -> int:
    """As ``lifecycle.sweep.progress.segment_count``: members ÷ SweepMembersPerSegment, rounded up,
    at least one, at most SweepMaxSegments."""
    return max(1, min(inputs.max_segments, math.ceil(inputs.members / inputs.members_per_segment)))


def compute(inputs: CapacityInputs | Mapping[str, Any]) -> dict[str, Any]:
    """Every capacity figure from the inputs (no I/O)."""
    if isinstance(inputs, Mapping):
        inputs = CapacityInputs(**inputs)
    if inputs.members <= 0 or inputs.members_per_segment <= 0 or inputs.max_concurrency <= 0:
        raise ValueError("members, members_per_segment and max_concurrency must be positive")
    if inputs.hand_off_seconds >= inputs.lambda_timeout_seconds:
        raise ValueError("hand_off_seconds must be shorter than the Lambda timeout")

    # The fan-out: segments from the table's size, at most max_concurrency running at once
    segments = segment_count(inputs)
    running_at_once = min(segments, inputs.max_concurrency)
    waves = math.ceil(segments / running_at_once)

    # DynamoDB reads: one eventually consistent pass over every item, whatever is sent back;
    # a page ends at SweepPageSize members or 1 MB of items, whichever comes first
    table_bytes = inputs.members * inputs.activity_item_bytes
    segment_members = inputs.members / segments
    members_per_page = max(1, min(inputs.page_size, math.floor(PAGE_BYTES / inputs.activity_item_bytes)))
    full_pages, last_page_members = divmod(segment_members, members_per_page)
    pages_per_segment = math.ceil(segment_members / members_per_page)
    segment_read_units = full_pages * _read_units_of(members_per_page * inputs.activity_item_bytes) + _read_units_of(
        last_page_members * inputs.activity_item_bytes
    )
    read_units = segments * segment_read_units
    read_dollars = read_units / 1e6 * inputs.read_request_price_per_million
    pages = segments * pages_per_segment

    # One worker: fetch a page, judge it, reserve it, read the guard's flag and move the
    # checkpoint (3 progress-table calls), then wait for its share of the read-rate cap
    worker_read_units_per_second = inputs.read_units_per_second_cap / running_at_once
    vcpu = min(1.0, inputs.lambda_memory_mb / LAMBDA_MB_PER_VCPU)
    client_cpu_seconds = inputs.members / 1e6 * inputs.client_cpu_seconds_per_million_members
    segment_compute_seconds = client_cpu_seconds / segments / vcpu
    segment_round_trip_seconds = pages_per_segment * (
        inputs.page_round_trip_seconds + PROGRESS_CALLS_PER_PAGE * inputs.progress_call_seconds
    )
    segment_seconds_uncapped = segment_compute_seconds + segment_round_trip_seconds
    segment_seconds_at_cap = segment_read_units / worker_read_units_per_second
    segment_seconds = max(segment_seconds_uncapped, segment_seconds_at_cap)
    wall_seconds = waves * segment_seconds

    # Hand-offs: a worker queues its segment again once fewer than hand_off_seconds are left
    turn_seconds = inputs.lambda_timeout_seconds - inputs.hand_off_seconds
    turns_per_segment = math.ceil(segment_seconds / turn_seconds)
    hand_offs_per_segment = turns_per_segment - 1
    worker_turns = segments * turns_per_segment

    # Lambda: every worker is billed while it reads, judges and waits for the cap
    memory_gb = inputs.lambda_memory_mb / 1024
    invocations = 1 + worker_turns  # the starter, then one per worker turn
    lambda_gb_seconds = segments * segment_seconds * memory_gb
    lambda_dollars = (
        lambda_gb_seconds * inputs.lambda_price_per_gb_second
        + invocations / 1e6 * inputs.lambda_price_per_million_requests
    )

    # SQS: the tasks queued ten to a request, each hand-off sent, each turn received and deleted
    sqs_messages = worker_turns
    sqs_requests = (
        math.ceil(segments / SQS_MESSAGES_PER_SEND)
        + segments * hand_offs_per_segment
        + worker_turns * SQS_REQUESTS_PER_TURN
    )
    sqs_dollars = sqs_requests / 1e6 * inputs.sqs_price_per_million_requests

    # The progress table: per page two conditional updates of the worker's own segment item and
    # one strongly consistent read of the run item; per finished segment one Query of the run's
    # items (the run and every segment) to add up its totals
    write_units_per_update = math.ceil(inputs.progress_item_bytes / WRITE_UNIT_BYTES)
    read_units_per_get = math.ceil(inputs.progress_item_bytes / READ_UNIT_BYTES)
    progress_write_units_per_page = PROGRESS_UPDATES_PER_PAGE * write_units_per_update
    progress_read_units_per_page = PROGRESS_READS_PER_PAGE * read_units_per_get
    progress_page_write_units = pages * progress_write_units_per_page
    progress_write_units = progress_page_write_units + PROGRESS_WRITES_PER_RUN * write_units_per_update
    totals_query_read_units = math.ceil((segments + 1) * inputs.progress_item_bytes / READ_UNIT_BYTES)
    progress_read_units = (
        pages * progress_read_units_per_page
        + worker_turns * PROGRESS_READS_PER_TURN * read_units_per_get
        + segments * PROGRESS_QUERIES_PER_SEGMENT * totals_query_read_units
        + PROGRESS_READS_PER_RUN * read_units_per_get
    )
    progress_dollars = (
        progress_write_units / 1e6 * inputs.write_request_price_per_million
        + progress_read_units / 1e6 * inputs.read_request_price_per_million
    )
    # Writes are spread over the segment items (each written by its own worker only); the one
    # shared item, the run item, is read once a page by every running worker
    pages_per_second = running_at_once * pages_per_segment / segment_seconds
    run_item_read_units_per_second = pages_per_second * progress_read_units_per_page
    # every item of a run has the run's partition key: the run's whole progress traffic, summed
    run_partition_write_units_per_second = pages_per_second * progress_write_units_per_page

    sweep_dollars = read_dollars + lambda_dollars + sqs_dollars + progress_dollars

    # Memory: a worker holds one page at a time (its newly inactive members included)
    page_bytes_in_memory = members_per_page * inputs.page_bytes_per_member_sent

    # The members found inactive, noticed by email
    inactive_members = inputs.members * inputs.inactive_share
    emails = inactive_members * inputs.emails_per_inactive_member
    emails_per_day = inputs.ses_emails_per_second * SECONDS_PER_DAY
    notices_per_night_within_quota = math.floor(emails_per_day / inputs.emails_per_inactive_member)

    # The alternative: a full export to S3 every night (PITR on), read from S3 afterwards
    export_gb = inputs.members * (inputs.activity_item_bytes + inputs.storage_overhead_bytes_per_item) / GIBIBYTE
    export_dollars_per_night = export_gb * inputs.export_price_per_gb
    pitr_dollars_per_month = export_gb * inputs.point_in_time_recovery_price_per_gb_month
    export_dollars_per_month = export_dollars_per_night * inputs.nights_per_month + pitr_dollars_per_month

    return {
        "table_gib": table_bytes / GIBIBYTE,
        "segments": segments,
        "running_at_once": running_at_once,
        "waves": waves,
        "members_per_page": members_per_page,
        "pages": pages,
        "pages_per_segment": pages_per_segment,
        "read_units_per_sweep": read_units,
        "read_units_per_segment": segment_read_units,
        "read_dollars_per_sweep": read_dollars,
        "worker_read_units_per_second": worker_read_units_per_second,
        "client_cpu_seconds": client_cpu_seconds,
        "lambda_vcpu": vcpu,
        "segment_compute_seconds": segment_compute_seconds,
        "segment_round_trip_seconds": segment_round_trip_seconds,
        "segment_seconds_uncapped": segment_seconds_uncapped,
        "segment_seconds_at_cap": segment_seconds_at_cap,
        "read_rate_capped": segment_seconds_at_cap > segment_seconds_uncapped,
        "segment_seconds": segment_seconds,
        "wall_seconds": wall_seconds,
        "turn_seconds": turn_seconds,
        "turns_per_segment": turns_per_segment,
        "hand_offs_per_segment": hand_offs_per_segment,
        "worker_turns": worker_turns,
        "lambda_invocations": invocations,
        "lambda_gb_seconds": lambda_gb_seconds,
        "lambda_dollars_per_sweep": lambda_dollars,
        "sqs_messages": sqs_messages,
        "sqs_requests": sqs_requests,
        "sqs_dollars_per_sweep": sqs_dollars,
        "progress_calls_per_page": PROGRESS_CALLS_PER_PAGE,
        "progress_write_units_per_page": progress_write_units_per_page,
        "progress_read_units_per_page": progress_read_units_per_page,
        "progress_page_write_units": progress_page_write_units,
        "progress_write_units": progress_write_units,
        "totals_query_read_units": totals_query_read_units,
        "progress_read_units": progress_read_units,
        "progress_dollars_per_sweep": progress_dollars,
        "pages_per_second": pages_per_second,
        "run_item_read_units_per_second": run_item_read_units_per_second,
        "run_item_within_partition_read_limit": run_item_read_units_per_second <= PARTITION_READ_UNITS_PER_SECOND,
        "run_partition_write_units_per_second": run_partition_write_units_per_second,
        "run_partition_within_write_limit": run_partition_write_units_per_second <= PARTITION_WRITE_UNITS_PER_SECOND,
        "sweep_dollars": sweep_dollars,
        "sweep_dollars_per_month": sweep_dollars * inputs.nights_per_month,
        "page_mib_per_worker": page_bytes_in_memory / MEBIBYTE,
        "page_share_of_lambda_memory": page_bytes_in_memory / (inputs.lambda_memory_mb * MEBIBYTE),
        "inactive_members": inactive_members,
        "guard_lets_first_night_through": inputs.inactive_share <= inputs.max_notice_share,
        "notice_days_at_quota": inactive_members / inputs.ses_emails_per_second / SECONDS_PER_DAY,
        "emails": emails,
        "email_days_at_quota": emails / inputs.ses_emails_per_second / SECONDS_PER_DAY,
        "ses_dollars": emails / 1000 * inputs.ses_price_per_thousand_emails,
        "notices_per_night_within_quota": notices_per_night_within_quota,
        "nights_to_open_every_notice_within_quota": math.ceil(inactive_members / notices_per_night_within_quota),
        "export_gib": export_gb,
        "export_dollars_per_night": export_dollars_per_night,
        "pitr_dollars_per_month": pitr_dollars_per_month,
        "export_dollars_per_month": export_dollars_per_month,
        "export_to_sweep_cost_ratio": export_dollars_per_night / sweep_dollars,
        **viewing_feed(inputs),
    }


def viewing_feed(inputs: CapacityInputs) -> dict[str, Any]:
    """A day of the viewing feed: one event per play, beside one write per play, beside one
    event per viewer a day (a feed that sends each member's day once)."""

    def delivery(events: float) -> dict[str, float]:
        batches = events / inputs.inbound_batch_size
        return {
            "events": events,
            "eventbridge_dollars": events / 1e6 * inputs.eventbridge_price_per_million_events,
            "sqs_dollars": events * SQS_REQUESTS_PER_INBOUND_MESSAGE / 1e6 * inputs.sqs_price_per_million_requests,
            "lambda_invocations": batches,
            "lambda_dollars": batches / 1e6 * inputs.lambda_price_per_million_requests
            + batches * inputs.inbound_lambda_gb_seconds_per_batch * inputs.lambda_price_per_gb_second,
        }

    def dynamodb(write_units: float, read_units: float) -> dict[str, float]:
        return {
            "write_units": write_units,
            "read_units": read_units,
            "dynamodb_dollars": write_units / 1e6 * inputs.write_request_price_per_million
            + read_units / 1e6 * inputs.read_request_price_per_million,
        }

    plays = inputs.daily_viewers * inputs.plays_per_viewer
    ours = dynamodb(inputs.daily_viewers * inputs.viewing_write_units_per_viewer,
                    plays * inputs.viewing_read_units_per_play)
    naive = dynamodb(plays, 0.0)
    per_play, per_viewer = delivery(plays), delivery(inputs.daily_viewers)
    # a feed that sends one event a viewer a day: one read and at most one write each
    daily = dynamodb(inputs.daily_viewers * inputs.viewing_write_units_per_viewer,
                     inputs.daily_viewers * EVENTUALLY_CONSISTENT_SHARE)

    def total(store: dict[str, float], sent: dict[str, float]) -> float:
        return store["dynamodb_dollars"] + sent["eventbridge_dollars"] + sent["sqs_dollars"] + sent["lambda_dollars"]

    return {
        "viewing_plays_per_day": plays,
        "viewing_ours": ours,
        "viewing_naive": naive,
        "viewing_daily_events": daily,
        "viewing_delivery_per_play": per_play,
        "viewing_delivery_per_viewer": per_viewer,
        "viewing_dollars_per_day": total(ours, per_play),
        "viewing_naive_dollars_per_day": total(naive, per_play),
        "viewing_daily_events_dollars_per_day": total(daily, per_viewer),
    }


# ------------------------------------------------------------------ inputs from the benchmark
def measured_inputs(results_path: Path = BENCH_RESULTS) -> tuple[CapacityInputs, dict[str, str]]:
    """The inputs, with the measured ones filled in, and where each measured one came from."""
    inputs = CapacityInputs()
    if not results_path.exists():
        inputs = replace(inputs, activity_item_bytes=_population_item_bytes())
        return inputs, {
            "activity_item_bytes": "measured on the synthetic population (bench.population_items)",
            "client_cpu_seconds_per_million_members": "assumed (run python -m bench.run to measure it)",
            "page_bytes_per_member_sent": "assumed (run python -m bench.run to measure it)",
        }
    results = json.loads(results_path.read_text(encoding="utf-8"))
    where = f"bench/results.json ({results.get('date', 'undated')}, {results['population']['members']:,} members)"
    stale = "assumed (bench/results.json predates the fan-out: run python -m bench.run again)"
    sweep_run = results["sweep_reads"]["cpu"].get("sweep_run")
    memory = results["page_memory"]
    worst_page = max(memory.get("every_member_pages", []), key=lambda peak: peak["sweep_peak_bytes"], default=None)
    per_member = (
        worst_page["sweep_peak_bytes"] / worst_page["members_per_page"]
        if worst_page and "members_per_page" in worst_page
        else None
    )
    inputs = replace(
        inputs,
        activity_item_bytes=results["population"]["average_activity_item_bytes"],
        client_cpu_seconds_per_million_members=sweep_run["cpu_seconds_per_million_members"]
        if sweep_run
        else ASSUMED_CLIENT_CPU_SECONDS_PER_MILLION,
        page_bytes_per_member_sent=per_member or ASSUMED_PAGE_BYTES_PER_MEMBER_SENT,
    )
    sources = {
        "activity_item_bytes": where,
        "client_cpu_seconds_per_million_members": where if sweep_run else stale,
        "page_bytes_per_member_sent": f"{where}: the peak of a page of every member" if per_member else stale,
    }
    feed = results.get("viewing_feed")
    if feed:
        inputs = replace(
            inputs,
            plays_per_viewer=feed["plays"] / feed["viewers"],
            viewing_write_units_per_viewer=feed["ours"]["write_units"] / feed["viewers"],
            viewing_read_units_per_play=feed["ours"]["read_units"] / feed["plays"],
        )
        measured = (f"bench/results.json ({results.get('date', 'undated')}, "
                    f"a day of plays of {feed['members']:,} members)")
        sources.update(plays_per_viewer=f"{measured}: the bench's day", viewing_write_units_per_viewer=measured,
                       viewing_read_units_per_play=measured)
    else:
        sources.update(viewing_write_units_per_viewer="assumed (run python -m bench.run to measure it)",
                       viewing_read_units_per_play="assumed (run python -m bench.run to measure it)")
    return inputs, sources


def _population_item_bytes(members: int = 20_000) -> float:
    from bench.item_sizes import item_bytes
    from bench.population_items import population_rows, table_items

    activity_items, _ = table_items(population_rows(members))
    return sum(map(item_bytes, activity_items)) / len(activity_items)


# ------------------------------------------------------------------ the document
def _number(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def _dollars(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds / 3600:,.1f} h"


def _nights(count: int) -> str:
    return f"{count:,} night" if count == 1 else f"{count:,} nights"


def _input_value(name: str, value: Any) -> str:
    if isinstance(value, float) and ("price" in name or value < 1):
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return _number(value, 1 if isinstance(value, float) and value != int(value) else 0)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def render(inputs: CapacityInputs, sources: Mapping[str, str], today: str) -> str:
    figures = compute(inputs)
    turn = _duration(figures["turn_seconds"])
    lines = [
        "<!-- generated by docs/capacity.py: change its inputs and run it again; do not edit this file -->",
        "# Capacity: the nightly sweep at 200 million members",
        "",
        f"Generated by `docs/capacity.py` on {today}. Prices are us-east-1 on-demand list prices as of that "
        "date, and they are inputs: check them against AWS's pricing pages before quoting the dollars.",
        "",
        "## Inputs",
        "",
        "| input | value | meaning | source |",
        "| --- | ---: | --- | --- |",
    ]
    for field in fields(CapacityInputs):
        meaning, source = INPUT_NOTES[field.name]
        value = getattr(inputs, field.name)
        lines.append(
            f"| `{field.name}` | {_input_value(field.name, value)} | {meaning} | {sources.get(field.name, source)} |"
        )
    lines += [
        "",
        "## How each figure is computed",
        "",
        "- **Segments.** The run sizes the table with DescribeTable and makes members ÷ SweepMembersPerSegment "
        "segments, rounded up, at least one and at most SweepMaxSegments; one task per segment goes on the "
        "queue. At most SweepMaxConcurrency workers run at once; more segments wait for a free worker, in "
        "waves (segments ÷ workers at once, rounded up).",
        "- **Read units.** A Scan reads every item whole, whatever its ProjectionExpression and FilterExpression "
        "keep. A page ends at SweepPageSize members or 1 MB of items, whichever comes first, and costs one "
        "read unit per 4 KB read, rounded up, and half that when eventually consistent (the sweep's scan is). "
        "Each segment reads its share of the table in full pages and one last partial page.",
        "- **Read dollars** are read units ÷ one million × the on-demand price per million read request units.",
        "- **Client CPU** is members ÷ one million × the measured CPU seconds per million members of a whole "
        "sweep run (start_sweep, then sweep_segment for every task: scan with prefilter and projection, "
        "parsing and judging what comes back, the progress table and the queue).",
        "- **Segment time.** The read-rate cap is shared: each worker reads at most SweepReadUnitsPerSecond ÷ "
        "the workers running at once, and waits after a page that came faster. Unhindered, a worker takes "
        f"pages per segment × (the page round trip + {PROGRESS_CALLS_PER_PAGE} progress-table calls: "
        f"{PROGRESS_UPDATES_PER_PAGE} UpdateItem and {PROGRESS_READS_PER_PAGE} GetItem) plus its share of the "
        "client CPU divided by the vCPU share Lambda gives it (memory ÷ 1,769 MB, at most one: one Python thread). The "
        "segment takes the longer of the two.",
        "- **Wall time** is waves × segment time (a segment waiting for a free worker starts when one ends).",
        f"- **Hand-offs.** A worker hands its segment on through the queue once fewer than SweepHandOffSeconds "
        f"are left of its Lambda timeout, so one turn reads for at most {turn}; a segment takes segment time "
        f"÷ {turn} turns, rounded up, and hands on one fewer times.",
        "- **Lambda GB-seconds** are segments × segment time × memory in GB (a worker waiting for the cap is "
        "still billed); dollars add the price per invocation (the starter, then one per worker turn).",
        "- **SQS requests.** The tasks are queued ten to a request; each hand-off sends one; the event source "
        "mapping receives and deletes each turn's task (batch size 1). Its long polling of the empty queue "
        "between runs is billed too and does not depend on the members; it is not counted here.",
        "- **Progress table.** Each page takes three calls: a conditional UpdateItem of the worker's own "
        "segment item that reserves the page and ADDs its counts, a strongly consistent GetItem of the run "
        "item for the guard's flag, and a conditional UpdateItem of the segment item that moves the checkpoint "
        "and ADDs what the page did. The guard is judged per segment on the segment's own counts (DynamoDB "
        "hashes keys into segments, so each segment is a random sample of the table); a segment that trips it "
        "sets the flag on the run item. A progress item is at most `progress_item_bytes`, so an update is one "
        "write unit per KB and a read one read unit per 4 KB, rounded up: 2 write units and 1 read unit a page "
        "for items under 1 KB. Each worker turn reads the run and the checkpoint. Each segment, once done, adds "
        "up the run's totals with one strongly consistent Query of the run's items (segments + 1 of them, one "
        "read unit per 4 KB of their sum) to see whether the run is finished. The run is recorded, read back "
        "and marked finished once. MaxNoticesPerRun adds, on pages with newly inactive members, a read and a "
        "conditional update of the run item per grant (not counted: 0, no cap, by default).",
        "- **The run item.** Each segment counts into its own item, written only by its worker, so the writes "
        "are spread over the segment items: each write is one conditional UpdateItem of one item, and no item "
        "is written by two workers at once. The only shared item, the run item, is read once a page: pages "
        "per second are the workers at once × pages per segment ÷ segment time, and each is one strongly "
        "consistent read unit of "
        f"the run item, against the {PARTITION_READ_UNITS_PER_SECOND:,} read units a second one partition "
        "serves. Every item of a run has the run's id as its partition key, so the run's progress traffic "
        f"together (2 write units a page) is also set against a partition's {PARTITION_WRITE_UNITS_PER_SECOND:,} "
        "write units a second.",
        "- **Memory.** A worker holds one page at a time, the newly inactive members of that page included: "
        "members per page × the measured bytes a page in processing takes per member it carries (the worst "
        "case, every member sent: the prefilter sends few). It does not grow with the table.",
        "- **SES days** are emails ÷ the sending rate ÷ 86,400. Pacing notices at the rate × 86,400 ÷ emails "
        "per inactive member each night (MaxNoticesPerRun) keeps every later reminder and cancellation "
        "inside the quota too.",
        "- **Export to S3.** A full export is billed per GB of table size (items plus 100 bytes each) and "
        "needs point-in-time recovery on the table, billed per GB-month. Reading the export back out of S3 "
        "(Athena, Glue or a function) is extra and not counted here.",
        "",
        "## Results",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| table size (activity items) | {_number(figures['table_gib'], 1)} GiB |",
        f"| segments (workers at once; waves) | {_number(figures['segments'])} "
        f"({_number(figures['running_at_once'])}; {_number(figures['waves'])}) |",
        f"| Scan pages per sweep (per segment; members a page) | {_number(figures['pages'])} "
        f"({_number(figures['pages_per_segment'])}; {_number(figures['members_per_page'])}) |",
        f"| read units per sweep | {_number(figures['read_units_per_sweep'])} |",
        f"| DynamoDB reads per sweep | {_dollars(figures['read_dollars_per_sweep'])} |",
        f"| read rate per worker (the cap ÷ {_number(figures['running_at_once'])}) | "
        f"{_number(figures['worker_read_units_per_second'], 1)} read units/s |",
        f"| client CPU per sweep | {_number(figures['client_cpu_seconds'])} s |",
        f"| one segment unhindered: judging / round trips | {_duration(figures['segment_compute_seconds'])} / "
        f"{_duration(figures['segment_round_trip_seconds'])} |",
        f"| one segment at its share of the cap | {_duration(figures['segment_seconds_at_cap'])}"
        f"{' (the cap sets the pace)' if figures['read_rate_capped'] else ' (slower than the cap allows)'} |",
        f"| **wall time** ({_plural(figures['waves'], 'wave')} of {_duration(figures['segment_seconds'])}) | "
        f"**{_duration(figures['wall_seconds'])}** |",
        f"| turns per segment (hand-offs, at most {turn} a turn) | {_number(figures['turns_per_segment'])} "
        f"({_number(figures['hand_offs_per_segment'])}) |",
        f"| Lambda per sweep | {_number(figures['lambda_invocations'])} invocations, "
        f"{_number(figures['lambda_gb_seconds'])} GB-s, {_dollars(figures['lambda_dollars_per_sweep'])} |",
        f"| SQS per sweep | {_number(figures['sqs_messages'])} messages, {_number(figures['sqs_requests'])} "
        f"requests, {_dollars(figures['sqs_dollars_per_sweep'])} |",
        f"| progress-table calls per page | {_number(figures['progress_calls_per_page'])} "
        f"({PROGRESS_UPDATES_PER_PAGE} UpdateItem of the segment item, {PROGRESS_READS_PER_PAGE} GetItem of the "
        "run item) |",
        f"| progress table per sweep | {_number(figures['progress_write_units'])} write units "
        f"({_number(figures['progress_page_write_units'])} for the pages, "
        f"{_number(figures['progress_write_units_per_page'])} a page), "
        f"{_number(figures['progress_read_units'])} read units "
        f"({_number(figures['totals_query_read_units'])} a totals Query), "
        f"{_dollars(figures['progress_dollars_per_sweep'])} |",
        f"| reads of the run item (the guard's flag, once a page) | "
        f"{_number(figures['run_item_read_units_per_second'])} read units/s "
        f"({'within' if figures['run_item_within_partition_read_limit'] else 'ABOVE'} one partition's "
        f"{PARTITION_READ_UNITS_PER_SECOND:,}; {_number(figures['pages_per_second'])} pages/s) |",
        f"| writes to the run's segment items, all together | "
        f"{_number(figures['run_partition_write_units_per_second'])} write units/s "
        f"({'within' if figures['run_partition_within_write_limit'] else 'ABOVE'} one partition's "
        f"{PARTITION_WRITE_UNITS_PER_SECOND:,}; no item written by two workers) |",
        f"| **sweep per night (reads + Lambda + SQS + progress table)** | **{_dollars(figures['sweep_dollars'])}** |",
        f"| sweep per month | {_dollars(figures['sweep_dollars_per_month'])} |",
        f"| memory per worker: one page of {_number(figures['members_per_page'])} members, every one sent | "
        f"{_number(figures['page_mib_per_worker'], 1)} MiB ({figures['page_share_of_lambda_memory']:.1%} of the "
        f"function's memory, whatever the table's size) |",
        f"| members inactive on the first night | {_number(figures['inactive_members'])} "
        f"({'under' if figures['guard_lets_first_night_through'] else 'ABOVE'} the MaxNoticeShare guard) |",
        f"| SES: the notices alone at the quota | {_number(figures['notice_days_at_quota'], 2)} days |",
        f"| SES: every email they can lead to ({_number(figures['emails'])}) | "
        f"{_number(figures['email_days_at_quota'], 2)} days, {_dollars(figures['ses_dollars'])} |",
        f"| notices per night that keep every email within the quota (MaxNoticesPerRun) | "
        f"{_number(figures['notices_per_night_within_quota'])}, so "
        f"{_nights(figures['nights_to_open_every_notice_within_quota'])} to open them all |",
        f"| export to S3 instead: table size billed | {_number(figures['export_gib'], 1)} GiB |",
        f"| export to S3, per night | {_dollars(figures['export_dollars_per_night'])} "
        f"({figures['export_to_sweep_cost_ratio']:.1f}× the sweep) |",
        f"| export to S3, per month (with PITR at {_dollars(figures['pitr_dollars_per_month'])}) | "
        f"{_dollars(figures['export_dollars_per_month'])} |",
        "",
        "## The viewing feed: 100 million daily viewers",
        "",
        "Each play the business sends is one `ViewingRecorded` event on the inbound bus, delivered to the "
        "inbound queue and read by the consumer in batches. The consumer coalesces a batch's plays per member, "
        "reads the batch's viewers at once (BatchGetItem, eventually consistent: half a read unit a member) and "
        "writes a member at most once a UTC day, while a notice is open every later play (one that may close it). "
        "The naive consumer writes every play (a conditional write the condition refuses is paid for too). The "
        "write and read units per viewer and per play are those `make bench` measured; the delivery (EventBridge, "
        "SQS, Lambda) is the same for both consumers, and is most of the bill: a feed that sends each member's "
        "day once (or each session) pays it per viewer instead of per play.",
        "",
        "| a day of the feed | events | write units | read units | DynamoDB $ | EventBridge $ | SQS $ | "
        "Lambda $ (invocations) | **total $ a day** | a month |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, store, sent, dollars in (
        ("one event a play, one write a play (naive)", figures["viewing_naive"], figures["viewing_delivery_per_play"],
         figures["viewing_naive_dollars_per_day"]),
        ("one event a play, this consumer", figures["viewing_ours"], figures["viewing_delivery_per_play"],
         figures["viewing_dollars_per_day"]),
        ("one event a viewer a day, this consumer", figures["viewing_daily_events"],
         figures["viewing_delivery_per_viewer"], figures["viewing_daily_events_dollars_per_day"]),
    ):
        lines.append(
            f"| {label} | {_number(sent['events'])} | {_number(store['write_units'])} | "
            f"{_number(store['read_units'])} | {_dollars(store['dynamodb_dollars'])} | "
            f"{_dollars(sent['eventbridge_dollars'])} | {_dollars(sent['sqs_dollars'])} | "
            f"{_dollars(sent['lambda_dollars'])} ({_number(sent['lambda_invocations'])}) | **{_dollars(dollars)}** | "
            f"{_dollars(dollars * inputs.nights_per_month)} |"
        )
    lines += [
        "",
        f"Beside the sweep: one night's sweep costs {_dollars(figures['sweep_dollars'])}, a day of the feed "
        f"{_dollars(figures['viewing_dollars_per_day'])} with one event a play "
        f"({figures['viewing_dollars_per_day'] / figures['sweep_dollars']:,.0f}× the sweep) and "
        f"{_dollars(figures['viewing_daily_events_dollars_per_day'])} with one event a viewer a day. "
        f"DynamoDB alone: {_dollars(figures['viewing_ours']['dynamodb_dollars'])} a day for this consumer, "
        f"{_dollars(figures['viewing_naive']['dynamodb_dollars'])} for one write a play "
        f"({figures['viewing_ours']['dynamodb_dollars'] / figures['viewing_naive']['dynamodb_dollars']:.2f}×).",
        "",
        "## Segment sizes",
        "",
        "The same inputs with other SweepMembersPerSegment values (the read units and their dollars do not "
        "change; the memory per worker neither).",
        "",
        "| members per segment | segments | at once | read units/s per worker | segment time | hand-offs per "
        "segment | wall time | Lambda GB-s | SQS requests | progress table $ | sweep $ |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for members_per_segment in MEMBERS_PER_SEGMENT_COMPARED:
        each = compute(replace(inputs, members_per_segment=members_per_segment))
        lines.append(
            f"| {_number(members_per_segment)} | {_number(each['segments'])} | {_number(each['running_at_once'])} | "
            f"{_number(each['worker_read_units_per_second'], 1)} | {_duration(each['segment_seconds'])} | "
            f"{_number(each['hand_offs_per_segment'])} | {_duration(each['wall_seconds'])} | "
            f"{_number(each['lambda_gb_seconds'])} | {_number(each['sqs_requests'])} | "
            f"{_dollars(each['progress_dollars_per_sweep'])} | {_dollars(each['sweep_dollars'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    inputs, sources = measured_inputs()
    CAPACITY_DOCUMENT.write_text(render(inputs, sources, datetime.now(UTC).date().isoformat()), encoding="utf-8")
    figures = compute(inputs)
    print(
        f"wrote {CAPACITY_DOCUMENT.relative_to(PROJECT_ROOT)}: {_dollars(figures['sweep_dollars'])} per sweep, "
        f"{_duration(figures['wall_seconds'])} with {figures['segments']} segments "
        f"({figures['running_at_once']} at once)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
