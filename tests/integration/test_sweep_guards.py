"""The sweep's guards against mass mistakes: a broken activity feed, a dry run, paced volume, a
member item it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.stack import FIRST_SWEEP


def redeploy(stack, **params: str) -> None:
    api_url = stack.cloud.api_url
    stack.cloud.deploy({"Stage": "test", "ServiceName": "Streamly", "PublicBaseUrl": api_url, **params})


def add_members(stack, count: int, inactive: int) -> None:
    for n in range(count):
        watched = datetime(2023, 1, 1, tzinfo=UTC) if n < inactive else datetime(2026, 5, 1, tzinfo=UTC)
        stack.add_member(f"m-{n:03d}", joined_at=datetime(2020, 1, 1, tzinfo=UTC), last_watched_at=watched)


def sweep_results(stack) -> list[dict]:
    return stack.sweep_runs()


def test_a_broken_activity_feed_opens_no_notice_and_says_why(stack):
    # GIVEN 200 members of whom 60 suddenly look inactive (30%, far above MaxNoticeShare 1%)
    redeploy(stack, GuardMinNotices="20")
    add_members(stack, 200, inactive=60)
    # WHEN the nightly sweep runs
    stack.run_until(FIRST_SWEEP)
    # THEN it opens no notice, sends nothing, and reports the guard
    [result] = sweep_results(stack)
    assert result["guard_tripped"] is True
    assert (result["inactive_found"], result["scanned"]) == (60, 200)
    assert stack.cloud.sent_emails() == []
    assert all(stack.lifecycle(f"m-{n:03d}") == {} for n in range(60))


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
