"""The rehearsal's billing reads only the billing bus's new events at each step of the clock,
and answers exactly what reading them all again (as it once did) answered, in the same order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from local.outbox import BusEvent
from ops.rehearsal import BillingSide, _iso, parse_time

START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeCloud:
    def __init__(self) -> None:
        self.now, self.events, self.sent, self.settled = START, [], [], 0
        self.outputs = {"InboundEventBusName": "inbound"}

    def bus_events(self, bus: str) -> list[BusEvent]:
        assert bus == "BillingEventBus"
        return list(self.events)

    def client(self, service: str) -> Any:
        assert service == "events"
        return self

    def put_events(self, Entries: list[dict]) -> None:  # boto3's name
        self.sent.append([(e["DetailType"], json.loads(e["Detail"])) for e in Entries])

    def settle(self) -> None:
        self.settled += 1


def answer_reading_everything(cloud: FakeCloud, ack: timedelta, answered: set) -> None:
    """BillingSide.answer as it was: every event published so far, read again at every call."""
    now, due = cloud.now, []
    for event in cloud.bus_events("BillingEventBus"):
        detail = event.detail if isinstance(event.detail, dict) else {}
        kind, changed = {"MembershipCancelled": ("BillingStopped", "cancelled_at"),
                         "MembershipRejoined": ("BillingResumed", "rejoined_at")}.get(event.detail_type, (None, ""))
        key = (str(kind), str(detail.get("member_id")), str(detail.get(changed)))
        if kind is None or key in answered:
            continue
        at = parse_time(detail[changed], "a billing event") + ack
        if at <= now:
            answered.add(key)
            due.append((kind, {"member_id": detail["member_id"], "occurred_at": _iso(at), changed: detail[changed]}))
    for start in range(0, len(due), 10):
        batch = due[start:start + 10]
        cloud.put_events(Entries=[{"DetailType": kind, "Detail": json.dumps(detail)} for kind, detail in batch])
    if due:
        cloud.settle()


EVENTS = st.tuples(
    st.sampled_from(["MembershipCancelled", "MembershipRejoined", "NoticeOpened"]),
    st.sampled_from(["m1", "m2", "m3"]),
    st.integers(0, 72),  # hours after the start the change was made
)
STEPS = st.lists(st.tuples(st.integers(0, 30), st.lists(EVENTS, max_size=4)), min_size=1, max_size=12)


@given(steps=STEPS, ack_hours=st.integers(0, 30))
def test_billing_answers_as_when_it_read_every_event_again(steps, ack_hours):
    # GIVEN events published on the billing bus as the clock moves (repeats, and kinds billing ignores)
    ack = timedelta(hours=ack_hours)
    new, old, answered = FakeCloud(), FakeCloud(), set()
    billing = BillingSide(new, ack)
    for hours, published in steps:
        for cloud in (new, old):
            cloud.now += timedelta(hours=hours)
            for kind, member_id, changed_hours in published:
                field = "rejoined_at" if kind == "MembershipRejoined" else "cancelled_at"
                detail = {"member_id": member_id, field: _iso(START + timedelta(hours=changed_hours))}
                cloud.events.append(BusEvent("billing", "id", "product", kind, detail, ""))
        # WHEN billing answers at each step
        billing.answer()
        answer_reading_everything(old, ack, answered)
        # THEN it sent the same events in the same batches, and settled the cloud as often
        assert new.sent == old.sent and new.settled == old.settled
