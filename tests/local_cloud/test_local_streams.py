"""The stream pump: DynamoDB stream records reach functions as Lambda's mappings deliver them."""

from __future__ import annotations

import json

from local_cloud_support import delivered_batches

TABLE = "local-items-test"


def _put(cloud, sk: str, behaviour: str | None = None) -> str:
    item = {"pk": {"S": "p"}, "sk": {"S": sk}}
    if behaviour:
        item["behaviour"] = {"S": behaviour}
    cloud.client("dynamodb").put_item(TableName=TABLE, Item=item)
    return sk


def _sequence_numbers(cloud) -> dict[str, str]:
    return {
        record["dynamodb"]["Keys"]["sk"]["S"]: record["dynamodb"]["SequenceNumber"]
        for invocation in cloud.invocations_of("RecorderFunction")
        for record in invocation.event["Records"]
    }


def _failures(cloud) -> list[dict]:
    """The failure queue's messages, parsed, taken off the queue."""
    sqs, url = cloud.client("sqs"), cloud.outputs["FailureQueueUrl"]
    bodies = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_records_arrive_in_batches_of_the_batch_size_in_order_once_each(cloud):
    # GIVEN BatchSize 3 and a filter that keeps only "item" records
    names = [_put(cloud, f"item-{n}") for n in range(7)]
    _put(cloud, "ignored-1")
    _put(cloud, "ignored-2")
    # WHEN the streams are pumped, twice
    cloud.pump_streams()
    cloud.pump_streams()
    # THEN the items came in order, three at a time, each exactly once, and nothing else came
    assert delivered_batches(cloud, "RecorderFunction") == [names[0:3], names[3:6], names[6:7]]
    # AND each record is shaped as Lambda delivers it
    record = cloud.invocations_of("RecorderFunction")[0].event["Records"][0]
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == cloud.outputs["ItemsStreamArn"]
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(cloud.now.timestamp())
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "p"}, "sk": {"S": "item-0"}}
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "p"}, "sk": {"S": "item-0"}}
    assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert "userIdentity" not in record


def test_batch_size_comes_from_the_parameters(make_cloud):
    # GIVEN the stack deployed with BatchSize 5
    cloud = make_cloud()
    cloud.deploy({"BatchSize": 5})
    names = [_put(cloud, f"item-{n}") for n in range(7)]
    # WHEN pumped THEN batches hold five records
    cloud.pump_streams()
    assert delivered_batches(cloud, "RecorderFunction") == [names[0:5], names[5:7]]


def test_a_partial_failure_retries_from_the_failed_record_only(cloud):
    # GIVEN a batch whose middle record is reported failed the first time
    _put(cloud, "item-a")
    _put(cloud, "item-b", "report-once")
    _put(cloud, "item-c")
    _put(cloud, "item-d")
    # WHEN pumped
    cloud.pump_streams()
    # THEN the retry starts at the failed record; the one before it is not delivered again
    assert delivered_batches(cloud, "RecorderFunction") == [
        ["item-a", "item-b", "item-c"],
        ["item-b", "item-c"],
        ["item-d"],
    ]
    assert _failures(cloud) == []


def test_a_response_that_is_not_a_batch_response_fails_the_whole_batch_as_for_queues(cloud):
    # GIVEN a batch whose invocation answers, the first time, with text instead of a batch response
    _put(cloud, "item-a")
    _put(cloud, "item-b", "not-a-response-once")
    # WHEN pumped
    cloud.pump_streams()
    # THEN the whole batch is retried from its first record (as Lambda reads an invalid response), then succeeds
    assert delivered_batches(cloud, "RecorderFunction") == [["item-a", "item-b"], ["item-a", "item-b"]]
    assert _failures(cloud) == []


def test_a_record_failing_past_the_retries_goes_to_the_failure_queue_and_later_ones_still_arrive(cloud):
    # GIVEN MaximumRetryAttempts 2 and a record that is always reported failed
    for name, behaviour in [("item-1", None), ("item-2", "report"), ("item-3", None)]:
        _put(cloud, name, behaviour)
    cloud.pump_streams()
    # WHEN later records are written after it
    _put(cloud, "item-4")
    _put(cloud, "item-5")
    cloud.pump_streams()
    # THEN it was tried once and retried twice, with the records after it in its batch
    assert delivered_batches(cloud, "RecorderFunction") == [
        ["item-1", "item-2", "item-3"],
        ["item-2", "item-3"],
        ["item-2", "item-3"],
        ["item-4", "item-5"],
    ]
    # AND the failure queue got Lambda's message about the records it gave up on
    sequence = _sequence_numbers(cloud)
    (failure,) = _failures(cloud)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"] == cloud.stack.function("RecorderFunction").arn
    assert failure["version"] == "1.0"
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == sequence["item-2"]
    assert info["endSequenceNumber"] == sequence["item-3"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == cloud.outputs["ItemsStreamArn"]
    assert info["shardId"].startswith("shardId-")
    assert "functionError" not in failure["responseContext"]


def test_a_function_error_is_bisected_down_to_the_record_that_fails(cloud):
    # GIVEN a record that makes the function raise, between two good ones
    _put(cloud, "item-1")
    _put(cloud, "item-2", "raise")
    _put(cloud, "item-3")
    # WHEN pumped, then more records are written
    cloud.pump_streams()
    _put(cloud, "item-4")
    cloud.pump_streams()
    # THEN the failing batch was split until the bad record stood alone, retried twice, then skipped
    assert delivered_batches(cloud, "RecorderFunction") == [
        ["item-1", "item-2", "item-3"],
        ["item-1"],
        ["item-2", "item-3"],
        ["item-2"],
        ["item-2"],
        ["item-2"],
        ["item-3"],
        ["item-4"],
    ]
    errors = [i.error for i in cloud.invocations_of("RecorderFunction") if i.error]
    assert len(errors) == 5 and all("always fails" in e for e in errors)
    # AND the failure queue names just that record, as a function error
    (failure,) = _failures(cloud)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == _sequence_numbers(cloud)["item-2"]
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert json.loads(json.dumps(failure)) == failure


def test_records_written_by_handlers_are_delivered_until_the_streams_are_quiet(cloud):
    # GIVEN a record whose handling writes another item
    _put(cloud, "item-parent", "spawn")
    # WHEN the streams are pumped once
    invocations = cloud.pump_streams()
    # THEN the child's record was delivered too, in a later invocation
    assert delivered_batches(cloud, "RecorderFunction") == [["item-parent"], ["item-parent#child"]]
    assert invocations == 2
    # AND pumping again finds nothing new
    assert cloud.pump_streams() == 0
