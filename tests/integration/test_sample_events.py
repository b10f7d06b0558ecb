"""Every file in events/ invokes its handler (as `sam local invoke -e` would) in a world that
matches it, and does what a developer running it expects; the stream samples also pass, or
not, their function's FilterCriteria from template.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifecycle.settings import Settings
from lifecycle.sweep.progress import SweepProgress
from local.streams import RecordFilter
from tests.stack import SAMPLE_LINK_KEY

EVENTS = Path(__file__).parents[2] / "events"
FUNCTIONS = {  # the first prefix a file's name starts with names its function
    "sweep-segment-": "SweepSegmentFunction",
    "sweep-": "SweepFunction",
    "notify-": "NotifyFunction",
    "expire-": "ExpireFunction",
    "member-api-": "MemberApiFunction",
    "feedback-": "FeedbackFunction",
    "inbound-": "InboundFunction",
}
SAMPLE_PROFILES = [{"name": "Anna", "my_list": ["Nordlicht"], "preferences": {"subtitles": "de"}}]


def function_for(name: str) -> str:
    return next(function for prefix, function in FUNCTIONS.items() if name.startswith(prefix))


def sample(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_every_function_has_a_sample_and_every_sample_a_test():
    names = {path.name for path in EVENTS.glob("*.json")}
    assert {function_for(name) for name in names} == set(FUNCTIONS.values())
    assert names == set(EXPECTATIONS)


# ------------------------------------------------------------------- the world
SENT_MARKS = {
    "notice_email_at": "2026-06-01T03:00:05Z",
    "reminder_email_at": "2026-06-25T03:00:05Z",
    "cancelled_email_at": "2026-07-03T03:00:05Z",
    "billing_event_at": "2026-07-03T03:00:05Z",
}


def seed_world(
    stack,
    at: datetime,
    *,
    notice_item: bool = True,
    answered: bool = False,
    rejoined: bool = False,
    hold_item: bool = True,
    unsent: tuple[str, ...] = (),
    sweep_run: bool = False,
) -> None:
    """m-sample-1 has the open notice of the samples (unless it answered); m-sample-2 was cancelled
    with a retention hold (unless it rejoined); the secret signs links with the samples' key. Every
    email of the world was already sent, except those named in ``unsent``. With ``sweep_run``,
    the nightly sweep of 1 June started its run (one segment) and queued nothing yet."""
    cloud = stack.cloud
    cloud.clock.set(at)
    cloud.client("secretsmanager").put_secret_value(
        SecretId=cloud.resource("LinkSigningSecret"), SecretString=json.dumps({"current": SAMPLE_LINK_KEY})
    )
    notice_marks = (
        {}
        if answered
        else {
            "notice_id": "n-sample-1",
            "notice_opened_at": "2026-06-01T03:00:00Z",
            "notice_deadline": "2026-07-02T12:00:00Z",
        }
    )
    stack.add_member(
        "m-sample-1",
        joined_at=datetime(2021, 3, 1, tzinfo=UTC),
        last_watched_at=datetime(2024, 2, 1, tzinfo=UTC),
        locale="fr-FR",
        monthly_price="13.49",
        currency="EUR",
        **notice_marks,
        **({"notice_outcome": "kept"} if answered else {}),
    )
    cancelled = {
        "cancelled_at": "2026-07-03T03:00:00Z",
        "cancel_reason": "no_response",
        "billing_stopped_at": "2026-07-03T03:00:00Z",
    }
    if not rejoined:
        cancelled["retained_until"] = "2027-05-03T03:00:00Z"
    stack.add_member(
        "m-sample-2",
        joined_at=datetime(2019, 5, 1, tzinfo=UTC),
        last_watched_at=None,
        locale="de-DE",
        currency="EUR",
        status="active" if rejoined else "cancelled",
        profiles=SAMPLE_PROFILES,
        **cancelled,
    )
    dynamodb, table = cloud.client("dynamodb"), cloud.table_name("LifecycleTable")
    # the samples' links name notice n-sample-1: the links table says it is m-sample-1's
    dynamodb.put_item(
        TableName=cloud.table_name("LinkTable"),
        Item={"notice_id": {"S": "n-sample-1"}, "member_id": {"S": "m-sample-1"}, "expires_at": {"N": "1783598400"}},
    )
    sent = {mark: {"S": at} for mark, at in SENT_MARKS.items()}
    items = []
    if notice_item and not answered:
        items.append(sample("notify-notice-opened.json")["Records"][0]["dynamodb"]["NewImage"])
    if hold_item and not rejoined:
        items.append(sample("notify-membership-cancelled.json")["Records"][0]["dynamodb"]["NewImage"])
    for item in items:
        dynamodb.put_item(TableName=table, Item={**item, **sent})
    cloud.settle()  # the world's own stream records: everything in it was already sent
    for item in items:
        for mark in unsent:
            dynamodb.update_item(
                TableName=table,
                Key={"member_id": item["member_id"], "record": item["record"]},
                UpdateExpression=f"REMOVE {mark}",
            )
    cloud.settle()
    if sweep_run:
        settings = Settings.from_env(dict(cloud.stack.function("SweepSegmentFunction").environment))
        SweepProgress(settings.sweep).start_run("2026-06-01T03:00:00Z", 1, datetime(2026, 6, 1, 3, tzinfo=UTC))


def passes_filter(stack, function: str, record: dict) -> bool:
    [source] = stack.cloud.stack.function(function).stream_sources
    return RecordFilter(source.filter_patterns).matches(record)


# ------------------------------------------------------------ expectations
def sweep_schedule(stack, result):
    assert result == {"run_id": "2026-06-01T03:00:00Z", "members": 2, "segments": 1, "dry_run": False,
                      "guard_held": False, "notices_paused": False}
    [run] = stack.sweep_runs()  # the segment's worker took the queued task
    assert run["scanned"] == 2 and run["segments_done"] == 1 and run["finished_at"]
    assert run["actions"] == {}  # m-sample-1's notice is open and not due for a reminder yet
    assert stack.cloud.sent_emails() == []


def sweep_segment_task(stack, result):
    assert result == {"batchItemFailures": []}
    [run] = stack.sweep_runs()
    assert (run["run_id"], run["scanned"], run["segments_done"]) == ("2026-06-01T03:00:00Z", 2, 1)
    assert run["actions"] == {} and stack.cloud.sent_emails() == []


def notice_opened(stack, result):
    assert result == {"batchItemFailures": []}
    [mail] = stack.cloud.sent_emails()
    assert mail.to == ("sample.member@example.com",) and mail.headers["X-Membership-Email"] == "notice"
    assert "1\u00a0juillet\u00a02026" in mail.text


def reminder_requested(stack, result):
    assert result == {"batchItemFailures": []}
    assert [m.headers["X-Membership-Email"] for m in stack.cloud.sent_emails()] == ["reminder"]


def membership_cancelled(stack, result):
    assert result == {"batchItemFailures": []}
    [mail] = stack.cloud.sent_emails()
    assert mail.to == ("former.member@example.com",) and mail.headers["Content-Language"] == "de"
    assert [e.detail["billing"] for e in stack.cloud.bus_events()] == ["stop"]


def notice_ttl_remove(stack, result):
    assert result == {"batchItemFailures": []}
    member = stack.member("m-sample-1")
    assert (member["status"], member["cancel_reason"]) == ("cancelled", "no_response")


def notice_user_remove(stack, result):
    assert result == {"batchItemFailures": []}
    assert stack.member("m-sample-1")["status"] == "active"


def hold_ttl_remove(stack, result):
    assert result == {"batchItemFailures": []}
    assert stack.profiles("m-sample-2") is None
    assert stack.member("m-sample-2")["purged_at"] == "2027-05-04T00:00:00Z"


def hold_user_remove(stack, result):
    assert result == {"batchItemFailures": []}
    assert stack.profiles("m-sample-2") == SAMPLE_PROFILES


def notice_page(stack, result):
    assert result["statusCode"] == 200
    assert 'lang="fr"' in result["body"] and 'value="keep"' in result["body"]
    assert stack.member("m-sample-1")["notice_id"] == "n-sample-1"  # opening changed nothing


def notice_choice(stack, result):
    assert result["statusCode"] == 200
    assert stack.member("m-sample-1")["notice_outcome"] == "kept"


def app_notice(stack, result):
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["notice"]["deadline"] == "2026-07-02T12:00:00Z"


def app_keep(stack, result):
    assert result["statusCode"] == 200
    assert stack.member("m-sample-1")["notice_outcome"] == "kept"


def app_activity(stack, result):
    assert result["statusCode"] == 200 and json.loads(result["body"])["notice_closed"] is True
    assert stack.member("m-sample-1")["last_watched_at"] == "2026-06-10T20:15:00Z"


def app_rejoin(stack, result):
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["profiles"] == SAMPLE_PROFILES
    assert stack.member("m-sample-2")["status"] == "active"


def permanent_bounce(stack, result):
    assert result == {"recorded": True, "member_id": "m-sample-1", "status": "bounced"}
    assert stack.member("m-sample-1")["email_status"] == "bounced"


def complaint(stack, result):
    assert result == {"recorded": True, "member_id": "m-sample-1", "status": "complained"}
    assert stack.member("m-sample-1")["email_status_at"] == "2026-06-02T08:12:00Z"


JUNE_10 = datetime(2026, 6, 11, 9, 0, tzinfo=UTC)
# sample -> (when it is invoked, how the world looks, what must follow, does the function's filter pass it)
def inbound_batch(stack, result) -> None:
    # a member joined, m-sample-1 changed language and watched (closing the notice), and one
    # change with a comma in its price was parked with the reason
    assert result == {"batchItemFailures": []}
    joined = stack.member("m-sample-3")
    assert (joined["email"], joined["locale"], joined["monthly_price"], joined["currency"]) == (
        "lea.martin@example.fr", "fr-FR", "13.49", "EUR")
    watched = stack.member("m-sample-1")
    assert (watched["locale"], watched["last_watched_at"]) == ("de-AT", "2026-06-10T07:59:41Z")
    assert watched["notice_outcome"] == "kept_by_watching"
    assert stack.member("m-sample-2")["monthly_price"] != "12,99"
    [(reason, parked)] = stack.parked()
    assert reason.startswith("MemberChanged: detail.monthly_price breaks its schema's pattern")
    assert parked["detail"]["member_id"] == "m-sample-2"


EXPECTATIONS = {
    "sweep-schedule.json": (JUNE_10, {}, sweep_schedule, None),
    "sweep-segment-task.json": (JUNE_10, {"sweep_run": True}, sweep_segment_task, None),
    "notify-notice-opened.json": (
        datetime(2026, 6, 1, 3, 0, 5, tzinfo=UTC),
        {"unsent": ("notice_email_at",)},
        notice_opened,
        True,
    ),
    "notify-reminder-requested.json": (
        datetime(2026, 6, 25, 3, 0, 5, tzinfo=UTC),
        {"unsent": ("reminder_email_at",)},
        reminder_requested,
        True,
    ),
    "notify-membership-cancelled.json": (
        datetime(2026, 7, 3, 3, 0, 5, tzinfo=UTC),
        {"unsent": ("cancelled_email_at", "billing_event_at")},
        membership_cancelled,
        True,
    ),
    "expire-notice-ttl-remove.json": (
        datetime(2026, 7, 2, 13, 0, tzinfo=UTC),
        {"notice_item": False},
        notice_ttl_remove,
        True,
    ),
    "expire-notice-user-remove.json": (datetime(2026, 6, 5, tzinfo=UTC), {"answered": True}, notice_user_remove, False),
    "expire-hold-ttl-remove.json": (datetime(2027, 5, 4, tzinfo=UTC), {"hold_item": False}, hold_ttl_remove, True),
    "expire-hold-user-remove.json": (datetime(2026, 9, 1, tzinfo=UTC), {"rejoined": True}, hold_user_remove, False),
    "member-api-notice-page.json": (JUNE_10, {}, notice_page, None),
    "member-api-notice-choice.json": (JUNE_10, {}, notice_choice, None),
    "member-api-app-notice.json": (JUNE_10, {}, app_notice, None),
    "member-api-app-keep.json": (JUNE_10, {}, app_keep, None),
    "member-api-app-activity.json": (JUNE_10, {}, app_activity, None),
    "member-api-app-rejoin.json": (datetime(2026, 9, 1, tzinfo=UTC), {}, app_rejoin, None),
    "feedback-permanent-bounce.json": (datetime(2026, 6, 1, 3, 1, tzinfo=UTC), {}, permanent_bounce, None),
    "feedback-complaint.json": (datetime(2026, 6, 2, 9, 0, tzinfo=UTC), {}, complaint, None),
    "inbound-batch.json": (JUNE_10, {}, inbound_batch, None),
}


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_sample_event_invokes_its_handler(stack, name):
    at, world, expect, selected = EXPECTATIONS[name]
    # GIVEN the world the sample describes
    seed_world(stack, at, **world)
    event, function = sample(name), function_for(name)
    # THEN a stream sample is selected by its function's FilterCriteria exactly when AWS would deliver it
    if selected is not None:
        assert passes_filter(stack, function, event["Records"][0]) is selected
    # WHEN the handler is invoked with the file, as `sam local invoke -e` does
    result = stack.cloud.invoke(function, event)
    stack.cloud.settle()
    # THEN it does what the sample is for
    expect(stack, result)
