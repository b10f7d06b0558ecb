"""Capacity of the nightly sweep at 200 million members: read units and dollars per sweep,
Lambda GB-seconds and dollars, wall time with parallel segments under a read-rate cap, SES days
to send the notices, and the sweep beside a nightly DynamoDB export to S3.

``python docs/capacity.py`` computes ``docs/capacity.md`` from the inputs below. Measured
inputs (the average activity item's size, the client's CPU per million members, the memory a
sweep holds per member found inactive) come from ``bench/results.json`` when ``python -m
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
CAPACITY_DOCUMENT = DOCS_ROOT / "capacity.md"
BENCH_RESULTS = PROJECT_ROOT / "bench" / "results.json"

PAGE_BYTES = 1024 * 1024  # a Scan page reads at most 1 MB of items
READ_UNIT_BYTES = 4096
EVENTUALLY_CONSISTENT_SHARE = 0.5
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives a function one full vCPU at 1,769 MB, in proportion below
GIBIBYTE = 1024**3
SECONDS_PER_DAY = 86_400
SEGMENT_COUNTS_COMPARED = (1, 8, 16, 32, 64, 128)

# Used when bench/results.json is absent (python -m bench.run writes it).
ASSUMED_CLIENT_CPU_SECONDS_PER_MILLION = 5.0
ASSUMED_HELD_BYTES_PER_NEWLY_INACTIVE_MEMBER = 700.0
ASSUMED_ACTIVITY_ITEM_BYTES = 250.0


@dataclass(frozen=True)
class CapacityInputs:
    """Every number the capacity figures come from (prices: us-east-1, on demand)."""

    members: int = 200_000_000
    activity_item_bytes: float = ASSUMED_ACTIVITY_ITEM_BYTES
    inactive_share: float = 0.005
    max_notice_share: float = 0.01  # the sweep's guard (template Parameter MaxNoticeShare)
    emails_per_inactive_member: int = 3  # notice, reminder, cancellation at most
    ses_emails_per_second: float = 50.0
    parallel_segments: int = 64
    read_units_per_second_cap: float = 40_000.0
    page_round_trip_seconds: float = 0.1
    client_cpu_seconds_per_million_members: float = ASSUMED_CLIENT_CPU_SECONDS_PER_MILLION
    held_bytes_per_newly_inactive_member: float = ASSUMED_HELD_BYTES_PER_NEWLY_INACTIVE_MEMBER
    lambda_memory_mb: int = 512
    lambda_timeout_seconds: float = 900.0
    lambda_price_per_gb_second: float = 0.0000133334  # arm64
    lambda_price_per_million_requests: float = 0.20
    read_request_price_per_million: float = 0.125  # on-demand read request units
    ses_price_per_thousand_emails: float = 0.10
    export_price_per_gb: float = 0.10  # DynamoDB full export to S3
    point_in_time_recovery_price_per_gb_month: float = 0.20  # an export needs PITR on the table
    storage_overhead_bytes_per_item: int = 100  # DynamoDB counts 100 bytes per item in a table's size
    nights_per_month: int = 30


INPUT_NOTES: dict[str, tuple[str, str]] = {
    # field: (unit and meaning, source)
    "members": ("members in the activity table", "the issue"),
    "activity_item_bytes": ("average activity item, bytes as DynamoDB counts them", "measured"),
    "inactive_share": ("share of members inactive on the first night", "the issue"),
    "max_notice_share": ("MaxNoticeShare: the guard opens no notice above this share", "template default"),
    "emails_per_inactive_member": ("emails one notice can lead to (notice, reminder, cancellation)", "the design"),
    "ses_emails_per_second": ("SES sending rate quota", "assumed account quota"),
    "parallel_segments": ("Scan segments swept at once, one Lambda invocation each", "chosen"),
    "read_units_per_second_cap": ("most read units per second the sweep may take from the live table", "chosen"),
    "page_round_trip_seconds": ("one 1 MB Scan page, request to answer", "assumed; measure on the real table"),
    "client_cpu_seconds_per_million_members": ("client CPU of the sweep's reads per million members", "measured"),
    "held_bytes_per_newly_inactive_member": (
        "memory a sweep keeps per member found inactive until its pass ends",
        "measured",
    ),
    "lambda_memory_mb": ("sweep function memory (MemorySize)", "template"),
    "lambda_timeout_seconds": ("longest one Lambda invocation may run", "AWS limit"),
    "lambda_price_per_gb_second": ("USD per GB-second, arm64", "us-east-1 price"),
    "lambda_price_per_million_requests": ("USD per million invocations", "us-east-1 price"),
    "read_request_price_per_million": ("USD per million read request units, on demand", "us-east-1 price"),
    "ses_price_per_thousand_emails": ("USD per thousand emails", "us-east-1 price"),
    "export_price_per_gb": ("USD per GB of table exported to S3 (full export)", "us-east-1 price"),
    "point_in_time_recovery_price_per_gb_month": ("USD per GB-month of PITR, required to export", "us-east-1 price"),
    "storage_overhead_bytes_per_item": ("bytes DynamoDB adds to each item in a table's size", "DynamoDB docs"),
    "nights_per_month": ("sweeps per month", "the schedule"),
}


def _read_units_of(segment_bytes: float) -> float:
    """Read units of one segment's Scan: full 1 MB pages, then the last, partial one."""
    full_pages, last_page_bytes = divmod(segment_bytes, PAGE_BYTES)
    units_per_full_page = math.ceil(PAGE_BYTES / READ_UNIT_BYTES) * EVENTUALLY_CONSISTENT_SHARE
    return full_pages * units_per_full_page + math.ceil(last_page_bytes / READ_UNIT_BYTES) * EVENTUALLY_CONSISTENT_SHARE


def compute(inputs: CapacityInputs | Mapping[str, Any]) -> dict[str, Any]:
    """Every capacity figure from the inputs (no I/O)."""
    if isinstance(inputs, Mapping):
        inputs = CapacityInputs(**inputs)
    if inputs.members <= 0 or inputs.parallel_segments <= 0:
        raise ValueError("members and parallel_segments must be positive")
    segments = inputs.parallel_segments

    # DynamoDB reads: one eventually consistent pass over every item, whatever is sent back
    table_bytes = inputs.members * inputs.activity_item_bytes
    segment_bytes = table_bytes / segments
    pages_per_segment = math.ceil(segment_bytes / PAGE_BYTES)
    read_units = segments * _read_units_of(segment_bytes)
    read_dollars = read_units / 1e6 * inputs.read_request_price_per_million

    # Lambda: each segment fetches a page, then judges it, one after the other
    vcpu = min(1.0, inputs.lambda_memory_mb / LAMBDA_MB_PER_VCPU)
    client_cpu_seconds = inputs.members / 1e6 * inputs.client_cpu_seconds_per_million_members
    segment_compute_seconds = client_cpu_seconds / segments / vcpu
    segment_read_seconds = pages_per_segment * inputs.page_round_trip_seconds
    segment_seconds_uncapped = segment_compute_seconds + segment_read_seconds
    read_rate_uncapped = read_units / segment_seconds_uncapped
    seconds_at_cap = read_units / inputs.read_units_per_second_cap
    wall_seconds = max(segment_seconds_uncapped, seconds_at_cap)
    memory_gb = inputs.lambda_memory_mb / 1024
    lambda_gb_seconds = segments * wall_seconds * memory_gb
    lambda_dollars = (
        lambda_gb_seconds * inputs.lambda_price_per_gb_second
        + segments / 1e6 * inputs.lambda_price_per_million_requests
    )
    sweep_dollars = read_dollars + lambda_dollars

    # The members found inactive: held until the pass ends, then noticed by email
    inactive_members = inputs.members * inputs.inactive_share
    held_bytes_per_segment = inactive_members / segments * inputs.held_bytes_per_newly_inactive_member
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
        "pages": segments * pages_per_segment,
        "pages_per_segment": pages_per_segment,
        "read_units_per_sweep": read_units,
        "read_dollars_per_sweep": read_dollars,
        "client_cpu_seconds": client_cpu_seconds,
        "lambda_vcpu": vcpu,
        "segment_compute_seconds": segment_compute_seconds,
        "segment_read_seconds": segment_read_seconds,
        "read_units_per_second_uncapped": read_rate_uncapped,
        "read_rate_capped": read_rate_uncapped > inputs.read_units_per_second_cap,
        "wall_seconds": wall_seconds,
        "fits_one_invocation": wall_seconds <= inputs.lambda_timeout_seconds,
        "lambda_gb_seconds": lambda_gb_seconds,
        "lambda_dollars_per_sweep": lambda_dollars,
        "sweep_dollars": sweep_dollars,
        "sweep_dollars_per_month": sweep_dollars * inputs.nights_per_month,
        "inactive_members": inactive_members,
        "guard_lets_first_night_through": inputs.inactive_share <= inputs.max_notice_share,
        "held_mib_per_segment": held_bytes_per_segment / 1024**2,
        "held_share_of_lambda_memory": held_bytes_per_segment / (inputs.lambda_memory_mb * 1024**2),
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
    }


# ------------------------------------------------------------------ inputs from the benchmark
def measured_inputs(results_path: Path = BENCH_RESULTS) -> tuple[CapacityInputs, dict[str, str]]:
    """The inputs, with the measured ones filled in, and where each measured one came from."""
    sources: dict[str, str] = {}
    inputs = CapacityInputs()
    if results_path.exists():
        results = json.loads(results_path.read_text(encoding="utf-8"))
        where = f"bench/results.json ({results.get('date', 'undated')}, {results['population']['members']:,} members)"
        held = results["page_memory"].get("bytes_held_per_newly_inactive_member")
        inputs = replace(
            inputs,
            activity_item_bytes=results["population"]["average_activity_item_bytes"],
            client_cpu_seconds_per_million_members=results["sweep_reads"]["cpu"]["sweep_read_path"][
                "cpu_seconds_per_million_members"
            ],
            held_bytes_per_newly_inactive_member=held or ASSUMED_HELD_BYTES_PER_NEWLY_INACTIVE_MEMBER,
        )
        sources = {
            "activity_item_bytes": where,
            "client_cpu_seconds_per_million_members": where,
            "held_bytes_per_newly_inactive_member": where if held else "assumed (no measurement in the results)",
        }
        return inputs, sources
    inputs = replace(inputs, activity_item_bytes=_population_item_bytes())
    sources = {
        "activity_item_bytes": "measured on the synthetic population (bench.population_items)",
        "client_cpu_seconds_per_million_members": "assumed (run python -m bench.run to measure it)",
        "held_bytes_per_newly_inactive_member": "assumed (run python -m bench.run to measure it)",
    }
    return inputs, sources


def _population_item_bytes(members: int = 20_000) -> float:
    for path in (PROJECT_ROOT, PROJECT_ROOT / "layers" / "common"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
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


def _held(figures: Mapping[str, Any]) -> str:
    held = f"{_number(figures['held_mib_per_segment'], 1)} MiB"
    return held if figures["held_share_of_lambda_memory"] < 1 else f"{held} (more than the function's memory)"


def _input_value(name: str, value: Any) -> str:
    if isinstance(value, float) and ("price" in name or value < 1):
        return f"{value:.10f}".rstrip("0").rstrip(".")
    return _number(value, 1 if isinstance(value, float) and value != int(value) else 0)


def render(inputs: CapacityInputs, sources: Mapping[str, str], today: str) -> str:
    figures = compute(inputs)
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
        "- **Read units.** A Scan reads every item whole, whatever its ProjectionExpression and FilterExpression "
        "keep, in pages of at most 1 MB. A page costs one read unit per 4 KB read, rounded up, and half that "
        "when eventually consistent (the sweep's scan is). Each segment reads its share of the table "
        "(members × item bytes ÷ segments) in full pages of 128 read units and one last partial page.",
        "- **Read dollars** are read units ÷ one million × the on-demand price per million read request units.",
        "- **Client CPU** is members ÷ one million × the measured CPU seconds per million members of the sweep's "
        "read path (scan with prefilter and projection, then parsing and judging what comes back).",
        "- **Segment time.** One segment fetches a page, then judges it: pages per segment × the page round trip, "
        "plus its share of the client CPU divided by the vCPU share Lambda gives the function "
        "(memory ÷ 1,769 MB, at most one: the sweep is one Python thread).",
        "- **Wall time** is the longer of the segment time and the time the read-rate cap allows "
        "(read units ÷ cap), all segments running at once. Above the Lambda timeout, one invocation per "
        "segment is not enough and segment cursors must be handed on.",
        "- **Lambda GB-seconds** are segments × wall time × memory in GB (a segment held back by the cap is "
        "still billed); dollars add the price per invocation.",
        "- **Memory held.** The sweep keeps each member it finds inactive until its pass ends (the guard "
        "compares their count with the members read); per segment that is inactive members ÷ segments × the "
        "measured bytes per held member.",
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
        f"| Scan pages per sweep (per segment) | {_number(figures['pages'])} "
        f"({_number(figures['pages_per_segment'])}) |",
        f"| read units per sweep | {_number(figures['read_units_per_sweep'])} |",
        f"| DynamoDB reads per sweep | {_dollars(figures['read_dollars_per_sweep'])} |",
        f"| client CPU per sweep | {_number(figures['client_cpu_seconds'])} s |",
        f"| one segment: judging / reading | {_duration(figures['segment_compute_seconds'])} / "
        f"{_duration(figures['segment_read_seconds'])} |",
        f"| read rate, uncapped | {_number(figures['read_units_per_second_uncapped'])} read units/s"
        f"{' (above the cap: the cap sets the pace)' if figures['read_rate_capped'] else ''} |",
        f"| wall time with {inputs.parallel_segments} segments | {_duration(figures['wall_seconds'])} "
        f"({'fits' if figures['fits_one_invocation'] else 'does not fit'} one invocation per segment) |",
        f"| Lambda per sweep | {_number(figures['lambda_gb_seconds'])} GB-s, "
        f"{_dollars(figures['lambda_dollars_per_sweep'])} |",
        f"| **sweep per night (reads + Lambda)** | **{_dollars(figures['sweep_dollars'])}** |",
        f"| sweep per month | {_dollars(figures['sweep_dollars_per_month'])} |",
        f"| members inactive on the first night | {_number(figures['inactive_members'])} "
        f"({'under' if figures['guard_lets_first_night_through'] else 'ABOVE'} the MaxNoticeShare guard) |",
        f"| memory held per segment for them | {_number(figures['held_mib_per_segment'], 1)} MiB "
        f"({figures['held_share_of_lambda_memory']:.1%} of the function's memory) |",
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
        "## Segments",
        "",
        "The same inputs with other segment counts (the read units and their dollars do not change).",
        "",
        "| segments | segment time | wall time | fits one invocation | Lambda GB-s | Lambda $ | held per segment |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for count in SEGMENT_COUNTS_COMPARED:
        each = compute(replace(inputs, parallel_segments=count))
        lines.append(
            f"| {count} | {_duration(each['segment_compute_seconds'] + each['segment_read_seconds'])} | "
            f"{_duration(each['wall_seconds'])} | {'yes' if each['fits_one_invocation'] else 'no'} | "
            f"{_number(each['lambda_gb_seconds'])} | {_dollars(each['lambda_dollars_per_sweep'])} | "
            f"{_held(each)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    inputs, sources = measured_inputs()
    CAPACITY_DOCUMENT.write_text(render(inputs, sources, datetime.now(UTC).date().isoformat()), encoding="utf-8")
    figures = compute(inputs)
    print(
        f"wrote {CAPACITY_DOCUMENT.relative_to(PROJECT_ROOT)}: {_dollars(figures['sweep_dollars'])} per sweep, "
        f"{_duration(figures['wall_seconds'])} with {inputs.parallel_segments} segments"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
