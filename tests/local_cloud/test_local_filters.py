"""FilterCriteria of the real template.yaml, applied the way Lambda applies them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from local_cloud_support import epoch, real_template_with_recorders

from local.streams import RecordFilter, shape_record
from local.template import DEFAULT_TEMPLATE, Template

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/membership-lifecycle-dev/stream/x"
WHEN = datetime(2025, 3, 1, tzinfo=UTC)


def _record(event_name: str, kind: str, *, ttl: bool = False, old: dict | None = None, new: dict | None = None):
    keys = {"member_id": {"S": "m-1"}, "record": {"S": kind}}
    data: dict = {"Keys": keys, "SequenceNumber": "100", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old is not None:
        data["OldImage"] = {**keys, **old}
    if new is not None:
        data["NewImage"] = {**keys, **new}
    raw = {"eventID": "e", "eventName": event_name, "eventVersion": "1.0", "awsRegion": "us-east-1", "dynamodb": data}
    return shape_record(raw, stream_arn=STREAM, created_at=WHEN, ttl_deletion=ttl)


RECORDS = {
    "ttl-remove-notice": _record("REMOVE", "notice", ttl=True, old={"expires_at": {"N": "1"}}),
    "ttl-remove-hold": _record("REMOVE", "hold", ttl=True, old={"expires_at": {"N": "1"}}),
    "user-remove-notice": _record("REMOVE", "notice", old={"expires_at": {"N": "1"}}),
    "user-remove-hold": _record("REMOVE", "hold", old={"expires_at": {"N": "1"}}),
    "insert-notice": _record("INSERT", "notice", new={"expires_at": {"N": "1"}}),
    "insert-hold": _record("INSERT", "hold", new={"expires_at": {"N": "1"}}),
    "reminder-requested": _record(
        "MODIFY",
        "notice",
        old={"expires_at": {"N": "1"}},
        new={"expires_at": {"N": "1"}, "reminder_requested_at": {"S": "2025-03-01"}},
    ),
    "reminder-sent": _record(
        "MODIFY",
        "notice",
        old={"reminder_requested_at": {"S": "2025-03-01"}},
        new={"reminder_requested_at": {"S": "2025-03-01"}, "reminder_sent_at": {"S": "x"}},
    ),
    "other-modify": _record("MODIFY", "notice", old={"expires_at": {"N": "1"}}, new={"expires_at": {"N": "2"}}),
}


def _selected(function_id: str) -> set[str]:
    stack = Template.load(DEFAULT_TEMPLATE).stack()
    (source,) = stack.function(function_id).stream_sources
    record_filter = RecordFilter(source.filter_patterns)
    return {name for name, record in RECORDS.items() if record_filter.matches(record)}


def test_ttl_records_carry_the_user_identity_of_dynamodb_and_user_deletes_none():
    assert RECORDS["ttl-remove-notice"]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert "userIdentity" not in RECORDS["user-remove-notice"]


@pytest.mark.parametrize(
    ("function_id", "expected"),
    [
        ("ExpireFunction", {"ttl-remove-notice", "ttl-remove-hold"}),
        ("NotifyFunction", {"insert-notice", "insert-hold", "reminder-requested"}),
    ],
)
def test_each_stream_function_selects_only_its_records(function_id, expected):
    # GIVEN TTL and user REMOVE records of notices and holds, INSERTs and MODIFYs
    # WHEN the function's FilterCriteria from template.yaml are applied
    # THEN it gets exactly the records it is meant for
    assert _selected(function_id) == expected


@pytest.mark.parametrize(
    ("pattern", "record", "matches"),
    [
        # exists:false holds when the whole parent is absent (an INSERT has no OldImage)
        ('{"dynamodb": {"OldImage": {"a": {"S": [{"exists": false}]}}}}', {"dynamodb": {"NewImage": {}}}, True),
        ('{"dynamodb": {"OldImage": {"a": {"S": [{"exists": true}]}}}}', {"dynamodb": {"NewImage": {}}}, False),
        # exists matches leaves only, not objects
        ('{"a": [{"exists": true}]}', {"a": {"b": "c"}}, False),
        # a value list matches any element of an array
        ('{"a": ["x"]}', {"a": ["y", "x"]}, True),
        ('{"a": ["x"]}', {"a": ["y"]}, False),
        # a key the record lacks never matches a value
        ('{"a": ["x"]}', {"b": "x"}, False),
        # a value list against an object is no match
        ('{"a": ["x"]}', {"a": {"x": "x"}}, False),
        ('{"a": [{"prefix": "no"}]}', {"a": "notice"}, True),
        ('{"a": [{"anything-but": ["hold"]}]}', {"a": "notice"}, True),
        ('{"a": [{"anything-but": ["notice"]}]}', {"a": "notice"}, False),
        ('{"a": [{"numeric": [">", 5]}]}', {"a": 7}, True),
        ('{"a": [{"numeric": [">", 5]}]}', {"a": "7"}, False),  # DynamoDB numbers arrive as strings
        ('{"a": ["x"], "b": ["y"]}', {"a": "x", "b": "z"}, False),  # every key must match
    ],
)
def test_pattern_semantics_match_lambda_event_filtering(pattern, record, matches):
    assert RecordFilter([pattern]).matches(record) is matches


def test_no_filter_criteria_lets_everything_through():
    assert RecordFilter([]).matches({"eventName": "REMOVE"})


def test_real_wiring_delivers_each_function_only_its_records(make_cloud):
    # GIVEN the real template (tables, streams, filters) with recording handlers, and TTL on time
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    cloud = make_cloud(start, template=real_template_with_recorders(), max_ttl_delay=timedelta(0))
    cloud.deploy()
    table = cloud.table_name("LifecycleTable")
    dynamodb = cloud.client("dynamodb")
    due = {"N": str(epoch(start + timedelta(days=1)))}

    def key(member: str, kind: str) -> dict:
        return {"member_id": {"S": member}, "record": {"S": kind}}

    # WHEN notices and holds are created, a reminder is requested then recorded as sent,
    dynamodb.put_item(TableName=table, Item={**key("m1", "notice"), "expires_at": due})
    dynamodb.put_item(TableName=table, Item={**key("m2", "hold"), "expires_at": due})
    dynamodb.update_item(
        TableName=table,
        Key=key("m1", "notice"),
        UpdateExpression="SET reminder_requested_at = :t",
        ExpressionAttributeValues={":t": {"S": "2025-03-01T12:00:00Z"}},
    )
    dynamodb.update_item(
        TableName=table,
        Key=key("m1", "notice"),
        UpdateExpression="SET reminder_sent_at = :t",
        ExpressionAttributeValues={":t": {"S": "2025-03-01T12:05:00Z"}},
    )
    # AND a member answers (their notice deleted) and another rejoins (their hold deleted)
    dynamodb.put_item(TableName=table, Item={**key("m3", "notice"), "expires_at": due})
    dynamodb.put_item(TableName=table, Item={**key("m4", "hold"), "expires_at": due})
    dynamodb.delete_item(TableName=table, Key=key("m3", "notice"))
    dynamodb.delete_item(TableName=table, Key=key("m4", "hold"))
    # AND the deadlines pass (TTL deletes the rest)
    cloud.advance_to(start + timedelta(days=2))

    def received(function_id: str) -> list[tuple[str, str, str, bool]]:
        return [
            (
                r["eventName"],
                r["dynamodb"]["Keys"]["member_id"]["S"],
                r["dynamodb"]["Keys"]["record"]["S"],
                "userIdentity" in r,
            )
            for invocation in cloud.invocations_of(function_id)
            for r in invocation.event.get("Records", [])
        ]

    # THEN expire gets the TTL removals of the notice and of the hold, and no other removal
    assert received("ExpireFunction") == [("REMOVE", "m1", "notice", True), ("REMOVE", "m2", "hold", True)]
    # AND notify gets the creations and the reminder request, never the write that records it sent
    assert received("NotifyFunction") == [
        ("INSERT", "m1", "notice", False),
        ("INSERT", "m2", "hold", False),
        ("MODIFY", "m1", "notice", False),
        ("INSERT", "m3", "notice", False),
        ("INSERT", "m4", "hold", False),
    ]
