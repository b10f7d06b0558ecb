"""`python -m ops rehearse`: the contract operators and other tools rely on, run as they run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.template import Template
from ops.rehearsal import RehearsalInputError, read_input
from tests.real_world import MEMBER_IDS

ROOT = Path(__file__).parents[2]
START, END = "2026-05-31T12:00:00Z", "2026-09-15T00:00:00Z"


def member(member_id: str, **fields) -> dict:
    row = {
        "member_id": member_id,
        "email": f"{member_id}@members.example",
        "locale": "en-US",
        "joined_at": "2020-01-01T00:00:00Z",
        "last_watched_at": "2023-01-01T00:00:00Z",
        "status": "active",
        "monthly_price": "9.99",
        "currency": "USD",
        "profiles": [{"name": "Kim", "my_list": ["Dune"], "preferences": {"subtitles": "en"}}],
    }
    row.update(fields)
    return row


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def rehearse_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops", "rehearse", "--quiet", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def rehearse_members(tmp_path: Path, members: list, actions: list, *args: str) -> subprocess.CompletedProcess:
    """``rehearse`` on these members and actions, its report written to ``tmp_path/report.json``."""
    return rehearse_cli(
        tmp_path,
        "--members",
        str(write_jsonl(tmp_path / "members.jsonl", members)),
        "--actions",
        str(write_jsonl(tmp_path / "actions.jsonl", actions)),
        "--report",
        str(tmp_path / "report.json"),
        *args,
    )


@pytest.mark.slow
def test_a_rehearsal_reports_each_members_outcome_from_the_aws_side(tmp_path):
    # GIVEN seven inactive members who will each behave differently, one active and one not paying
    members = [
        member("m-keep", locale="fr-FR", currency="EUR", monthly_price="13.49"),
        member("m-cancel", locale="de-DE", currency="EUR"),
        member("m-open"),
        member("m-app"),
        member("m-watch"),
        member("m-back", locale="es-ES", currency="EUR", monthly_price="10.00"),
        member("m-silent", currency="GBP", locale="en-GB"),
        member("m-active", last_watched_at="2026-05-01T00:00:00Z"),
        member("m-free", monthly_price="0.00"),
    ]
    actions = [
        {"member_id": "m-keep", "at": "2026-06-03T18:00:00Z", "do": "keep"},
        {"member_id": "m-cancel", "at": "2026-06-04T09:30:00Z", "do": "cancel"},
        {"member_id": "m-open", "at": "2026-06-05T12:00:00Z", "do": "open"},
        {"member_id": "m-app", "at": "2026-06-06T20:00:00Z", "do": "app_keep"},
        {"member_id": "m-watch", "at": "2026-06-10T21:00:00Z", "do": "watch"},
        {"member_id": "m-back", "at": "2026-08-20T10:00:00Z", "do": "rejoin"},
        {"member_id": "m-active", "at": "2026-06-02T21:00:00Z", "do": "watch"},
    ]
    report_path = tmp_path / "report.json"
    # WHEN an operator rehearses the campaign over three and a half months
    run = rehearse_members(
        tmp_path, members, actions, "--start", START, "--end", END, "--param", "ReminderDaysBefore=5", "--seed", "3"
    )
    # THEN it succeeds and the report says what happened to each of them
    assert run.returncode == 0, run.stderr
    report = json.loads(report_path.read_text())
    assert report["params"]["ReminderDaysBefore"] == "5"
    rows = report["members"]
    outcome = {m: (rows[m]["status"], rows[m]["cancel_reason"], rows[m]["notice_outcome"]) for m in rows}
    assert outcome == {
        "m-keep": ("active", None, "kept"),
        "m-cancel": ("cancelled", "member_request", "cancelled_on_request"),
        "m-open": ("cancelled", "no_response", "cancelled_no_response"),
        "m-app": ("active", None, "kept"),
        "m-watch": ("active", None, "kept_by_watching"),
        "m-back": ("active", "no_response", "cancelled_no_response"),  # cancelled, then came back
        "m-silent": ("cancelled", "no_response", "cancelled_no_response"),
        "m-active": ("active", None, None),
        "m-free": ("active", None, None),
    }
    # AND emails are read back from SES with their kind, time and language
    kinds = {m: [e["kind"] for e in rows[m]["emails"]] for m in rows}
    assert kinds["m-silent"] == ["notice", "reminder", "cancelled"]
    assert kinds["m-keep"] == ["notice"] and kinds["m-active"] == [] and kinds["m-free"] == []
    assert rows["m-keep"]["emails"][0] == {
        "kind": "notice",
        "at": "2026-06-01T03:00:00Z",
        "lang": "fr",
        "subject": rows["m-keep"]["emails"][0]["subject"],
    }
    assert rows["m-cancel"]["billing_stopped_at"] == "2026-06-04T09:30:00Z"
    # AND the terminal shows a few lines: every function's log lines and metrics are in a JSONL
    # file a function beside the report, each line stamped with the campaign's virtual time
    assert len(run.stdout.splitlines()) == 2 and "{" not in run.stdout, run.stdout
    logs = {path.stem: [json.loads(line) for line in path.read_text().splitlines()]
            for path in (tmp_path / "logs").glob("*.jsonl")}
    assert {"SweepFunction", "SweepSegmentFunction", "NotifyFunction", "MemberApiFunction"} <= logs.keys()
    assert all(START <= line["virtual_time"] <= END for lines in logs.values() for line in lines)
    opened = [line for line in logs["SweepSegmentFunction"] if line.get("message") == "notice opened"]
    assert sorted(line["member_id"] for line in opened) == sorted(m for m in rows if m not in ("m-active", "m-free"))
    assert {line["virtual_time"] for line in opened} == {"2026-06-01T03:00:00Z"}
    assert any("MembersScanned" in line for line in logs["SweepSegmentFunction"])  # the metric blobs too
    assert [e["billing"] for e in rows["m-back"]["billing_events"]] == ["stop", "resume"]
    # AND what members made is kept for the cancelled and the rejoined
    assert rows["m-back"]["profiles"][0]["my_list"] == ["Dune"]
    assert rows["m-silent"]["profiles"] is not None and rows["m-silent"]["purged_at"] is None
    # AND the summary counts outcomes and the money no longer charged each month
    summary = report["summary"]
    assert summary["noticed"] == 7
    assert summary["cancelled_no_response"] == 3 and summary["cancelled_on_request"] == 1
    assert summary["monthly_savings"] == {"EUR": "9.99", "GBP": "9.99", "USD": "9.99"}
    # AND billing (played by the rehearsal, an hour after each event) confirmed every cancellation and the rejoin
    assert rows["m-cancel"]["billing_confirmed_at"] == "2026-06-04T10:30:00Z"
    assert rows["m-back"]["billing_confirmed_at"] == "2026-08-20T11:00:00Z"
    assert summary["billing_unconfirmed"] == 0


@pytest.mark.slow
def test_members_of_every_id_shape_get_what_they_chose_in_their_email_or_app(tmp_path):
    # GIVEN inactive members whose ids take every real shape, at plain and Unicode domains,
    # who will keep (in the email or the app) or cancel, in turn
    domains = ("mail.example", "bücher.example")
    members = [member(m, email=f"member{n}@{domains[n % 2]}") for n, m in enumerate(MEMBER_IDS)]
    chosen = {m: ("keep", "cancel", "app_keep")[n % 3] for n, m in enumerate(MEMBER_IDS)}
    actions = [{"member_id": m, "at": "2026-06-03T18:00:00Z", "do": do} for m, do in chosen.items()]
    report_path = tmp_path / "report.json"
    # WHEN the campaign is rehearsed past the deadline, each member choosing as they chose
    run = rehearse_members(tmp_path, members, actions, "--start", START, "--end", "2026-07-10T00:00:00Z")
    # THEN every member got the outcome they chose: nobody who said "keep" was cancelled
    assert run.returncode == 0, run.stderr
    report = json.loads(report_path.read_text())
    rows = report["members"]
    outcome = {m: (rows[m]["status"], rows[m]["notice_outcome"]) for m in MEMBER_IDS}
    assert outcome == {
        m: ("cancelled", "cancelled_on_request") if do == "cancel" else ("active", "kept") for m, do in chosen.items()
    }
    # AND each found their notice in their own mailbox, and every click and app call was answered
    assert all([email["kind"] for email in rows[m]["emails"]][:1] == ["notice"] for m in MEMBER_IDS)
    assert report["summary"]["noticed"] == len(MEMBER_IDS)
    assert {action.rpartition(":")[2] for action in report["summary"]["actions"]} == {"200"}


@pytest.mark.parametrize(
    ("members", "actions", "params", "message"),
    [
        ([member("m-1"), "{not json"], [], [], "members.jsonl:2: not valid JSON"),
        (
            [member("m-1", joined_at="2020-01-01T00:00:00")],
            [],
            [],
            "members.jsonl:1: field joined_at: '2020-01-01T00:00:00' has no time zone",
        ),
        ([member("m-1", status="paused")], [], [], "members.jsonl:1: field status: expected one of active, cancelled"),
        ([member("m-1", paid_until="end of June")], [], [], "members.jsonl:1: field paid_until"),
        ([member("m-1", time_zone="Europe/Atlantis")], [], [],
         "members.jsonl:1: field time_zone: 'Europe/Atlantis' is not an IANA time zone"),
        ([member("\r\n")], [], [], "members.jsonl:1: field member_id: expected a non-empty string, got '\\r\\n'"),
        ([member("m-1", monthly_price="free")], [], [], "members.jsonl:1: field monthly_price"),
        ([member("m-1"), member("m-1")], [], [], "members.jsonl:2: field member_id: 'm-1' appears twice"),
        ([member("m-1", email=None)], [], [], "members.jsonl:1: field email"),
        ([member("m-1", email="jane.doe.example.com")], [], [], "members.jsonl:1: field email: 'jane.doe.example.com'"),
        ([member("m-1"), member("m-2", email="jane@@example.com")], [], [], "members.jsonl:2: field email"),
        ([member("m-1", email="jane..doe@example.com")], [], [], "members.jsonl:1: field email"),
        ([member("m-1", email="jane@example")], [], [], "members.jsonl:1: field email"),
        ([member("m-1", email="jane doe@example.com")], [], [], "members.jsonl:1: field email"),
        ([member("x" * 2049)], [], [], "members.jsonl:1: field member_id: longer than DynamoDB's 2048 bytes"),
        (
            [member("m-1", profiles=[{"name": "A", "my_list": "Dune"}])],
            [],
            [],
            "members.jsonl:1: field profiles[0].my_list",
        ),
        (
            [member("m-1")],
            [{"member_id": "m-2", "at": "2026-06-01T00:00:00Z", "do": "keep"}],
            [],
            "actions.jsonl:1: field member_id: 'm-2' is not in the members file",
        ),
        (
            [member("m-1")],
            [{"member_id": "m-1", "at": "2026-06-01T00:00:00Z", "do": "dance"}],
            [],
            "actions.jsonl:1: field do: expected one of watch, open, keep, cancel, app_keep, rejoin",
        ),
        (
            [member("m-1")],
            [{"member_id": "m-1", "at": "2030-01-01T00:00:00Z", "do": "keep"}],
            [],
            "actions.jsonl:1: field at: 2030-01-01T00:00:00Z is outside the rehearsal",
        ),
        ([member("m-1")], [], ["NoSuchParameter=1"], "--param"),
        ([member("m-1")], [], ["ResponseWindowDays=soon"], "ResponseWindowDays"),
    ],
)
def test_bad_input_names_the_file_line_and_field_before_anything_runs(tmp_path, members, actions, params, message):
    # GIVEN input with one mistake
    members_path = write_jsonl(tmp_path / "members.jsonl", members)
    actions_path = write_jsonl(tmp_path / "actions.jsonl", actions)
    # WHEN it is read
    with pytest.raises(RehearsalInputError) as problem:
        read_input(members_path, actions_path, START, END, dict(p.split("=", 1) for p in params), Template.load())
    # THEN the message points at the mistake
    assert message in str(problem.value)


def test_the_command_refuses_bad_input_with_exit_code_2_and_writes_no_report(tmp_path):
    members_path = write_jsonl(tmp_path / "members.jsonl", [member("m-1"), "[1, 2]"])
    run = rehearse_cli(
        tmp_path,
        "--members",
        str(members_path),
        "--start",
        START,
        "--end",
        END,
        "--report",
        str(tmp_path / "report.json"),
    )
    assert run.returncode == 2
    assert "members.jsonl:2: expected a JSON object, got list" in run.stderr
    assert not (tmp_path / "report.json").exists()


def test_a_billing_side_that_never_answers_leaves_every_cancellation_unconfirmed_and_published_again(tmp_path):
    # GIVEN two silent members, one cancelled before the rehearsal, and a billing side that never confirms
    report_path = tmp_path / "report.json"
    before = member("m-left-before", status="cancelled")
    run = rehearse_members(tmp_path, [member("m-silent"), member("m-too"), before], [], "--start", START,
                           "--end", "2026-07-08T00:00:00Z", "--billing-ack", "never")
    # THEN both are cancelled, unconfirmed, and their cancellation was published again each night after a day
    assert run.returncode == 0, run.stderr
    report = json.loads(report_path.read_text())
    assert report["summary"]["billing_unconfirmed"] == 2  # the member who left before was never the product's to tell
    assert report["members"].pop("m-left-before")["billing_events"] == []
    for row in report["members"].values():
        assert (row["status"], row["billing_confirmed_at"]) == ("cancelled", None)
        assert len(row["billing_events"]) > 1 and {e["billing"] for e in row["billing_events"]} == {"stop"}


def test_verbose_streams_the_functions_log_lines_instead_of_writing_files(tmp_path):
    # WHEN an operator rehearses one night with --verbose
    run = rehearse_members(tmp_path, [member("m-1")], [], "--start", START, "--end", "2026-06-01T06:00:00Z",
                           "--verbose")
    # THEN the functions' JSON log lines are printed as they happen, and no log file is written
    assert run.returncode == 0, run.stderr
    printed = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert any(line.get("message") == "notice opened" and line["member_id"] == "m-1" for line in printed)
    assert not (tmp_path / "logs").exists()


def test_the_billing_delay_must_be_hours_or_never(tmp_path):
    run = rehearse_members(tmp_path, [member("m-1")], [], "--start", START, "--end", END, "--billing-ack", "soon")
    assert run.returncode == 2 and "'soon' is not a number of hours or 'never'" in run.stderr
    assert not (tmp_path / "report.json").exists()


@pytest.mark.slow
def test_the_business_joins_changes_cancels_rejoins_and_plays_through_the_inbound_bus(tmp_path):
    # GIVEN two inactive members, and what the business's own systems send during the campaign
    members = [member("m-plays"), member("m-leaves", locale="fr-FR", currency="EUR")]
    new = {**member("cus_NffrFeUfNV2Hib", locale="de-AT", currency="EUR", monthly_price="12.99"),
           "joined_at": "2026-06-02T08:00:00Z", "last_watched_at": None}
    del new["status"]
    actions = [
        {"member_id": "cus_NffrFeUfNV2Hib", "at": "2026-06-02T08:00:00Z", "do": "join", "member": new},
        {"member_id": "cus_NffrFeUfNV2Hib", "at": "2026-06-09T10:00:00Z", "do": "change",
         "fields": {"monthly_price": "14.99", "locale": "de-DE"}},
        {"member_id": "m-plays", "at": "2026-06-05T21:00:00Z", "do": "play"},
        {"member_id": "m-leaves", "at": "2026-06-06T12:00:00Z", "do": "cancel_elsewhere"},
        {"member_id": "m-leaves", "at": "2026-06-20T12:00:00Z", "do": "rejoin_elsewhere"},
    ]
    run = rehearse_members(tmp_path, members, actions, "--start", START, "--end", "2026-07-10T00:00:00Z")
    # THEN each went through the inbound bus and shows in the report
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    rows = report["members"]
    assert (rows["cus_NffrFeUfNV2Hib"]["status"], rows["cus_NffrFeUfNV2Hib"]["monthly_price"]) == ("active", "14.99")
    assert (rows["m-plays"]["notice_outcome"], rows["m-plays"]["last_watched_at"]) == (
        "kept_by_watching", "2026-06-05T21:00:00Z")
    assert (rows["m-leaves"]["status"], rows["m-leaves"]["cancel_reason"], rows["m-leaves"]["rejoined_at"]) == (
        "active", "elsewhere", "2026-06-20T12:00:00Z")
    assert [e["kind"] for e in rows["m-leaves"]["emails"]] == ["notice"] and rows["m-leaves"]["billing_events"] == []
    assert report["summary"]["actions"] == {"cancel_elsewhere:sent": 1, "change:sent": 1, "join:sent": 1,
                                            "play:sent": 1, "rejoin_elsewhere:sent": 1}


def test_a_business_action_must_say_what_it_carries(tmp_path):
    change = {"member_id": "m-1", "at": "2026-06-09T10:00:00Z", "do": "change", "fields": {"plan": "x"}}
    run = rehearse_members(tmp_path, [member("m-1")], [change], "--start", START, "--end", END)
    assert run.returncode == 2 and "field fields: expected an object of email, locale, monthly_price" in run.stderr
    run = rehearse_members(tmp_path, [member("m-1")],
                           [{"member_id": "m-1", "at": "2026-06-09T10:00:00Z", "do": "join", "member": member("m-1")}],
                           "--start", START, "--end", END)
    assert run.returncode == 2 and "must be the new member's own id, and not one of the members file" in run.stderr

