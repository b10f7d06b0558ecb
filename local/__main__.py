"""``python -m local <command>``: the local cloud for a person at a terminal.

Commands are plain functions listed in :data:`COMMANDS` (the one place a new one, such as a
campaign ``rehearse``, is registered): each has a function that adds its arguments to its
argparse sub-parser and a function that runs it and returns the exit code.

* ``serve``  - the stack on moto, the API on http://127.0.0.1:3000, the virtual clock kept at
  real time (schedules, TTL, streams every second) until Ctrl-C;
* ``emails`` - the latest emails a running ``serve`` sent, with their links.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
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
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="template parameter override (repeatable), e.g. --param Stage=dev")
    parser.add_argument("--port", type=int, default=3000, help="port of the API (default 3000; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address of the API and moto (default 127.0.0.1)")
    parser.add_argument("--moto-port", type=int, default=0, help="port of the moto server (default: a free one)")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template (default template.yaml)")
    parser.add_argument("--max-ttl-delay-hours", type=float, default=48.0,
                        help="how late DynamoDB TTL deletes expired items, at most (default 48, as AWS can be)")
    parser.add_argument("--seed", type=int, default=None, help="seed for generated secrets and TTL delays")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between clock/stream ticks (default 1)")


def serve(args: argparse.Namespace) -> int:
    from local.cloud import LocalCloud

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # one line per client otherwise
    overrides = parse_params(args.param)
    cloud = LocalCloud(datetime.now(UTC).replace(microsecond=0), template=args.template, seed=args.seed,
                       max_ttl_delay=timedelta(hours=args.max_ttl_delay_hours), host=args.host, port=args.moto_port)
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
        stack = cloud.deploy(overrides)
        print(f"API          {api_url}")
        for function in stack.functions.values():
            for event in function.api_events:
                auth = f"  [{event.authorizer}]" if event.authorizer else ""
                print(f"               {event.method:6} {event.path}  -> {function.logical_id}{auth}")
        print(f"moto         {cloud.endpoint_url}   (AWS_ENDPOINT_URL={cloud.endpoint_url})")
        print(f"tables       {', '.join(t.name for t in stack.tables.values())}")
        print(f"emails       python -m local emails --endpoint {cloud.endpoint_url}")
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


# ------------------------------------------------------------------------------ emails


def emails_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="moto endpoint printed by `serve` (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--last", type=int, default=10, help="how many of the latest emails (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def emails(args: argparse.Namespace) -> int:
    import boto3

    from local.cloud import CREDENTIALS
    from local.outbox import read_sent_emails
    from local.template import REGION

    if not args.endpoint:
        print("give --endpoint (the moto URL `python -m local serve` printed)", file=sys.stderr)
        return 2
    ses = boto3.client("ses", region_name=REGION, endpoint_url=args.endpoint,
                       aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    sent = read_sent_emails(args.endpoint, ses)[-args.last:] if args.last > 0 else []
    if args.json:
        print(json.dumps([{"id": m.message_id, "from": m.source, "to": m.recipients, "subject": m.subject,
                           "links": m.links, "text": m.text, "html": m.html} for m in sent], indent=2))
        return 0
    if not sent:
        print("no email sent yet")
    for message in sent:
        print(f"── {message.subject!r}  to {', '.join(message.recipients)}  from {message.source}")
        for link in message.links:
            print(f"   {link}")
    return 0


# ------------------------------------------------------------------------------ registry

COMMANDS: dict[str, Command] = {
    "serve": Command("run the stack locally with its API until Ctrl-C", serve_arguments, serve),
    "emails": Command("print the latest emails a running `serve` sent", emails_arguments, emails),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
