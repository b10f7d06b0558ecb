"""The single-member steps of ``lifecycle.campaign`` on the in-memory ports (``tests/fakes.py``,
held to DynamoDB's behaviour by ``tests/contracts/test_tables.py``): each reads, decides with the
policy, and makes one conditional transition; a transition on stale data is refused and the step
decides again. No cloud, no network: milliseconds each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.campaign import (
    Choice,
    Outcome,
    answer_notice,
    keep_open_notice,
    open_notice,
    purge_retained_data,
    record_activity,
    record_rejoin_elsewhere,
    rejoin,
    request_reminder,
    settle_notice,
    settle_what_ttl_ended,
)
from lifecycle.clock import iso
from lifecycle.errors import (
    ConcurrentChange,
    DeliveryFailed,
    InvalidRequest,
    MemberNotFound,
    NoOpenNotice,
    NotCancelled,
)
from lifecycle.membership import HOLD, NOTICE, LifecycleChange
from lifecycle.policy import Inactivity, deadline_for, respond_by, retained_until
from lifecycle.settings import Policy
from lifecycle.store import Store
from tests.fakes import InMemoryBus, InMemoryTables, in_memory_store, inactive_member

POLICY = Policy()
OPENED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
DEADLINE = deadline_for(OPENED, POLICY)
PROFILES = [{"name": "Sam", "my_list": ["The Long Night"], "preferences": {"subtitles": "en"}}]


@pytest.fixture
def tables() -> InMemoryTables:
    tables = InMemoryTables()
    for member_id in ("m-1", "m-2"):
        tables.add_member(member_id, profiles=PROFILES, **inactive_member(member_id))
    return tables


@pytest.fixture
def store(tables: InMemoryTables) -> Store:
    return in_memory_store(tables)


def with_notice(store: Store, member_id: str = "m-1") -> str:
    assert open_notice(store, store.members.snapshot(member_id), Inactivity.DORMANT, OPENED, POLICY)
    notice_id = store.members.snapshot(member_id).view.notice_id
    assert notice_id is not None
    return notice_id


def cancelled(store: Store, member_id: str = "m-1") -> datetime:
    notice_id = with_notice(store, member_id)
    assert settle_notice(store, member_id, notice_id, DEADLINE, POLICY) is Outcome.CANCELLED_NO_RESPONSE
    return DEADLINE


# ------------------------------------------------------------------ opening, reminding
def test_an_inactive_member_gets_one_notice_with_its_deadline_and_link(store, tables):
    # GIVEN an inactive member  WHEN the sweep opens a notice
    assert open_notice(store, store.members.snapshot("m-1"), Inactivity.DORMANT, OPENED, POLICY)
    # THEN the notice says what the email will: the deadline, the date to answer by, the price
    notice = store.lifecycle.notice("m-1")
    assert notice is not None and notice.notice_id is not None
    assert (notice.deadline, notice.respond_by, notice.reason) == (DEADLINE, respond_by(OPENED, POLICY), "dormant")
    assert (notice.email, notice.locale, notice.monthly_price, notice.currency) == (
        "m-1@members.example",
        "fr-FR",
        "9.99",
        "EUR",
    )
    # AND its link names the member, and the member's row shows it to the next sweep
    assert store.lifecycle.member_of_notice(notice.notice_id) == "m-1"
    assert tables.members["m-1"]["notice_id"] == notice.notice_id
    # AND a second sweep opens none
    assert not open_notice(store, store.members.snapshot("m-1"), Inactivity.DORMANT, OPENED, POLICY)


def test_no_notice_opens_for_a_member_who_watched_since_the_sweep_read_them(store, tables):
    # GIVEN the sweep's read of a member  AND a viewing recorded right after it
    read = store.members.snapshot("m-1")
    tables.set_member("m-1", last_watched_at=iso(OPENED - timedelta(minutes=1)))
    # WHEN the notice is opened on that read  THEN it is refused and nothing is written
    assert not open_notice(store, read, Inactivity.DORMANT, OPENED, POLICY)
    assert store.lifecycle.notice("m-1") is None and tables.links == {}


def test_a_reminder_is_requested_once(store):
    notice_id = with_notice(store)
    remind_at = DEADLINE - timedelta(days=POLICY.reminder_days_before)
    assert request_reminder(store, "m-1", notice_id, remind_at)
    assert not request_reminder(store, "m-1", notice_id, remind_at + timedelta(hours=1))
    notice = store.lifecycle.notice("m-1")
    assert notice is not None and notice.reminder_requested_at == remind_at


# ------------------------------------------------------------------ answers
def test_keep_closes_the_notice_and_restarts_the_clock_and_cannot_be_said_twice(store, tables):
    notice_id = with_notice(store)
    answered_at = OPENED + timedelta(days=3)
    assert answer_notice(store, "m-1", notice_id, Choice.KEEP, answered_at, POLICY) is Outcome.KEPT
    row = tables.members["m-1"]
    assert (row["status"], row["notice_outcome"], row["engaged_at"]) == ("active", "kept", iso(answered_at))
    assert store.lifecycle.notice("m-1") is None
    with pytest.raises(NoOpenNotice):
        answer_notice(store, "m-1", notice_id, Choice.CANCEL, answered_at, POLICY)
    assert tables.members["m-1"]["status"] == "active"


def test_cancel_now_cancels_stops_billing_and_keeps_the_members_things(store, tables):
    notice_id = with_notice(store)
    at = OPENED + timedelta(days=1)
    assert answer_notice(store, "m-1", notice_id, Choice.CANCEL, at, POLICY) is Outcome.CANCELLED_ON_REQUEST
    row = tables.members["m-1"]
    assert (row["status"], row["cancel_reason"], row["billing_stopped_at"]) == ("cancelled", "member_request", iso(at))
    hold = store.lifecycle.hold("m-1")
    assert hold is not None and hold.retained_until == retained_until(at, POLICY)
    assert store.members.profiles("m-1") == PROFILES


def test_keep_said_after_the_deadline_but_before_the_cancellation_is_honoured(store):
    notice_id = with_notice(store)
    late = DEADLINE + timedelta(hours=6)
    assert answer_notice(store, "m-1", notice_id, Choice.KEEP, late, POLICY) is Outcome.KEPT
    assert settle_notice(store, "m-1", notice_id, late, POLICY) is None


def test_keep_in_the_app_answers_the_open_notice_and_needs_one(store):
    with_notice(store)
    assert keep_open_notice(store, "m-1", OPENED, POLICY) is Outcome.KEPT
    with pytest.raises(NoOpenNotice):
        keep_open_notice(store, "m-1", OPENED, POLICY)


# ------------------------------------------------------------------ the deadline
def test_a_notice_is_left_open_until_its_deadline(store):
    notice_id = with_notice(store)
    assert settle_notice(store, "m-1", notice_id, DEADLINE - timedelta(seconds=1), POLICY) is None
    assert store.members.snapshot("m-1").view.notice_id == notice_id


def test_no_answer_by_the_deadline_cancels_once(store, tables):
    notice_id = with_notice(store)
    assert settle_notice(store, "m-1", notice_id, DEADLINE, POLICY) is Outcome.CANCELLED_NO_RESPONSE
    assert tables.members["m-1"]["cancel_reason"] == "no_response"
    assert settle_notice(store, "m-1", notice_id, DEADLINE, POLICY) is None


def test_a_viewing_recorded_late_keeps_the_membership_at_the_deadline(store, tables):
    # GIVEN a notice, and the feed delivering late a viewing from shortly before it opened
    notice_id = with_notice(store)
    tables.set_member("m-1", last_watched_at=iso(OPENED - timedelta(days=2)))
    # WHEN the deadline passes  THEN the member was not inactive when it opened: kept
    assert settle_notice(store, "m-1", notice_id, DEADLINE, POLICY) is Outcome.KEPT_BY_WATCHING
    assert tables.members["m-1"]["status"] == "active"


def test_a_viewing_landing_while_the_cancellation_runs_wins(store, tables):
    # GIVEN the settlement has read the member, and a viewing lands before it writes
    notice_id = with_notice(store)
    reads = store.members.snapshot
    watched = []

    def read_then_watch(member_id: str):
        snapshot = reads(member_id)
        if not watched:
            watched.append(True)
            tables.set_member(member_id, last_watched_at=iso(DEADLINE - timedelta(hours=1)))
        return snapshot

    store.members.snapshot = read_then_watch
    # WHEN it settles  THEN the write on stale data is refused, it decides again, and keeps the member
    assert settle_notice(store, "m-1", notice_id, DEADLINE, POLICY) is Outcome.KEPT_BY_WATCHING
    assert tables.members["m-1"]["status"] == "active"


def test_a_member_changing_at_every_try_is_left_for_the_retry(store, tables):
    notice_id = with_notice(store)
    reads = store.members.snapshot
    minutes = iter(range(1, 100))

    def read_then_engage(member_id: str):
        snapshot = reads(member_id)
        tables.set_member(member_id, engaged_at=iso(OPENED - timedelta(days=1000, minutes=next(minutes))))
        return snapshot

    store.members.snapshot = read_then_engage
    with pytest.raises(ConcurrentChange):
        settle_notice(store, "m-1", notice_id, DEADLINE, POLICY)
    assert tables.members["m-1"]["status"] == "active"


def test_settling_a_notice_of_nobody_or_one_already_answered_does_nothing(store):
    notice_id = with_notice(store)
    assert settle_notice(store, "m-nobody", notice_id, DEADLINE, POLICY) is None
    assert settle_notice(store, "m-1", "n-other", DEADLINE, POLICY) is None


# ------------------------------------------------------------------ the service's apps
def test_a_viewing_through_the_app_closes_the_notice_at_once(store, tables):
    with_notice(store)
    watched_at = OPENED + timedelta(days=2)
    assert record_activity(store, "m-1", watched_at, watched_at, POLICY) is Outcome.KEPT_BY_WATCHING
    assert tables.members["m-1"]["last_watched_at"] == iso(watched_at)
    assert store.lifecycle.notice("m-1") is None
    assert record_activity(store, "m-2", watched_at, watched_at, POLICY) is None  # no notice: recorded only


@pytest.mark.parametrize(
    ("watched_at", "why"),
    [(OPENED + timedelta(seconds=1), "in the future"), (datetime(1969, 12, 31, tzinfo=UTC), "before 1970")],
)
def test_a_viewing_that_cannot_be_is_refused(store, tables, watched_at, why):
    with pytest.raises(InvalidRequest, match=why):
        record_activity(store, "m-1", watched_at, OPENED, POLICY)
    assert tables.members["m-1"]["last_watched_at"] == "2023-01-01T00:00:00Z"


def test_a_viewing_of_nobody_names_nobody(store):
    with pytest.raises(MemberNotFound):
        record_activity(store, "m-nobody", OPENED, OPENED, POLICY)


# ------------------------------------------------------------------ rejoining
def test_rejoining_resumes_membership_and_billing_once(store, tables):
    cancelled_at = cancelled(store)
    back = cancelled_at + timedelta(days=20)
    member = rejoin(store, "m-1", back)
    assert (member.view.status, member.view.rejoined_at, member.billing_resumed_at) == ("active", back, back)
    assert store.lifecycle.hold("m-1") is None and store.members.profiles("m-1") == PROFILES
    assert isinstance(store.bus, InMemoryBus)
    assert store.bus.events == [
        (
            "MembershipRejoined",
            {
                "member_id": "m-1",
                "rejoined_at": iso(back),
                "previously_cancelled_at": iso(cancelled_at),
                "billing": "resume",
            },
        )
    ]
    with pytest.raises(NotCancelled):
        rejoin(store, "m-1", back + timedelta(days=1))


def test_asking_to_rejoin_again_after_billing_failed_to_hear_finishes_the_job(tables):
    class DownThenUpBus(InMemoryBus):
        def __init__(self) -> None:
            super().__init__()
            self.down = True

        def publish(self, detail_type, detail):
            if self.down:
                self.down = False
                raise DeliveryFailed("EventBridge refused MembershipRejoined: InternalException")
            super().publish(detail_type, detail)

    bus = DownThenUpBus()
    store = in_memory_store(tables)
    store = replace(store, bus=bus)
    back = cancelled(store) + timedelta(days=3)
    with pytest.raises(DeliveryFailed):
        rejoin(store, "m-1", back)
    member = rejoin(store, "m-1", back + timedelta(minutes=1))
    assert member.view.rejoined_at == back and [event for event, _ in bus.events] == ["MembershipRejoined"]


def test_a_rejoin_through_the_services_own_flow_ends_the_hold_without_an_event(store, tables):
    cancelled(store)
    tables.set_member("m-1", status="active")
    back = DEADLINE + timedelta(days=5)
    read = store.members.snapshot("m-1")
    assert record_rejoin_elsewhere(store, read, back)
    assert store.lifecycle.hold("m-1") is None and tables.members["m-1"]["rejoined_at"] == iso(back)
    assert isinstance(store.bus, InMemoryBus) and store.bus.events == []
    # a second sweep worker on the same read is refused: the rejoin it saw missing is recorded
    assert not record_rejoin_elsewhere(store, read, back + timedelta(minutes=1))


# ------------------------------------------------------------------ purging
def test_kept_data_is_purged_only_once_retention_is_over(store):
    cancelled_at = cancelled(store)
    ends = retained_until(cancelled_at, POLICY)
    assert not purge_retained_data(store, "m-1", cancelled_at, ends - timedelta(seconds=1))
    assert store.members.profiles("m-1") == PROFILES
    assert purge_retained_data(store, "m-1", cancelled_at, ends)
    assert store.members.profiles("m-1") is None
    assert not purge_retained_data(store, "m-1", cancelled_at, ends)


def test_a_member_who_came_back_keeps_their_things(store):
    cancelled_at = cancelled(store)
    rejoin(store, "m-1", cancelled_at + timedelta(days=30))
    assert not purge_retained_data(store, "m-1", cancelled_at, retained_until(cancelled_at, POLICY))
    assert store.members.profiles("m-1") == PROFILES
    assert not purge_retained_data(store, "m-nobody", cancelled_at, retained_until(cancelled_at, POLICY))


# ------------------------------------------------------------------ what TTL ended
def test_ttl_ending_a_notice_settles_it_and_ending_a_hold_purges(store):
    with_notice(store)
    ended = LifecycleChange("REMOVE", "m-1", NOTICE, None, store.lifecycle.notice("m-1"))
    assert settle_what_ttl_ended(store, ended, DEADLINE, POLICY) == "Settled_cancelled_no_response"
    assert store.members.snapshot("m-1").view.status == "cancelled"
    hold = store.lifecycle.hold("m-1")
    ends = retained_until(DEADLINE, POLICY)
    assert settle_what_ttl_ended(store, LifecycleChange("REMOVE", "m-1", HOLD, None, hold), ends, POLICY) == "Purged"
    assert settle_what_ttl_ended(store, LifecycleChange("REMOVE", "m-1", HOLD, None, hold), ends, POLICY) is None


@pytest.mark.parametrize("record", [NOTICE, HOLD])
def test_ttl_ending_a_record_without_its_old_image_is_refused(store, record):
    with pytest.raises(InvalidRequest, match="OldImage"):
        settle_what_ttl_ended(store, LifecycleChange("REMOVE", "m-1", record, None, None), DEADLINE, POLICY)
