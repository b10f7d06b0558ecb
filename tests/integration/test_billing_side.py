"""Billing's side of a cancellation, end to end on the stack: billing confirms with
BillingStopped on the inbound bus; while it has not, each nightly sweep after BillingAckHours
(24) publishes the same MembershipCancelled again, and past BillingAlarmHours (72) counts it
for the alarm. A billing side that never answers is seen; one that answers is heard once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.stack import iso

DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)  # of the notices the first sweep opens


def test_a_cancellation_billing_never_confirms_is_published_each_night_and_alarmed(stack, capsys):
    # GIVEN two silent members, cancelled when their notices expire, and a billing side that answers nothing by itself
    stack.billing.ack = None
    stack.ttl_on_time()
    for member_id in ("9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13", "cus_NffrFeUfNV2Hib"):
        stack.add_inactive_member(member_id)
    stack.run_until(DEADLINE + timedelta(hours=1))
    assert {e.detail["member_id"] for e in stack.bus("MembershipCancelled")} == {
        "9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13", "cus_NffrFeUfNV2Hib"}
    # WHEN billing confirms one of them, and never the other
    confirmed = stack.member("cus_NffrFeUfNV2Hib")
    stack.publish(("BillingStopped", {"member_id": "cus_NffrFeUfNV2Hib", "occurred_at": iso(stack.cloud.now),
                                      "cancelled_at": confirmed["cancelled_at"]}), source="streamly.billing")
    stack.run_until(DEADLINE + timedelta(days=4))
    # THEN the confirmed one was published once and is recorded confirmed
    published = [e.detail for e in stack.bus("MembershipCancelled")]
    assert len([d for d in published if d["member_id"] == "cus_NffrFeUfNV2Hib"]) == 1
    assert stack.member("cus_NffrFeUfNV2Hib")["billing_confirmed_at"] == iso(DEADLINE + timedelta(hours=1))
    # AND the other was published again by each sweep from 24 hours on (4 and 5 July, and 6 July
    # past 72 hours, counted for the alarm), the very same event each time
    again = [d for d in published if d["member_id"] == "9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13"]
    assert len(again) == 4 and all(d == again[0] for d in again)
    assert "billing_confirmed_at" not in stack.member("9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13")
    counted = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith("{") and '"BillingUnconfirmed' in line]
    assert sum(sum(m.get("BillingUnconfirmed", [])) for m in counted) == 3
    assert sum(sum(m.get("BillingUnconfirmedOverdue", [])) for m in counted) == 1
