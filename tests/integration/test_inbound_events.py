"""The business's events on the inbound bus, end to end on the stack: EventBridge's rule, the
queue, the consumer, the tables. A change may come before its member's join, viewings keep
members who watch, and an event that breaks its schema is parked with its reason and changes
nothing (the order of changes: ``test_inbound_ordering.py``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lifecycle.clock import iso
from tests.stack import FIRST_SWEEP, START


def joined(member_id: str, email: str, at, **details) -> tuple[str, dict]:
    return "MemberJoined", {"member_id": member_id, "occurred_at": at, "email": email, "monthly_price": "9.99",
                            "currency": "USD", **details}


def changed(member_id: str, at, **details) -> tuple[str, dict]:
    return "MemberChanged", {"member_id": member_id, "occurred_at": at, **details}


def offset(moment, hours: int) -> str:
    """A time as another system writes it: with its own UTC offset."""
    return (moment + timedelta(hours=hours)).isoformat().replace("+00:00", f"+{hours:02d}:00")


def test_a_change_that_arrives_before_the_join_lands_after_it(stack):
    # GIVEN a change delivered before the member's join (another system was faster)
    stack.publish(changed("cus_NffrFeUfNV2Hib", iso(START - timedelta(hours=1)), locale="fr-FR"),
                  joined("cus_NffrFeUfNV2Hib", "ana@example.com", iso(START - timedelta(days=2))))
    # THEN the change, retried, is applied on top of the join
    assert stack.member("cus_NffrFeUfNV2Hib")["locale"] == "fr-FR"
    assert stack.parked() == []


@pytest.mark.parametrize(
    ("kind", "detail", "reason"),
    [
        ("MemberJoined", {"member_id": "m-1", "occurred_at": "2026-05-30T10:00:00Z", "email": "a@example.com",
                          "currency": "USD"}, "MemberJoined: detail must have member_id, occurred_at, email, "
                                              "monthly_price, currency"),
        ("MemberChanged", {"member_id": "m-1", "occurred_at": "2026-05-30T10:00:00", "locale": "fr-FR"},
         "MemberChanged: detail.occurred_at breaks its schema's format date-time"),
        ("MemberChanged", {"member_id": "m-1", "occurred_at": "2026-05-30T10:00:00Z"},
         "MemberChanged: detail must name at least one of email, locale, monthly_price, currency"),
        ("MemberChanged", {"member_id": "m-1", "occurred_at": "2026-05-30T10:00:00Z", "monthly_price": "9,99"},
         "MemberChanged: detail.monthly_price breaks its schema's pattern"),
        ("MemberChanged", {"member_id": "m-1", "occurred_at": "2026-05-30T10:00:00Z", "locale": "fr-FR",
                           "status": "cancelled"},
         "MemberChanged: detail has a field its schema does not name"),
        ("ViewingRecorded", {"member_id": "m-1", "occurred_at": "2099-01-01T00:00:00Z"},
         "ViewingRecorded: detail.occurred_at is more than 5 minutes in the future"),
        ("ViewingRecorded", {"member_id": "", "occurred_at": "2026-05-30T10:00:00Z"},
         "ViewingRecorded: detail.member_id breaks its schema's minLength"),
        ("MemberDeleted", {"member_id": "m-1", "occurred_at": "2026-05-30T10:00:00Z"},
         "detail-type 'MemberDeleted' is not one of MemberJoined, MemberChanged, MembershipEnded, MemberRejoined, "
         "ViewingRecorded"),
    ],
    ids=["missing", "no-offset", "nothing-changed", "comma-price", "unknown-field", "future", "empty-id",
         "unknown-kind"],
)
def test_an_invalid_event_is_parked_with_its_reason_and_changes_nothing(stack, kind, detail, reason):
    # GIVEN a member
    stack.add_inactive_member("m-1")
    before = stack.cloud.table_items("ActivityTable")
    # WHEN the business publishes an event that breaks its schema
    stack.publish((kind, detail))
    # THEN it is parked once, as it was sent, with a reason naming the field and the rule, and nothing changed
    [(said, parked)] = stack.parked()
    assert said.startswith(reason)
    assert parked["detail-type"] == kind and parked["source"] == "streamly.accounts"
    assert "a@example.com" not in said
    assert stack.cloud.table_items("ActivityTable") == before
    assert [i.result for i in stack.cloud.invocations_of("InboundFunction")] == [{"batchItemFailures": []}]


def test_a_message_put_on_the_queue_by_hand_that_is_no_event_is_parked(stack):
    sqs = stack.cloud.client("sqs")
    for body in ("not json {", '["MemberJoined"]'):
        sqs.send_message(QueueUrl=stack.cloud.resource("InboundQueue"), MessageBody=body)
    stack.cloud.settle()
    assert sorted(reason for reason, _ in stack.parked()) == [
        "the message is not JSON", "the message is not an EventBridge event with a detail object"]


def test_a_change_for_a_member_who_never_joins_is_parked_after_five_tries(stack):
    stack.publish(changed("m-never-joined", iso(START), locale="de-DE"))
    [(reason, parked)] = stack.parked()
    assert reason is None and parked["detail"]["member_id"] == "m-never-joined"  # why: in the consumer's logs
    assert len(stack.cloud.invocations_of("InboundFunction")) == 5
    assert "m-never-joined" not in {item["member_id"] for item in stack.cloud.table_items("ActivityTable")}


def test_a_viewing_keeps_a_noticed_member_and_a_batch_of_plays_is_one_write(stack, capsys):
    # GIVEN an inactive member the first sweep sent a notice
    stack.add_inactive_member("9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13")
    stack.run_until(FIRST_SWEEP + timedelta(minutes=5))
    assert stack.email_kinds("9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13") == ["notice"]
    # WHEN the viewing feed reports the plays of that night, in no order
    stack.run_until(FIRST_SWEEP + timedelta(hours=2))
    plays = [FIRST_SWEEP + timedelta(minutes=10 + 7 * n) for n in (5, 2, 9, 0, 7)]
    stack.publish(*[("ViewingRecorded", {"member_id": "9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13",
                                         "occurred_at": offset(p, 1)}) for p in plays],
                  source="streamly.playback")
    # THEN the notice is closed as kept by watching, and the member's last viewing is the latest play
    member = stack.member("9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13")
    assert member["last_watched_at"] == iso(max(plays))
    assert member["notice_outcome"] == "kept_by_watching"
    assert "notice" not in stack.lifecycle("9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13")
    # and of the five plays delivered together, four said nothing the latest did not
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith("{") and "InboundViewingsCoalesced" in line]
    assert sum(sum(m["InboundViewingsCoalesced"]) for m in metrics) == 4


def test_a_cancellation_through_the_account_page_and_a_rejoin_through_sign_up_send_nothing_twice(stack):
    member = "user_0000000000000000000000000000001234"
    # GIVEN a member the first sweep sent a notice
    stack.add_inactive_member(member)
    stack.run_until(FIRST_SWEEP + timedelta(hours=2))
    assert stack.email_kinds(member) == ["notice"]
    # WHEN the member cancels on the service's own account page (which confirms it and stops billing)
    ended_at = FIRST_SWEEP + timedelta(hours=1)
    stack.publish(("MembershipEnded", {"member_id": member, "occurred_at": offset(ended_at, 2)}))
    stack.run_until(FIRST_SWEEP + timedelta(days=20))
    # THEN the notice is closed, the retention hold open for 10 months, and no second email or billing stop went out
    row = stack.member(member)
    assert (row["status"], row["cancel_reason"], row["notice_outcome"]) == ("cancelled", "elsewhere",
                                                                             "cancelled_elsewhere")
    assert (row["cancelled_at"], row["retained_until"]) == (iso(ended_at), "2027-04-01T04:00:00Z")
    assert stack.lifecycle(member)["hold"]["retained_until"] == "2027-04-01T04:00:00Z"
    assert stack.email_kinds(member) == ["notice"] and stack.bus("MembershipCancelled") == []
    # WHEN the member comes back through the sign-up flow (delivered twice)
    back_at = stack.cloud.now - timedelta(minutes=3)
    rejoined = ("MemberRejoined", {"member_id": member, "occurred_at": iso(back_at)})
    stack.publish(rejoined, rejoined)
    stack.run_until(FIRST_SWEEP + timedelta(days=40))
    # THEN everything is as it was, billing heard of it from the business (no event of ours), and no notice follows
    row = stack.member(member)
    assert (row["status"], row["rejoined_at"], row["billing_resumed_at"]) == ("active", iso(back_at), iso(back_at))
    kept = [{"name": "Sam", "my_list": ["The Long Night"], "preferences": {"subtitles": "en"}}]
    assert stack.profiles(member) == kept
    assert "hold" not in stack.lifecycle(member)
    assert stack.bus("MembershipRejoined") == [] and stack.email_kinds(member) == ["notice"]
    assert stack.parked() == []
