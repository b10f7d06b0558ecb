"""The sweep's guards against mass mistakes: a broken activity feed, a dry run, paced volume, a
member item it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ops.__main__ import main
from tests.stack import FIRST_SWEEP


def redeploy(stack, **params: str) -> None:
    api_url = stack.cloud.api_url
    stack.cloud.deploy({"Stage": "test", "ServiceName": "Streamly", "PublicBaseUrl": api_url, **params})


def add_members(stack, count: int, inactive: int) -> None:
    stack.add_members(
        {"member_id": f"m-{n:03d}", "joined_at": datetime(2020, 1, 1, tzinfo=UTC),
         "last_watched_at": datetime(2023, 1, 1, tzinfo=UTC) if n < inactive else datetime(2026, 5, 1, tzinfo=UTC)}
        for n in range(count))


def sweep_results(stack) -> list[dict]:
    return stack.sweep_runs()


def guard(stack, capsys, *args: str) -> tuple[int, str]:
    """`python -m ops guard ...` against the stack, as an operator runs it."""
    name = stack.as_deployed_stack()
    capsys.readouterr()  # what the functions printed until now
    code = main(["guard", *args, "--stack", name])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def test_a_first_nights_backlog_is_no_broken_feed(stack):
    # GIVEN 200 members of whom 60 have not watched for years (30%): the backlog a business
    # has on its first night, with the guard applying from 20 members
    redeploy(stack, GuardMinNotices="20")
    add_members(stack, 200, inactive=60)
    # WHEN the first nightly sweep runs
    stack.run_until(FIRST_SWEEP)
    # THEN every one of them is noticed
    [result] = sweep_results(stack)
    assert result["guard_tripped"] is False and result["guard_reason"] is None
    assert result["actions"] == {"open_notice": 60}
    assert len(stack.cloud.sent_emails()) == 60


def test_a_load_that_makes_most_members_inactive_opens_no_notice_and_holds_until_released(stack, capsys):
    # GIVEN 200 members: 10 truly inactive, and a broken load that makes 140 more look so (75%)
    redeploy(stack, GuardMinNotices="20")
    add_members(stack, 200, inactive=150)
    # WHEN the nightly sweep runs
    stack.run_until(FIRST_SWEEP)
    # THEN it opens no notice, sends nothing, and its totals say why
    [first] = sweep_results(stack)
    assert first["guard_tripped"] is True and (first["inactive_found"], first["scanned"]) == (150, 200)
    assert first["guard_reason"].startswith("implausible share: 150 of 200 members read look newly inactive")
    assert stack.cloud.sent_emails() == []
    assert all(stack.lifecycle(f"m-{n:03d}") == {} for n in range(150))
    # AND the guard holds the next night too, saying since when, and the operator can see it
    stack.run_until(FIRST_SWEEP + timedelta(days=1))
    second = sweep_results(stack)[1]
    assert second["guard_tripped"] is True and second.get("actions", {}).get("open_notice", 0) == 0
    assert second["guard_reason"].startswith("held since run 2026-06-01T03:00:00Z tripped the guard (implausible")
    code, printed = guard(stack, capsys, "status")
    assert code == 0 and printed.startswith("held: run 2026-06-01T03:00:00Z tripped the guard at 2026-06-01T03:00:00Z")
    # WHEN the operator fixes the load and releases the guard
    for n in range(10, 150):
        stack.add_member(f"m-{n:03d}", joined_at=datetime(2020, 1, 1, tzinfo=UTC),
                         last_watched_at=datetime(2026, 5, 1, tzinfo=UTC))
    assert guard(stack, capsys, "release") == (2, "release needs --by: who checked the activity feed and "
                                                   "releases the guard\n")
    code, printed = guard(stack, capsys, "release", "--by", "ops@streamly.example")
    assert code == 0 and printed.startswith("released: the guard run 2026-06-01T03:00:00Z tripped")
    assert guard(stack, capsys, "release", "--by", "ops@streamly.example") == (
        0, "the guard is not held: nothing to release\n")  # twice is safe
    # THEN the next night notices the 10 truly inactive members, and nobody else
    stack.run_until(FIRST_SWEEP + timedelta(days=2))
    third = sweep_results(stack)[2]
    assert third["guard_tripped"] is False and third["actions"] == {"open_notice": 10}
    assert sorted(m.to[0] for m in stack.cloud.sent_emails()) == sorted(
        stack.member(f"m-{n:03d}")["email"] for n in range(10))
    code, printed = guard(stack, capsys, "status")
    assert printed.startswith("not held (released by ops@streamly.example at ")


def test_activity_that_vanished_since_the_last_run_trips_the_guard_though_the_share_is_small(stack, capsys):
    # GIVEN 400 members of whom 4 are inactive, noticed on an ordinary first night
    redeploy(stack, GuardMinNotices="20")
    add_members(stack, 400, inactive=4)
    stack.run_until(FIRST_SWEEP)
    assert sweep_results(stack)[0]["actions"] == {"open_notice": 4}
    # WHEN a bad load drops the recorded viewing of 40 members who watch (10%: a plausible share)
    for n in range(100, 140):
        stack.add_member(f"m-{n:03d}", joined_at=datetime(2020, 1, 1, tzinfo=UTC), last_watched_at=None)
    stack.run_until(FIRST_SWEEP + timedelta(days=1))
    # THEN the next night opens none of their notices, and says why
    second = sweep_results(stack)[1]
    assert second["guard_tripped"] is True and second.get("actions", {}).get("open_notice", 0) == 0
    assert second["guard_reason"].startswith(
        "activity moved backwards or vanished: 40 of 400 members read look inactive since before the last run "
        "(2026-06-01T03:00:00Z), which left about 0 of them waiting")
    assert all(stack.lifecycle(f"m-{n:03d}") == {} for n in range(100, 140))
    assert guard(stack, capsys, "status")[1].startswith("held: run 2026-06-02T03:00:00Z")


def test_notices_deferred_by_the_cap_are_backlog_not_a_broken_feed(stack):
    # GIVEN 200 members of whom 60 are inactive, at most 20 notices a night
    redeploy(stack, GuardMinNotices="20", MaxNoticesPerRun="20")
    add_members(stack, 200, inactive=60)
    # WHEN three nights pass
    stack.run_until(FIRST_SWEEP + timedelta(days=2))
    # THEN each opens 20, the deferred ones counting as what the last run left waiting
    runs = sweep_results(stack)
    assert [(r["actions"].get("open_notice", 0), r["deferred"], r["guard_tripped"]) for r in runs] == [
        (20, 40, False), (20, 20, False), (20, 0, False)]


def test_a_normal_share_of_inactive_members_passes_the_guard(stack):
    # GIVEN 200 members of whom 1 is inactive, with the guard applying from 1 notice
    redeploy(stack, GuardMinNotices="1")
    add_members(stack, 200, inactive=1)
    stack.run_until(FIRST_SWEEP)
    [result] = sweep_results(stack)
    assert result["guard_tripped"] is False and result["actions"] == {"open_notice": 1}
    assert len(stack.cloud.sent_emails()) == 1


def test_a_dry_run_reports_what_would_happen_and_changes_nothing(stack):
    redeploy(stack, DryRun="true")
    add_members(stack, 10, inactive=3)
    before = {f"m-{n:03d}": stack.member(f"m-{n:03d}") for n in range(10)}
    stack.run_until(FIRST_SWEEP)
    [result] = sweep_results(stack)
    assert result["dry_run"] is True and result["actions"] == {"open_notice": 3}
    assert {member_id: stack.member(member_id) for member_id in before} == before
    assert stack.cloud.sent_emails() == [] and stack.bus() == []


def test_a_dry_run_says_the_guard_would_trip_but_holds_nothing(stack, capsys):
    # GIVEN a dry run over a load that makes 75% of the members look inactive
    redeploy(stack, DryRun="true", GuardMinNotices="20")
    add_members(stack, 200, inactive=150)
    stack.run_until(FIRST_SWEEP)
    # THEN its totals say the guard would trip, and nothing is held for the real runs
    [result] = sweep_results(stack)
    assert result["dry_run"] is True and result["guard_reason"].startswith("implausible share")
    code, printed = guard(stack, capsys, "status")
    assert code == 0 and printed == "not held: notices open as the policy says\n"


def test_max_notices_per_run_paces_notices_longest_inactive_first(stack):
    # GIVEN five inactive members, the longest silent being m-004, and at most two notices a night
    redeploy(stack, MaxNoticesPerRun="2")
    for n in range(5):
        stack.add_member(
            f"m-{n:03d}",
            joined_at=datetime(2020, 1, 1, tzinfo=UTC),
            last_watched_at=datetime(2023, 1, 1, tzinfo=UTC) - timedelta(days=30 * n),
        )
    # WHEN three nights pass
    stack.run_until(FIRST_SWEEP + timedelta(days=2))
    # THEN two, two, then one notice went out, oldest silence first
    assert [r["actions"].get("open_notice", 0) for r in sweep_results(stack)] == [2, 2, 1]
    assert [r["deferred"] for r in sweep_results(stack)] == [3, 1, 0]
    first_night = {
        m
        for m in (f"m-{n:03d}" for n in range(5))
        if stack.lifecycle(m)["notice"]["opened_at"] == "2026-06-01T03:00:00Z"
    }
    assert first_night == {"m-004", "m-003"}


def test_the_sweep_skips_counts_and_logs_a_member_it_cannot_read_and_goes_on(stack, caplog):
    # GIVEN an inactive member, and member items the policy cannot read
    stack.add_inactive_member("m-fine")
    client = stack.cloud.client("dynamodb")
    table = stack.cloud.table_name("ActivityTable")
    client.put_item(
        TableName=table,
        Item={
            "member_id": {"S": "m-no-join-date"},
            "status": {"S": "active"},
            "last_watched_at": {"S": "2020-01-01T00:00:00Z"},
        },
    )
    client.put_item(
        TableName=table,
        Item={
            "member_id": {"S": "m-bad-date"},
            "status": {"S": "active"},
            "joined_at": {"S": "last spring"},
            "last_watched_at": {"S": "2020-01-01T00:00:00Z"},
        },
    )
    # WHEN the sweep runs
    stack.run_until(FIRST_SWEEP)
    # THEN the readable member got a notice, the others were skipped, counted and logged
    [result] = stack.sweep_runs()
    assert result["malformed"] == 2 and result["actions"] == {"open_notice": 1}
    assert "notice_id" in stack.member("m-fine")
    problems = [getattr(r, "problem", "") for r in caplog.records if r.getMessage() == "malformed member skipped"]
    assert any("joined_at" in problem for problem in problems)
