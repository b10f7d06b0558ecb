"""When a cancellation ends access and billing (``CancellationTakesEffect``): at once, or at the
end of the period the member already paid for (their ``paid_until``, where the business writes
it). The member's record, the billing event and the confirmation all say the same moment, and
the things are kept ``RetentionMonths`` from it. On the in-memory ports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from lifecycle.campaign import Choice, answer_notice, open_notice
from lifecycle.clock import iso
from lifecycle.member_links import link_page
from lifecycle.membership import HOLD, LifecycleChange, SendLease
from lifecycle.notifications import announce
from lifecycle.policy import Inactivity, cancellation_ends_at
from lifecycle.settings import Policy, Settings
from lifecycle.tokens import LinkSigner, SigningKeys
from tests.fakes import InMemoryTables, in_memory_store, inactive_member

OPENED = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
CANCELLED = datetime(2026, 6, 4, 18, 45, tzinfo=UTC)
PAID_UNTIL = "2026-06-21T23:59:59+02:00"  # as a billing system in Berlin writes the end of a period
BASE = Settings(activity_table="a", lifecycle_table="l", member_data_table="d", link_table="k")
AT_PERIOD_END = replace(BASE, policy=replace(BASE.policy, cancellation_takes_effect="end_of_paid_period"))
LEASE = SendLease("stream:record-1", CANCELLED + timedelta(minutes=5))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def cancel_on_the_page(settings: Settings, **row: str):
    tables = InMemoryTables()
    tables.add_member("m-1", **inactive_member("m-1", locale="de-DE", time_zone="Europe/Berlin", **row))
    store = in_memory_store(tables)
    assert open_notice(store, store.members.snapshot("m-1"), Inactivity.DORMANT, OPENED, settings.policy)
    notice_id = store.members.snapshot("m-1").view.notice_id
    answer_notice(store, "m-1", notice_id, Choice.CANCEL, CANCELLED, settings.policy)
    hold = store.lifecycle.hold("m-1")
    assert announce(store, LifecycleChange("INSERT", "m-1", HOLD, hold, None, "r"), CANCELLED, settings, LEASE)
    return store, tables


def test_at_the_end_of_the_paid_period_billing_access_and_the_email_all_name_paid_until():
    # GIVEN a business whose cancellations end with the period already paid for
    store, tables = cancel_on_the_page(AT_PERIOD_END, paid_until=PAID_UNTIL)
    ends = datetime(2026, 6, 21, 21, 59, 59, tzinfo=UTC)
    # THEN the member is cancelled now, billing stops at the period's end, and things are kept from then
    row = tables.members["m-1"]
    assert (row["status"], row["cancelled_at"], row["billing_stopped_at"]) == ("cancelled", iso(CANCELLED), iso(ends))
    assert row["retained_until"] == iso(ends.replace(month=4, year=2027))
    [(kind, detail)] = store.bus.events
    assert kind == "MembershipCancelled" and detail["cancelled_at"] == iso(CANCELLED) and detail["ends_at"] == iso(ends)
    # AND the confirmation says until when the member can keep watching, in their time zone
    [mail] = store.mailer.sent
    assert "Ende von Zugang und Abrechnung\n21.\u00a0Juni\u00a02026,\u00a023:59\u00a0MESZ" in mail.text
    assert "bis zum 21.\u00a0Juni\u00a02026, dem Ende des bereits bezahlten Zeitraums" in mail.text
    # cancelled on: the time in Berlin, in summer time
    assert "Gekündigt am\n4.\u00a0Juni\u00a02026,\u00a020:45\u00a0MESZ" in mail.text


def test_at_once_is_the_default_and_a_paid_period_changes_nothing():
    store, tables = cancel_on_the_page(BASE, paid_until=PAID_UNTIL)
    assert tables.members["m-1"]["billing_stopped_at"] == iso(CANCELLED)
    assert store.bus.events[0][1]["ends_at"] == iso(CANCELLED)
    assert "Abrechnung" in store.mailer.sent[0].text and "bis zum 21." not in store.mailer.sent[0].text


def test_a_paid_until_already_past_or_written_wrong_ends_the_membership_at_once():
    for paid_until in ("2026-05-31T00:00:00Z", "next month", "2026-06-31"):
        store, tables = cancel_on_the_page(AT_PERIOD_END, paid_until=paid_until)
        assert tables.members["m-1"]["billing_stopped_at"] == iso(CANCELLED), paid_until
        assert store.bus.events[0][1]["ends_at"] == iso(CANCELLED)


def test_the_page_before_cancel_says_what_the_paid_period_leaves_the_member():
    tables = InMemoryTables()
    tables.add_member("m-1", **inactive_member("m-1", locale="de-DE", paid_until=PAID_UNTIL))
    store = in_memory_store(tables)
    assert open_notice(store, store.members.snapshot("m-1"), Inactivity.DORMANT, OPENED, AT_PERIOD_END.policy)
    notice_id = store.members.snapshot("m-1").view.notice_id
    token = LinkSigner(SigningKeys.from_secret(store.link_keys.secret())).sign(notice_id, OPENED + timedelta(days=60))
    assert link_page(store, token, "cancel", CANCELLED, AT_PERIOD_END).context["paid_until"] == datetime(
        2026, 6, 21, 21, 59, 59, tzinfo=UTC)
    assert link_page(store, token, "cancel", CANCELLED, BASE).context["paid_until"] is None


@given(cancelled_at=moments, paid_until=st.none() | moments)
def test_a_cancellation_never_ends_before_it_is_made_and_at_once_ignores_the_period(cancelled_at, paid_until):
    period_end = Policy(cancellation_takes_effect="end_of_paid_period")
    at_period_end = cancellation_ends_at(cancelled_at, paid_until, period_end)
    assert at_period_end >= cancelled_at
    assert at_period_end == (cancelled_at if paid_until is None or paid_until <= cancelled_at else paid_until)
    assert cancellation_ends_at(cancelled_at, paid_until, Policy()) == cancelled_at
