"""`python -m ops preview --stack NAME`: tonight's sweep on a deployed stack, judged as a dry run
would judge it, before go-live; nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ops.__main__ import main
from tests.integration.test_sweep_guards import add_members, redeploy
from tests.stack import FIRST_SWEEP


def preview(stack, capsys, *args: str) -> tuple[int, list[str]]:
    name = stack.as_deployed_stack()
    capsys.readouterr()  # what the functions printed until now
    code = main(["preview", "--stack", name, *args])
    printed = capsys.readouterr()
    return code, (printed.out + printed.err).splitlines()


def progress_items(stack) -> list[dict]:
    return stack.cloud.table_items("SweepProgressTable")


def test_the_preview_counts_each_rule_paces_by_the_cap_and_writes_nothing(stack, capsys):
    # GIVEN 200 members, 12 who stopped watching and 3 who never watched, at most 5 notices a night
    redeploy(stack, MaxNoticesPerRun="5", GuardMinNotices="20")
    add_members(stack, 197, inactive=12)
    for n in range(3):
        stack.add_member(f"m-never-{n}", joined_at=datetime(2024, 1, 1, tzinfo=UTC), last_watched_at=None)
    # WHEN the operator previews tonight's sweep
    code, lines = preview(stack, capsys, "--at", "2026-06-01T03:00:00Z")
    # THEN it says how many each rule would notice, that the guard passes, and over how many nights
    assert code == 0, lines
    assert lines[0] == "tonight's sweep at 2026-06-01 03:00 UTC, as a dry run would judge it (nothing written)"
    assert "members read       200" in lines
    assert "would be noticed   15 (7.5% of the members read): stopped watching: 12 · never watched: 3" in lines
    assert "guard              passes (the first run: all of it is backlog)" in lines
    assert "MaxNoticesPerRun   5 a night: 3 nights to notice them all (those inactive longest first)" in lines
    [ses] = [line for line in lines if line.startswith("SES quota")]
    assert "tonight's 5 notice emails take 0:00:" in ses
    # AND nothing was written: no run, no notice, no email
    assert progress_items(stack) == [] and stack.cloud.sent_emails() == []
    assert "notice_id" not in stack.member("m-000")


def test_the_preview_says_the_guard_would_trip_on_a_broken_load_and_when_notices_are_paused(stack, capsys):
    # GIVEN a load that makes 150 of 200 members look inactive, and the campaign paused
    redeploy(stack, GuardMinNotices="20")
    add_members(stack, 200, inactive=150)
    stack.cloud.client("ssm").put_parameter(Name=stack.cloud.outputs["NoticesSwitchParameterName"],
                                            Value="paused", Type="String", Overwrite=True)
    # WHEN the operator previews it
    code, lines = preview(stack, capsys, "--at", FIRST_SWEEP.isoformat())
    # THEN the preview says the guard would trip, and why, and that notices are paused
    assert code == 0
    assert any(line.startswith("guard              WOULD TRIP and hold every notice: implausible share: 150 of 200")
               for line in lines)
    assert "notices            PAUSED: nothing opens until python -m ops notices resume" in lines


def test_the_preview_of_a_stack_whose_guard_holds_says_so(stack, capsys):
    redeploy(stack, GuardMinNotices="20")
    add_members(stack, 200, inactive=150)
    stack.run_until(FIRST_SWEEP)  # the guard trips and holds
    code, lines = preview(stack, capsys, "--at", (FIRST_SWEEP + timedelta(days=1)).isoformat())
    assert code == 0
    assert ("guard              HELD since run 2026-06-01T03:00:00Z: no notice opens until released "
            "(python -m ops guard release)") in lines


def test_a_preview_of_a_stack_that_is_not_there_is_one_line_and_exit_code_2(stack, capsys):
    capsys.readouterr()
    assert main(["preview", "--stack", "no-such-stack"]) == 2
    assert capsys.readouterr().err.startswith("cannot read the stack no-such-stack: ")
    assert main(["preview", "--stack", stack.as_deployed_stack(), "--at", "tonight"]) == 2
