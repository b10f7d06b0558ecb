"""Malformed or unexpected events, for every handler: a clear error, and nothing changes (a member
item the sweep cannot read is in ``test_sweep_guards``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import FIRST_SWEEP, Stack, deployed_stack

STREAM_FUNCTIONS = ("NotifyFunction", "ExpireFunction")  # the stream's two readers


def world(stack) -> dict:
    """Everything a handler could change: the three tables, the mail and the bus."""
    client = stack.cloud.client("dynamodb")
    tables = {
        logical_id: sorted(
            json.dumps(item, sort_keys=True)
            for item in client.scan(TableName=stack.cloud.table_name(logical_id), ConsistentRead=True)["Items"]
        )
        for logical_id in ("ActivityTable", "LifecycleTable", "MemberDataTable")
    }
    return {"tables": tables, "mail": len(stack.cloud.sent_emails()), "events": len(stack.bus())}


@pytest.fixture(scope="module")
def seeded() -> Iterator[Stack]:
    """One stack for the module, after its first night (a member noticed): every test here
    checks that its event changed nothing in it."""
    with deployed_stack() as stack:
        stack.add_inactive_member("m-seen", locale="fr-FR")
        stack.run_until(FIRST_SWEEP)
        yield stack


@pytest.mark.parametrize("function", [*STREAM_FUNCTIONS, "SweepFunction", "FeedbackFunction"])
@pytest.mark.parametrize("event", [[], "a string", 42])
def test_an_event_that_is_not_an_object_is_refused_with_a_clear_error(seeded, function, event):
    before = world(seeded)
    with pytest.raises(Exception, match=r"expected|event|object") as refused:
        seeded.cloud.invoke(function, event)
    assert "Traceback" not in str(refused.value)
    assert world(seeded) == before


@pytest.mark.parametrize("function", STREAM_FUNCTIONS)
def test_a_stream_event_without_records_is_refused(seeded, function):
    before = world(seeded)
    with pytest.raises(Exception, match="DynamoDB stream event"):
        seeded.cloud.invoke(function, {"detail": "not a stream"})
    assert world(seeded) == before


# a record each function reads and rightly does nothing with (the member is unknown, or nothing is owed)
HARMLESS = {
    "NotifyFunction": {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"member_id": {"S": "m-seen"}, "record": {"S": "notice"}},
            "NewImage": {
                "member_id": {"S": "m-seen"},
                "record": {"S": "notice"},
                "email": {"S": "x@y.example"},
                "locale": {"S": "en"},
                "expires_at": {"N": "1"},
            },
        },
    },
    "ExpireFunction": {
        "eventName": "REMOVE",
        "dynamodb": {
            "Keys": {"member_id": {"S": "m-nobody"}, "record": {"S": "notice"}},
            "OldImage": {
                "member_id": {"S": "m-nobody"},
                "record": {"S": "notice"},
                "notice_id": {"S": "n-1"},
                "email": {"S": "x@y.example"},
                "locale": {"S": "en"},
                "expires_at": {"N": "1"},
            },
        },
    },
    "ExpireFunction:hold": {  # the expire function reads retention holds TTL ended, too
        "eventName": "REMOVE",
        "dynamodb": {
            "Keys": {"member_id": {"S": "m-nobody"}, "record": {"S": "hold"}},
            "OldImage": {
                "member_id": {"S": "m-nobody"},
                "record": {"S": "hold"},
                "cancelled_at": {"S": "2026-01-01T00:00:00Z"},
                "email": {"S": "x@y.example"},
                "locale": {"S": "en"},
                "expires_at": {"N": "1"},
            },
        },
    },
}


def stream_record(sequence: str, record: dict) -> dict:
    return {
        "eventID": f"id-{sequence}",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        **record,
        "dynamodb": {**record.get("dynamodb", {}), "SequenceNumber": sequence},
    }


@pytest.mark.parametrize("harmless", HARMLESS)
@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"eventName": "INSERT"}, "no dynamodb.Keys"),
        ({"eventName": "EXPLODE", "dynamodb": {"Keys": {}}}, "eventName 'EXPLODE'"),
        (
            {"eventName": "REMOVE", "dynamodb": {"Keys": {"member_id": {"S": "m-seen"}, "record": {"S": "bogus"}}}},
            "'notice' or 'hold'",
        ),
        (
            {
                "eventName": "REMOVE",
                "dynamodb": {
                    "Keys": {"member_id": {"S": "m-seen"}, "record": {"S": "notice"}},
                    "OldImage": {"member_id": {"N": "1"}},
                },
            },
            "not a lifecycle item",
        ),
    ],
)
def test_a_malformed_stream_record_fails_alone_and_changes_nothing(seeded, harmless, record, reason, caplog):
    # GIVEN a batch with a malformed record beside a harmless one
    before = world(seeded)
    function = harmless.partition(":")[0]
    event = {"Records": [stream_record("1", record), stream_record("2", HARMLESS[harmless])]}
    # WHEN the stream function gets it
    result = seeded.cloud.invoke(function, event)
    # THEN only the malformed record is reported failed (retried, then parked on the failure queue),
    # the log says precisely why, and nothing changed
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert any(
        reason in getattr(r, "problem", "") for r in caplog.records if r.getMessage() == "malformed stream record"
    )
    assert world(seeded) == before


@pytest.mark.parametrize(
    "event",
    [
        {"source": "aws.ses", "detail-type": "Email Delivered", "detail": {}},
        {
            "source": "aws.ses",
            "detail-type": "Email Bounced",
            "time": "2026-06-01T00:00:00Z",
            "detail": {"bounce": {"bounceType": "Permanent"}, "mail": {"tags": {}}},
        },
        {"source": "someone.else", "detail-type": "Email Bounced"},
        {"source": "aws.ses", "detail-type": ["Email Bounced"], "detail": {}},
    ],
)
def test_an_unexpected_ses_event_is_refused_and_changes_nothing(seeded, event):
    before = world(seeded)
    with pytest.raises(Exception, match=r"SES|detail-type|member"):
        seeded.cloud.invoke("FeedbackFunction", event)
    assert world(seeded) == before


def test_an_api_event_for_no_route_gets_a_404_and_changes_nothing(seeded):
    before = world(seeded)
    answer = seeded.cloud.invoke(
        "MemberApiFunction",
        {"httpMethod": "GET", "path": "/nowhere", "headers": {}, "requestContext": {"stage": "test"}},
    )
    assert answer["statusCode"] == 404
    assert world(seeded) == before


def sweep_task_event(*bodies: str) -> dict:
    """An SQS event of the segment worker's queue carrying these message bodies."""
    record = json.loads((Path(__file__).parents[2] / "events" / "sweep-segment-task.json").read_text())["Records"][0]
    return {"Records": [{**record, "messageId": f"msg-{n}", "body": body} for n, body in enumerate(bodies)]}


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("not json", "must be a JSON object"),
        ("[1, 2]", "must be a JSON object, got list"),
        ('{"run_id": "2026-06-01T03:00:00Z"}', "lacks segment, total_segments"),
        ('{"run_id": "2026-06-01T03:00:00Z", "segment": 2, "total_segments": 2}', "segment 2 of 2 is out of range"),
        ('{"run_id": "2026-06-01T03:00:00Z", "segment": "0", "total_segments": 1}', "segment must be a whole number"),
        ('{"run_id": "1999-01-01T03:00:00Z", "segment": 0, "total_segments": 1}', "no sweep run '1999-01-01"),
        ('{"run_id": "2026-06-01T03:00:00Z", "segment": 0, "total_segments": 4}', "has 1 segments, not 4"),
    ],
)
def test_a_sweep_task_it_cannot_act_on_fails_alone_says_why_and_changes_nothing(seeded, caplog, body, why):
    # GIVEN the first night's run, and a batch of a task it cannot act on beside one it can
    # (a task of a run already finished: nothing left to do)
    before, [good] = world(seeded), [run["run_id"] for run in seeded.sweep_runs()]
    event = sweep_task_event(body, json.dumps({"run_id": good, "segment": 0, "total_segments": 1}))
    # WHEN the worker gets it
    result = seeded.cloud.invoke("SweepSegmentFunction", event)
    # THEN only the bad task fails (to be retried, then parked on the dead-letter queue), the log
    # says why, and nothing changed
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert any(
        why in getattr(record, "problem", "")
        for record in caplog.records
        if record.getMessage() == "sweep task refused"
    )
    assert world(seeded) == before


@pytest.mark.parametrize("scheduled_time", ["tonight", "2026-06-02T03:00:00", 20260602])
def test_a_schedule_event_with_no_usable_time_is_refused_and_starts_no_run(seeded, scheduled_time):
    before, runs = world(seeded), seeded.sweep_runs()
    with pytest.raises(Exception, match="scheduled_time") as refused:
        seeded.cloud.invoke("SweepFunction", {"job": "nightly-sweep", "scheduled_time": scheduled_time})
    assert "Traceback" not in str(refused.value)
    assert world(seeded) == before and seeded.sweep_runs() == runs
    assert seeded.cloud.queue_messages("SweepQueue") == []
