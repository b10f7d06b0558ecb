"""SQS event sources: queue messages reach functions as Lambda's SQS mappings deliver them."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel
from local_cloud_support import FIXTURES, real_template_with_recorders

from local.faults import FaultInjector, Faults
from local.queues import MAX_ATTEMPTS_WITHOUT_REDRIVE
from local.template import DEFAULT_TEMPLATE, Template, TemplateError

QUEUE_TEMPLATE = FIXTURES / "queues.yaml"
WORKER_DIR = FIXTURES / "functions" / "queue_worker"


@pytest.fixture
def queue_cloud(make_cloud):
    """The queue fixture template deployed with its defaults: BatchSize 3, maxReceiveCount 3."""
    cloud = make_cloud(template=QUEUE_TEMPLATE)
    cloud.deploy()
    return cloud


def _send(cloud, queue: str, message_id: str, do: str | None = None, **more) -> str:
    body = {"id": message_id, **({"do": do} if do else {}), **more}
    cloud.client("sqs").send_message(QueueUrl=cloud.resource(queue), MessageBody=json.dumps(body))
    return message_id


def _delivered(cloud, event_id: str = "Work") -> list[list[str]]:
    """The ids in the bodies of each batch the worker got from one of its queues, in order."""
    return [
        [json.loads(record["body"])["id"] for record in invocation.event["Records"]]
        for invocation in cloud.invocations_of("WorkerFunction")
        if invocation.trigger == f"sqs {event_id}"
    ]


def _processed(cloud) -> dict[str, int]:
    """How many times the worker processed each message id (it counts them in its table)."""
    return {item["id"]: int(item["processed"]) for item in cloud.table_items("RecordsTable")}


def _bodies(cloud, queue: str) -> list[str]:
    return [message.json()["id"] for message in cloud.queue_messages(queue)]


def test_messages_arrive_in_batches_of_the_batch_size_and_are_deleted_once_processed(queue_cloud):
    cloud = queue_cloud
    # GIVEN five messages on the work queue (BatchSize 3)
    ids = [_send(cloud, "WorkQueue", f"m{n}") for n in range(5)]
    # WHEN the cloud settles
    cloud.settle()
    # THEN they came three, then two, each processed once
    assert _delivered(cloud) == [ids[0:3], ids[3:5]]
    assert _processed(cloud) == dict.fromkeys(ids, 1)
    # AND they are gone from the queue, and none went to the dead-letter queue
    assert cloud.queue_messages("WorkQueue") == []
    assert cloud.queue_messages("WorkDeadLetterQueue") == []
    # AND nothing more comes on the next settle
    assert cloud.settle() == 0


def test_each_record_has_the_shape_lambda_gives_it(queue_cloud):
    cloud = queue_cloud
    # GIVEN a message with a string and a binary message attribute
    body = json.dumps({"id": "shaped"})
    sent = cloud.client("sqs").send_message(
        QueueUrl=cloud.resource("WorkQueue"),
        MessageBody=body,
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "segment"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    # WHEN the clock moves on (advance_to pumps the queues too)
    cloud.advance(timedelta(minutes=5))
    # THEN the worker got one record shaped as Lambda shapes it
    (invocation,) = cloud.invocations_of("WorkerFunction")
    assert invocation.trigger == "sqs Work"
    (record,) = invocation.event["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert isinstance(record["receiptHandle"], str) and record["receiptHandle"]
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == cloud.resource("WorkQueue", "Arn")
    assert record["awsRegion"] == "us-east-1"
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "segment", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    # AND its times are those of the virtual clock when it was delivered (the start)
    attributes = record["attributes"]
    sent_at = str(int((cloud.now - timedelta(minutes=5)).timestamp() * 1000))
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SentTimestamp"] == sent_at
    assert attributes["ApproximateFirstReceiveTimestamp"] == sent_at
    assert attributes["SenderId"]
    # AND Powertools' own model of an SQS event accepts it
    parsed = SqsModel.model_validate(invocation.event)
    assert parsed.Records[0].attributes.ApproximateReceiveCount == "1"


def test_a_message_failing_every_time_ends_on_the_dead_letter_queue_after_max_receive_count(make_cloud):
    # GIVEN one message at a time, maxReceiveCount 3, and a message whose processing always raises
    cloud = make_cloud(template=QUEUE_TEMPLATE)
    cloud.deploy({"BatchSize": 1})
    for message_id, do in [("a", None), ("bad", "raise"), ("c", None)]:
        _send(cloud, "WorkQueue", message_id, do)
    # WHEN the cloud settles
    cloud.settle()
    # THEN the others were processed meanwhile, and the bad one was tried three times in all
    assert _delivered(cloud) == [["a"], ["bad"], ["c"], ["bad"], ["bad"]]
    counts = [
        invocation.event["Records"][0]["attributes"]["ApproximateReceiveCount"]
        for invocation in cloud.invocations_of("WorkerFunction")
        if json.loads(invocation.event["Records"][0]["body"])["id"] == "bad"
    ]
    assert counts == ["1", "2", "3"]
    assert _processed(cloud) == {"a": 1, "c": 1}
    # AND it is now on the dead-letter queue, not on the work queue
    assert cloud.queue_messages("WorkQueue") == []
    (dead,) = cloud.queue_messages("WorkDeadLetterQueue")
    assert dead.json() == {"id": "bad", "do": "raise"}
    assert dead.receive_count == 3
    # AND nothing more happens
    assert cloud.settle() == 0


def test_a_raise_fails_the_whole_batch(queue_cloud):
    cloud = queue_cloud
    # GIVEN a batch whose middle message makes the first invocation raise
    ids = [_send(cloud, "WorkQueue", "a"), _send(cloud, "WorkQueue", "b", "raise-once"), _send(cloud, "WorkQueue", "c")]
    # WHEN the cloud settles
    cloud.settle()
    # THEN the whole batch came again, and the message processed before the raise twice
    assert _delivered(cloud) == [ids, ids]
    assert _processed(cloud) == {"a": 2, "b": 1, "c": 1}
    assert cloud.queue_messages("WorkQueue") == []


def test_partial_batch_failures_retry_only_the_failed_messages(queue_cloud):
    cloud = queue_cloud
    # GIVEN a batch whose second message is reported failed the first time
    for message_id, do in [("a", None), ("b", "report-once"), ("c", None), ("d", None)]:
        _send(cloud, "WorkQueue", message_id, do)
    # WHEN the cloud settles
    cloud.settle()
    # THEN only the reported message came again, after the message that was waiting
    assert _delivered(cloud) == [["a", "b", "c"], ["d"], ["b"]]
    assert _processed(cloud) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert cloud.queue_messages("WorkQueue") == []
    assert cloud.queue_messages("WorkDeadLetterQueue") == []


def test_an_invalid_batch_response_fails_the_whole_batch(queue_cloud):
    cloud = queue_cloud
    # GIVEN a batch whose response names a message that is not in it
    _send(cloud, "WorkQueue", "a")
    _send(cloud, "WorkQueue", "i", "invalid")
    # WHEN the cloud settles
    cloud.settle()
    # THEN the whole batch failed each time (as AWS does), and both messages ended on the dead-letter queue
    assert _delivered(cloud) == [["a", "i"]] * 3
    assert sorted(_bodies(cloud, "WorkDeadLetterQueue")) == ["a", "i"]
    assert cloud.queue_messages("WorkQueue") == []


def test_messages_a_handler_sends_are_processed_within_the_same_settle(queue_cloud):
    cloud = queue_cloud
    # GIVEN a message whose processing sends another one to the same queue
    _send(cloud, "WorkQueue", "f", "follow-up")
    # WHEN the cloud settles once
    cloud.settle()
    # THEN the follow-up was processed too
    assert _delivered(cloud) == [["f"], ["f+1"]]
    assert _processed(cloud) == {"f": 1, "f+1": 1}
    assert cloud.queue_messages("WorkQueue") == []
    assert cloud.settle() == 0


def test_queues_and_streams_feed_each_other_until_both_are_quiet(queue_cloud):
    cloud = queue_cloud
    # GIVEN a message whose record, through the table's stream, makes the relay send the next hop
    _send(cloud, "WorkQueue", "r", "relay", hops=3)
    # WHEN the streams are pumped once
    cloud.pump_streams()
    # THEN every hop went queue -> table -> stream -> queue, to the last one
    assert _processed(cloud) == {"r": 1, "r>": 1, "r>>": 1, "r>>>": 1}
    assert _delivered(cloud) == [["r"], ["r>"], ["r>>"], ["r>>>"]]
    assert len(cloud.invocations_of("RelayFunction")) == 4
    assert cloud.queue_messages("WorkQueue") == []
    assert cloud.settle() == 0


def test_without_a_redrive_policy_a_failing_message_is_left_on_the_queue_after_bounded_attempts(queue_cloud, caplog):
    cloud = queue_cloud
    # GIVEN a queue with no redrive policy and a message that always fails
    _send(cloud, "LooseQueue", "x", "raise")
    # WHEN the cloud settles
    with caplog.at_level(logging.WARNING, logger="local.queues"):
        cloud.settle()
    # THEN the message was tried a bounded number of times
    assert _delivered(cloud, "Loose") == [["x"]] * MAX_ATTEMPTS_WITHOUT_REDRIVE
    # AND it is still on the queue, visible again, with a warning that says so
    (left,) = cloud.queue_messages("LooseQueue")
    assert left.json()["id"] == "x"
    assert left.receive_count == MAX_ATTEMPTS_WITHOUT_REDRIVE
    assert any("left on the queue" in r.getMessage() for r in caplog.records)
    # AND the next settle tries it again, as AWS would once its visibility timeout ran out
    cloud.settle()
    assert cloud.queue_messages("LooseQueue")[0].receive_count == 2 * MAX_ATTEMPTS_WITHOUT_REDRIVE


def test_without_report_batch_item_failures_a_listed_failure_is_a_success(queue_cloud):
    cloud = queue_cloud
    # GIVEN a mapping without ReportBatchItemFailures and a handler that lists a failure
    _send(cloud, "LooseQueue", "listed", "report")
    # WHEN the cloud settles THEN the message was delivered once and deleted
    cloud.settle()
    assert _delivered(cloud, "Loose") == [["listed"]]
    assert cloud.queue_messages("LooseQueue") == []


def test_messages_the_filter_criteria_do_not_match_are_deleted_unseen(queue_cloud):
    cloud = queue_cloud
    # GIVEN a mapping that keeps bodies with "do" ok or follow-up
    _send(cloud, "FilteredQueue", "kept", "ok")
    _send(cloud, "FilteredQueue", "dropped", "raise")
    cloud.client("sqs").send_message(QueueUrl=cloud.resource("FilteredQueue"), MessageBody="not json")
    # WHEN the cloud settles
    cloud.settle()
    # THEN only the matching message reached the function, and none is left on the queue
    assert _delivered(cloud, "Filtered") == [["kept"]]
    assert cloud.queue_messages("FilteredQueue") == []


def test_injected_faults_apply_to_queue_deliveries(queue_cloud):
    cloud = queue_cloud
    # GIVEN duplicate delivery injected, as a rehearsal with --fault duplicate-delivery does
    injector = FaultInjector(cloud, Faults(duplicate_delivery=True)).install()
    try:
        _send(cloud, "WorkQueue", "twice")
        # WHEN the cloud settles
        cloud.settle()
    finally:
        injector.uninstall()
    # THEN the batch arrived twice, and the message was deleted once it succeeded
    assert _delivered(cloud) == [["twice"], ["twice"]]
    assert _processed(cloud) == {"twice": 2}
    assert cloud.queue_messages("WorkQueue") == []


def test_sqs_events_are_read_from_the_template():
    # GIVEN the fixture template
    stack = Template.load(QUEUE_TEMPLATE).stack()
    work, loose, filtered = stack.function("WorkerFunction").queue_sources
    # THEN each SQS event names its queue, with BatchSize 10 by default
    assert (work.queue_logical_id, work.batch_size, work.report_batch_item_failures) == ("WorkQueue", 3, True)
    assert work.maximum_concurrency == 2
    assert (loose.queue_logical_id, loose.batch_size, loose.report_batch_item_failures) == ("LooseQueue", 10, False)
    assert filtered.filter_patterns == ('{"body": {"do": ["ok", "follow-up"]}}',)
    assert stack.function("WorkerFunction").other_events == ()
    # AND the queue's redrive policy names the dead-letter queue's ARN, as a JSON string
    policy = json.loads(stack.queues["WorkQueue"].attributes["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": stack.queues["WorkDeadLetterQueue"].arn, "maxReceiveCount": "3"}


def test_real_template_sweep_segments_come_from_the_sweep_queue():
    # GIVEN the project's template.yaml with a lower concurrency
    stack = Template.load(DEFAULT_TEMPLATE).stack({"SweepMaxConcurrency": 8})
    (segments,) = stack.function("SweepSegmentFunction").queue_sources
    # THEN the worker takes one segment at a time from the sweep queue, reporting failures per message
    assert segments.queue_logical_id == "SweepQueue"
    assert segments.queue_arn == stack.queues["SweepQueue"].arn
    assert (segments.batch_size, segments.report_batch_item_failures) == (1, True)
    assert segments.maximum_concurrency == 8
    assert stack.function("SweepSegmentFunction").other_events == ()


def test_real_template_sweep_queue_has_its_attributes_and_a_failing_segment_ends_on_its_dead_letter_queue(make_cloud):
    # GIVEN the real template, whose segment worker runs the queue fixture's code
    template = real_template_with_recorders()
    template.body["Resources"]["SweepSegmentFunction"]["Properties"]["CodeUri"] = str(WORKER_DIR)
    cloud = make_cloud(template=template)
    cloud.deploy()
    sqs = cloud.client("sqs")
    # THEN moto has the sweep queue with the template's attributes, its redrive policy naming the real DLQ
    attributes = sqs.get_queue_attributes(QueueUrl=cloud.resource("SweepQueue"), AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "5400"
    assert attributes["MessageRetentionPeriod"] == "86400"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": cloud.resource("SweepDeadLetterQueue", "Arn"),
        "maxReceiveCount": 5,
    }
    (source,) = [s for s in cloud.queue_sources if s.function_id == "SweepSegmentFunction"]
    assert (source.function_id, source.redrive.max_receive_count) == ("SweepSegmentFunction", 5)
    # WHEN a segment's message fails every time
    _send(cloud, "SweepQueue", "segment-0", "raise")
    cloud.settle()
    # THEN it was tried five times, one message at a time, then moved to the dead-letter queue
    invocations = cloud.invocations_of("SweepSegmentFunction")
    assert [len(i.event["Records"]) for i in invocations] == [1] * 5
    assert all(i.error for i in invocations)
    assert cloud.queue_messages("SweepQueue") == []
    (dead,) = cloud.queue_messages("SweepDeadLetterQueue")
    assert dead.json()["id"] == "segment-0"


def test_an_sqs_event_on_a_queue_outside_the_template_is_an_error(make_cloud):
    # GIVEN an SQS event naming a queue the template does not create
    template = Template.load(QUEUE_TEMPLATE)
    body = copy.deepcopy(template.body)
    body["Resources"]["WorkerFunction"]["Properties"]["Events"]["Work"]["Properties"]["Queue"] = (
        "arn:aws:sqs:us-east-1:123456789012:somewhere-else"
    )
    cloud = make_cloud(template=Template(body, template.path))
    # WHEN deployed THEN the error names the event and the queue
    with pytest.raises(TemplateError, match=r"WorkerFunction\.Work: queue .*somewhere-else"):
        cloud.deploy()
