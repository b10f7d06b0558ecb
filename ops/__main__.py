"""``python -m ops <command>``: what an operator runs, on the local cloud or a deployed stack.

Commands are plain functions listed in :data:`COMMANDS` (the one place a new one is
registered): each has a function that adds its arguments to its argparse sub-parser and a
function that runs it and returns the exit code.

* ``serve``    - the stack on moto, the API on http://127.0.0.1:3000, the virtual clock kept at
  real time (schedules, TTL, streams every second) until Ctrl-C;
* ``emails``   - the latest emails a running ``serve`` sent, with their links;
* ``rehearse`` - a campaign on the operator's own members and actions, REPORT.json out;
* ``demo``     - the same on a synthetic population, with the funnel and an HTML report;
* ``load``     - the first load: members from JSONL or CSV into a stack's activity table;
* ``schemas``  - the inbound events' JSON Schemas, written to ``docs/events/``;
* ``report``   - the campaign report of a deployed stack (``--stack``);
* ``preview``  - tonight's sweep on a deployed stack, judged as a dry run, nothing written;
* ``guard``    - whether the sweep's guard holds notices, and why; ``release`` lifts it;
* ``notices``  - the pause button: ``pause``, ``resume``, ``status``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from local.template import DEFAULT_TEMPLATE, TemplateError


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param needs Name=Value, got {pair!r}")
        params[name] = value
    return params


# ------------------------------------------------------------------------------ serve


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override (repeatable), e.g. --param Stage=dev",
    )
    parser.add_argument("--port", type=int, default=3000, help="port of the API (default 3000; 0 picks a free one)")
    parser.add_argument("--members", type=Path, metavar="MEMBERS.jsonl",
                        help="members to load (the rehearsal's format), e.g. out/demo/members.jsonl")
    parser.add_argument("--sweep-now", action="store_true",
                        help="run the sweep once at start, so inactive members get their notice email right away")
    parser.add_argument("--host", default="127.0.0.1", help="address of the API and moto (default 127.0.0.1)")
    parser.add_argument("--moto-port", type=int, default=0, help="port of the moto server (default: a free one)")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template (default template.yaml)")
    parser.add_argument(
        "--max-ttl-delay-hours",
        type=float,
        default=48.0,
        help="how late DynamoDB TTL deletes expired items, at most (default 48, as AWS can be)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for generated secrets and TTL delays")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between clock/stream ticks (default 1)")


def serve(args: argparse.Namespace) -> int:
    from local.cloud import LocalCloud

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # one line per client otherwise
    overrides = parse_params(args.param)
    cloud = LocalCloud(
        datetime.now(UTC).replace(microsecond=0),
        template=args.template,
        seed=args.seed,
        max_ttl_delay=timedelta(hours=args.max_ttl_delay_hours),
        host=args.host,
        port=args.moto_port,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    # Ctrl-C or a TERM ends the loop between ticks, never in the middle of a handler (and works
    # even when a shell started us with SIGINT ignored)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    try:
        cloud.start()
        api_url = cloud.start_api(port=args.port, host=args.host)
        # links in emails should open this server unless told otherwise
        if "PublicBaseUrl" in cloud.template.parameter_definitions and "PublicBaseUrl" not in overrides:
            overrides["PublicBaseUrl"] = api_url
        # the app routes admit the local app role unless --param AppPrincipalArns=... says who
        overrides = {**cloud.app_parameters(overrides), **overrides}
        stack = cloud.deploy(overrides)
        if args.members:
            from ops.rehearsal import RehearsalInputError, load_members, read_members

            try:
                members = read_members(args.members)
            except RehearsalInputError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            load_members(cloud, members)
            print(f"members      {len(members):,} loaded from {args.members}")
        if args.sweep_now:
            from ops.sweep_runs import sweep_runs

            started = cloud.invoke("SweepFunction", {"job": "nightly-sweep"})
            cloud.settle()  # the segment workers take the queued tasks, notify sends the emails
            [run] = [run for run in sweep_runs(cloud) if run["run_id"] == started["run_id"]]
            print(f"sweep        {run['segments']} segment(s), {run['scanned']:,} members read, {run['actions']}")
        print(f"API          {api_url}")
        for function in stack.functions.values():
            for event in function.api_events:
                auth = f"  [{event.authorizer}]" if event.authorizer else ""
                print(f"               {event.method:6} {event.path}  -> {function.logical_id}{auth}")
        if any(event.authorizer == "AWS_IAM" for f in stack.functions.values() for event in f.api_events):
            print_app_credentials(cloud)
        print(f"moto         {cloud.endpoint_url}   (AWS_ENDPOINT_URL={cloud.endpoint_url})")
        print(f"tables       {', '.join(t.name for t in stack.tables.values())}")
        print(f"emails       python -m ops emails --endpoint {cloud.endpoint_url}")
        print(f"             curl {cloud.endpoint_url}/moto-api/data.json")
        print("virtual clock follows real time; Ctrl-C stops", flush=True)
        while not stop.wait(args.tick):
            try:
                cloud.advance_to(datetime.now(UTC))
            except Exception:  # keep serving; the error is in the log
                logging.getLogger("local.serve").exception("tick failed")
        print("\nstopping", flush=True)
    except TemplateError as exc:
        print(f"template: {exc}", file=sys.stderr)
        return 2
    finally:
        cloud.stop()
    return 0


def print_app_credentials(cloud) -> None:
    """How an app calls the AWS_IAM routes: SigV4 (service execute-api) with a session of the
    local app role, which the deployment admits unless AppPrincipalArns names others."""
    from local.cloud import APP_PRINCIPALS_PARAMETER, APP_ROLE_ARN, REGION

    admitted = cloud.parameters.get(APP_PRINCIPALS_PARAMETER)
    credentials = cloud.app_credentials()
    if admitted is None:  # a template without the parameter: the role's own policy decides
        note = "allowed execute-api:Invoke by its own policy"
    elif APP_ROLE_ARN in admitted:
        note = f"which {APP_PRINCIPALS_PARAMETER} admits"
    else:
        note = f"NOT admitted: {APP_PRINCIPALS_PARAMETER}={','.join(admitted) or '(empty)'}"
    print(f"apps         SigV4 (execute-api, {REGION}) as the role {APP_ROLE_ARN}, {note}; a 12-hour session:")
    print(f"             AWS_ACCESS_KEY_ID={credentials.access_key} AWS_SECRET_ACCESS_KEY={credentials.secret_key}")
    print(f"             AWS_SESSION_TOKEN={credentials.token}")
    print(f"             another: aws sts assume-role --endpoint-url {cloud.endpoint_url} --role-arn {APP_ROLE_ARN} "
          "--role-session-name app")


# ------------------------------------------------------------------------------ emails


def emails_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="moto endpoint printed by `serve` (default: $AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--last", type=int, default=10, help="how many of the latest emails (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def emails(args: argparse.Namespace) -> int:
    from local.outbox import read_sent_emails

    if not args.endpoint:
        print("give --endpoint (the moto URL `python -m ops serve` printed)", file=sys.stderr)
        return 2
    sent = read_sent_emails(args.endpoint)[-args.last :] if args.last > 0 else []
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": m.message_id,
                        "from": m.source,
                        "to": m.recipients,
                        "subject": m.subject,
                        "links": m.links,
                        "text": m.text,
                        "html": m.html,
                    }
                    for m in sent
                ],
                indent=2,
            )
        )
        return 0
    if not sent:
        print("no email sent yet")
    for message in sent:
        print(f"── {message.subject!r}  to {', '.join(message.recipients)}  from {message.source}")
        for link in message.links:
            print(f"   {link}")
    return 0


# ------------------------------------------------------------------------------ rehearse


def billing_ack(text: str) -> timedelta | None:
    if text.strip().lower() == "never":
        return None
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours or 'never'") from None
    if not 0 <= hours <= 24 * 366:
        raise argparse.ArgumentTypeError(f"{text} hours is not between 0 and a year")
    return timedelta(hours=hours)


def rehearse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--members", type=Path, required=True, metavar="MEMBERS.jsonl", help="the members, one JSON object a line"
    )
    parser.add_argument("--actions", type=Path, metavar="ACTIONS.jsonl", help="what members do, one JSON object a line")
    parser.add_argument("--start", required=True, metavar="ISO8601", help="when the rehearsal starts (UTC)")
    parser.add_argument("--end", required=True, metavar="ISO8601", help="when it ends (UTC)")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override (repeatable), like sam deploy --parameter-overrides",
    )
    parser.add_argument(
        "--ttl-delay-hours",
        type=float,
        default=48.0,
        help="how late DynamoDB TTL deletes expired items, at most (default 48)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for generated secrets and TTL delays")
    parser.add_argument("--report", type=Path, required=True, metavar="REPORT.json", help="where to write the report")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:RATE]",
        help="inject a fault (repeatable): duplicate-delivery, ses-throttle:R, lost-stream:R, crash:R",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", action="store_true",
                        help="stream every function's log lines and metrics here instead of to files")
    parser.add_argument(
        "--billing-ack",
        type=billing_ack,
        default=timedelta(hours=1),
        metavar="HOURS|never",
        help="billing confirms each cancellation and rejoin this many hours after it hears of it, or never (default 1)",
    )


def rehearse_command(args: argparse.Namespace) -> int:
    from local.faults import Faults
    from ops.rehearsal import RehearsalInputError, read_input, rehearse, write_report

    template = _template(args)
    try:
        plan = read_input(args.members, args.actions, args.start, args.end, parse_params(args.param), template)
        faults = Faults.parse(args.fault, seed=args.seed)
    except (RehearsalInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logs = _function_logs(args.report.parent / "logs", args.verbose)
    with _progress(plan.start, plan.end, args.quiet) as on_progress:
        report = rehearse(
            plan,
            template=template,
            ttl_delay_hours=args.ttl_delay_hours,
            seed=args.seed,
            on_progress=on_progress,
            faults=faults,
            billing_ack=args.billing_ack,
            function_logs=logs,
        )
    write_report(report, args.report)
    print(f"report: {args.report}")
    if logs:
        print(f"logs:   {logs} (a JSONL file a function, with the virtual time in each line)")
    return 0


def _function_logs(folder: Path, verbose: bool) -> Path | None:
    """Where the functions' log lines go: files in ``folder`` (None when ``verbose``: stdout).
    The local cloud's own notes go to ``local-cloud.log`` there too, or to stderr."""
    local_cloud = logging.getLogger("local")
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    local_cloud.addHandler(logging.FileHandler(folder / "local-cloud.log", mode="w", encoding="utf-8"))
    local_cloud.propagate = False
    return folder


def _template(args: argparse.Namespace):
    from local.template import Template

    return Template.load(getattr(args, "template", DEFAULT_TEMPLATE))


class _progress:
    """A rich progress bar over the rehearsal's virtual days (nothing when quiet)."""

    def __init__(self, start: datetime, end: datetime, quiet: bool):
        self.start, self.end, self.quiet = start, end, quiet

    def __enter__(self):
        if self.quiet:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]virtual time[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("days"),
            TimeElapsedColumn(),
            transient=False,
        )
        self.bar.start()
        days = max(1, (self.end - self.start).days)
        self.task = self.bar.add_task(f"{self.start:%Y-%m-%d}", total=days)
        return lambda now: self.bar.update(self.task, completed=(now - self.start).days, description=f"{now:%Y-%m-%d}")

    def __exit__(self, *exc: object) -> None:
        if not self.quiet:
            self.bar.stop()


# ------------------------------------------------------------------------------ demo


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=int, default=2000, help="population size (default 2000)")
    parser.add_argument("--months", type=int, default=14, help="virtual months to run (default 14)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the population and the cloud (default 7)")
    parser.add_argument("--start", default="2026-01-01T00:00:00Z", help="virtual start (default 2026-01-01)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="where to write files (default out/demo)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--verbose", action="store_true",
                        help="stream every function's log lines and metrics here instead of to files")


def demo(args: argparse.Namespace) -> int:
    import time

    from dateutil.relativedelta import relativedelta
    from rich.console import Console

    from ops.funnel import print_funnel
    from ops.population import generate, write_jsonl
    from ops.rehearsal import parse_time, read_input, rehearse, write_report
    from ops.report_html import write_report as write_html_report

    console = Console()
    started = time.perf_counter()
    start = parse_time(args.start, "--start")
    end = start + relativedelta(months=args.months)
    out: Path = args.out
    members, actions = generate(args.members, args.seed, start, args.months)
    write_jsonl(members, out / "members.jsonl")
    write_jsonl(actions, out / "actions.jsonl")
    console.print(
        f"[bold]{len(members):,} members[/], {len(actions):,} actions, "
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d} on the local cloud"
    )
    template = _template(args)
    plan = read_input(out / "members.jsonl", out / "actions.jsonl", args.start, _iso(end), {}, template)
    emails: list[tuple[str, str]] = []
    logs = _function_logs(out / "logs", args.verbose)

    with _progress(start, end, args.quiet) as on_progress:
        report = rehearse(
            plan,
            template=template,
            seed=args.seed,
            on_progress=on_progress,
            keep_emails=lambda mails: emails.extend(_write_emails(mails, members, out)),
            function_logs=logs,
        )
    write_report(report, out / "report.json")
    html = write_html_report(report, out, emails)
    print_funnel(report, console)
    print(  # plain: a path is never wrapped at the terminal's width, so it can be copied
        f"report   {html}\nemails   {out / 'emails'} ({len(emails)} files)\n"
        f"data     {out / 'report.json'}\n"
        + (f"logs     {logs}/*.jsonl (a file a function, in virtual time)\n" if logs else "")
        + f"took     {time.perf_counter() - started:.0f} s"
    )
    return 0


def _write_emails(mails: list, members: list[dict], out: Path) -> list[tuple[str, str]]:
    """Every email as the HTML file a mail client would show, named after its member and kind."""
    by_address = {member["email"]: member["member_id"] for member in members}
    folder = out / "emails"
    folder.mkdir(parents=True, exist_ok=True)
    written, seen = [], {}
    for mail in mails:
        member_id = next((by_address[a] for a in mail.to if a in by_address), "unknown")
        kind = mail.headers.get("X-Membership-Email", "email")
        seen[(member_id, kind)] = seen.get((member_id, kind), 0) + 1
        name = f"{member_id}-{kind}" + (f"-{seen[(member_id, kind)]}" if seen[(member_id, kind)] > 1 else "") + ".html"
        (folder / name).write_text(mail.html or "", encoding="utf-8")
        written.append((f"{member_id} {kind}", f"emails/{name}"))
    return written


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ registry

EVENT_SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"


def schemas_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=EVENT_SCHEMAS, help="folder (default: docs/events)")


TEMPLATE_SCHEMAS_BEGIN = "  # BEGIN inbound event schemas: `python -m ops schemas` writes this block"
TEMPLATE_SCHEMAS_END = "  # END inbound event schemas"


def registry_block() -> str:
    """The template's schema registry and one schema a kind, as YAML lines between the markers."""
    from lifecycle.inbound import SCHEMAS, registry_schema

    lines = [TEMPLATE_SCHEMAS_BEGIN,
             "  InboundEventSchemaRegistry:",
             "    Type: AWS::EventSchemas::Registry",
             "    Properties:",
             '      RegistryName: !Sub "membership-inbound-${Stage}"',
             "      Description: The events the business publishes on the inbound bus (docs/events/).",
             ""]
    for kind in SCHEMAS:
        content = json.dumps(registry_schema(kind), ensure_ascii=False)  # one line: docs/events/ is for reading
        lines += [f"  {kind}EventSchema:",
                  "    Type: AWS::EventSchemas::Schema",
                  "    Properties:",
                  "      RegistryName: !GetAtt InboundEventSchemaRegistry.RegistryName",
                  f"      SchemaName: {kind}",
                  "      Type: JSONSchemaDraft4",
                  "      Content: |",
                  *(f"        {line}" for line in content.splitlines()),
                  ""]
    return "\n".join([*lines, TEMPLATE_SCHEMAS_END])


def schemas(args: argparse.Namespace) -> int:
    """Writes each inbound event's JSON Schema, as the consumer validates it, one file a kind,
    and the same schemas into template.yaml's schema registry."""
    from lifecycle.inbound import SCHEMAS

    args.out.mkdir(parents=True, exist_ok=True)
    for kind, schema in SCHEMAS.items():
        (args.out / f"{kind}.schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        print(args.out / f"{kind}.schema.json")
    text = DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    start, end = text.index(TEMPLATE_SCHEMAS_BEGIN), text.index(TEMPLATE_SCHEMAS_END) + len(TEMPLATE_SCHEMAS_END)
    DEFAULT_TEMPLATE.write_text(text[:start] + registry_block() + text[end:], encoding="utf-8")
    print(f"{DEFAULT_TEMPLATE} (the schema registry)")
    return 0


# ------------------------------------------------------------------------------ load


def load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="MEMBERS.jsonl, or a .csv with the same fields as columns")
    parser.add_argument("--stack", help="the deployed stack: its ActivityTableName and MemberDataTableName outputs")
    parser.add_argument("--activity-table", help="the activity table's name (instead of --stack)")
    parser.add_argument("--member-data-table", help="the member-data table's name (instead of --stack)")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="another DynamoDB endpoint, e.g. the local cloud's moto (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--check-only", action="store_true", help="check every row and stop, writing nothing")


def load_command(args: argparse.Namespace) -> int:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ops.first_load import LoadError, Unprocessed, check, load
    from ops.rehearsal import RehearsalInputError
    from ops.stack_access import StackUnreadable, describe

    try:
        checked = check(args.file)  # once: load() is handed what it found
    except (LoadError, RehearsalInputError) as problem:
        print(problem, file=sys.stderr)
        return 2
    rows = checked[0]
    if args.check_only:
        print(f"{args.file}: {rows:,} members, every row good")
        return 0
    # botocore retries throttled requests itself (adaptive mode paces them); unprocessed items are ours
    config = Config(retries={"max_attempts": 10, "mode": "adaptive"})
    tables = (args.activity_table, args.member_data_table)
    if args.stack:
        try:
            tables = tuple(describe(args.stack, args.endpoint_url).output("ActivityTableName", "MemberDataTableName"))
        except StackUnreadable as problem:
            print(problem, file=sys.stderr)
            return 2
    if not all(tables):
        print("give --stack, or both --activity-table and --member-data-table", file=sys.stderr)
        return 2
    dynamodb = boto3.client("dynamodb", endpoint_url=args.endpoint_url, config=config)
    with Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"loading {args.file.name}", total=rows)
        try:
            summary = load(args.file, dynamodb, tables[0], tables[1], lambda done: bar.update(task, completed=done),
                           checked)
        except Unprocessed as problem:
            print(f"{problem}", file=sys.stderr)
            return 1
        except (BotoCoreError, ClientError) as problem:  # no credentials, no such table, no endpoint...
            print(f"DynamoDB refused the load: {problem} (run it again: it carries on from its checkpoint)",
                  file=sys.stderr)
            return 1
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


# ------------------------------------------------------------------------------ guard


def guard_arguments(parser: argparse.ArgumentParser) -> None:
    from ops.stack_access import endpoint_argument

    parser.add_argument("action", choices=["status", "release"],
                        help="status: whether the sweep's guard holds notices, and why; release: lift it")
    parser.add_argument("--stack", required=True, help="the deployed stack (its SweepProgressTableName output)")
    parser.add_argument("--by", help="who releases it (recorded with the release), e.g. your email address")
    endpoint_argument(parser)


def guard_command(args: argparse.Namespace) -> int:
    from lifecycle.clock import iso
    from lifecycle.errors import DeliveryFailed
    from lifecycle.settings import SweepSettings
    from lifecycle.sweep.progress import SweepProgress
    from ops.stack_access import StackUnreadable, describe, use_endpoint

    if args.action == "release" and not (args.by or "").strip():
        print("release needs --by: who checked the activity feed and releases the guard", file=sys.stderr)
        return 2
    try:
        [table] = describe(args.stack, args.endpoint_url).output("SweepProgressTableName")
    except StackUnreadable as problem:
        print(problem, file=sys.stderr)
        return 2
    use_endpoint(args.endpoint_url)
    progress = SweepProgress(SweepSettings(progress_table=table))
    try:
        state = progress.guard_state()
        if args.action == "release":
            released = progress.release_guard(args.by.strip(), datetime.now(UTC))
            print(f"released: the guard run {released.run_id} tripped; tonight's sweep opens notices again"
                  if released else "the guard is not held: nothing to release")
            return 0
    except DeliveryFailed as problem:
        print(f"cannot read the sweep's progress table {table}: {problem}", file=sys.stderr)
        return 1
    if state.latch:
        print(f"held: run {state.latch.run_id} tripped the guard at {iso(state.latch.at)}: {state.latch.reason}\n"
              "no notice opens until it is released (python -m ops guard release --stack ... --by ...)")
    else:
        released = f" (released by {state.released_by} at {iso(state.released_at)})" if state.released_at else ""
        print(f"not held{released}: notices open as the policy says")
    if state.baseline:
        print(f"baseline: run {state.baseline.run_id} read {state.baseline.scanned:,} members and left "
              f"{state.baseline.waiting:,} newly inactive waiting")
    return 0


# ------------------------------------------------------------------------------ report


def report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="the deployed stack: its tables are named by its outputs")
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="another AWS endpoint, e.g. the local cloud's moto (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write report.html")


def report_command(args: argparse.Namespace) -> int:
    from ops.stack_access import StackUnreadable
    from ops.stack_report import write_stack_report

    try:
        path = write_stack_report(args.stack, args.out, args.endpoint_url)
    except StackUnreadable as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


# ------------------------------------------------------------------------------ notices


def notices_arguments(parser: argparse.ArgumentParser) -> None:
    from ops.stack_access import endpoint_argument

    parser.add_argument("action", choices=["status", "pause", "resume"],
                        help="pause: no notice, reminder or cancellation for no answer from within a minute; "
                             "resume: the campaign goes on; status: which, since when")
    parser.add_argument("--stack", required=True, help="the deployed stack (its NoticesSwitchParameterName output)")
    endpoint_argument(parser)


def notices_command(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from lifecycle.switch import PAUSED, RUNNING
    from ops.stack_access import StackUnreadable, describe

    try:
        [name] = describe(args.stack, args.endpoint_url).output("NoticesSwitchParameterName")
    except StackUnreadable as problem:
        print(problem, file=sys.stderr)
        return 2
    ssm = boto3.client("ssm", endpoint_url=args.endpoint_url)
    try:
        if args.action != "status":
            ssm.put_parameter(Name=name, Value=PAUSED if args.action == "pause" else RUNNING, Type="String",
                              Overwrite=True)
        switch = ssm.get_parameter(Name=name)["Parameter"]
    except (BotoCoreError, ClientError) as problem:
        print(f"cannot {args.action} through the SSM parameter {name}: {problem}", file=sys.stderr)
        return 1
    since = switch["LastModifiedDate"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if switch["Value"] == PAUSED:
        print(f"paused since {since}: no notice, reminder or cancellation for no answer (within a minute of the "
              "pause); members' own answers, purges and billing go on")
    else:
        print(f"running since {since}: notices, reminders and cancellations as the policy says")
    return 0


# ------------------------------------------------------------------------------ preview


def preview_arguments(parser: argparse.ArgumentParser) -> None:
    from ops.stack_access import endpoint_argument

    parser.add_argument("--stack", required=True, help="the deployed stack")
    parser.add_argument("--at", metavar="ISO8601", help="judge as of this time (default: now)")
    endpoint_argument(parser)


def preview_command(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from lifecycle.errors import DeliveryFailed
    from lifecycle.settings import SettingsError
    from ops.preview import preview, summary_lines
    from ops.rehearsal import RehearsalInputError, parse_time
    from ops.stack_access import StackUnreadable, describe, use_endpoint

    try:
        at = parse_time(args.at, "--at") if args.at else datetime.now(UTC)
        stack = describe(args.stack, args.endpoint_url)
        use_endpoint(args.endpoint_url)
        found = preview(stack, at, boto3.client("ses", endpoint_url=args.endpoint_url))
    except (StackUnreadable, RehearsalInputError, SettingsError) as problem:
        print(problem, file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError, DeliveryFailed) as problem:
        print(f"cannot read the stack {args.stack}'s tables: {problem}", file=sys.stderr)
        return 1
    print("\n".join(summary_lines(found)))
    return 0


COMMANDS: dict[str, Command] = {
    "serve": Command("run the stack locally with its API until Ctrl-C", serve_arguments, serve),
    "guard": Command("whether the sweep's guard holds notices, and release it", guard_arguments, guard_command),
    "preview": Command("tonight's sweep on a deployed stack, judged as a dry run, nothing written",
                       preview_arguments, preview_command),
    "notices": Command("pause or resume the campaign's notices on a deployed stack", notices_arguments,
                       notices_command),
    "emails": Command("print the latest emails a running `serve` sent", emails_arguments, emails),
    "rehearse": Command(
        "rehearse a campaign: members and actions in, REPORT.json out", rehearse_arguments, rehearse_command
    ),
    "demo": Command("rehearse a synthetic campaign of a few thousand members over 14 months", demo_arguments, demo),
    "schemas": Command("write the inbound events' JSON Schemas (docs/events/)", schemas_arguments, schemas),
    "load": Command("load members from JSONL or CSV into the activity table (checked first, resumable)",
                    load_arguments, load_command),
    "report": Command("the campaign report of a deployed stack, as HTML (its tables and sweep runs read)",
                      report_arguments, report_command),
}


def main(argv: Sequence[str] | None = None) -> int:
    # handlers that publish no metric on an invocation make Powertools warn each time
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
