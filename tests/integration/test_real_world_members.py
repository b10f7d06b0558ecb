"""Members as real systems write them - ids of every shape (UUIDs random and zero-padded, numeric
snowflakes, ``cus_…``, ``auth0|…``, an email address as the id, zero-padded sequences, any text
of 1 to 128 characters, non-ASCII included) and real addresses - each go the whole way on the
stack: noticed by the nightly sweep, the link in their own email opened, "keep" or "cancel"
chosen on the page (or "keep" said in the app), and the outcome is the one they chose."""

from __future__ import annotations

import itertools
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.addresses import ses_address
from tests.real_world import addresses, member_ids
from tests.stack import FIRST_SWEEP, deployed_stack


def path_segment(text: str) -> str:
    """``text`` as one URL path segment, as an app's HTTP client writes it (dots too: a client
    would otherwise resolve ``.`` and ``..`` away)."""
    return quote(text, safe="").replace(".", "%2E")


@pytest.fixture(scope="module")
def campaign():
    with deployed_stack() as stack:
        yield stack, itertools.count(1)


def forget(stack, member_id: str) -> None:
    """Take the member out of every table again, so each example starts from the same world
    (hypothesis replays an example to confirm a failure)."""
    cloud, dynamodb, key = stack.cloud, stack.cloud.client("dynamodb"), {"member_id": {"S": member_id}}
    for table in ("ActivityTable", "MemberDataTable"):
        dynamodb.delete_item(TableName=cloud.table_name(table), Key=key)
    for record in ("notice", "hold"):
        dynamodb.delete_item(TableName=cloud.table_name("LifecycleTable"), Key={**key, "record": {"S": record}})
    for item in cloud.table_items("LinkTable"):
        if item["member_id"] == member_id:
            dynamodb.delete_item(TableName=cloud.table_name("LinkTable"), Key={"notice_id": {"S": item["notice_id"]}})
    cloud.settle()


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    member_id=member_ids(),
    address=addresses(),
    choice=st.sampled_from(["keep", "cancel", "app_keep"]),
    locale=st.sampled_from(["en-US", "fr-CA", "de-AT", "es-MX", "pt-BR", "ja-JP"]),
)
def test_every_member_gets_the_outcome_they_chose_whatever_their_id_and_address(
    campaign, member_id, address, choice, locale
):
    stack, nights = campaign
    mailbox, sent_before = ses_address(address).lower(), len(stack.cloud.sent_emails())
    cancelled_before = len(stack.bus("MembershipCancelled"))
    # GIVEN a member silent for three years, with this id and address
    stack.add_inactive_member(member_id, email=address, locale=locale)
    try:
        answer_from_the_email(stack, member_id, mailbox, sent_before, cancelled_before, choice, next(nights))
    finally:
        forget(stack, member_id)


def answer_from_the_email(stack, member_id, mailbox, sent_before, cancelled_before, choice, night) -> None:
    # WHEN the nightly sweep runs
    stack.run_until(FIRST_SWEEP + timedelta(days=night))
    # THEN the member's own mailbox got the notice, with both choices
    [mail] = [m for m in stack.cloud.sent_emails()[sent_before:] if mailbox in (to.lower() for to in m.to)]
    links = {link.rsplit("=", 1)[1]: link for link in mail.links if "choice=" in link}
    assert set(links) == {"keep", "cancel"}
    # AND the link opens the page with both choices, changing nothing
    if choice == "app_keep":
        # WHEN the member says "keep" in the app instead
        answer = stack.app("POST", f"/members/{path_segment(member_id)}/keep")
        assert answer.status_code == 200, answer.text
        assert answer.json()["member_id"] == member_id
    else:
        page = requests.get(links[choice], timeout=30)
        assert page.status_code == 200 and f'value="{choice}"' in page.text
        assert stack.member(member_id)["notice_id"]
        # WHEN they choose on the page
        answer = requests.post(links[choice].split("?")[0], data={"choice": choice}, timeout=30)
        assert answer.status_code == 200, answer.text
    stack.cloud.settle()
    # THEN the membership is what they chose, and the app reads the same member back
    member = stack.member(member_id)
    if choice == "cancel":
        assert (member["status"], member["cancel_reason"]) == ("cancelled", "member_request")
        assert [e.detail["member_id"] for e in stack.bus("MembershipCancelled")[cancelled_before:]] == [member_id]
    else:
        assert (member["status"], member["notice_outcome"]) == ("active", "kept")
    seen = stack.app("GET", f"/members/{path_segment(member_id)}/notice")
    assert seen.status_code == 200 and seen.json()["member_id"] == member_id


def test_members_whose_ids_share_a_long_prefix_are_each_noticed_and_answered_on_the_same_night(campaign):
    # GIVEN members whose ids differ only after their 36th character (a transaction token made
    # from a cut-off id would be the same for all of them, and DynamoDB refuses a token reused
    # within 10 minutes for another request)
    stack, nights = campaign
    ids = [f"user_{n:034d}" for n in (1234, 5678, 9012)] + [f"member-{n:030d}" for n in (1, 2)]
    address = {member_id: f"{member_id.replace('_', '.')}@mail.example" for member_id in ids}
    for member_id in ids:
        stack.add_inactive_member(member_id, email=address[member_id])
    # WHEN one nightly sweep notices them all, and each keeps on the page within minutes
    stack.run_until(FIRST_SWEEP + timedelta(days=next(nights)))
    for member_id in ids:
        [mail] = [m for m in stack.cloud.sent_emails() if m.to == (address[member_id],)]
        link = next(link for link in mail.links if link.endswith("choice=keep"))
        assert requests.post(link.split("?")[0], data={"choice": "keep"}, timeout=30).status_code == 200
    # THEN every one of them was noticed and kept
    assert {m: stack.member(m)["notice_outcome"] for m in ids} == dict.fromkeys(ids, "kept")


def test_the_longest_id_dynamodb_can_hold_gets_a_short_link_that_works(campaign):
    # GIVEN a member whose id is 2,048 bytes of UTF-8, the most a DynamoDB key holds
    stack, nights = campaign
    member_id = "会" * 682 + "-x"
    assert len(member_id.encode()) == 2048
    stack.add_inactive_member(member_id, email="longest.id@mail.example", profiles=[])
    # WHEN the sweep notices them and they cancel through their email's link
    stack.run_until(FIRST_SWEEP + timedelta(days=next(nights)))
    [mail] = [m for m in stack.cloud.sent_emails() if m.to == ("longest.id@mail.example",)]
    link = next(link for link in mail.links if link.endswith("choice=cancel"))
    answer = requests.post(link.split("?")[0], data={"choice": "cancel"}, timeout=30)
    stack.cloud.settle()
    # THEN the link was as short as anyone's, and the member is cancelled as they chose
    assert len(link.rsplit("/", 1)[1]) < 120
    assert answer.status_code == 200
    assert stack.member(member_id)["cancel_reason"] == "member_request"
    # AND the billing event and the app name that same member
    assert member_id in [event.detail["member_id"] for event in stack.bus("MembershipCancelled")]
    assert stack.app("GET", f"/members/{path_segment(member_id)}/notice").json()["member_id"] == member_id
