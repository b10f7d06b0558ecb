"""Members as the business sends them - ids of every shape, real addresses, locales, prices and
currencies, times with their own offsets - join and change through the inbound bus, each event
delivered twice and in any order; each detail ends as its newest change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecycle.clock import iso
from tests.integration.test_inbound_events import changed, joined, offset
from tests.real_world import addresses, member_ids
from tests.stack import START, deployed_stack

LOCALES = ["en-US", "fr-CA", "de-AT", "es-MX", "pt-BR", "ja-JP", "zh-Hant-TW", "sr-Latn-RS"]
PRICES = ["9.99", "15.49", "0.00", "1200", "7.5"]
CURRENCIES = ["USD", "EUR", "BRL", "JPY", "GBP"]


@pytest.fixture(scope="module")
def business():
    with deployed_stack() as stack:
        yield stack


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    member_id=member_ids(),
    first=st.fixed_dictionaries({"email": addresses(), "locale": st.sampled_from(LOCALES),
                                 "monthly_price": st.sampled_from(PRICES), "currency": st.sampled_from(CURRENCIES)}),
    later=st.fixed_dictionaries({}, optional={"email": addresses(), "locale": st.sampled_from(LOCALES),
                                              "monthly_price": st.sampled_from(PRICES)}).filter(bool),
    order=st.permutations(range(4)),
)
def test_each_detail_ends_as_its_newest_change_whatever_the_order_and_however_often(
    business, member_id, first, later, order
):
    # GIVEN a member's join, a change a day later, and both sent again (EventBridge and SQS
    # deliver at least once), arriving in any order
    stack = business
    stack.cloud.client("dynamodb").delete_item(  # each example starts from a world without this member
        TableName=stack.cloud.table_name("ActivityTable"), Key={"member_id": {"S": member_id}})
    t0 = START - timedelta(days=3)
    events = [
        joined(member_id, first["email"], iso(t0), locale=first["locale"], monthly_price=first["monthly_price"],
               currency=first["currency"]),
        changed(member_id, offset(t0 + timedelta(days=1), 2), **later),
    ]
    events += events
    # WHEN the business publishes them
    stack.publish(*(events[i] for i in order))
    # THEN the member is there once, with the change's details over the join's
    member = stack.member(member_id)
    expected = {**first, **later}
    assert {name: member[name] for name in expected} == expected
    assert member["status"] == "active" and member["joined_at"] == iso(t0)
    assert stack.parked() == []
