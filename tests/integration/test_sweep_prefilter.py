"""The sweep's FilterExpression, evaluated by DynamoDB (moto), never drops a member the pure
policy would act on: it may return more, never less."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from boto3.dynamodb.types import TypeSerializer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lifecycle.adapters.dynamodb import snapshot_from_item
from lifecycle.clock import iso
from lifecycle.policy import SweepAction, plan, prefilter_cutoffs
from lifecycle.settings import Settings
from lifecycle.store import Store

EPOCH = datetime(2018, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=9 * 365 * 24).map(lambda hours: EPOCH + timedelta(hours=hours))
offsets = st.sampled_from([timedelta(0), timedelta(hours=2), timedelta(hours=-11)])
# the campaign's own marks, always written by this product as ISO 8601 UTC ("Z")
ONLY_THIS_PRODUCT_WRITES = {"cancelled_at", "rejoined_at", "cancellation_announced_at", "billing_confirmed_at"}


@st.composite
def members(draw) -> dict:
    joined = draw(moments)
    member = {
        "status": draw(st.sampled_from(["active", "active", "active", "cancelled"])),
        "monthly_price": draw(st.sampled_from(["9.99", "0.00"])),
        "joined_at": joined,
    }
    for name in ("last_watched_at", "engaged_at", "retained_until", "purged_at"):
        if draw(st.booleans()):
            member[name] = draw(moments)
    if draw(st.integers(0, 4)) == 0:  # cancelled once, and maybe back since (here or elsewhere)
        member["cancelled_at"] = draw(moments)
        if draw(st.booleans()):
            member["rejoined_at"] = draw(moments)
        if draw(st.booleans()):  # billing told, and maybe confirmed
            member["cancellation_announced_at"] = member["cancelled_at"] + timedelta(minutes=1)
            if draw(st.booleans()):
                member["billing_confirmed_at"] = draw(moments)
    if draw(st.integers(0, 4)) == 0:
        opened = draw(moments)
        member.update(notice_id="n-1", notice_opened_at=opened, notice_deadline=opened + timedelta(days=31))
    member["offset"] = draw(offsets)  # times as the activity feed may write them, with an offset
    return member


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# members each action of the sweep is for, on 1 June 2026, so that every kind comes up whatever
# the generated examples are
ONE_OF_EACH_KIND = [
    {"status": "active", "monthly_price": "9.99", "joined_at": _at(2024, 1, 1), "offset": timedelta(0)},
    {"status": "active", "monthly_price": "9.99", "joined_at": _at(2018, 1, 1), "last_watched_at": _at(2023, 1, 1),
     "offset": timedelta(hours=2)},
    {"status": "active", "monthly_price": "9.99", "joined_at": _at(2018, 1, 1), "last_watched_at": _at(2020, 1, 1),
     "notice_id": "n-1", "notice_opened_at": _at(2026, 4, 1), "notice_deadline": _at(2026, 5, 2),
     "offset": timedelta(0)},
    {"status": "cancelled", "monthly_price": "9.99", "joined_at": _at(2018, 1, 1), "cancelled_at": _at(2025, 3, 1),
     "retained_until": _at(2026, 1, 1), "offset": timedelta(0)},
    {"status": "active", "monthly_price": "9.99", "joined_at": _at(2018, 1, 1), "cancelled_at": _at(2025, 3, 1),
     "last_watched_at": _at(2026, 5, 1), "offset": timedelta(hours=-11)},
    {"status": "cancelled", "monthly_price": "9.99", "joined_at": _at(2018, 1, 1), "cancelled_at": _at(2026, 5, 30),
     "cancellation_announced_at": _at(2026, 5, 30), "retained_until": _at(2027, 3, 30), "offset": timedelta(0)},
]


def write(stack, member_id: str, member: dict) -> None:
    serializer, offset = TypeSerializer(), member["offset"]
    item = {"member_id": member_id, "email": f"{member_id}@members.example", "locale": "en-US", "currency": "USD"}
    for name, value in member.items():
        if isinstance(value, datetime):
            local = value.astimezone(UTC).replace(tzinfo=None) + offset
            sign, span = ("+" if offset >= timedelta(0) else "-"), abs(offset)
            written_by_us = name in ONLY_THIS_PRODUCT_WRITES
            item[name] = (
                iso(value)
                if not offset or written_by_us
                else f"{local:%Y-%m-%dT%H:%M:%S}{sign}{span.seconds // 3600:02d}:00"
            )
        elif name != "offset":
            item[name] = value
    stack.cloud.client("dynamodb").put_item(
        TableName=stack.cloud.table_name("ActivityTable"), Item={k: serializer.serialize(v) for k, v in item.items()}
    )


def test_the_prefilter_keeps_every_member_the_policy_acts_on(stack):
    config = Settings.from_env(dict(stack.cloud.stack.function("SweepFunction").environment))
    store = Store.on_aws(config)
    batch = itertools.count()
    acted_on = []

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(members(), min_size=1, max_size=12), moments)
    @example(ONE_OF_EACH_KIND, datetime(2026, 6, 1, tzinfo=UTC))
    def check(population, now):
        # GIVEN members of every kind, written with and without time-zone offsets
        prefix = f"b{next(batch)}-"
        for n, member in enumerate(population):
            write(stack, f"{prefix}{n}", member)
        # WHEN the sweep's scan runs with its prefilter at some moment
        returned = {
            member.view.member_id
            for page in store.members.scan_members(prefilter_cutoffs(now, config.policy))
            for member in page.members
        }
        # THEN every member the policy would act on came back
        for n in range(len(population)):
            member_id = f"{prefix}{n}"
            item = stack.cloud.client("dynamodb").get_item(
                TableName=stack.cloud.table_name("ActivityTable"), Key={"member_id": {"S": member_id}}
            )["Item"]
            decision = plan(snapshot_from_item(item).view, now, config.policy)
            if decision.action is not SweepAction.NOTHING:
                acted_on.append(decision.action)
                assert member_id in returned, (decision, item)

    check()
    # AND the examples did include members the policy acts on, of several kinds
    assert len(set(acted_on)) >= 3
