"""Billing confirms each cancellation with BillingStopped on the inbound bus; the nightly sweep
publishes a cancellation again while it stays unconfirmed past ``BillingAckHours``, the same
event each time, and counts it for the alarm past ``BillingAlarmHours``. On the in-memory ports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from lifecycle import inbound
from lifecycle.clock import iso
from lifecycle.notifications import republish_billing_stop
from lifecycle.observability import metrics
from lifecycle.policy import SweepAction, plan
from lifecycle.settings import Policy
from tests.fakes import InMemoryParking, InMemoryTables, in_memory_store, inactive_member

CANCELLED_AT = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)
TOLD_AT = CANCELLED_AT + timedelta(minutes=1)  # MembershipCancelled published, the member emailed


def cancelled_member(tables: InMemoryTables, member_id: str, **extra: str) -> None:
    tables.add_member(member_id, **{
        **inactive_member(member_id), "status": "cancelled", "cancelled_at": iso(CANCELLED_AT),
        "cancel_reason": "no_response", "retained_until": "2027-05-02T12:00:00Z",
        "cancellation_announced_at": iso(TOLD_AT), **extra})


@pytest.mark.parametrize(("hours", "confirmed", "action"), [
    (23, False, SweepAction.NOTHING),
    (24, False, SweepAction.REPUBLISH_BILLING_STOP),
    (200, False, SweepAction.REPUBLISH_BILLING_STOP),
    (200, True, SweepAction.NOTHING),
    (30 * 24, False, SweepAction.NOTHING),  # alarmed for weeks: left to a person
])
def test_the_sweep_publishes_a_cancellation_again_only_while_billing_has_not_confirmed_it(hours, confirmed, action):
    tables = InMemoryTables()
    confirmation = {"billing_confirmed_at": iso(TOLD_AT + timedelta(hours=1))} if confirmed else {}
    cancelled_member(tables, "m-1", **confirmation)
    view = in_memory_store(tables).members.snapshot("m-1").view
    assert plan(view, TOLD_AT + timedelta(hours=hours), Policy()).action is action


def test_the_same_cancellation_is_published_again_and_counted_overdue_past_the_alarm_limit(caplog):
    tables = InMemoryTables()
    cancelled_member(tables, "cus_NffrFeUfNV2Hib")
    store = in_memory_store(tables)
    metrics.clear_metrics()
    assert republish_billing_stop(store, "cus_NffrFeUfNV2Hib", TOLD_AT + timedelta(hours=25), Policy())
    assert republish_billing_stop(store, "cus_NffrFeUfNV2Hib", TOLD_AT + timedelta(hours=73), Policy())
    assert list(store.bus.events) == [("MembershipCancelled", {
        "member_id": "cus_NffrFeUfNV2Hib", "cancelled_at": iso(CANCELLED_AT), "reason": "no_response",
        "billing": "stop", "ends_at": iso(CANCELLED_AT), "retained_until": "2027-05-02T12:00:00Z"})] * 2
    assert [r.overdue for r in caplog.records if r.getMessage().startswith("billing has not")] == [False, True]
    counted = {name: metric["Value"] for name, metric in metrics.metric_set.items()}
    metrics.clear_metrics()
    assert counted == {"BillingUnconfirmed": [1.0, 1.0], "BillingUnconfirmedOverdue": [1.0]}
    assert not republish_billing_stop(store, "cus_NffrFeUfNV2Hib", TOLD_AT + timedelta(hours=3), Policy())


def billing(kind: str, member_id: str, at: datetime, **detail: str) -> str:
    return json.dumps({"detail-type": kind, "source": "streamly.billing",
                       "detail": {"member_id": member_id, "occurred_at": iso(at), **detail}})


def test_billing_confirms_only_the_members_latest_cancellation_once():
    tables, parking = InMemoryTables(), InMemoryParking()
    cancelled_member(tables, "m-1")
    store = in_memory_store(tables)
    now = TOLD_AT + timedelta(hours=2)
    bodies = {
        "earlier": billing("BillingStopped", "m-1", TOLD_AT, cancelled_at=iso(CANCELLED_AT - timedelta(days=300))),
        "this": billing("BillingStopped", "m-1", TOLD_AT + timedelta(minutes=5), cancelled_at=iso(CANCELLED_AT)),
        "again": billing("BillingStopped", "m-1", TOLD_AT + timedelta(minutes=9), cancelled_at=iso(CANCELLED_AT)),
        "no-cancellation": billing("BillingStopped", "m-1", TOLD_AT),
    }
    batch = inbound.Batch(bodies)
    outcomes = {key: batch.apply(store, parking, key, body, now, Policy()) for key, body in bodies.items()}
    assert outcomes == {"earlier": "confirmed already, or for an earlier change", "this": "applied",
                        "again": "confirmed already, or for an earlier change", "no-cancellation": "parked"}
    assert tables.members["m-1"]["billing_confirmed_at"] == iso(TOLD_AT + timedelta(minutes=5))
    assert parking.parked[0][1] == "BillingStopped: detail must have member_id, occurred_at, cancelled_at"
    view = store.members.snapshot("m-1").view
    assert plan(view, TOLD_AT + timedelta(days=5), Policy()).action is SweepAction.NOTHING
