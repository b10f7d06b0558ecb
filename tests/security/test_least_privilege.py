"""Each function's role allows exactly the AWS calls its handler makes, and nothing by wildcard.

Every handler runs on the local cloud through every path by which it reaches AWS - the sweep
opening notices, requesting reminders, keeping members who watched, settling what a lost stream
record left open and catching up the emails and events it owed; the emails and billing events;
a bounce reported by SES; TTL expiry settling notices; keep, cancel and rejoin from the page and
the apps; the purge when retention ends - while ``tests.security.permissions`` records each call as the IAM
action and resource it needs. Each function's role must grant exactly those, per resource,
plus what Lambda itself does with a stream function's role (send the records that keep failing
to the failure queue).

The roles compared are those SAM's transform generates (``AWS::IAM::Role``), resolved: their
inline statements are the template's ``Policies`` and the statement SAM adds allowing
sqs:SendMessage to a stream's ``OnFailure`` destination of ``Type: SQS``. Not compared: the
managed policies SAM attaches to each role, CloudWatch Logs (AWSLambdaBasicExecutionRole), X-Ray
(AWSXrayWriteOnlyAccess, for ``Tracing: Active``), and for the stream functions the stream
reads of their event source mappings (AWSLambdaDynamoDBExecutionRole: DescribeStream,
GetRecords, GetShardIterator, ListStreams).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from permissions_support import (
    SES_CONFIGURATION_SET,
    SES_IDENTITY,
    as_list,
    combined,
    differences,
    granted_by_template,
    needed_by_event_source_mappings,
    needed_by_handlers,
    role_statements,
    stream_records_lost_to,
)

from local.aws_calls import attributed_to
from local.faults import FaultInjector, Faults
from local.template import Template
from tests.security.permissions import ArnBuilder, Permission, permissions_needed, record_calls
from tests.stack import FIRST_SWEEP, iso

DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)  # of the notices the first sweep opens
CONFIGURATION_SET = "member-mail"


def page_answer(stack, member_id: str, choice: str) -> requests.Response:
    """The member opens the email's link, then sends the page's form."""
    link = stack.link(member_id, choice)
    assert requests.get(link, timeout=30).status_code == 200
    return requests.post(link.split("?")[0], data={"choice": choice}, timeout=30)


def permanent_bounce(member_id: str, at: datetime) -> dict:
    """What SES publishes to EventBridge when an email to the member bounced for good."""
    return {
        "source": "aws.ses",
        "detail-type": "Email Bounced",
        "time": iso(at),
        "detail": {"bounce": {"bounceType": "Permanent"}, "mail": {"tags": {"member": [member_id]}}},
    }


@pytest.mark.slow
def test_every_role_grants_exactly_what_its_handler_calls_and_lambda_needs(stack):
    # GIVEN members silent for years, TTL deleting on time, and two stream records lost earlier:
    # a notice deleted at its deadline, and a retention hold deleted when retention ended; the
    # sweep's workers hand their segment on after every page; things are kept one month (the
    # shortest retention: every call of a purge, in a sixth of the nights)
    stack.cloud.deploy(
        {**stack.cloud.parameters, "SweepHandOffSeconds": "900", "SweepPageSize": "4", "RetentionMonths": "1"}
    )
    stack.ttl_on_time()
    answering = ["m-page-keep", "m-page-cancel", "m-app-keep", "m-app-watch", "m-feed-watch", "m-bus-watch",
                 "m-bus-ended"]
    silent = ["m-late-watch", "m-silent", "m-bounced"]
    for member_id in [*answering, *silent]:
        stack.add_inactive_member(member_id)
    stack.add_inactive_member(
        "m-lost-notice",
        notice_id="n-lost",
        notice_opened_at="2026-04-20T03:00:00Z",
        notice_deadline="2026-05-21T12:00:00Z",
    )
    stack.add_inactive_member(
        "m-lost-hold",
        status="cancelled",
        cancel_reason="no_response",
        cancelled_at="2025-03-01T03:00:00Z",
        retained_until="2026-01-01T03:00:00Z",
    )
    with record_calls() as calls:
        # WHEN the first sweep opens the notices, settles the overdue one and purges the ended
        # retention, and every delivery arrives twice (at least once, as AWS promises)
        duplicates = FaultInjector(stack.cloud, Faults(duplicate_delivery=True)).install()
        try:
            stack.run_until(FIRST_SWEEP)
        finally:
            duplicates.uninstall()
        # AND one notice bounces for good; members answer: on the page, in the app, by watching
        # (through the app and the activity feed)
        stack.run_until(FIRST_SWEEP + timedelta(hours=6))
        assert stack.cloud.invoke("FeedbackFunction", permanent_bounce("m-bounced", stack.cloud.now))["recorded"]
        assert page_answer(stack, "m-page-keep", "keep").status_code == 200
        assert stack.app("GET", "/members/m-app-keep/notice").status_code == 200
        assert stack.app("POST", "/members/m-app-keep/keep").status_code == 200
        watched = stack.app("POST", "/members/m-app-watch/activity", {"watched_at": iso(stack.cloud.now)})
        assert watched.status_code == 200
        stack.set_member("m-feed-watch", last_watched_at=iso(stack.cloud.now))
        # AND the business sends its events: a member joins and changes, one noticed member's
        # viewing comes through the viewing feed, and one event breaks its schema
        stack.publish(
            ("MemberJoined", {"member_id": "m-bus-new", "occurred_at": iso(stack.cloud.now), "email": "new@example.com",
                              "monthly_price": "9.99", "currency": "USD"}),
            ("MemberChanged", {"member_id": "m-bus-new", "occurred_at": iso(stack.cloud.now), "locale": "fr-FR"}),
            ("ViewingRecorded", {"member_id": "m-bus-watch", "occurred_at": iso(stack.cloud.now)}),
            ("ViewingRecorded", {"member_id": "m-bus-watch"}),
            ("MembershipEnded", {"member_id": "m-bus-ended", "occurred_at": iso(stack.cloud.now)}),
        )
        stack.publish(("MemberRejoined", {"member_id": "m-bus-ended", "occurred_at": iso(stack.cloud.now)}))
        assert [reason for reason, _ in stack.parked()] == ["ViewingRecorded: detail must have member_id, occurred_at"]
        # AND while the lifecycle stream's records are lost to the notify function, a notice is
        # opened and a member cancels on the page; the sweep after sends what they owed
        stack.add_inactive_member("m-mail-lost")
        with stream_records_lost_to(stack.cloud, "NotifyFunction"):
            stack.run_until(FIRST_SWEEP + timedelta(days=1, hours=1))
            assert page_answer(stack, "m-page-cancel", "cancel").status_code == 200
        stack.run_until(FIRST_SWEEP + timedelta(days=2))
        # AND the sweep requests reminders, one silent member watches on the last day, and TTL
        # deletes the notices at their deadlines
        stack.run_until(DEADLINE - timedelta(hours=6))
        stack.set_member("m-late-watch", last_watched_at=iso(stack.cloud.now))
        stack.run_until(DEADLINE + timedelta(days=3))
        # AND a cancelled member rejoins in the app, and the other retentions end
        stack.run_until(DEADLINE + timedelta(days=10))
        assert stack.app("POST", "/members/m-silent/rejoin").status_code == 200
        stack.run_until(DEADLINE + timedelta(days=40))

    # THEN the story went as told: every function ran, what the lost records owed was sent, and
    # nothing more to the address that bounced
    assert calls.functions == set(stack.cloud.stack.functions)
    assert stack.email_kinds("m-mail-lost") == ["notice", "reminder", "cancelled"]
    assert stack.email_kinds("m-bounced") == ["notice"]
    assert stack.email_kinds("m-page-cancel") == ["notice", "cancelled"]
    assert stack.member("m-silent")["status"] == "active"
    assert stack.member("m-late-watch")["notice_outcome"] == "kept_by_watching"
    for member_id in ("m-lost-hold", "m-lost-notice", "m-page-cancel"):
        assert stack.profiles(member_id) is None, f"{member_id}'s kept data was not purged"
    # AND each role grants exactly what its handler called, and what Lambda does with it
    cloud = stack.cloud
    needed = combined(needed_by_handlers(calls, cloud), needed_by_event_source_mappings(cloud))
    granted = granted_by_template(cloud.template, cloud.parameters, cloud.stack_name)
    assert differences(granted, needed) == {}


def test_the_ses_configuration_set_is_granted_to_every_sender_only_when_one_is_named(stack):
    # GIVEN the stack deployed with a configuration set for every email
    cloud = stack.cloud
    cloud.deploy({**cloud.parameters, "ConfigurationSetName": CONFIGURATION_SET})
    stack.add_inactive_member("m-configured")
    # WHEN the sweep opens a notice and its email is sent
    with record_calls() as calls:
        stack.run_until(FIRST_SWEEP)
    # THEN sending needed the configuration set as well as the identity, and the template grants both
    ses_resources = {SES_IDENTITY, SES_CONFIGURATION_SET}
    needed = needed_by_handlers(calls, cloud)["NotifyFunction"]
    granted = granted_by_template(cloud.template, cloud.parameters, cloud.stack_name)
    assert {resource: needed[resource] for resource in ses_resources} == {
        resource: granted["NotifyFunction"][resource] for resource in ses_resources
    }
    # AND every function allowed to send is allowed the configuration set with it, and only then
    without = granted_by_template(cloud.template, {**cloud.parameters, "ConfigurationSetName": ""}, cloud.stack_name)
    assert {function_id: resources.get(SES_CONFIGURATION_SET) for function_id, resources in granted.items()} == {
        function_id: resources.get(SES_IDENTITY) for function_id, resources in granted.items()
    }
    assert {function_id: resources.get(SES_IDENTITY) for function_id, resources in without.items()} == {
        function_id: resources.get(SES_IDENTITY) for function_id, resources in granted.items()
    }
    assert all(SES_CONFIGURATION_SET not in resources for resources in without.values())


@pytest.mark.parametrize("configuration_set", ["", CONFIGURATION_SET])
def test_no_policy_allows_a_wildcard_action_or_any_resource(configuration_set):
    # GIVEN the template, as SAM translates it with and without a configuration set
    template = Template.load()
    stack = template.stack({"ConfigurationSetName": configuration_set})
    functions = template.resources_of_type("AWS::Serverless::Function")
    # WHEN every statement of every function's role is read
    statements = {function_id: role_statements(stack, function_id) for function_id in functions}
    # THEN each function has its own role (none named, none in Globals) and explicit statements
    assert functions
    assert all("Role" not in (resource.get("Properties") or {}) for resource in functions.values())
    assert not {"Policies", "Role"} & set((template.body.get("Globals") or {}).get("Function") or {})
    # AND every statement allows named actions on named resources
    for function_id, function_statements in statements.items():
        assert function_statements, f"{function_id} is granted nothing"
        for statement in function_statements:
            where = f"{function_id}: {statement}"
            assert statement.get("Effect") == "Allow", where
            assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), where
            assert all(action.count(":") == 1 and "*" not in action for action in as_list(statement["Action"])), where
            assert all(
                resource.startswith("arn:") and "*" not in resource for resource in as_list(statement["Resource"])
            ), where


def test_the_local_clouds_own_calls_belong_to_no_function(stack):
    # GIVEN a member who watches, and a recording open
    stack.add_member(
        "m-own", joined_at=datetime(2024, 1, 1, tzinfo=UTC), last_watched_at=datetime(2026, 5, 1, tzinfo=UTC)
    )
    with record_calls() as calls:
        # WHEN tests and the cloud itself read and write tables, pump streams and let TTL delete
        stack.add_member("m-other", joined_at=datetime(2026, 1, 1, tzinfo=UTC), last_watched_at=None)
        stack.member("m-own")
        stack.lifecycle("m-own")
        stack.cloud.settle()  # streams, queues, and TTL's deletions
        stack.cloud.sent_emails()
        stack.bus()
        # THEN nothing was recorded
        assert calls.calls == {}
        # WHEN the sweep is invoked
        stack.cloud.invoke("SweepFunction", {"job": "nightly-sweep"})
    # THEN only the sweep's own calls were recorded: sizing the table, starting the run, queueing,
    # reading the pause button
    activity_table = stack.cloud.resource("ActivityTable", "Arn")
    progress_table = stack.cloud.resource("SweepProgressTable", "Arn")
    queue = stack.cloud.resource("SweepQueue", "Arn")
    switch = f"arn:aws:ssm:us-east-1:123456789012:parameter{stack.cloud.outputs['NoticesSwitchParameterName']}"
    assert calls.functions == {"SweepFunction"}
    assert calls.permissions_of("SweepFunction") == {
        Permission("dynamodb:DescribeTable", activity_table),
        Permission("dynamodb:PutItem", progress_table),
        Permission("dynamodb:GetItem", progress_table),
        Permission("sqs:SendMessage", queue),
        Permission("ssm:GetParameter", switch),
    }
    assert calls.operations_of("SweepFunction") == {
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "sqs:SendMessageBatch",
        "ssm:GetParameter",
    }


def test_calls_another_thread_makes_while_a_handler_runs_belong_to_no_function(stack):
    # GIVEN a recording open, and this thread running a handler of the sweep
    stack.add_member(
        "m-own", joined_at=datetime(2024, 1, 1, tzinfo=UTC), last_watched_at=datetime(2026, 5, 1, tzinfo=UTC)
    )
    with record_calls() as calls, attributed_to("SweepFunction"):
        # WHEN another thread (the API server, a test) reads the table meanwhile
        reader = threading.Thread(target=stack.member, args=("m-own",))
        reader.start()
        reader.join()
        # THEN that read was not the sweep's
        assert calls.calls == {}
        # WHEN this thread reads it
        stack.member("m-own")
    # THEN that read was
    assert calls.operations_of("SweepFunction") == {"dynamodb:GetItem"}


def test_a_transaction_needs_each_items_action_on_its_table():
    # GIVEN a transaction of every kind of item over two tables
    arns = ArnBuilder()
    items = [
        {"Put": {"TableName": "lifecycle", "Item": {}}},
        {"Update": {"TableName": "activity", "Key": {}, "UpdateExpression": "SET a = :a"}},
        {"Delete": {"TableName": "lifecycle", "Key": {}}},
        {"ConditionCheck": {"TableName": "activity", "Key": {}, "ConditionExpression": "attribute_exists(a)"}},
        {"Delete": {"TableName": "lifecycle", "Key": {}}},
    ]
    # WHEN the permissions it needs are worked out
    needed = permissions_needed("dynamodb", "TransactWriteItems", {"TransactItems": items})
    # THEN each item needs its own action on its own table, once
    assert needed == [
        Permission("dynamodb:PutItem", arns.table("lifecycle")),
        Permission("dynamodb:UpdateItem", arns.table("activity")),
        Permission("dynamodb:DeleteItem", arns.table("lifecycle")),
        Permission("dynamodb:ConditionCheckItem", arns.table("activity")),
    ]


@pytest.mark.parametrize(
    ("service", "operation", "params", "expected"),
    [
        (
            "dynamodb",
            "GetItem",
            {"TableName": "activity", "Key": {}},
            [Permission("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/activity")],
        ),
        (
            "dynamodb",
            "Query",
            {"TableName": "activity", "IndexName": "by-status"},
            [Permission("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/activity/index/by-status")],
        ),
        (
            "ses",
            "SendRawEmail",
            {
                "Source": "Streamly <no-reply@example.com>",
                "RawMessage": {"Data": b""},
                "ConfigurationSetName": "member-mail",
            },
            [
                Permission("ses:SendRawEmail", "arn:aws:ses:us-east-1:123456789012:identity/no-reply@example.com"),
                Permission("ses:SendRawEmail", "arn:aws:ses:us-east-1:123456789012:configuration-set/member-mail"),
            ],
        ),
        (
            "events",
            "PutEvents",
            {"Entries": [{"EventBusName": "billing"}, {"Detail": "{}"}]},
            [
                Permission("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/billing"),
                Permission("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default"),
            ],
        ),
        (
            "secretsmanager",
            "GetSecretValue",
            {"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:links-AbCdEf"},
            [
                Permission(
                    "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:links-AbCdEf"
                )
            ],
        ),
        (
            "sqs",
            "SendMessage",
            {"QueueUrl": "http://127.0.0.1:5000/123456789012/failures", "MessageBody": "{}"},
            [Permission("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:failures")],
        ),
        (
            "sqs",
            "SendMessageBatch",
            {"QueueUrl": "http://127.0.0.1:5000/123456789012/segments", "Entries": []},
            [Permission("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:segments")],
        ),
        ("dynamodbstreams", "ListStreams", {}, [Permission("dynamodb:ListStreams", "*")]),
    ],
)
def test_each_call_needs_its_iam_action_on_the_resource_it_names(service, operation, params, expected):
    # GIVEN an API call  WHEN the permissions it needs are worked out  THEN they are its action on its resource
    assert permissions_needed(service, operation, params) == expected
