"""What a lifecycle change owes the outside world (``lifecycle.notifications``), on the in-memory
ports: each email and billing event is claimed under a lease, sent once, and recorded; a second
sender meanwhile sends nothing; a failed send gives its lease back; the sweep's catch-up sends
what a lost stream record owed. No cloud, no network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.campaign import open_notice, request_reminder, settle_notice
from lifecycle.clock import iso
from lifecycle.errors import SendInProgress
from lifecycle.membership import HOLD, NOTICE, Claim, LifecycleChange, SendLease
from lifecycle.notifications import CATCH_UP_AFTER, announce, catch_up
from lifecycle.policy import Inactivity, deadline_for
from lifecycle.settings import Settings
from lifecycle.store import Store
from tests.fakes import InMemoryBus, InMemoryMailer, InMemoryTables, in_memory_store, inactive_member

SETTINGS = Settings(activity_table="a", lifecycle_table="l", member_data_table="d", link_table="k")
POLICY = SETTINGS.policy
OPENED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
DEADLINE = deadline_for(OPENED, POLICY)
LEASE = SendLease("stream:record-1", OPENED + timedelta(minutes=5))


@pytest.fixture
def tables() -> InMemoryTables:
    tables = InMemoryTables()
    tables.add_member("m-1", **inactive_member("m-1", email="anna@bücher.example", locale="de-DE"))
    return tables


@pytest.fixture
def store(tables: InMemoryTables) -> Store:
    return in_memory_store(tables)


def mail(store: Store) -> list[tuple[str, str, str]]:
    assert isinstance(store.mailer, InMemoryMailer)
    return [(m.to, m.kind, m.lang) for m in store.mailer.sent]


def events(store: Store) -> list[tuple[str, dict]]:
    assert isinstance(store.bus, InMemoryBus)
    return store.bus.events


def opened(store: Store) -> LifecycleChange:
    assert open_notice(store, store.members.snapshot("m-1"), Inactivity.DORMANT, OPENED, POLICY)
    return LifecycleChange("INSERT", "m-1", NOTICE, store.lifecycle.notice("m-1"), None, "record-1")


def cancelled(store: Store) -> LifecycleChange:
    opened(store)
    notice_id = store.members.snapshot("m-1").view.notice_id
    assert notice_id is not None and settle_notice(store, "m-1", notice_id, DEADLINE, POLICY)
    return LifecycleChange("INSERT", "m-1", HOLD, store.lifecycle.hold("m-1"), None, "record-2")


def test_a_new_notice_sends_its_email_once_in_the_members_language(store):
    change = opened(store)
    assert announce(store, change, OPENED, SETTINGS, LEASE) == ["notice"]
    # the stream delivering the same record again sends nothing
    assert announce(store, change, OPENED, SETTINGS, SendLease("stream:record-1-again", LEASE.until)) == []
    assert mail(store) == [("anna@xn--bcher-kva.example", "notice", "de")]
    notice = store.lifecycle.notice("m-1")
    assert notice is not None and notice.notice_email_at == OPENED


def test_a_requested_reminder_sends_the_reminder_email(store):
    before = opened(store).new
    notice_id = store.members.snapshot("m-1").view.notice_id
    remind_at = DEADLINE - timedelta(days=7)
    assert notice_id is not None and request_reminder(store, "m-1", notice_id, remind_at)
    change = LifecycleChange("MODIFY", "m-1", NOTICE, store.lifecycle.notice("m-1"), before, "record-3")
    assert announce(store, change, remind_at, SETTINGS, LEASE) == ["reminder"]
    assert [kind for _, kind, _ in mail(store)] == ["reminder"]


def test_a_change_that_owes_nothing_sends_nothing(store):
    change = opened(store)
    unchanged = LifecycleChange("MODIFY", "m-1", NOTICE, change.new, change.new, "record-4")
    assert announce(store, unchanged, OPENED, SETTINGS, LEASE) == []
    assert mail(store) == [] and events(store) == []


def test_a_cancellation_tells_billing_emails_the_member_and_is_marked_announced(store, tables):
    change = cancelled(store)
    assert announce(store, change, DEADLINE, SETTINGS, LEASE) == ["billing_stopped", "cancelled"]
    assert events(store) == [
        (
            "MembershipCancelled",
            {
                "member_id": "m-1",
                "cancelled_at": iso(DEADLINE),
                "reason": "no_response",
                "billing": "stop",
                "ends_at": iso(DEADLINE),  # at once: the default CancellationTakesEffect
                "retained_until": tables.members["m-1"]["retained_until"],
            },
        )
    ]
    assert [kind for _, kind, _ in mail(store)] == ["cancelled"]
    assert tables.members["m-1"]["cancellation_announced_at"] == iso(DEADLINE)
    assert announce(store, change, DEADLINE, SETTINGS, LEASE) == []
    assert len(events(store)) == 1


def test_while_one_sender_holds_the_lease_another_sends_nothing(store):
    change = opened(store)
    assert store.lifecycle.claim("m-1", NOTICE, "notice_email_at", OPENED, LEASE) is Claim.CLAIMED
    with pytest.raises(SendInProgress):
        announce(store, change, OPENED, SETTINGS, SendLease("sweep:r:0", OPENED + timedelta(minutes=15)))
    assert mail(store) == []
    # the same delivery, retried after its sender died, takes it back at once
    assert announce(store, change, OPENED + timedelta(seconds=5), SETTINGS, LEASE) == ["notice"]


def test_a_failed_send_gives_the_lease_back_so_the_next_sender_need_not_wait(tables):
    class ThrottledMailer(InMemoryMailer):
        def send(self, *args, **kwargs):
            raise RuntimeError("Throttling: Maximum sending rate exceeded")

    working = in_memory_store(tables)
    throttled = replace(working, mailer=ThrottledMailer())
    change = opened(working)
    with pytest.raises(RuntimeError):
        announce(throttled, change, OPENED, SETTINGS, LEASE)
    assert announce(working, change, OPENED, SETTINGS, SendLease("sweep:r:0", LEASE.until)) == ["notice"]
    assert tables.leases == {}


def test_an_address_that_bounced_gets_no_email_and_the_send_counts_as_done(store, tables):
    change = opened(store)
    tables.set_member("m-1", email_status="bounced")
    assert announce(store, change, OPENED, SETTINGS, LEASE) == ["notice"]
    assert mail(store) == []
    assert announce(store, change, OPENED, SETTINGS, LEASE) == []


def test_an_address_ses_refuses_is_recorded_as_refused_and_the_member_is_reached_in_the_app(store, tables):
    tables.add_member(
        "m-bad-address",
        email="not an address",
        locale="en-US",
        status="active",
        monthly_price="9.99",
        joined_at="2020-01-01T00:00:00Z",
        last_watched_at="2023-01-01T00:00:00Z",
    )
    assert open_notice(store, store.members.snapshot("m-bad-address"), Inactivity.DORMANT, OPENED, POLICY)
    notice = store.lifecycle.notice("m-bad-address")
    change = LifecycleChange("INSERT", "m-bad-address", NOTICE, notice, None, "record-5")
    assert announce(store, change, OPENED, SETTINGS, LEASE) == ["notice"]
    assert mail(store) == [] and tables.members["m-bad-address"]["email_status"] == "refused"
    assert store.members.email_unreachable("m-bad-address")


def test_a_member_with_no_address_is_sent_nothing_and_nothing_is_refused_or_alarmed(store, tables):
    """A purged member who came back has no address until the business gives one: the notice
    and the cancellation are claimed and marked done, no send is tried, billing is still told."""
    del tables.members["m-1"]["email"]
    change = opened(store)
    assert change.new is not None and change.new.email == ""
    announce(store, change, OPENED, SETTINGS, LEASE)
    notice_id = store.members.snapshot("m-1").view.notice_id
    assert notice_id is not None and settle_notice(store, "m-1", notice_id, DEADLINE, POLICY)
    cancellation = LifecycleChange("INSERT", "m-1", HOLD, store.lifecycle.hold("m-1"), None, "record-6")
    announce(store, cancellation, DEADLINE, SETTINGS, LEASE)
    assert mail(store) == [] and "email_status" not in tables.members["m-1"]
    assert [kind for kind, _ in events(store)] == ["MembershipCancelled"]
    hold = store.lifecycle.hold("m-1")
    assert hold is not None and hold.cancelled_email_at == DEADLINE  # done: the catch-up will not try again


def test_the_catch_up_sends_what_a_lost_stream_record_owed_once_it_is_surely_lost(store):
    opened(store)
    lease = SendLease("sweep:r:0", OPENED + timedelta(hours=2))
    view = store.members.snapshot("m-1").view
    assert catch_up(store, view, OPENED + CATCH_UP_AFTER - timedelta(seconds=1), SETTINGS, lease) == []
    assert catch_up(store, view, OPENED + CATCH_UP_AFTER, SETTINGS, lease) == ["notice"]
    assert catch_up(store, view, OPENED + CATCH_UP_AFTER, SETTINGS, lease) == []
    assert [kind for _, kind, _ in mail(store)] == ["notice"]


def test_the_catch_up_announces_a_cancellation_whose_record_was_lost(store):
    cancelled(store)
    later = DEADLINE + CATCH_UP_AFTER
    view = store.members.snapshot("m-1").view
    assert catch_up(store, view, later, SETTINGS, SendLease("sweep:r:0", later)) == ["billing_stopped", "cancelled"]
    assert [event for event, _ in events(store)] == ["MembershipCancelled"]


def test_the_catch_up_leaves_to_the_sender_under_way(store):
    opened(store)
    at = OPENED + CATCH_UP_AFTER
    stream = SendLease("stream:record-1", at + timedelta(minutes=5))
    assert store.lifecycle.claim("m-1", NOTICE, "notice_email_at", at, stream) is Claim.CLAIMED
    view = store.members.snapshot("m-1").view
    assert catch_up(store, view, at, SETTINGS, SendLease("sweep:r:0", at)) == []
    assert mail(store) == []
