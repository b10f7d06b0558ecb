"""The pause button, end to end: an operator pauses notices mid-campaign with `python -m ops
notices pause`, nobody is noticed, reminded or cancelled for no answer while it holds, and the
campaign resumes cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from ops.__main__ import main
from tests.stack import FIRST_SWEEP

PAUSED_AT = datetime(2026, 6, 20, 9, 0, tzinfo=UTC)  # before m-early's reminder, due 24 June
RESUMED_AT = datetime(2026, 7, 10, 9, 0, tzinfo=UTC)  # after m-early's deadline of 1 July


def notices(stack, capsys, action: str) -> str:
    """`python -m ops notices ACTION --stack ...`, as an operator runs it: what it printed."""
    name = stack.as_deployed_stack()
    capsys.readouterr()  # what the functions printed until now
    assert main(["notices", action, "--stack", name]) == 0
    return capsys.readouterr().out


def kinds_sent_to(stack, member_id: str) -> list[str]:
    address = stack.member(member_id)["email"]
    return [mail.headers["X-Membership-Email"] for mail in stack.cloud.sent_emails() if address in mail.to]


def test_paused_mid_campaign_nobody_is_noticed_reminded_or_cancelled_then_it_resumes(stack, capsys):
    # GIVEN three members noticed on the first night, TTL deleting on time
    stack.ttl_on_time()
    for member_id in ("m-early", "m-keeps", "m-watches"):
        stack.add_inactive_member(member_id)
    stack.run_until(FIRST_SWEEP)
    assert all(kinds_sent_to(stack, m) == ["notice"] for m in ("m-early", "m-keeps", "m-watches"))
    # WHEN the operator pauses the campaign on 20 June
    stack.run_until(PAUSED_AT)
    assert notices(stack, capsys, "pause").startswith("paused since ")
    # ... while a member who stopped watching long ago joins the table, one answers "keep" and one watches
    stack.add_inactive_member("m-late")
    stack.run_until(datetime(2026, 6, 25, 12, tzinfo=UTC))
    assert stack.app("POST", "/members/m-keeps/keep").status_code == 200
    stack.set_member("m-watches", last_watched_at="2026-06-25T20:00:00Z")
    stack.run_until(RESUMED_AT)
    # THEN nobody got a notice or a reminder while paused, and nobody was cancelled, though
    # m-early's deadline passed and DynamoDB TTL deleted the notice's record
    assert kinds_sent_to(stack, "m-late") == [] and "notice_id" not in stack.member("m-late")
    assert kinds_sent_to(stack, "m-early") == ["notice"]
    early = stack.member("m-early")
    assert early["status"] == "active" and early["notice_id"] and stack.lifecycle("m-early") == {}
    # ... the member's own answer went through, and watching kept the other
    assert stack.member("m-keeps")["status"] == "active" and "notice_id" not in stack.member("m-keeps")
    assert stack.member("m-watches")["status"] == "active" and "notice_id" not in stack.member("m-watches")
    # ... and every night's totals say the pause held notices back
    paused_runs = [run for run in stack.sweep_runs() if PAUSED_AT < datetime.fromisoformat(run["run_id"]) < RESUMED_AT]
    assert len(paused_runs) == 20 and all(run["notices_paused"] for run in paused_runs)
    assert all(run["actions"].get("open_notice", 0) == 0 for run in paused_runs)
    assert sum(run["held_by_pause"].get("request_reminder", 0) for run in paused_runs) > 0
    assert sum(run["held_by_pause"].get("settle_overdue_notice", 0) for run in paused_runs) > 0
    assert notices(stack, capsys, "status").startswith("paused since ")
    # WHEN the operator resumes it, and the next night's sweep runs
    assert notices(stack, capsys, "resume").startswith("running since ")
    stack.run_until(datetime(2026, 7, 11, 6, tzinfo=UTC))
    # THEN the waiting member is noticed, and the one whose deadline passed in the pause is
    # cancelled for no answer (the member had the whole window, and the pause on top)
    resumed = stack.sweep_runs()[-1]
    assert resumed["notices_paused"] is False and resumed["actions"].get("open_notice") == 1
    assert kinds_sent_to(stack, "m-late") == ["notice"]
    assert stack.member("m-early")["status"] == "cancelled"
    assert kinds_sent_to(stack, "m-early") == ["notice", "cancelled"]


def test_the_pause_and_guard_commands_refuse_a_stack_they_cannot_read_and_change_nothing(stack, capsys):
    switch = stack.cloud.outputs["NoticesSwitchParameterName"]
    capsys.readouterr()
    assert main(["notices", "pause", "--stack", "no-such-stack"]) == 2
    assert capsys.readouterr().err.startswith("cannot read the stack no-such-stack: ")
    assert main(["guard", "release", "--stack", "no-such-stack", "--by", "ops@streamly.example"]) == 2
    assert capsys.readouterr().err.startswith("cannot read the stack no-such-stack: ")
    assert stack.cloud.client("ssm").get_parameter(Name=switch)["Parameter"]["Value"] == "running"
