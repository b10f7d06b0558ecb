"""A member who comes back through the service's own sign-up flow (the activity table's status
set back to active, no ``POST /rejoin``) keeps their things: the purge checks the membership as
it is now, whoever changed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.stack import iso

DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)
PROFILES = [{"name": "Ana", "my_list": ["Sertão"], "preferences": {"subtitles": "pt"}}]
RETENTION_MONTHS = "3"  # any retention will do: what matters is the hold ending, not its length


def cancelled_for_no_response(stack, member_id: str) -> datetime:
    stack.cloud.deploy({**stack.cloud.parameters, "RetentionMonths": RETENTION_MONTHS})
    stack.ttl_on_time()
    stack.add_inactive_member(member_id, profiles=PROFILES, locale="pt-BR", currency="BRL")
    stack.run_until(DEADLINE + timedelta(days=1))
    member = stack.member(member_id)
    assert member["status"] == "cancelled"
    return datetime.fromisoformat(member["retained_until"])


@pytest.mark.slow
def test_a_member_reactivated_by_the_sign_up_flow_keeps_their_things_when_the_hold_expires(stack):
    # GIVEN a member cancelled for no response, their things kept three months
    retained_until = cancelled_for_no_response(stack, "m-signup")
    # WHEN, a month later, the service's own sign-up flow reactivates them in the activity table
    stack.run_until(DEADLINE + timedelta(days=30))
    stack.set_member("m-signup", status="active", monthly_price="14.90")
    # AND the retention hold's TTL fires, and the sweeps run on past it
    stack.run_until(retained_until + timedelta(days=5))
    # THEN nothing was purged: the member finds everything as it was
    assert stack.profiles("m-signup") == PROFILES
    member = stack.member("m-signup")
    assert member["status"] == "active" and "purged_at" not in member
    # AND the comeback counts as engagement: the next sweep recorded it, no notice followed it
    rejoined = DEADLINE.replace(hour=3) + timedelta(days=31)  # the first sweep after the sign-up
    assert member["rejoined_at"] == member["engaged_at"] == iso(rejoined)
    assert "retained_until" not in member and "hold" not in stack.lifecycle("m-signup")
    assert stack.email_kinds("m-signup") == ["notice", "reminder", "cancelled"]
    # AND billing heard nothing from the campaign: the sign-up flow resumed it itself
    assert stack.bus("MembershipRejoined") == []


@pytest.mark.slow
def test_a_member_reactivated_elsewhere_and_cancelled_again_elsewhere_keeps_their_things(stack):
    # GIVEN a member cancelled by the campaign, then reactivated by the sign-up flow
    retained_until = cancelled_for_no_response(stack, "m-back-and-gone")
    stack.run_until(DEADLINE + timedelta(days=20))
    stack.set_member("m-back-and-gone", status="active")
    # WHEN a month before the hold expires they cancel again on the service's own account page
    stack.run_until(retained_until - timedelta(days=30))
    stack.set_member("m-back-and-gone", status="cancelled")
    stack.run_until(retained_until + timedelta(days=5))
    # THEN the campaign's old hold purges nothing: that is not the cancellation it was kept for
    assert stack.profiles("m-back-and-gone") == PROFILES
    assert "purged_at" not in stack.member("m-back-and-gone")


@pytest.mark.slow
def test_a_purged_member_back_through_the_sign_up_flow_starts_afresh_and_may_be_given_an_address_again(stack):
    # GIVEN a member cancelled for no response whose kept things were purged when retention ended
    retained_until = cancelled_for_no_response(stack, "m-purged-back")
    stack.run_until(retained_until + timedelta(days=2))
    purged = stack.member("m-purged-back")
    assert purged["purged_at"] == iso(retained_until) and not {"email", "locale"} & purged.keys()
    # WHEN a change the business made before the purge is delivered late
    before = iso(retained_until - timedelta(days=1))
    stack.publish(("MemberChanged", {"member_id": "m-purged-back", "occurred_at": before,
                                     "email": "ana.souza@correio.example", "locale": "pt-BR"}))
    # THEN it brings nothing back
    assert stack.member("m-purged-back") == purged and stack.parked() == []
    # WHEN the person comes back through the service's sign-up flow and gives an address again
    back_at = stack.cloud.now - timedelta(minutes=3)
    stack.publish(("MemberRejoined", {"member_id": "m-purged-back", "occurred_at": iso(back_at)}),
                  ("MemberChanged", {"member_id": "m-purged-back", "occurred_at": iso(back_at + timedelta(minutes=1)),
                                     "email": "Ana.Souza@Correio.example", "locale": "pt-BR"}))
    stack.run_until(stack.cloud.now + timedelta(days=2))
    # THEN the membership is active again, with nothing kept to come back to, and the new address
    row = stack.member("m-purged-back")
    assert (row["status"], row["rejoined_at"], row["email"], row["locale"]) == (
        "active", iso(back_at), "Ana.Souza@Correio.example", "pt-BR")
    assert row["email_hash"] == purged["email_hash"] and stack.profiles("m-purged-back") is None
    assert stack.bus("MembershipRejoined") == [] and stack.parked() == []
