"""Races and edges the policy decides: late answers, answers at the same moment, activity that
arrives while a cancellation runs, and what the logs may carry."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from lifecycle.campaign import Outcome, settle_notice
from lifecycle.settings import Settings
from lifecycle.store import Store
from tests.stack import FIRST_SWEEP, iso

DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


def test_keep_after_the_deadline_but_before_the_cancellation_is_honoured(stack):
    # GIVEN a member who never answered, and DynamoDB TTL running late
    stack.cloud.ttl_reaper.max_delay = timedelta(days=2)
    stack.add_inactive_member("m-late-keep")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-late-keep", "keep").split("?")[0]
    # WHEN they click "keep" an hour after the deadline, before anything cancelled them
    stack.run_until(DEADLINE + timedelta(hours=1))
    answer = requests.post(link, data={"choice": "keep"}, timeout=30)
    # THEN the answer counts: they keep the membership, and nothing cancels it afterwards
    assert answer.status_code == 200
    stack.run_until(DEADLINE + timedelta(days=4))
    member = stack.member("m-late-keep")
    assert (member["status"], member["notice_outcome"]) == ("active", "kept")
    assert "cancelled" not in stack.email_kinds("m-late-keep") and stack.bus() == []


def test_keep_and_cancel_at_the_same_moment_one_wins_whole(stack):
    # GIVEN a member with the notice open in two tabs
    stack.add_inactive_member("m-both")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-both", "keep").split("?")[0]
    # WHEN "keep" and "cancel" are posted at the same moment
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda choice: requests.post(link, data={"choice": choice}, timeout=30), ["keep", "cancel"])
        )
    stack.cloud.settle()
    # THEN exactly one acted and the other was told it was already answered
    assert sorted(a.status_code for a in answers) == [200, 409]
    member = stack.member("m-both")
    if member["status"] == "cancelled":
        assert member["notice_outcome"] == "cancelled_on_request" and len(stack.bus("MembershipCancelled")) == 1
        assert "hold" in stack.lifecycle("m-both")
    else:
        assert member["notice_outcome"] == "kept" and stack.bus() == [] and stack.lifecycle("m-both") == {}


def test_activity_recorded_while_the_cancellation_runs_wins(stack):
    # GIVEN a member whose deadline passed without an answer
    stack.add_inactive_member("m-race")
    stack.run_until(FIRST_SWEEP)
    settings = Settings.from_env(dict(stack.cloud.stack.function("ExpireFunction").environment))
    store = Store.on_aws(settings)
    notice_id = stack.member("m-race")["notice_id"]
    stack.cloud.clock.set(DEADLINE + timedelta(minutes=5))
    # WHEN the cancellation has read the member, and a viewing lands before it writes
    reads = store.members.snapshot

    def read_then_watch(member_id):
        snapshot = reads(member_id)
        if not hasattr(read_then_watch, "done"):
            read_then_watch.done = True
            stack.set_member("m-race", last_watched_at=iso(DEADLINE))
        return snapshot

    store.members.snapshot = read_then_watch
    outcome = settle_notice(store, "m-race", notice_id, DEADLINE + timedelta(minutes=5), settings.policy)
    # THEN the write on stale data fails, the step decides again, and the member is kept
    assert outcome is Outcome.KEPT_BY_WATCHING
    member = stack.member("m-race")
    assert (member["status"], member["notice_outcome"]) == ("active", "kept_by_watching")


def test_logs_carry_no_email_address_and_no_link_token(stack, caplog):
    # GIVEN a whole lifecycle: notice, page, cancel, emails, rejoin
    stack.add_inactive_member("m-logs")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-logs", "cancel")
    requests.get(link, timeout=30)
    requests.post(link.split("?")[0], data={"choice": "cancel"}, timeout=30)
    stack.run_until(FIRST_SWEEP + timedelta(days=2))
    stack.app("POST", "/members/m-logs/rejoin")
    # THEN everything the functions logged (messages and every extra field) names members by id only
    records = [r for r in caplog.records if r.name == "membership-lifecycle"]
    logs = "\n".join(f"{r.getMessage()} {vars(r)}" for r in records)
    assert any(getattr(r, "member_id", None) == "m-logs" for r in records)
    assert "@members.example" not in logs
    token = link.split("/n/")[1].split("?")[0]
    assert token not in logs and token.split(".")[1] not in logs
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", logs.replace("no-reply@example.com", ""))
