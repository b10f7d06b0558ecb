"""`python -m ops report --stack NAME`: the campaign report of a deployed stack, run as an operator
runs it, against the local cloud standing in for the stack (its CloudFormation outputs registered
on moto as `sam deploy` leaves them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops.app_calls import member_path
from tests.stack import FIRST_SWEEP

ROOT = Path(__file__).parents[2]
STACK_NAME = "membership-test"


def register_stack(stack, outputs: dict[str, str], name: str = STACK_NAME) -> None:
    """A CloudFormation stack on moto whose outputs are the given ones (a queue as its one resource)."""
    stack.cloud.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-report-test"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()}}))


def operator_env(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def report_cli(stack, out: Path, name: str = STACK_NAME, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "ops", "report", "--stack", name, "--endpoint-url", stack.cloud.endpoint_url,
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env or operator_env(),
    )


def page_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_report_of_a_stack_counts_what_its_members_did(stack, tmp_path):
    # GIVEN a deployed stack with three inactive members and one who watches
    stack.ttl_on_time()
    stack.add_inactive_member("m-keeps", locale="fr-FR", currency="EUR", monthly_price="13.49")
    stack.add_inactive_member("m-silent", locale="de-DE", currency="EUR", monthly_price="13.49")
    stack.add_inactive_member("m-never", last_watched_at=None, currency="USD", monthly_price="9.99")
    stack.add_member("m-active", joined_at=datetime(2024, 1, 1, tzinfo=UTC),
                     last_watched_at=datetime(2026, 5, 20, tzinfo=UTC))
    # WHEN the first sweep notices the three and one keeps in the app
    stack.run_until(FIRST_SWEEP + timedelta(hours=1))
    assert stack.app("POST", member_path("m-keeps", "keep")).status_code == 200
    register_stack(stack, dict(stack.cloud.outputs))
    # AND the operator asks for the stack's report
    run = report_cli(stack, tmp_path / "first-day")
    # THEN it is written, and counts the notices of the sweep's run in its week, with the rule of each
    assert run.returncode == 0, run.stderr
    text = page_text((tmp_path / "first-day" / "report.html").read_text(encoding="utf-8"))
    assert f"Inactive memberships — stack {STACK_NAME}" in text
    assert "Noticed 3 · 75.0% (3 of 4 members)" in text
    assert "Kept (answered keep) 1 · 33.3% (1 of 3 noticed)" in text
    assert "Still open 2 · 66.7% (2 of 3 noticed)" in text
    assert "Notices 3 in all · busiest week 3" in text and "Answers 1 in all · busiest week 1" in text
    # (each row of the rule's table starts with its noticed, then its kept)
    assert "Inactive (nothing watched for too long) 2 1" in text and "Never watched 1 0" in text

    # WHEN the deadline passes for the two who did not answer
    stack.run_until(FIRST_SWEEP + timedelta(days=33))
    run = report_cli(stack, tmp_path / "later")
    # THEN the report counts them cancelled for no response, and the money no longer charged per currency
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "later" / "report.html").read_text(encoding="utf-8")
    text = page_text(html)
    assert "Kept 1 · 33.3% (1 of 3 noticed)" in text
    assert "Cancelled 2 · 66.7% (2 of 3 noticed)" in text
    assert "Cancelled for no response 2 · 66.7% (2 of 3 noticed)" in text
    assert "EUR 13.49/month" in text and "USD 9.99/month" in text
    assert "Cancellations 2 in all · busiest week 2" in text
    assert "Inactive (nothing watched for too long) 2 1" in text and "Never watched 1 0" in text
    # AND the first runs are gone from the progress table (it keeps 30 days), which the page says
    assert "Notices 0 in all" in text and "the progress table keeps a run for 30 days" in text
    # AND what only a rehearsal has is left out, with a line saying so
    assert "Only a rehearsal has an actions log and injected faults" in text
    assert "SES keeps no copy of the mail it sent" in text
    assert "app_keep" not in html and ":200" not in html


def test_a_stack_that_cannot_be_read_is_one_clear_line_and_writes_nothing(stack, tmp_path):
    # GIVEN no stack of that name, a stack whose table is gone, and an operator without credentials
    outputs = dict(stack.cloud.outputs)
    register_stack(stack, {**outputs, "LifecycleTableName": "membership-lifecycle-gone"}, name="membership-broken")
    register_stack(stack, outputs)
    no_credentials = operator_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None,
                                  AWS_PROFILE=None, AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                                  AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    cases = [
        ("no-such-stack", None,
         "error: cannot read the stack no-such-stack: Stack with id no-such-stack does not exist"),
        ("membership-broken", None,
         "error: the stack membership-broken's table membership-lifecycle-gone does not exist"),
        (STACK_NAME, no_credentials, "error: no AWS credentials"),
    ]
    for name, env, message in cases:
        # WHEN the report is asked for
        run = report_cli(stack, tmp_path / name, name=name, env=env)
        # THEN it ends with exit code 2 and one line saying why, and no page is written
        assert run.returncode == 2, (name, run.stdout, run.stderr)
        assert run.stderr.strip().startswith(message), run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert not (tmp_path / name).exists()
