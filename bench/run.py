"""The sweep at scale, measured on this machine in one run, every figure beside its baseline:

* client CPU seconds per million members of a whole sweep run against a moto server in another
  process (``start_sweep``, then ``sweep_segment`` for every queued task, with the real progress
  table and queue), in 1 and in 4 segments, beside PynamoDB's ``Model.scan`` of the whole table,
  beside the floor (raw signed Scans, only ``json.loads``) and beside the sweep's read path alone;
* read units per million members, that the sweep reads the table in exactly one pass, and its
  calls to the progress table and the queue per page;
* peak memory of the sweep's page processing for 10 thousand and 1 million members;
* cold-start import time of every handler, beside ``import boto3`` and one client;
* the local rehearsal's wall time per thousand members per simulated month, at 2,000, 8,000 and
  100,000 members (``BENCH_QUICK=1`` leaves out the 100,000), beside the same months with 1 member;
* a day of plays of 100,000 members through the inbound consumer: DynamoDB writes, write units
  and read units, beside one write per play and beside one conditional write per member of a
  batch (``bench.viewing_writes``);
* the first load (``python -m ops load``): members a second into the stack on the local cloud,
  beside one PutItem a member (``bench.first_load_speed``).

``python -m bench.run`` prints the figures and writes them to ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import PROJECT_ROOT, cold_start, first_load_speed, page_memory, rehearsal_speed, sweep_reads, viewing_writes
from bench.item_sizes import item_bytes, pages_of, scan_read_units
from bench.moto_process import moto_server
from bench.population_items import POPULATION_SEED, POPULATION_START, population_rows, table_items
from lifecycle.settings import SweepSettings

RESULTS_PATH = PROJECT_ROOT / "bench" / "results.json"
MILLION = 1_000_000
MEBIBYTE = 1024 * 1024
SWEEP_TIME = POPULATION_START + timedelta(hours=3)  # the schedule's 03:00 UTC on the population's first day
SEGMENT_COUNTS = (1, 4)  # the sweep's segments: 1 (the defaults at this size), then several
MEMORY_SIZES = [10_000, 1_000_000]
MEMORY_SIZES_EVERY_MEMBER = [10_000, 50_000]  # every member returned: tracemalloc makes this one slow
MEMORY_GROWTH_TARGET_BYTES = 10 * MEBIBYTE
REHEARSAL_SIZES, REHEARSAL_MONTHS = (2_000, 8_000, 100_000), 2
QUICK_ENV = "BENCH_QUICK"  # set (e.g. BENCH_QUICK=1 make bench): the rehearsal of 100,000 members is left out
VIEWING_MEMBERS = 100_000
FIRST_LOAD_MEMBERS = 20_000
TABLE_WIDTH = 132  # the table's natural width; narrower terminals wrap it


def per_million(value: float, members: int) -> float:
    return value / members * MILLION


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "architecture": platform.machine(),
    }


# ------------------------------------------------------------------ client CPU and read units
def measure_sweep_reads(activity_items: list[dict], repeats: int, console: Console) -> dict[str, Any]:
    """Client CPU of a whole sweep run (1 and several segments) beside the baseline and the floor,
    the sweep's read units, and its calls to the progress table and the queue, on moto_server."""
    policy = sweep_reads.BENCH_SETTINGS.policy
    members = len(activity_items)
    size_by_member = {item["member_id"]["S"]: item_bytes(item) for item in activity_items}
    with moto_server() as endpoint_url, sweep_reads.quiet_sweep_logs():
        console.log(f"moto_server at {endpoint_url} (own process): writing {members:,} members")
        sweep_reads.create_activity_table(sweep_reads.BENCH_SETTINGS.activity_table)
        sweep_reads.write_items(sweep_reads.BENCH_SETTINGS.activity_table, activity_items)
        sweep_reads.create_progress_table(sweep_reads.BENCH_SETTINGS.sweep.progress_table)
        queue_url = sweep_reads.create_queue(sweep_reads.QUEUE_NAME)
        settings = {
            count: sweep_reads.sweep_settings(
                queue_url, SweepSettings().members_per_segment if count == 1 else math.ceil(members / count)
            )
            for count in SEGMENT_COUNTS
        }
        scanner = sweep_reads.RawScan(endpoint_url, sweep_reads.BENCH_SETTINGS.activity_table)
        sweep_reads.warm_up(SWEEP_TIME, settings[1], scanner)
        runs: dict[int, list[sweep_reads.ReadPass]] = {}
        for count in SEGMENT_COUNTS:
            console.log(
                f"the whole sweep (start_sweep, then sweep_segment for each task), {count} segment(s), {repeats} runs"
            )
            runs[count] = []
            for repeat in range(repeats):
                run_id = f"bench-{count}-segments-{repeat}"
                run = sweep_reads.timed(
                    lambda count=count, run_id=run_id: sweep_reads.sweep_run(SWEEP_TIME, settings[count], run_id)
                )
                runs[count].append(sweep_reads.with_totals(run, settings[count], run_id))
        console.log("the sweep's read path alone (scan_page + judging, no progress table or queue), prefilter on/off")
        read_path = sweep_reads.timed(lambda: sweep_reads.sweep_read_path(SWEEP_TIME, policy))
        unfiltered = sweep_reads.timed(lambda: sweep_reads.sweep_read_path(SWEEP_TIME, policy, prefilter=False))
        console.log("baseline: PynamoDB MemberRecord.scan() of the whole table, plan in Python")
        baseline = sweep_reads.timed(lambda: sweep_reads.model_scan_baseline(SWEEP_TIME, policy))
        console.log("floor: raw signed Scan requests of the whole table, json.loads only")
        floor = sweep_reads.timed(lambda: sweep_reads.raw_scan_floor(scanner))
        for each in (run for count in SEGMENT_COUNTS for run in runs[count]):
            sweep_reads.check_one_whole_run(each, members, each.segments)
        ours = {count: sweep_reads.median_pass(runs[count]) for count in SEGMENT_COUNTS}
        for count in SEGMENT_COUNTS:
            if ours[count].segments != count:
                raise AssertionError(f"asked for {count} segments, the sweep made {ours[count].segments}")
        page_bytes = {count: sweep_reads.bytes_of_sweep_pages(ours[count], scanner, size_by_member) for count in ours}
        console.log(f"the sweep's calls to the progress table and the queue ({SEGMENT_COUNTS[-1]} segments, untimed)")
        calls, counted = sweep_reads.count_calls(
            lambda: sweep_reads.sweep_run(SWEEP_TIME, settings[SEGMENT_COUNTS[-1]], "bench-counted")
        )

    for name, run in (
        ("read path", read_path),
        ("unfiltered read path", unfiltered),
        ("baseline", baseline),
        ("floor", floor),
    ):
        if run.scanned != members:
            raise AssertionError(f"the {name} read {run.scanned} members of a table of {members}")
    single = ours[1]
    passes = single.scanned / members
    if passes != 1:
        raise AssertionError(f"the sweep read {single.scanned} members of a table of {members}: not one pass")
    prefilter_kept_them = baseline.acting_on <= single.returned_ids and read_path.acting_on == baseline.acting_on
    if any(ours[count].would_act != len(baseline.acting_on) for count in ours):
        prefilter_kept_them = False

    def cpu(run: sweep_reads.ReadPass, every: list[sweep_reads.ReadPass] | None = None) -> dict[str, Any]:
        return {
            "cpu_seconds": run.cpu_seconds,
            "cpu_seconds_per_million_members": per_million(run.cpu_seconds, members),
            "members_sent_to_client": run.returned,
            "cpu_seconds_of_each_run": [each.cpu_seconds for each in every or [run]],
        }

    def read(count: int) -> dict[str, Any]:
        sizes, run = page_bytes[count], ours[count]
        read_units = scan_read_units(sizes)
        return {
            "segments": count,
            "passes": run.scanned / members,
            "pages": len(sizes),
            "scanned_per_page": run.scanned_per_page,
            "segment_of_page": run.segment_of_page,
            "bytes_read": sum(sizes),
            "read_units": read_units,
            "read_units_per_million_members": per_million(read_units, members),
            "strongly_consistent_read_units_per_million_members": per_million(
                scan_read_units(sizes, eventually_consistent=False), members
            ),
        }

    sweep_cpu = {f"sweep_run_{count}_segments": cpu(ours[count], runs[count]) for count in SEGMENT_COUNTS}
    return {
        "members": members,
        "sweep_at": SWEEP_TIME.isoformat(),
        "page_size": SweepSettings().page_size,
        "cpu": {
            "sweep_run": sweep_cpu["sweep_run_1_segments"],
            **sweep_cpu,
            "read_path_alone": cpu(read_path),
            "read_path_prefilter_off": cpu(unfiltered),
            "model_scan_baseline": cpu(baseline),
            "raw_scan_floor": cpu(floor),
            **{
                f"ratio_{count}_segments_to_baseline": ours[count].cpu_seconds / baseline.cpu_seconds
                for count in SEGMENT_COUNTS
            },
            "ratio_sweep_to_baseline": single.cpu_seconds / baseline.cpu_seconds,
            "ratio_sweep_to_floor": single.cpu_seconds / floor.cpu_seconds,
            "ratio_sweep_to_read_path_alone": single.cpu_seconds / read_path.cpu_seconds,
            "ratio_prefilter_off_to_baseline": unfiltered.cpu_seconds / baseline.cpu_seconds,
        },
        "members_plan_acts_on": len(baseline.acting_on),
        "sweep_would_act_on": {str(count): ours[count].would_act for count in ours},
        "prefilter_kept_every_member_plan_acts_on": prefilter_kept_them,
        "returned_member_ids": sorted(single.returned_ids),
        "read": read(1),
        "read_by_segments": {str(count): read(count) for count in SEGMENT_COUNTS},
        "calls": {
            "segments": counted.segments,
            "pages": len(counted.scanned_per_page),
            "worker_turns": len(counted.reports),
            "by_operation": dict(sorted(calls.items())),
            "as_docs_capacity_counts_them": all(
                calls[name] == count
                for name, count in sweep_reads.progress_calls_by_design(
                    len(counted.scanned_per_page), len(counted.reports), counted.segments
                ).items()
            ),
        },
    }


def read_units_with_profiles_inline(activity_items: list[dict], member_data_items: list[dict]) -> dict[str, Any]:
    """The baseline of read units: the same members with their profiles, My List and preferences
    kept in the activity item (one table), scanned the same way in 1 MB pages."""
    profiles = {item["member_id"]["S"]: item["profiles"] for item in member_data_items}
    sizes = [item_bytes({**item, "profiles": profiles[item["member_id"]["S"]]}) for item in activity_items]
    read_units = scan_read_units(pages_of(sizes))
    return {
        "average_item_bytes": sum(sizes) / len(sizes),
        "read_units": read_units,
        "read_units_per_million_members": per_million(read_units, len(sizes)),
    }


# ------------------------------------------------------------------ memory, cold start, rehearsal
def measure_page_memory(
    activity_items: list[dict], returned_ids: set[str], average_item_bytes: float, console: Console
) -> dict[str, Any]:
    pool = page_memory.MemberPool.from_activity_items(activity_items, returned_ids)
    members_per_page = page_memory.members_per_page(average_item_bytes)
    settings = sweep_reads.BENCH_SETTINGS
    with sweep_reads.quiet_sweep_logs():
        console.log(f"page memory: pages as the prefilter returns them, {' and '.join(map(str, MEMORY_SIZES))} members")
        prefiltered = page_memory.measure_peaks(MEMORY_SIZES, pool, members_per_page, SWEEP_TIME, settings, False)
        console.log("page memory: every member returned (prefilter off)")
        every = page_memory.measure_peaks(MEMORY_SIZES_EVERY_MEMBER, pool, members_per_page, SWEEP_TIME, settings, True)
    small, large = prefiltered[0], prefiltered[-1]
    growth = large.sweep_peak_bytes - small.sweep_peak_bytes
    return {
        "members_per_page": prefiltered[0].members_per_page,
        "members_per_1mb_of_items": members_per_page,
        "prefiltered_pages": [asdict(peak) for peak in prefiltered],
        "every_member_pages": [asdict(peak) for peak in every],
        "sweep_growth_bytes": growth,
        "pages_only_growth_bytes": large.pages_only_peak_bytes - small.pages_only_peak_bytes,
        "growth_target_bytes": MEMORY_GROWTH_TARGET_BYTES,
        "growth_under_target": growth < MEMORY_GROWTH_TARGET_BYTES,
        # a worker holds one page at a time: its peak is that of the largest page, every member returned
        "worst_case_page_peak_bytes": max(peak.sweep_peak_bytes for peak in every),
    }


def measure_cold_starts(console: Console) -> dict[str, Any]:
    names = cold_start.handler_names()
    console.log(f"cold starts: {', '.join(names)} and boto3, {cold_start.RUNS} fresh interpreters each")
    baseline = cold_start.boto3_client_cold_start()
    handlers = [cold_start.handler_cold_start(name) for name in names]
    return {
        "runs_each": cold_start.RUNS,
        "baseline_boto3_import_and_client": asdict(baseline),
        "handlers": {start.name: asdict(start) for start in handlers},
    }


def measure_rehearsal(console: Console, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Each size's rehearsal, and the same months with 1 member (what the clock, schedules and
    sweeps cost whatever the population), in the same run."""
    console.log(f"local rehearsal: 1 member over {REHEARSAL_MONTHS} months (the baseline)")
    one_member = rehearsal_speed.time_rehearsal(1, REHEARSAL_MONTHS)
    runs = []
    for members in sizes:
        console.log(f"local rehearsal: {members:,} members over {REHEARSAL_MONTHS} months")
        campaign = rehearsal_speed.time_rehearsal(members, REHEARSAL_MONTHS)
        runs.append({"members": members, "months": campaign.months, "wall_seconds": campaign.wall_seconds,
                     "seconds_per_thousand_members_per_month": campaign.seconds_per_thousand_members_per_month})
    return {
        "runs": runs,
        "baseline_one_member_wall_seconds": one_member.wall_seconds,
        "baseline_one_member_seconds_per_month": one_member.wall_seconds / one_member.months,
    }


def measure_viewing_feed(members: int, console: Console) -> dict[str, Any]:
    console.log(f"viewing feed: a day of plays of {members:,} members through the inbound consumer")
    return viewing_writes.run(members, console.log)


def measure_first_load(members: int, console: Console) -> dict[str, Any]:
    console.log(f"first load: {members:,} members from MEMBERS.jsonl into the stack on the local cloud")
    return first_load_speed.measure(members)


# ------------------------------------------------------------------ the table
def _mib(size: float) -> str:
    return f"{size / MEBIBYTE:.2f} MB"


def _times(ratio: float) -> str:
    return f"{ratio:.3f}×"


def _segment_counts(cpu: dict[str, Any]) -> list[int]:
    return sorted(
        int(name.split("_")[2]) for name in cpu if name.startswith("sweep_run_") and name.endswith("_segments")
    )


def render(results: dict[str, Any], console: Console) -> None:
    reads, cpu = results["sweep_reads"], results["sweep_reads"]["cpu"]
    members = reads["members"]
    table = Table(title=f"The sweep at scale, one run on this machine ({results['date']})", show_lines=False)
    table.add_column("figure")
    table.add_column("ours", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("ours ÷ baseline", justify="right")

    def seconds(path: str) -> str:
        return f"{cpu[path]['cpu_seconds_per_million_members']:.2f} s"

    table.add_row(f"[bold]Client CPU s per million members, a whole sweep run[/] ({members:,}, moto_server)")
    for count in _segment_counts(cpu):
        table.add_row(
            f"  a) whole sweep run, {count} segment{'s' if count > 1 else ''} / b) PynamoDB Model.scan + plan",
            seconds(f"sweep_run_{count}_segments"),
            seconds("model_scan_baseline"),
            _times(cpu[f"ratio_{count}_segments_to_baseline"]),
        )
    table.add_row(
        "  a) whole sweep run, 1 segment / c) floor: raw Scan, json.loads only",
        seconds("sweep_run"),
        seconds("raw_scan_floor"),
        _times(cpu["ratio_sweep_to_floor"]),
    )
    table.add_row(
        "  a) whole sweep run, 1 segment / its read path alone (no progress table, no queue)",
        seconds("sweep_run"),
        seconds("read_path_alone"),
        _times(cpu["ratio_sweep_to_read_path_alone"]),
    )
    table.add_row(
        "  read path alone, prefilter off / b) PynamoDB Model.scan + plan",
        seconds("read_path_prefilter_off"),
        seconds("model_scan_baseline"),
        _times(cpu["ratio_prefilter_off_to_baseline"]),
    )
    read, inline = reads["read"], results["read_units_baseline_profiles_inline"]
    table.add_row(
        f"[bold]Read units per million members[/] (eventually consistent; pages ≤ {reads['page_size']:,} members, 1 MB)"
    )
    table.add_row(
        "  sweep (activity item only) / profiles kept in the activity item",
        f"{read['read_units_per_million_members']:,.0f}",
        f"{inline['read_units_per_million_members']:,.0f}",
        _times(read["read_units_per_million_members"] / inline["read_units_per_million_members"]),
    )
    table.add_row(
        "  average item bytes",
        f"{results['population']['average_activity_item_bytes']:.0f} B",
        f"{inline['average_item_bytes']:.0f} B",
        "",
    )
    for count, by_segments in reads["read_by_segments"].items():
        if count != "1":
            table.add_row(
                f"  sweep in {count} segments ({by_segments['pages']} pages) / profiles kept in the activity item",
                f"{by_segments['read_units_per_million_members']:,.0f}",
                f"{inline['read_units_per_million_members']:,.0f}",
                _times(by_segments["read_units_per_million_members"] / inline["read_units_per_million_members"]),
            )
    table.add_row(
        "  passes over the table (ScannedCount total ÷ table size), 1 / "
        + " / ".join(count for count in reads["read_by_segments"] if count != "1")
        + " segments",
        " / ".join(f"{each['passes']:.0f}" for each in reads["read_by_segments"].values()),
        "1",
        "",
    )
    calls = reads["calls"]
    table.add_row(
        f"[bold]Progress table and queue calls[/] ({calls['segments']} segments, {calls['pages']} pages, "
        f"{calls['worker_turns']} turns; capacity.py's count: "
        f"{'yes' if calls['as_docs_capacity_counts_them'] else '[red]NO[/]'})"
    )
    for service in ("dynamodb", "sqs"):
        table.add_row(
            f"  {service}: "
            + ", ".join(
                f"{name.split(':')[1]} {count}"
                for name, count in calls["by_operation"].items()
                if name.startswith(f"{service}:")
            )
        )
    memory = results["page_memory"]
    table.add_row("[bold]Peak memory of page processing[/] (tracemalloc; baseline: the pages alone)")
    for peak in memory["prefiltered_pages"]:
        table.add_row(
            f"  {peak['members']:,} members, pages as the prefilter returns them",
            _mib(peak["sweep_peak_bytes"]),
            _mib(peak["pages_only_peak_bytes"]),
            "",
        )
    first, last = memory["prefiltered_pages"][0]["members"], memory["prefiltered_pages"][-1]["members"]
    table.add_row(
        f"  growth {first:,} → {last:,} members (target under {_mib(memory['growth_target_bytes'])})",
        _mib(memory["sweep_growth_bytes"]),
        _mib(memory["pages_only_growth_bytes"]),
        "",
    )
    for peak in memory["every_member_pages"]:
        table.add_row(
            f"  {peak['members']:,} members, every member returned ({peak['members_per_page']:,} a page)",
            _mib(peak["sweep_peak_bytes"]),
            _mib(peak["pages_only_peak_bytes"]),
            "",
        )
    starts = results["cold_start"]
    boto3_start = starts["baseline_boto3_import_and_client"]["median_seconds"]
    table.add_row(f"[bold]Cold-start import[/] (median of {starts['runs_each']}; baseline: import boto3 + one client)")
    for name, start in starts["handlers"].items():
        table.add_row(
            f"  functions/{name}/app.py",
            f"{start['median_seconds'] * 1000:.0f} ms",
            f"{boto3_start * 1000:.0f} ms",
            _times(start["median_seconds"] / boto3_start),
        )
    rehearsal = results["rehearsal"]
    table.add_row("[bold]Local rehearsal[/] (wall; baseline: the same months with 1 member)")
    for run in rehearsal["runs"]:
        table.add_row(
            f"  s per 1,000 members per simulated month ({run['members']:,} members, {run['months']} months, "
            f"{run['wall_seconds']:.0f} s)",
            f"{run['seconds_per_thousand_members_per_month']:.2f} s",
            f"{rehearsal['baseline_one_member_seconds_per_month']:.1f} s/month",
            "",
        )
    feed = results.get("viewing_feed")
    if feed:
        ours, naive, coalesced = feed["ours"], feed["naive"], feed["coalesced_only"]
        table.add_row(
            f"[bold]A day of plays[/] ({feed['members']:,} members, {feed['viewers']:,} watching, "
            f"{feed['plays']:,} plays in {feed['batches']:,} batches of {feed['batch_size']}; "
            f"baseline: one write per play)"
        )
        for name, ours_value, baseline_value in (
            ("writes (done)", ours["writes"], naive["writes"]),
            ("write units (a refused write is paid too)", ours["write_units"], naive["write_units"]),
            ("read units", ours["read_units"], naive["read_units"]),
        ):
            table.add_row(f"  {name}", f"{ours_value:,.0f}", f"{baseline_value:,.0f}",
                          _times(ours_value / baseline_value) if baseline_value else "")
        table.add_row(
            "  write units / one conditional write per member of a batch (no read first)",
            f"{ours['write_units']:,.0f}", f"{coalesced['write_units']:,.0f}",
            _times(ours["write_units"] / coalesced["write_units"]),
        )
    first_load = results.get("first_load")
    if first_load:
        table.add_row(f"[bold]First load[/] ({first_load['members']:,} members, {first_load['with_profiles']:,} "
                      f"with profiles, every row checked first; local cloud; baseline: one PutItem a member)")
        table.add_row("  members a second", f"{first_load['members_per_second']:,.0f}",
                      f"{first_load['baseline_members_per_second']:,.0f}",
                      _times(first_load["members_per_second"] / first_load["baseline_members_per_second"]))
    console.print(table)
    console.print(
        "passes: "
        + ", ".join(f"{each['passes']:.0f} in {count} segment(s)" for count, each in reads["read_by_segments"].items())
    )
    console.print(
        f"prefilter returned {cpu['sweep_run']['members_sent_to_client']:,} of {members:,} members; "
        f"plan acts on {reads['members_plan_acts_on']:,} (the dry-run sweep would act on "
        f"{' / '.join(f'{n:,}' for n in reads['sweep_would_act_on'].values())}); the prefilter kept every one of them: "
        f"{'yes' if reads['prefilter_kept_every_member_plan_acts_on'] else '[red]NO[/]'}"
    )
    if not memory["growth_under_target"]:
        console.print("[red]page memory grew more than the target from 10 thousand to 1 million members[/]")


# ------------------------------------------------------------------ entry point
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000, help="members in the activity table (default 20000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of the sweep's read path (default 3)")
    parser.add_argument("--viewing-members", type=int, default=VIEWING_MEMBERS,
                        help=f"members whose day of plays is sent through the consumer (default {VIEWING_MEMBERS})")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the figures go (JSON)")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, TABLE_WIDTH))
    started = time.perf_counter()
    results: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine()}

    results["cold_start"] = measure_cold_starts(console)
    quick = bool(os.environ.get(QUICK_ENV))
    results["rehearsal"] = measure_rehearsal(console, REHEARSAL_SIZES[:-1] if quick else REHEARSAL_SIZES)
    results["viewing_feed"] = measure_viewing_feed(args.viewing_members, console)
    results["first_load"] = measure_first_load(FIRST_LOAD_MEMBERS, console)

    console.log(f"population: {args.members:,} synthetic members (seed {POPULATION_SEED})")
    activity_items, member_data_items = table_items(population_rows(args.members, POPULATION_SEED))
    average_item_bytes = sum(map(item_bytes, activity_items)) / len(activity_items)
    results["population"] = {
        "members": args.members,
        "seed": POPULATION_SEED,
        "first_day": POPULATION_START.isoformat(),
        "average_activity_item_bytes": average_item_bytes,
    }
    results["sweep_reads"] = measure_sweep_reads(activity_items, args.repeats, console)
    results["read_units_baseline_profiles_inline"] = read_units_with_profiles_inline(activity_items, member_data_items)
    returned_ids = set(results["sweep_reads"].pop("returned_member_ids"))
    results["page_memory"] = measure_page_memory(activity_items, returned_ids, average_item_bytes, console)
    results["wall_seconds_of_the_whole_run"] = time.perf_counter() - started

    render(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"written {args.output} in {results['wall_seconds_of_the_whole_run']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
