"""The business's inbound events (``lifecycle.inbound``) on the in-memory ports: a batch is read
whole, joins and changes applied so that each detail ends as its newest change whatever the
order and however often each event comes, a member's plays in one batch cost one write, and an
event that breaks its schema is parked with its reason and changes nothing. Milliseconds each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle import inbound
from lifecycle.clock import iso
from lifecycle.errors import MemberNotFound
from lifecycle.policy import retained_until
from lifecycle.settings import Policy
from lifecycle.store import Store
from tests.fakes import InMemoryParking, InMemoryTables, in_memory_store, inactive_member
from tests.real_world import addresses, member_ids

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LOCALES = ["en-US", "fr-CA", "de-AT", "es-MX", "pt-BR", "ja-JP", "zh-Hant-TW", "sr-Latn-RS", "fil-PH"]


def message(kind: str, **detail: object) -> str:
    """An SQS body as EventBridge's rule delivers it: the whole event."""
    return json.dumps({"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": kind,
                       "source": "streamly.accounts", "account": "123456789012", "time": iso(NOW),
                       "region": "us-east-1", "resources": [], "detail": detail})


def run(tables: InMemoryTables, bodies: list[str], parking: InMemoryParking | None = None,
        store: Store | None = None) -> list[str]:
    """Applies one batch, message by message as the consumer does; what became of each."""
    store, parking = store or in_memory_store(tables), parking or InMemoryParking()
    batch = inbound.Batch({str(n): body for n, body in enumerate(bodies)})
    outcomes = []
    for n, body in enumerate(bodies):
        try:
            outcomes.append(batch.apply(store, parking, str(n), body, NOW, Policy()))
        except MemberNotFound:
            outcomes.append("retried")
    return outcomes


details = st.fixed_dictionaries({}, optional={
    "email": addresses(), "locale": st.sampled_from(LOCALES),
    "monthly_price": st.sampled_from(["9.99", "0.00", "1200", "15.5"]), "currency": st.sampled_from(["EUR", "JPY"]),
}).filter(bool)


@settings(max_examples=200)
@given(member_id=member_ids(), changes=st.lists(details, min_size=1, max_size=4), data=st.data())
def test_each_detail_ends_as_its_newest_change_whatever_the_order(member_id, changes, data):
    joined_at = NOW - timedelta(days=30)
    events = [message("MemberJoined", member_id=member_id, occurred_at=iso(joined_at), email="first@example.com",
                      monthly_price="9.99", currency="USD")]
    for day, change in enumerate(changes, start=1):
        # the times as other systems write them: with their own offsets
        at = (joined_at + timedelta(days=day)).astimezone(UTC).isoformat()
        events.append(message("MemberChanged", member_id=member_id, occurred_at=at, **change))
    delivered = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=3))))
    tables = InMemoryTables()
    pending = list(delivered)
    for _ in range(len(pending) + 1):  # what failed (a change before its join) is delivered again
        outcomes = run(tables, pending)
        pending = [body for body, outcome in zip(pending, outcomes, strict=True) if outcome == "retried"]
    assert pending == []
    expected = {"email": "first@example.com", "monthly_price": "9.99", "currency": "USD", "locale": "en-US"}
    for change in changes:
        expected.update(change)
    assert {name: tables.members[member_id][name] for name in expected} == expected


def test_of_a_members_plays_in_one_batch_only_the_latest_is_written():
    tables = InMemoryTables()
    tables.add_member("auth0|5f7c8ec7c33c6c004bbafe82", **inactive_member("auth0|5f7c8ec7c33c6c004bbafe82"))
    plays = [NOW - timedelta(hours=h) for h in (3, 1, 5, 2)]
    outcomes = run(tables, [message("ViewingRecorded", member_id="auth0|5f7c8ec7c33c6c004bbafe82",
                                    occurred_at=p.isoformat()) for p in plays])
    assert outcomes == ["coalesced", "applied", "coalesced", "coalesced"]
    assert tables.members["auth0|5f7c8ec7c33c6c004bbafe82"]["last_watched_at"] == iso(max(plays))


def test_of_a_day_of_plays_over_many_batches_only_the_first_is_written_and_a_read_spares_the_rest():
    # GIVEN a member last seen yesterday, and a member with a notice open
    tables, member_id, noticed = InMemoryTables(), "google-oauth2|104857600391827364512", "m-noticed"
    yesterday = iso(NOW - timedelta(days=1))
    tables.add_member(member_id, **inactive_member(member_id, last_watched_at=yesterday))
    tables.add_member(noticed, **inactive_member(noticed, notice_id="n-1", last_watched_at=yesterday))
    store = in_memory_store(tables)
    writes = []
    record_watch = store.members.record_watch
    store.members.record_watch = lambda *args: writes.append(args[0]) or record_watch(*args)  # type: ignore[method-assign]
    morning = NOW.replace(hour=0, minute=5)
    # WHEN today's plays arrive in three batches, as a viewing feed sends them
    outcomes = [run(tables, [message("ViewingRecorded", member_id=m, occurred_at=iso(morning + timedelta(hours=h)))
                             for m in (member_id, noticed)], store=store) for h in (0, 3, 6)]
    # THEN the member without a notice is written once, at the day's first play; the later
    # batches are answered by the batch's one read, never a write tried
    assert [batch[0] for batch in outcomes] == ["applied", "recorded already", "recorded already"]
    assert tables.members[member_id]["last_watched_at"] == iso(morning)
    # AND the member with a notice open has it closed by the first play (kept by watching):
    # with no notice left, the later plays of the day are not written either
    assert [batch[1] for batch in outcomes] == ["applied", "recorded already", "recorded already"]
    assert not tables.members[noticed].get("notice_id")
    assert tables.members[noticed]["notice_outcome"] == "kept_by_watching"
    assert writes == [member_id, noticed]


def test_a_play_from_far_ahead_is_parked_even_for_a_member_whose_day_is_recorded():
    tables, parking = InMemoryTables(), InMemoryParking()
    tables.add_member("m-1", **inactive_member("m-1", last_watched_at=iso(NOW)))
    outcomes = run(tables, [message("ViewingRecorded", member_id="m-1", occurred_at=iso(NOW + timedelta(days=2)))],
                   parking)
    assert outcomes == ["parked"]
    assert tables.members["m-1"]["last_watched_at"] == iso(NOW)


def test_times_are_read_in_every_form_rfc_3339_allows():
    tables = InMemoryTables()
    for member_id in ("m-go", "m-lower", "m-offset"):
        tables.add_member(member_id, **inactive_member(member_id))
    run(tables, [message("ViewingRecorded", member_id="m-go", occurred_at="2026-06-01T09:15:02.123456789Z"),
                 message("ViewingRecorded", member_id="m-lower", occurred_at="2026-06-01t09:15:02z"),
                 message("ViewingRecorded", member_id="m-offset", occurred_at="2026-06-01T14:45:02.5+05:30")])
    assert {m: tables.members[m]["last_watched_at"] for m in ("m-go", "m-lower", "m-offset")} == {
        "m-go": "2026-06-01T09:15:02Z", "m-lower": "2026-06-01T09:15:02Z", "m-offset": "2026-06-01T09:15:02Z"}


def test_a_clock_a_little_ahead_is_taken_as_now_and_one_far_ahead_is_parked():
    tables, parking = InMemoryTables(), InMemoryParking()
    tables.add_member("m-1", **inactive_member("m-1"))
    outcomes = run(tables, [message("ViewingRecorded", member_id="m-1", occurred_at=iso(NOW + timedelta(minutes=2))),
                            message("ViewingRecorded", member_id="m-2", occurred_at=iso(NOW + timedelta(hours=1)))],
                   parking)
    assert outcomes == ["applied", "parked"]
    assert tables.members["m-1"]["last_watched_at"] == iso(NOW)
    assert [(reason, kind) for _, reason, kind in parking.parked] == [
        ("ViewingRecorded: detail.occurred_at is more than 5 minutes in the future", "ViewingRecorded")]


def test_an_invalid_event_is_parked_as_it_came_and_changes_nothing():
    tables, parking = InMemoryTables(), InMemoryParking()
    tables.add_member("m-1", **inactive_member("m-1"))
    before = json.dumps(tables.members, sort_keys=True)
    bad = message("MemberChanged", member_id="m-1", occurred_at=iso(NOW), email="nobody-at-example.com")
    assert run(tables, [bad, "{}"], parking) == ["parked", "parked"]
    assert json.dumps(tables.members, sort_keys=True) == before
    assert parking.parked == [
        (bad, "MemberChanged: detail.email breaks its schema's pattern ^[^@\\s]+@[^@\\s]+$", "MemberChanged"),
        ("{}", "the message is not an EventBridge event with a detail object", None),
    ]
    assert "nobody-at-example.com" not in parking.parked[0][1]


@settings(max_examples=300)
@given(member_id=member_ids(), steps=st.integers(1, 5), data=st.data())
def test_after_cancellations_and_rejoins_in_any_order_the_member_is_as_the_latest_says(member_id, steps, data):
    # GIVEN a member who cancelled and came back through the business's own flows, in turn
    tables = InMemoryTables()
    tables.add_member(member_id, profiles=[{"name": "Kim", "my_list": ["Dune"]}], **inactive_member(member_id))
    times = [NOW - timedelta(days=40) + timedelta(days=3 * n, hours=n) for n in range(steps)]
    events = [message("MembershipEnded" if n % 2 == 0 else "MemberRejoined", member_id=member_id,
                      occurred_at=iso(at)) for n, at in enumerate(times)]
    # WHEN each event comes, some twice, in any order, across batches
    delivered = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=3))))
    cut = data.draw(st.integers(0, len(delivered)))
    store = in_memory_store(tables)
    for batch in (delivered[:cut], delivered[cut:]):
        run(tables, batch, store=store)
    # THEN the member is as the latest event says, kept things and all, with nothing sent
    row = tables.members[member_id]
    if steps % 2:  # the latest is a cancellation
        assert (row["status"], row["cancelled_at"], row["cancel_reason"]) == ("cancelled", iso(times[-1]), "elsewhere")
        hold = tables.records[(member_id, "hold")]
        assert (hold.cancelled_at, hold.cancelled_email_at, hold.billing_event_at) == (times[-1],) * 3
        assert row["retained_until"] == iso(retained_until(times[-1], Policy()))  # 10 months, like any other
    else:
        assert (row["status"], row["rejoined_at"], row["billing_resumed_at"]) == ("active", *[iso(times[-1])] * 2)
        assert (member_id, "hold") not in tables.records
    assert tables.member_data[member_id] == [{"name": "Kim", "my_list": ["Dune"]}]
    assert store.mailer.sent == [] and store.bus.events == []
