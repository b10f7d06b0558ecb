"""Each function logs as its own Lambda would: one function's request (its correlation id, its
Lambda context) never shows in another function's log lines, though the local cloud runs them
all in one process."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.stack import FIRST_SWEEP


def log_lines(printed: str) -> list[dict]:
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    return [line for line in lines if "function_name" in line]


def test_a_member_api_requests_correlation_id_stays_in_the_member_apis_logs(stack, capsys):
    # GIVEN a member noticed by the sweep, who keeps the membership in the app (the member API's
    # log lines carry that request's id as their correlation id)
    stack.add_inactive_member("m-logs")
    stack.run_until(FIRST_SWEEP)
    assert stack.app("POST", "/members/m-logs/keep").status_code == 200
    # WHEN the next night's sweep runs in the same local cloud
    stack.run_until(FIRST_SWEEP + timedelta(days=1))
    lines = log_lines(capsys.readouterr().out)
    # THEN the member API's lines carry its correlation id, and no other function's line has one
    api = [line for line in lines if line["function_name"].startswith("membership-member-api")]
    others = [line for line in lines if not line["function_name"].startswith("membership-member-api")]
    assert api and all(line.get("correlation_id") for line in api)
    assert others and [line for line in others if "correlation_id" in line] == []
