"""One set of checks for the table ports, ``Members`` and ``Lifecycle``, run against the DynamoDB
adapters on the local cloud and against the in-memory fakes (``tests/fakes.py``): every read,
every transition, and every refusal a changed state calls for (stale activity marks, a notice
already answered, a second claim), so the fast tests on the fakes say what DynamoDB would do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from boto3.dynamodb.types import TypeSerializer

from lifecycle.adapters.dynamodb import DynamoDBLifecycle, DynamoDBMembers
from lifecycle.clock import iso
from lifecycle.errors import InvalidRequest, MemberNotFound
from lifecycle.membership import (
    HOLD,
    NOTICE,
    PURGED_FIELDS,
    Claim,
    Hold,
    NewMember,
    Notice,
    SendLease,
    ViewingState,
)
from lifecycle.policy import prefilter_cutoffs
from lifecycle.ports import Lifecycle, Members
from lifecycle.settings import Policy, Settings
from tests.fakes import InMemoryLifecycle, InMemoryMembers, InMemoryTables, inactive_member
from tests.real_world import MEMBER_IDS

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(days=30)
RETAINED_UNTIL = NOW + timedelta(days=300)
PROFILES = [{"name": "Sam", "my_list": ["The Long Night"], "preferences": {"subtitles": "en"}}]


@dataclass
class Tables:
    """The two ports on one set of tables, and how the service itself writes and reads a row."""

    members: Members
    lifecycle: Lifecycle
    add: Callable[..., None]  # add(member_id, profiles=None, **attributes as text): the service's sign-up
    set: Callable[..., None]  # set(member_id, **attributes as text): the activity feed
    row: Callable[[str], dict[str, Any]]  # the member's row as stored
    expire_notice: Callable[[str], None]  # TTL deleting the member's notice item

    def add_inactive(self, member_id: str, **attributes: str) -> None:
        self.add(member_id, profiles=PROFILES, **inactive_member(member_id, **attributes))


@pytest.fixture(params=["aws", "fake"])
def tables(request) -> Iterator[Tables]:
    if request.param == "fake":
        memory = InMemoryTables()
        yield Tables(
            InMemoryMembers(memory),
            InMemoryLifecycle(memory),
            memory.add_member,
            memory.set_member,
            lambda member_id: dict(memory.members[member_id]),
            lambda member_id: memory.records.pop((member_id, NOTICE)) and None,
        )
        return
    stack = request.getfixturevalue("stack")
    settings = Settings.from_env(dict(stack.cloud.stack.function("ExpireFunction").environment))
    client, serializer = stack.cloud.client("dynamodb"), TypeSerializer()

    def add(member_id: str, profiles: list[dict[str, Any]] | None = None, **attributes: str) -> None:
        item = {"member_id": member_id, **attributes}
        client.put_item(TableName=settings.activity_table, Item={name: {"S": value} for name, value in item.items()})
        if profiles is not None:
            client.put_item(
                TableName=settings.member_data_table,
                Item={"member_id": {"S": member_id}, "profiles": serializer.serialize(profiles)},
            )

    yield Tables(
        DynamoDBMembers(settings.activity_table, settings.member_data_table),
        DynamoDBLifecycle(
            settings.activity_table, settings.member_data_table, settings.lifecycle_table, settings.link_table
        ),
        add,
        stack.set_member,
        stack.member,
        lambda member_id: (
            client.delete_item(
                TableName=settings.lifecycle_table, Key={"member_id": {"S": member_id}, "record": {"S": NOTICE}}
            )
            and None
        ),
    )


def a_notice(member_id: str, notice_id: str = "n-1") -> Notice:
    return Notice(
        member_id=member_id,
        notice_id=notice_id,
        email=f"{member_id}@members.example",
        locale="fr-FR",
        reason="dormant",
        opened_at=NOW,
        deadline=DEADLINE,
        respond_by=date(2026, 6, 30),
        monthly_price="9.99",
        currency="EUR",
    )


def a_hold(member_id: str, cancelled_at: datetime = NOW, reason: str = "no_response") -> Hold:
    return Hold(
        member_id=member_id,
        email=f"{member_id}@members.example",
        locale="fr-FR",
        reason=reason,
        cancelled_at=cancelled_at,
        retained_until=RETAINED_UNTIL,
    )


def with_open_notice(tables: Tables, member_id: str) -> str:
    tables.add_inactive(member_id)
    assert tables.lifecycle.open_notice(tables.members.snapshot(member_id), a_notice(member_id), DEADLINE)
    return "n-1"


def cancelled(tables: Tables, member_id: str) -> None:
    with_open_notice(tables, member_id)
    assert tables.lifecycle.cancel(tables.members.snapshot(member_id), a_hold(member_id), "cancelled_no_response", True)


# ------------------------------------------------------------------ Members: reads
@pytest.mark.parametrize("member_id", MEMBER_IDS[:3])
def test_a_snapshot_reads_the_member_and_its_activity_marks_as_stored(tables, member_id):
    tables.add_inactive(member_id, engaged_at="2024-02-29T10:00:00Z", cancel_reason="member_request")
    member = tables.members.snapshot(member_id)
    assert (member.view.member_id, member.view.status, str(member.view.monthly_price)) == (member_id, "active", "9.99")
    assert member.view.last_watched_at == datetime(2023, 1, 1, tzinfo=UTC)
    assert (member.marks.last_watched_at, member.marks.engaged_at) == ("2023-01-01T00:00:00Z", "2024-02-29T10:00:00Z")
    assert (member.email, member.locale, member.currency) == (f"{member_id}@members.example", "fr-FR", "EUR")
    assert (member.cancel_reason, member.billing_resumed_at, member.view.notice_id) == ("member_request", None, None)


def test_a_snapshot_fills_in_what_a_row_lacks_and_names_nobody_it_cannot_find(tables):
    tables.add("m-bare", email="bare@members.example", joined_at="2020-01-01T00:00:00Z")
    member = tables.members.snapshot("m-bare")
    assert (member.view.status, member.locale, member.currency, member.monthly_price) == (
        "active",
        "en-US",
        "USD",
        "0.00",
    )
    with pytest.raises(MemberNotFound):
        tables.members.snapshot("m-nobody")


def test_profiles_read_back_as_kept_and_none_when_there_are_none(tables):
    tables.add_inactive("m-profiles")
    tables.add("m-no-data", email="x@members.example", joined_at="2020-01-01T00:00:00Z")
    assert tables.members.profiles("m-profiles") == PROFILES
    assert tables.members.profiles("m-no-data") is None


def test_the_count_counts_the_members(tables):
    for n in range(3):
        tables.add_inactive(f"m-count-{n}")
    assert tables.members.count() == 3


def test_a_scan_reads_every_member_once_page_by_page_and_says_why_it_skipped_one(tables):
    for n in range(5):
        tables.add_inactive(f"m-scan-{n}")
    tables.add("m-scan-broken", email="x@members.example", joined_at="not a time")
    pages = []
    start_key = None
    while True:
        page = tables.members.scan_page(start_key=start_key, page_size=2)
        pages.append(page)
        start_key = page.next_key
        if start_key is None:
            break
    read = [member.view.member_id for page in pages for member in page.members]
    assert sorted(read) == [f"m-scan-{n}" for n in range(5)]
    assert sum(page.scanned for page in pages) == 6 and all(page.scanned <= 2 for page in pages)
    assert [problem for page in pages for problem in page.malformed] == [
        "member attribute joined_at is not an ISO 8601 time with a zone: 'not a time'"
    ]
    assert [len(p.members) for p in tables.members.scan_members()] == [5]


def test_scan_segments_split_the_members_between_them(tables):
    for n in range(8):
        tables.add_inactive(f"m-seg-{n}")
    segments = [
        [m.view.member_id for page in tables.members.scan_members(segment=s, total_segments=3) for m in page.members]
        for s in range(3)
    ]
    assert sorted(member for segment in segments for member in segment) == [f"m-seg-{n}" for n in range(8)]


def test_the_prefilter_drops_members_nothing_can_happen_to_and_counts_them_read(tables):
    tables.add_inactive("m-dormant")
    tables.add_inactive("m-watching", last_watched_at=iso(NOW - timedelta(days=3)))
    tables.add_inactive(
        "m-kept-data",
        status="cancelled",
        cancelled_at="2025-01-01T00:00:00Z",
        cancellation_announced_at="2025-01-01T01:00:00Z",
        retained_until="2025-11-01T00:00:00Z",
    )
    cutoffs = prefilter_cutoffs(NOW, Policy())
    pages = list(tables.members.scan_members(cutoffs))
    assert sorted(m.view.member_id for page in pages for m in page.members) == ["m-dormant", "m-kept-data"]
    assert sum(page.scanned for page in pages) == 3


# ------------------------------------------------------------------ Members: writes
def test_a_viewing_moves_the_last_viewing_forward_never_back(tables):
    tables.add_inactive("m-watch")
    assert tables.members.record_watch("m-watch", datetime(2024, 5, 1, tzinfo=UTC))
    assert not tables.members.record_watch("m-watch", datetime(2024, 4, 1, tzinfo=UTC))
    assert not tables.members.record_watch("m-watch", datetime(2024, 5, 1, tzinfo=UTC))
    assert tables.row("m-watch")["last_watched_at"] == "2024-05-01T00:00:00Z"
    with pytest.raises(MemberNotFound):
        tables.members.record_watch("m-nobody", NOW)


def test_a_viewing_is_written_once_a_day_and_every_later_one_while_a_notice_is_open(tables):
    # GIVEN a member with no notice open, whose last viewing is from 30 April (UTC)
    tables.add_inactive("m-daily", last_watched_at="2024-04-30T22:00:00Z")
    # WHEN plays of 1 May arrive: the day's first is written, the later ones of that day are not
    assert tables.members.record_watch("m-daily", datetime(2024, 5, 1, 0, 5, tzinfo=UTC))
    assert not tables.members.record_watch("m-daily", datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC))
    assert tables.row("m-daily")["last_watched_at"] == "2024-05-01T00:05:00Z"
    # AND the next day's first play is written again (UTC days, whatever the viewer's zone)
    in_tokyo = datetime(2024, 5, 2, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 00:00 UTC on 2 May
    assert tables.members.record_watch("m-daily", in_tokyo)
    assert tables.row("m-daily")["last_watched_at"] == "2024-05-02T00:00:00Z"

    # GIVEN a member with a notice open, who watched this morning
    tables.add_inactive("m-noticed", notice_id="n-1", last_watched_at="2024-05-01T06:00:00Z")
    # THEN each later play that day is written (it may close the notice), a retry of one too,
    assert tables.members.record_watch("m-noticed", datetime(2024, 5, 1, 20, 0, tzinfo=UTC))
    assert tables.members.record_watch("m-noticed", datetime(2024, 5, 1, 20, 0, tzinfo=UTC))
    # AND never an earlier one
    assert not tables.members.record_watch("m-noticed", datetime(2024, 5, 1, 19, 0, tzinfo=UTC))
    assert tables.row("m-noticed")["last_watched_at"] == "2024-05-01T20:00:00Z"


def test_the_viewing_states_of_a_batch_are_read_at_once_unknown_members_left_out(tables):
    # GIVEN members of many id shapes, one never seen watching, one with a notice open; and
    # more members than one BatchGetItem call takes
    ids = [f"auth0|{n:024x}" for n in range(120)]
    for member_id in ids:
        tables.add_inactive(member_id, last_watched_at="2024-05-01T06:00:00+02:00")
    tables.add_inactive("Zoë-ünïcode-42", notice_id="n-7")
    tables.add("m-never", status="active", joined_at="2020-01-01T00:00:00Z")
    # WHEN their states are read, with a member unknown among them (and one asked twice)
    states = tables.members.viewing_states([*ids, "Zoë-ünïcode-42", "m-never", "m-nobody", ids[0]])
    # THEN each known member is there, as stored, whatever the offset it was written with
    assert set(states) == {*ids, "Zoë-ünïcode-42", "m-never"}
    assert states[ids[119]] == ViewingState(datetime(2024, 5, 1, 4, 0, tzinfo=UTC), False)
    assert states["Zoë-ünïcode-42"].notice_open
    assert states["m-never"] == ViewingState(None, False)


def test_a_member_joins_once_whatever_the_join_events_order(tables):
    member = NewMember("Zoë-ünïcode-42", datetime(2026, 1, 5, 9, 30, tzinfo=UTC), "zoe@bücher.example", "12.49",
                       "EUR", "de-AT")
    assert tables.members.join(member, datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    assert not tables.members.join(replace(member, email="other@example.com"), datetime(2026, 1, 6, tzinfo=UTC))
    joined = tables.members.snapshot("Zoë-ünïcode-42")
    assert (joined.email, joined.locale, joined.currency, joined.monthly_price) == (
        "zoe@bücher.example", "de-AT", "EUR", "12.49")
    assert joined.view.status == "active" and joined.view.joined_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def test_a_detail_changes_only_for_a_change_newer_than_its_last(tables):
    tables.add_inactive("m-moves")
    assert tables.members.change_details("m-moves", {"email": "new@example.com", "locale": "fr-CA"}, NOW)
    # an older change of email and price, delivered late: the price is newer than anything stored, the email is not
    assert tables.members.change_details(
        "m-moves", {"email": "old@example.com", "monthly_price": "0.00"}, NOW - timedelta(days=1))
    assert not tables.members.change_details("m-moves", {"email": "again@example.com"}, NOW)  # the same time again
    changed = tables.members.snapshot("m-moves")
    assert (changed.email, changed.locale, changed.monthly_price) == ("new@example.com", "fr-CA", "0.00")
    assert not changed.view.is_paying
    with pytest.raises(MemberNotFound):
        tables.members.change_details("m-nobody", {"locale": "en-GB"}, NOW)
    with pytest.raises(InvalidRequest):
        tables.members.change_details("m-moves", {"status": "cancelled"}, NOW + timedelta(days=1))


def test_email_feedback_makes_an_address_unreachable_and_names_nobody_unknown(tables):
    tables.add_inactive("m-bounced")
    assert not tables.members.email_unreachable("m-bounced")
    assert tables.members.record_email_feedback("m-bounced", "bounced", NOW)
    assert tables.members.email_unreachable("m-bounced")
    assert tables.row("m-bounced")["email_status_at"] == iso(NOW)
    assert not tables.members.record_email_feedback("m-nobody", "complained", NOW)
    assert not tables.members.email_unreachable("m-nobody")


def test_billing_resumed_is_marked_only_for_the_rejoin_it_was_for(tables):
    rejoined = datetime(2026, 7, 1, tzinfo=UTC)
    tables.add_inactive("m-rejoined", rejoined_at=iso(rejoined))
    tables.members.mark_billing_resumed("m-rejoined", rejoined - timedelta(days=1))
    assert "billing_resumed_at" not in tables.row("m-rejoined")
    tables.members.mark_billing_resumed("m-rejoined", rejoined)
    assert tables.row("m-rejoined")["billing_resumed_at"] == iso(rejoined)


def test_a_cancellation_is_marked_announced_once_and_only_that_cancellation(tables):
    tables.add_inactive("m-announced", status="cancelled", cancelled_at=iso(NOW))
    tables.members.mark_cancellation_announced("m-announced", NOW - timedelta(days=1), NOW)
    assert "cancellation_announced_at" not in tables.row("m-announced")
    tables.members.mark_cancellation_announced("m-announced", NOW, NOW + timedelta(hours=1))
    tables.members.mark_cancellation_announced("m-announced", NOW, NOW + timedelta(hours=2))
    assert tables.row("m-announced")["cancellation_announced_at"] == iso(NOW + timedelta(hours=1))


# ------------------------------------------------------------------ Lifecycle: notices
def test_opening_a_notice_writes_it_its_link_and_the_mark_on_the_member(tables):
    notice_id = with_open_notice(tables, "m-open")
    assert tables.lifecycle.notice("m-open") == a_notice("m-open")
    assert tables.lifecycle.member_of_notice(notice_id) == "m-open"
    row = tables.row("m-open")
    assert (row["notice_id"], row["notice_opened_at"], row["notice_deadline"]) == (notice_id, iso(NOW), iso(DEADLINE))
    assert tables.members.snapshot("m-open").view.notice_id == notice_id


def test_a_second_notice_is_refused_while_one_is_open(tables):
    with_open_notice(tables, "m-twice")
    assert not tables.lifecycle.open_notice(tables.members.snapshot("m-twice"), a_notice("m-twice", "n-2"), DEADLINE)
    assert (
        tables.lifecycle.notice("m-twice") == a_notice("m-twice") and tables.lifecycle.member_of_notice("n-2") is None
    )


def test_a_notice_is_refused_when_the_member_watched_since_the_read(tables):
    tables.add_inactive("m-stale")
    read = tables.members.snapshot("m-stale")
    tables.set("m-stale", last_watched_at=iso(NOW - timedelta(hours=1)))
    assert not tables.lifecycle.open_notice(read, a_notice("m-stale"), DEADLINE)
    assert tables.lifecycle.notice("m-stale") is None and "notice_id" not in tables.row("m-stale")


def test_a_notice_is_refused_for_a_member_no_longer_active(tables):
    tables.add_inactive("m-gone")
    read = tables.members.snapshot("m-gone")
    tables.set("m-gone", status="cancelled")
    assert not tables.lifecycle.open_notice(read, a_notice("m-gone"), DEADLINE)
    assert tables.lifecycle.notice("m-gone") is None


def test_a_reminder_is_requested_once_and_only_for_the_open_notice(tables):
    notice_id = with_open_notice(tables, "m-remind")
    assert not tables.lifecycle.request_reminder("m-remind", "n-other", NOW)
    assert tables.lifecycle.request_reminder("m-remind", notice_id, NOW + timedelta(days=23))
    assert not tables.lifecycle.request_reminder("m-remind", notice_id, NOW + timedelta(days=24))
    notice = tables.lifecycle.notice("m-remind")
    assert notice is not None and notice.reminder_requested_at == NOW + timedelta(days=23)
    assert tables.row("m-remind")["notice_reminded_at"] == iso(NOW + timedelta(days=23))


@pytest.mark.parametrize(("engaged", "outcome"), [(True, "kept"), (False, "kept_by_watching")])
def test_keeping_closes_the_notice_once(tables, engaged, outcome):
    notice_id = with_open_notice(tables, "m-keep")
    assert tables.lifecycle.close_kept("m-keep", notice_id, outcome, NOW + timedelta(days=2), engaged=engaged)
    row = tables.row("m-keep")
    assert (row["notice_outcome"], row["notice_closed_at"]) == (outcome, iso(NOW + timedelta(days=2)))
    assert "notice_id" not in row and tables.lifecycle.notice("m-keep") is None
    assert row.get("engaged_at") == (iso(NOW + timedelta(days=2)) if engaged else None)
    # the same answer again, or any answer to a notice already answered, is refused
    assert not tables.lifecycle.close_kept("m-keep", notice_id, outcome, NOW + timedelta(days=3), engaged=engaged)
    answered = tables.members.snapshot("m-keep")
    as_read_before = replace(answered, view=replace(answered.view, notice_id=notice_id))
    assert not tables.lifecycle.cancel(as_read_before, a_hold("m-keep"), "cancelled_on_request", False)
    assert tables.row("m-keep")["status"] == "active"


@pytest.mark.parametrize("settle", ["keep", "cancel"])
def test_a_notice_whose_item_ttl_deleted_is_still_settled_by_the_members_row(tables, settle):
    """TTL deletes the notice's item at its deadline, before the settlement runs (that deletion
    is what starts it): the member's row still names the notice, and decides."""
    notice_id = with_open_notice(tables, "m-ttl")
    tables.expire_notice("m-ttl")
    if settle == "keep":
        assert tables.lifecycle.close_kept("m-ttl", notice_id, "kept_by_watching", DEADLINE, engaged=False)
    else:
        read = tables.members.snapshot("m-ttl")
        assert tables.lifecycle.cancel(read, a_hold("m-ttl", DEADLINE), "cancelled_no_response", True)
    assert "notice_id" not in tables.row("m-ttl")


# ------------------------------------------------------------------ Lifecycle: cancel, rejoin, purge
def test_cancelling_stops_billing_on_the_row_and_opens_the_hold(tables):
    cancelled(tables, "m-cancel")
    row = tables.row("m-cancel")
    assert (row["status"], row["cancel_reason"], row["notice_outcome"]) == (
        "cancelled",
        "no_response",
        "cancelled_no_response",
    )
    assert (row["cancelled_at"], row["billing_stopped_at"], row["retained_until"]) == (
        iso(NOW),
        iso(NOW),
        iso(RETAINED_UNTIL),
    )
    assert "notice_id" not in row and tables.lifecycle.notice("m-cancel") is None
    assert tables.lifecycle.hold("m-cancel") == a_hold("m-cancel")


# times as activity feeds write them: with a zone offset, fractions of a second, "+00:00"
FEED_TIMES = ["2023-01-01T02:00:00+02:00", "2022-12-31T19:00:00-05:00", "2023-01-01T00:00:00.123456Z",
              "2023-01-01T00:00:00+00:00"]


@pytest.mark.parametrize("watched", FEED_TIMES)
def test_a_member_whose_feed_writes_times_in_its_own_format_is_noticed_and_cancelled(tables, watched):
    # GIVEN an inactive member whose activity feed wrote their last viewing in its own format
    tables.add_inactive("m-feed-format", last_watched_at=watched, engaged_at=watched)
    # WHEN a notice is opened and, unanswered, settled as a cancellation that requires the
    # activity marks as read
    read = tables.members.snapshot("m-feed-format")
    assert read.marks.last_watched_at == watched
    assert tables.lifecycle.open_notice(read, a_notice("m-feed-format"), DEADLINE)
    settled = tables.lifecycle.cancel(
        tables.members.snapshot("m-feed-format"), a_hold("m-feed-format"), "cancelled_no_response", True
    )
    # THEN it is cancelled, the feed's own text left as it wrote it
    row = tables.row("m-feed-format")
    assert settled and row["status"] == "cancelled" and row["last_watched_at"] == watched


def test_a_cancellation_for_no_response_is_refused_when_the_member_watched_since_the_read(tables):
    with_open_notice(tables, "m-watched")
    read = tables.members.snapshot("m-watched")
    tables.set("m-watched", last_watched_at=iso(NOW + timedelta(days=29)))
    assert not tables.lifecycle.cancel(read, a_hold("m-watched"), "cancelled_no_response", True)
    assert tables.row("m-watched")["status"] == "active" and tables.lifecycle.hold("m-watched") is None
    # the member's own request stands whatever was watched
    assert tables.lifecycle.cancel(read, a_hold("m-watched", reason="member_request"), "cancelled_on_request", False)


def test_a_cancellation_is_refused_once_the_notice_was_answered(tables):
    notice_id = with_open_notice(tables, "m-answered")
    read = tables.members.snapshot("m-answered")
    assert tables.lifecycle.close_kept("m-answered", notice_id, "kept", NOW, engaged=True)
    assert not tables.lifecycle.cancel(read, a_hold("m-answered"), "cancelled_no_response", False)
    assert tables.row("m-answered")["status"] == "active" and tables.lifecycle.hold("m-answered") is None


def test_rejoining_ends_the_hold_once_and_only_for_that_cancellation(tables):
    cancelled(tables, "m-rejoin")
    assert not tables.lifecycle.rejoin("m-rejoin", NOW - timedelta(days=1), NOW + timedelta(days=40))
    assert tables.lifecycle.rejoin("m-rejoin", NOW, NOW + timedelta(days=40))
    row = tables.row("m-rejoin")
    assert (row["status"], row["rejoined_at"], row["engaged_at"]) == ("active", *[iso(NOW + timedelta(days=40))] * 2)
    assert "retained_until" not in row and tables.lifecycle.hold("m-rejoin") is None
    assert not tables.lifecycle.rejoin("m-rejoin", NOW, NOW + timedelta(days=41))


def test_a_rejoin_through_the_services_own_flow_is_recorded_once(tables):
    cancelled(tables, "m-elsewhere")
    tables.set("m-elsewhere", status="active")  # the service's sign-up flow
    read = tables.members.snapshot("m-elsewhere")
    assert tables.lifecycle.record_rejoin_elsewhere(read, NOW + timedelta(days=50))
    row = tables.row("m-elsewhere")
    assert (row["rejoined_at"], row["billing_resumed_at"]) == (iso(NOW + timedelta(days=50)),) * 2
    assert "retained_until" not in row and tables.lifecycle.hold("m-elsewhere") is None
    assert not tables.lifecycle.record_rejoin_elsewhere(read, NOW + timedelta(days=51))


def test_a_rejoin_elsewhere_is_refused_while_the_member_is_still_cancelled(tables):
    cancelled(tables, "m-not-back")
    assert not tables.lifecycle.record_rejoin_elsewhere(tables.members.snapshot("m-not-back"), NOW)
    assert tables.lifecycle.hold("m-not-back") == a_hold("m-not-back")


def test_a_cancellation_elsewhere_closes_the_notice_and_opens_a_hold_with_nothing_to_send(tables):
    with_open_notice(tables, "m-account-page")
    read = tables.members.snapshot("m-account-page")
    hold = a_hold("m-account-page", reason="elsewhere")
    assert tables.lifecycle.cancel_elsewhere(read, hold, "cancelled_elsewhere")
    row = tables.row("m-account-page")
    assert (row["status"], row["cancel_reason"], row["notice_outcome"]) == ("cancelled", "elsewhere",
                                                                             "cancelled_elsewhere")
    assert (row["billing_stopped_at"], row["cancellation_announced_at"]) == (iso(NOW), iso(NOW))
    assert "notice_id" not in row and tables.lifecycle.notice("m-account-page") is None
    assert tables.lifecycle.hold("m-account-page") == replace(hold, cancelled_email_at=NOW, billing_event_at=NOW)
    # the same event again, read afresh: the member is no longer active
    assert not tables.lifecycle.cancel_elsewhere(tables.members.snapshot("m-account-page"), hold, "cancelled_elsewhere")


def test_a_cancellation_elsewhere_without_a_notice_and_one_older_than_a_rejoin(tables):
    tables.add_inactive("m-quiet")
    assert tables.lifecycle.cancel_elsewhere(tables.members.snapshot("m-quiet"), a_hold("m-quiet", reason="elsewhere"),
                                             "cancelled_elsewhere")
    assert "notice_outcome" not in tables.row("m-quiet")
    assert tables.lifecycle.rejoin("m-quiet", NOW, NOW + timedelta(days=3), resumed_elsewhere=True)
    # a cancellation from before that rejoin, delivered late, changes nothing
    late = a_hold("m-quiet", cancelled_at=NOW + timedelta(days=2), reason="elsewhere")
    assert not tables.lifecycle.cancel_elsewhere(tables.members.snapshot("m-quiet"), late, "cancelled_elsewhere")
    assert tables.row("m-quiet")["status"] == "active"


def test_a_rejoin_elsewhere_of_a_cancelled_member_ends_the_hold_once(tables):
    cancelled(tables, "m-sign-up")
    rejoin = partial(tables.lifecycle.rejoin, resumed_elsewhere=True)
    assert not rejoin("m-sign-up", NOW - timedelta(days=1), NOW + timedelta(days=9))
    assert rejoin("m-sign-up", NOW, NOW + timedelta(days=9))
    row = tables.row("m-sign-up")
    assert (row["status"], row["rejoined_at"], row["engaged_at"], row["billing_resumed_at"]) == (
        "active", *[iso(NOW + timedelta(days=9))] * 3)
    assert "retained_until" not in row and tables.lifecycle.hold("m-sign-up") is None
    assert tables.members.profiles("m-sign-up") == PROFILES
    assert not rejoin("m-sign-up", NOW, NOW + timedelta(days=10))


def test_a_rejoin_of_an_active_member_is_marked_so_an_older_cancellation_is_refused(tables):
    tables.add_inactive("m-ahead")
    assert tables.members.mark_rejoined("m-ahead", NOW)
    assert not tables.members.mark_rejoined("m-ahead", NOW - timedelta(days=1))
    row = tables.row("m-ahead")
    assert (row["status"], row["rejoined_at"], row["engaged_at"], row["billing_resumed_at"]) == (
        "active", iso(NOW), iso(NOW), iso(NOW))
    older = a_hold("m-ahead", cancelled_at=NOW - timedelta(hours=1), reason="elsewhere")
    assert not tables.lifecycle.cancel_elsewhere(tables.members.snapshot("m-ahead"), older, "cancelled_elsewhere")
    assert tables.row("m-ahead")["status"] == "active"


def test_billing_confirms_the_latest_cancellation_or_rejoin_once(tables):
    cancelled(tables, "m-billing")
    assert not tables.members.confirm_billing("m-billing", "stopped", NOW - timedelta(days=1), NOW)
    assert not tables.members.confirm_billing("m-billing", "resumed", NOW, NOW)
    assert tables.members.confirm_billing("m-billing", "stopped", NOW, NOW + timedelta(hours=2))
    assert not tables.members.confirm_billing("m-billing", "stopped", NOW, NOW + timedelta(hours=3))
    assert tables.row("m-billing")["billing_confirmed_at"] == iso(NOW + timedelta(hours=2))
    # a rejoin here awaits its own confirmation
    assert tables.lifecycle.rejoin("m-billing", NOW, NOW + timedelta(days=5))
    assert "billing_confirmed_at" not in tables.row("m-billing")
    assert tables.members.confirm_billing("m-billing", "resumed", NOW + timedelta(days=5), NOW + timedelta(days=6))
    assert tables.row("m-billing")["billing_confirmed_at"] == iso(NOW + timedelta(days=6))
    assert not tables.members.confirm_billing("m-nobody", "stopped", NOW, NOW)


EMAIL_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # as the domain makes it: 64 hex


@pytest.mark.parametrize("member_id", MEMBER_IDS[:3])
def test_purging_deletes_the_kept_data_and_the_rows_personal_fields_once(tables, member_id):
    cancelled(tables, member_id)
    tables.set(member_id, email_status="bounced", email_status_at=iso(NOW))
    before = tables.row(member_id)
    address = before["email"]
    assert not tables.lifecycle.purge(member_id, NOW - timedelta(days=1), RETAINED_UNTIL, address, EMAIL_HASH)
    assert tables.members.profiles(member_id) == PROFILES and tables.row(member_id) == before
    assert tables.lifecycle.purge(member_id, NOW, RETAINED_UNTIL, address, EMAIL_HASH)
    assert tables.members.profiles(member_id) is None and tables.lifecycle.hold(member_id) is None
    # the row keeps the record of the membership, the hash in the address's place, and nothing
    # that reaches or addresses the person
    purged = tables.row(member_id)
    kept = {name: value for name, value in before.items() if name not in PURGED_FIELDS}
    assert purged == {**kept, "purged_at": iso(RETAINED_UNTIL), "email_hash": EMAIL_HASH,
                      "email_changed_at": iso(RETAINED_UNTIL), "locale_changed_at": iso(RETAINED_UNTIL)}
    assert not {"email", "locale", "email_status", "email_status_at"} & purged.keys()
    assert (purged["status"], purged["cancel_reason"], purged["monthly_price"], purged["currency"]) == (
        "cancelled", "no_response", "9.99", "EUR")
    # run again: refused, and nothing changes
    assert not tables.lifecycle.purge(member_id, NOW, RETAINED_UNTIL + timedelta(days=1), address, EMAIL_HASH)
    assert not tables.lifecycle.purge(member_id, NOW, RETAINED_UNTIL + timedelta(days=1), "", None)
    assert tables.row(member_id) == purged


def test_a_purge_is_refused_for_a_member_who_rejoined(tables):
    cancelled(tables, "m-came-back")
    assert tables.lifecycle.rejoin("m-came-back", NOW, NOW + timedelta(days=10))
    before = tables.row("m-came-back")
    assert not tables.lifecycle.purge("m-came-back", NOW, RETAINED_UNTIL, before["email"], EMAIL_HASH)
    assert tables.members.profiles("m-came-back") == PROFILES and tables.row("m-came-back") == before


def test_a_purge_is_refused_when_the_address_changed_since_it_was_read(tables):
    """The hash kept must be the address removed: one the business changed meanwhile is read again."""
    cancelled(tables, "m-new-address")
    read = tables.members.snapshot("m-new-address").email
    assert tables.members.change_details("m-new-address", {"email": "anna.schmidt@bücher.example"}, NOW)
    before = tables.row("m-new-address")
    assert not tables.lifecycle.purge("m-new-address", NOW, RETAINED_UNTIL, read, EMAIL_HASH)
    assert tables.row("m-new-address") == before and tables.members.profiles("m-new-address") == PROFILES
    assert tables.lifecycle.hold("m-new-address") == a_hold("m-new-address")
    # nor may a row that has an address be purged as one without
    assert not tables.lifecycle.purge("m-new-address", NOW, RETAINED_UNTIL, "", None)
    assert tables.lifecycle.purge("m-new-address", NOW, RETAINED_UNTIL, "anna.schmidt@bücher.example", EMAIL_HASH)


def test_a_purge_of_a_row_without_an_address_leaves_the_hash_it_holds(tables):
    """Purged once, back, cancelled again with no address given since: the first hash stays."""
    cancelled(tables, "m-twice")
    assert tables.lifecycle.purge("m-twice", NOW, RETAINED_UNTIL, tables.row("m-twice")["email"], EMAIL_HASH)
    back, again = RETAINED_UNTIL + timedelta(days=1), RETAINED_UNTIL + timedelta(days=2)
    assert tables.lifecycle.rejoin("m-twice", NOW, back)
    hold = a_hold("m-twice", cancelled_at=again, reason="elsewhere")
    assert tables.lifecycle.cancel_elsewhere(tables.members.snapshot("m-twice"), hold, "cancelled_elsewhere")
    assert "purged_at" not in tables.row("m-twice")
    assert tables.lifecycle.purge("m-twice", again, again + timedelta(days=300), "", None)
    row = tables.row("m-twice")
    assert row["email_hash"] == EMAIL_HASH and row["purged_at"] == iso(again + timedelta(days=300))


def test_a_purged_row_reads_and_scans_as_any_cancelled_member(tables):
    """No address, no locale: not malformed, and the sweep's prefilter leaves it alone."""
    cancelled(tables, "m-purged")
    tables.set("m-purged", cancellation_announced_at=iso(NOW), billing_confirmed_at=iso(NOW))  # as notify does
    assert tables.lifecycle.purge("m-purged", NOW, RETAINED_UNTIL, tables.row("m-purged")["email"], EMAIL_HASH)
    member = tables.members.snapshot("m-purged")
    assert (member.view.status, member.view.purged_at, member.email) == ("cancelled", RETAINED_UNTIL, "")
    assert (member.currency, str(member.view.monthly_price)) == ("EUR", "9.99")
    pages = list(tables.members.scan_members())
    assert [m.view.member_id for page in pages for m in page.members] == ["m-purged"]
    assert [problem for page in pages for problem in page.malformed] == []
    later = prefilter_cutoffs(RETAINED_UNTIL + timedelta(days=1), Policy())
    assert [m for page in tables.members.scan_members(later) for m in page.members] == []
    assert not tables.members.email_unreachable("m-purged")


def test_a_change_from_before_the_purge_brings_no_address_back_and_a_later_one_does(tables):
    cancelled(tables, "m-late-change")
    assert tables.lifecycle.purge("m-late-change", NOW, RETAINED_UNTIL, tables.row("m-late-change")["email"],
                                  EMAIL_HASH)
    before = tables.row("m-late-change")
    late = {"email": "m-late-change@members.example", "locale": "fr-FR"}
    assert not tables.members.change_details("m-late-change", late, RETAINED_UNTIL - timedelta(days=1))
    assert tables.row("m-late-change") == before
    # the person came back elsewhere and gave an address: the business may write it again
    assert tables.members.change_details("m-late-change", {"email": "ana@post.example"},
                                         RETAINED_UNTIL + timedelta(days=1))
    assert tables.members.snapshot("m-late-change").email == "ana@post.example"


def test_reads_of_what_is_not_there_are_none(tables):
    assert tables.lifecycle.notice("m-nobody") is None and tables.lifecycle.hold("m-nobody") is None
    assert tables.lifecycle.member_of_notice("n-nobody") is None


# ------------------------------------------------------------------ Lifecycle: sending once
def test_a_send_is_claimed_by_one_sender_at_a_time_and_done_once(tables):
    with_open_notice(tables, "m-claim")
    first, second = (
        SendLease("stream:1", NOW + timedelta(minutes=5)),
        SendLease("sweep:r:0", NOW + timedelta(minutes=5)),
    )
    assert tables.lifecycle.claim("m-claim", NOTICE, "notice_email_at", NOW, first) is Claim.CLAIMED
    assert tables.lifecycle.claim("m-claim", NOTICE, "notice_email_at", NOW, second) is Claim.BUSY
    # the same delivery retried takes its own lease back
    assert tables.lifecycle.claim("m-claim", NOTICE, "notice_email_at", NOW, first) is Claim.CLAIMED
    tables.lifecycle.confirm("m-claim", NOTICE, "notice_email_at", NOW + timedelta(seconds=1))
    assert tables.lifecycle.claim("m-claim", NOTICE, "notice_email_at", NOW, second) is Claim.DONE
    notice = tables.lifecycle.notice("m-claim")
    assert notice is not None and notice.notice_email_at == NOW + timedelta(seconds=1)
    # another send of the same record is its own
    assert tables.lifecycle.claim("m-claim", NOTICE, "reminder_email_at", NOW, second) is Claim.CLAIMED


def test_a_released_or_expired_lease_is_anyones(tables):
    cancelled(tables, "m-lease")
    dead = SendLease("stream:1", NOW + timedelta(minutes=1))
    other = SendLease("sweep:r:0", NOW + timedelta(minutes=15))
    assert tables.lifecycle.claim("m-lease", HOLD, "billing_event_at", NOW, dead) is Claim.CLAIMED
    tables.lifecycle.release("m-lease", HOLD, other)  # not its lease: nothing given back
    assert tables.lifecycle.claim("m-lease", HOLD, "billing_event_at", NOW, other) is Claim.BUSY
    assert (
        tables.lifecycle.claim("m-lease", HOLD, "billing_event_at", NOW + timedelta(minutes=2), other) is Claim.CLAIMED
    )
    tables.lifecycle.release("m-lease", HOLD, other)
    assert tables.lifecycle.claim("m-lease", HOLD, "billing_event_at", NOW, dead) is Claim.CLAIMED


def test_nothing_is_claimed_or_confirmed_for_a_record_that_is_gone(tables):
    notice_id = with_open_notice(tables, "m-answered-first")
    assert tables.lifecycle.close_kept("m-answered-first", notice_id, "kept", NOW, engaged=True)
    lease = SendLease("stream:1", NOW + timedelta(minutes=5))
    assert tables.lifecycle.claim("m-answered-first", NOTICE, "reminder_email_at", NOW, lease) is Claim.DONE
    tables.lifecycle.confirm("m-answered-first", NOTICE, "reminder_email_at", NOW)
    assert tables.lifecycle.notice("m-answered-first") is None
