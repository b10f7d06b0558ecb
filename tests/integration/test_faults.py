"""Faults change nobody's outcome: a rehearsal with duplicated deliveries, SES throttling, lost
stream records and crashed invocations ends, for every member, where the fault-free one ends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from local.faults import Faults
from local.template import Template
from ops.population import generate, write_jsonl
from ops.rehearsal import read_input, rehearse

# two months hold every kind of email and several cancellations for no answer (asserted below)
START, END = "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"
FAULTS = {
    "duplicate-delivery": ["duplicate-delivery"],
    "ses-throttle": ["ses-throttle:0.3"],
    "lost-stream": ["lost-stream:0.2"],
    "crash": ["crash:0.2"],
    "all together": ["duplicate-delivery", "ses-throttle:0.2", "lost-stream:0.15", "crash:0.15"],
}


def outcomes(report: dict) -> dict[str, tuple]:
    """What each member ends with: membership, why, kept data, and what they and billing were told."""
    return {
        member_id: (
            row["status"],
            row["cancel_reason"],
            row["notice_outcome"],
            row["profiles"] is None,
            row["rejoined_at"] is not None,
            sorted(email["kind"] for email in row["emails"]),
            [event["billing"] for event in row["billing_events"]],
        )
        for member_id, row in report["members"].items()
    }


@pytest.fixture(scope="module")
def campaign(tmp_path_factory) -> tuple:
    folder = tmp_path_factory.mktemp("faults")
    members, actions = generate(400, 5, datetime(2026, 1, 1, tzinfo=UTC), 2)
    plan = read_input(
        write_jsonl(members, folder / "members.jsonl"),
        write_jsonl(actions, folder / "actions.jsonl"),
        START,
        END,
        {},
        Template.load(),
    )
    return plan, outcomes(rehearse(plan, seed=3))


@pytest.mark.slow
def test_the_campaign_has_something_to_lose(campaign):
    _, baseline = campaign
    kinds = {kind for outcome in baseline.values() for kind in outcome[5]}
    assert kinds == {"notice", "reminder", "cancelled"}
    assert sum(outcome[0] == "cancelled" and outcome[1] is not None for outcome in baseline.values()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAULTS))
def test_every_member_ends_as_without_faults(campaign, name):
    plan, baseline = campaign
    # WHEN the same campaign runs with faults injected
    report = rehearse(plan, seed=3, faults=Faults.parse(FAULTS[name], seed=3))
    # THEN faults really happened, and no member's outcome differs: nothing lost, nothing twice
    assert sum(report["faults"]["injected"].values()) > 0
    differences = {m: (baseline[m], o) for m, o in outcomes(report).items() if o != baseline[m]}
    assert differences == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["meteor"], "unknown fault"),
        (["crash:2"], "above 0 and below 1"),
        (["crash:often"], "must be a number"),
        (["duplicate-delivery:0.5"], "takes no rate"),
    ],
)
def test_a_bad_fault_is_refused_with_a_clear_message(spec, message):
    with pytest.raises(ValueError, match=message):
        Faults.parse(spec)


def test_the_command_refuses_an_unknown_fault_before_running(tmp_path):
    import subprocess
    import sys

    members = write_jsonl(generate(5, 1, datetime(2026, 1, 1, tzinfo=UTC), 1)[0], tmp_path / "m.jsonl")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops",
            "rehearse",
            "--members",
            str(members),
            "--start",
            START,
            "--end",
            END,
            "--report",
            str(tmp_path / "r.json"),
            "--fault",
            "meteor",
        ],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "unknown fault" in run.stderr
    assert not (tmp_path / "r.json").exists()
