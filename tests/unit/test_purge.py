"""The purge on the in-memory ports: the kept data is deleted and the member's row forgets the
person (no address, no language, nothing SES said of the address), keeping the record of the
membership and, in the address's place, its keyed hash, which support can compute again from
the address it is told. Safe to run twice, refused when its conditions fail, and everything
after it (a rejoin, a notice of the member who came back, the sweep) works without an address."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.addresses import AddressKeyProblem, normalised_address
from lifecycle.campaign import Outcome, open_notice, purge_retained_data, rejoin, settle_notice
from lifecycle.errors import ConcurrentChange, DeliveryFailed
from lifecycle.membership import HOLD, NOTICE, LifecycleChange, SendLease
from lifecycle.notifications import announce
from lifecycle.policy import Inactivity, SweepAction, deadline_for, plan, prefilter_cutoffs, retained_until
from lifecycle.settings import Settings
from lifecycle.store import Store
from tests.fakes import ADDRESS_KEY, InMemoryLifecycle, InMemoryMailer, InMemoryTables, in_memory_store, inactive_member
from tests.real_world import MEMBER_IDS, addresses

SETTINGS = Settings(activity_table="a", lifecycle_table="l", member_data_table="d", link_table="k")
POLICY = SETTINGS.policy
OPENED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
DEADLINE = deadline_for(OPENED, POLICY)
ENDS = retained_until(DEADLINE, POLICY)
PROFILES = [{"name": "Sam", "my_list": ["The Long Night"], "preferences": {"subtitles": "de"}}]
ADDRESS = "Anna.Schmidt@Bücher.example"


def store_with(member_id: str = "m-1", address: str = ADDRESS, **attributes: str) -> tuple[InMemoryTables, Store]:
    tables = InMemoryTables()
    row = inactive_member(member_id, email=address, locale="de-DE", **attributes)
    tables.add_member(member_id, profiles=PROFILES, **row)
    return tables, in_memory_store(tables)


def cancel(store: Store, member_id: str = "m-1") -> datetime:
    assert open_notice(store, store.members.snapshot(member_id), Inactivity.DORMANT, OPENED, POLICY)
    notice_id = store.members.snapshot(member_id).view.notice_id
    assert notice_id is not None
    assert settle_notice(store, member_id, notice_id, DEADLINE, POLICY) is Outcome.CANCELLED_NO_RESPONSE
    return DEADLINE


def stack_hash(address: str) -> str:
    """What support computes from the address it is told, with the key and nothing of this code's."""
    message = ("purged-email:" + normalised_address(address)).encode()
    return hmac.new(ADDRESS_KEY.encode(), message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ what the row keeps
@pytest.mark.parametrize("member_id", [MEMBER_IDS[0], MEMBER_IDS[6], MEMBER_IDS[9], MEMBER_IDS[12]])
def test_the_purge_deletes_what_the_member_made_and_the_row_keeps_only_the_membership(member_id):
    tables, store = store_with(member_id, email_status="bounced", email_status_at="2026-06-01T03:00:05Z")
    cancelled_at = cancel(store, member_id)
    assert purge_retained_data(store, member_id, cancelled_at, ENDS)
    assert store.members.profiles(member_id) is None and store.lifecycle.hold(member_id) is None
    row = tables.members[member_id]
    assert not {"email", "locale", "email_status", "email_status_at"} & row.keys()
    assert row["email_hash"] == stack_hash(ADDRESS) == stack_hash("anna.schmidt@xn--bcher-kva.example")
    assert ADDRESS.lower() not in str(row).lower() and "schmidt" not in str(row)
    assert {name: row[name] for name in ("member_id", "status", "joined_at", "cancelled_at", "cancel_reason",
                                         "billing_stopped_at", "retained_until", "purged_at", "monthly_price",
                                         "currency", "notice_outcome")} == {
        "member_id": member_id, "status": "cancelled", "joined_at": "2020-01-01T00:00:00Z",
        "cancelled_at": "2026-07-02T12:00:00Z", "cancel_reason": "no_response",
        "billing_stopped_at": "2026-07-02T12:00:00Z", "retained_until": "2027-05-02T12:00:00Z",
        "purged_at": "2027-05-02T12:00:00Z", "monthly_price": "9.99", "currency": "EUR",
        "notice_outcome": "cancelled_no_response",
    }


@settings(max_examples=40, deadline=None)
@given(addresses(), st.sampled_from(MEMBER_IDS))
def test_support_finds_a_purged_member_by_hashing_the_address_it_is_told(address, member_id):
    """Told the address as a person writes it (another case, the domain in Unicode or Punycode),
    support's hash is the row's; no other member's row holds it."""
    tables, store = store_with(member_id, address)
    tables.add_member("m-other", **inactive_member("m-other"))
    assert purge_retained_data(store, member_id, cancel(store, member_id), ENDS)
    local, _, domain = address.rpartition("@")
    for told in (address, f"{local}@{domain.upper()}", f"{local.upper()}@{domain.encode('idna').decode()}"):
        found = [m for m, row in tables.members.items() if row.get("email_hash") == stack_hash(told)]
        assert found == [member_id]


def test_the_purge_is_safe_to_run_twice():
    tables, store = store_with()
    cancelled_at = cancel(store)
    assert purge_retained_data(store, "m-1", cancelled_at, ENDS)
    purged = dict(tables.members["m-1"])
    assert not purge_retained_data(store, "m-1", cancelled_at, ENDS)
    assert not purge_retained_data(store, "m-1", cancelled_at, ENDS + timedelta(days=3))
    assert tables.members["m-1"] == purged


def test_before_retention_ends_nothing_is_purged_or_forgotten():
    tables, store = store_with()
    cancelled_at = cancel(store)
    before = dict(tables.members["m-1"])
    assert not purge_retained_data(store, "m-1", cancelled_at, ENDS - timedelta(seconds=1))
    assert tables.members["m-1"] == before and store.members.profiles("m-1") == PROFILES


# ------------------------------------------------------------------ its conditions
class AddressChangedFirst(InMemoryLifecycle):
    """The business's MemberChanged lands between the purge's read and its write, ``times`` times."""

    def __init__(self, tables: InMemoryTables, times: int):
        super().__init__(tables)
        self.times = times

    def purge(self, member_id, cancelled_at, now, email, email_hash):
        if self.times:
            self.times -= 1
            self.tables.members[member_id]["email"] = f"anna.{self.times}@post.example"
        return super().purge(member_id, cancelled_at, now, email, email_hash)


def test_an_address_changed_while_purging_is_read_again_and_that_one_is_hashed():
    tables, store = store_with()
    cancelled_at = cancel(store)
    racing = replace(store, lifecycle=AddressChangedFirst(tables, times=1))
    assert purge_retained_data(racing, "m-1", cancelled_at, ENDS)
    assert tables.members["m-1"]["email_hash"] == stack_hash("anna.0@post.example")
    assert "email" not in tables.members["m-1"]


def test_an_address_that_keeps_changing_is_left_for_the_retry_with_nothing_purged():
    tables, store = store_with()
    cancelled_at = cancel(store)
    racing = replace(store, lifecycle=AddressChangedFirst(tables, times=3))
    with pytest.raises(ConcurrentChange):
        purge_retained_data(racing, "m-1", cancelled_at, ENDS)
    assert store.members.profiles("m-1") == PROFILES and "purged_at" not in tables.members["m-1"]


class UnreadableKeys:
    def secret(self) -> object:
        raise DeliveryFailed("could not read the address-hash secret")


@pytest.mark.parametrize(
    ("keys", "error"),
    [(UnreadableKeys(), DeliveryFailed), (None, AddressKeyProblem)],
)
def test_without_a_usable_key_nothing_is_purged_and_the_step_fails_to_be_retried(keys, error):
    """Deleting the address without its hash would lose support's answer for good: the purge
    waits (the stream retries, parks and alarms; the sweep tries every night)."""
    tables, store = store_with()
    cancelled_at = cancel(store)
    before = dict(tables.members["m-1"])
    broken = replace(store, address_keys=keys) if keys else in_memory_store(tables, address_secret={"key": "short"})
    with pytest.raises(error):
        purge_retained_data(broken, "m-1", cancelled_at, ENDS)
    assert tables.members["m-1"] == before and store.members.profiles("m-1") == PROFILES


def test_a_member_without_an_address_is_purged_without_reading_the_key():
    tables, store = store_with()
    cancelled_at = cancel(store)
    del tables.members["m-1"]["email"]
    assert purge_retained_data(replace(store, address_keys=UnreadableKeys()), "m-1", cancelled_at, ENDS)
    assert "email_hash" not in tables.members["m-1"] and store.members.profiles("m-1") is None


# ------------------------------------------------------------------ after it
def test_a_purged_member_who_rejoins_starts_afresh_and_no_email_is_ever_tried():
    tables, store = store_with()
    cancelled_at = cancel(store)
    assert purge_retained_data(store, "m-1", cancelled_at, ENDS)
    # WHEN the member rejoins in the app
    back = ENDS + timedelta(days=20)
    member = rejoin(store, "m-1", back)
    # THEN billing resumes, with nothing kept to come back to
    assert (member.view.status, member.view.rejoined_at, member.email) == ("active", back, "")
    assert store.members.profiles("m-1") is None
    # AND when, years later, a notice opens and is settled for no answer, nothing is sent to anyone
    later = back + timedelta(days=800)
    assert open_notice(store, store.members.snapshot("m-1"), Inactivity.DORMANT, later, POLICY)
    notice = store.lifecycle.notice("m-1")
    assert notice is not None and notice.email == ""
    lease = SendLease("stream:1", later + timedelta(minutes=5))
    announce(store, LifecycleChange("INSERT", "m-1", NOTICE, notice, None, "1"), later, SETTINGS, lease)
    notice_id = store.members.snapshot("m-1").view.notice_id
    assert notice_id is not None
    ended = deadline_for(later, POLICY)
    assert settle_notice(store, "m-1", notice_id, ended, POLICY) is Outcome.CANCELLED_NO_RESPONSE
    hold = store.lifecycle.hold("m-1")
    announce(store, LifecycleChange("INSERT", "m-1", HOLD, hold, None, "2"), ended, SETTINGS, lease)
    assert isinstance(store.mailer, InMemoryMailer) and store.mailer.sent == []
    assert "email_status" not in tables.members["m-1"]  # no "refused" recorded, nothing alarmed
    hold = store.lifecycle.hold("m-1")
    assert hold is not None and hold.billing_event_at == ended  # billing is still told


def test_the_sweep_judges_a_purged_member_as_any_cancelled_one():
    tables, store = store_with()
    cancelled_at = cancel(store)
    tables.set_member("m-1", cancellation_announced_at="2026-07-02T12:05:00Z",
                      billing_confirmed_at="2026-07-02T13:00:00Z")
    assert purge_retained_data(store, "m-1", cancelled_at, ENDS)
    tomorrow = ENDS + timedelta(days=1)
    [page] = list(store.members.scan_members())
    assert page.malformed == [] and plan(page.members[0].view, tomorrow, POLICY).action is SweepAction.NOTHING
    assert [m for p in store.members.scan_members(prefilter_cutoffs(tomorrow, POLICY)) for m in p.members] == []

