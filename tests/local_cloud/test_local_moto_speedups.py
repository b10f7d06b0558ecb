"""The local cloud's speed-ups change no answer: its faster Scan returns exactly what moto's own
Scan returns, its transactions answer and roll back as moto's own do, and clients of every
session share botocore's parsed service models."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from local import LocalCloud, moto_speedups

FILTERS = [
    None,
    ("attribute_exists(notice_id)", {}),
    ("last_watched_at <= :cut OR attribute_not_exists(last_watched_at)", {":cut": {"S": "2024-06-01T00:00:00Z"}}),
    ("#s = :cancelled AND retained_until <= :now", {":cancelled": {"S": "cancelled"}, ":now": {"S": "2026-01-01"}}),
]


def random_table(client, rng: random.Random, items: int) -> None:
    client.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "member_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "member_id", "AttributeType": "S"}],
    )
    for n in range(items):
        item = {
            "member_id": {"S": f"m-{n:05d}"},
            "status": {"S": rng.choice(["active", "cancelled"])},
            "padding": {"S": "x" * rng.randint(0, 14_000)},
        }
        if rng.random() < 0.7:
            item["last_watched_at"] = {"S": f"20{rng.randint(20, 26)}-0{rng.randint(1, 9)}-01T00:00:00Z"}
        if rng.random() < 0.1:
            item["notice_id"] = {"S": f"n-{n}"}
        if rng.random() < 0.2:
            item["retained_until"] = {"S": f"202{rng.randint(4, 8)}-01-01"}
        client.put_item(TableName="t", Item=item)


def scan_all(client, filter_, limit, segments):
    pages = []
    for segment in range(segments or 1):
        kwargs = {"TableName": "t", "ConsistentRead": True}
        if filter_:
            kwargs.update(
                FilterExpression=filter_[0],
                ExpressionAttributeNames={"#s": "status"} if "#s" in filter_[0] else None,
                ExpressionAttributeValues=filter_[1] or None,
            )
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if limit:
            kwargs["Limit"] = limit
        if segments:  # None: no Segment at all
            kwargs.update(Segment=segment, TotalSegments=segments)
        while True:
            page = client.scan(**kwargs)
            pages.append((page["Items"], page["ScannedCount"], page.get("LastEvaluatedKey")))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return pages


@pytest.mark.parametrize("seed", [1, 2])
def test_lean_scan_pages_like_moto(monkeypatch, seed):
    # GIVEN a table of random members, some large enough to cut pages at 1 MB
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        rng = random.Random(seed)
        random_table(client, rng, 200)
        for changed in (False, True):
            if changed:  # AND then written to on the lean path: items gone, new, grown in place
                moto_speedups.install()
                for n in rng.sample(range(200), 20):
                    client.delete_item(TableName="t", Key={"member_id": {"S": f"m-{n:05d}"}})
                    client.scan(TableName="t")  # a scan between writes, so that what it keeps must be kept current
                    client.put_item(TableName="t", Item={"member_id": {"S": f"m-{n:05d}-new"}})
                    client.scan(TableName="t")
                    client.update_item(TableName="t", Key={"member_id": {"S": f"m-{(n + 1) % 200:05d}"}},
                                       UpdateExpression="SET padding = :p", ExpressionAttributeValues={
                                           ":p": {"S": "y" * rng.randint(0, 30_000)}})
                    client.scan(TableName="t")
                moto_speedups.uninstall()
            for filter_ in FILTERS:
                for limit, segments in ((None, 1), (7, 1), (None, 3), (50, 2), (None, None)):
                    # WHEN the same scans run through moto's scan and through the lean one
                    moto_speedups.uninstall()
                    expected = scan_all(client, filter_, limit, segments)
                    moto_speedups.install()
                    try:
                        actual = scan_all(client, filter_, limit, segments)
                    finally:
                        moto_speedups.uninstall()
                    # THEN every page holds the same items, counts and continuation keys
                    assert actual == expected


def test_sessions_on_the_local_cloud_share_parsed_service_models_and_still_answer():
    def model_of_a_new_session() -> object:
        return boto3.session.Session()._session.get_service_model("dynamodb")._service_description

    before = model_of_a_new_session()
    with LocalCloud(datetime(2026, 1, 1, tzinfo=UTC), seed=1) as cloud:
        # GIVEN the running cloud, WHEN two new sessions load DynamoDB's model
        first, second = model_of_a_new_session(), model_of_a_new_session()
        # THEN it was parsed once for both, and their clients answer as before
        assert first is second and first == before and first is not before
        assert cloud.client("dynamodb").list_tables()["TableNames"] == []
    # AND a session made after the cloud stopped parses its own again
    assert model_of_a_new_session() is not first


# ------------------------------------------------------------------ transactions
KEYS = st.sampled_from(["a", "b", "c"])
BIG = "x" * 300_000  # two of these in one item pass moto's 405,000-byte limit


def _key(table: str, key: str, record: str) -> dict:
    return {"pk": {"S": key}, **({"sk": {"S": record}} if table == "r" else {})}


CONDITIONS = st.sampled_from([None, ("attribute_not_exists(pk)", {}), ("attribute_exists(pk)", {}),
                              ("n = :n", {":n": {"N": "1"}}), ("n < :n", {":n": {"N": "3"}})])


@st.composite
def transaction_actions(draw) -> list[dict]:
    actions = []
    for _ in range(draw(st.integers(1, 4))):
        table, key, record = draw(st.sampled_from(["h", "r"])), draw(KEYS), draw(st.sampled_from(["x", "y"]))
        kind, condition = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"])), draw(CONDITIONS)
        action: dict = {"TableName": table}
        if kind == "Put":
            action["Item"] = {**_key(table, key, record), "n": {"N": str(draw(st.integers(0, 4)))}}
        else:
            action["Key"] = _key(table, key, record)
        if kind == "Update":
            big = draw(st.booleans())
            action["UpdateExpression"] = f"SET pad{draw(st.sampled_from('12'))} = :pad" if big else "ADD n :one"
            action["ExpressionAttributeValues"] = {":pad": {"S": BIG}} if big else {":one": {"N": "1"}}
        if kind == "ConditionCheck" and condition is None:
            condition = ("attribute_exists(pk)", {})
        if condition:
            action["ConditionExpression"] = condition[0]
            if condition[1]:
                action["ExpressionAttributeValues"] = {**action.get("ExpressionAttributeValues", {}), **condition[1]}
            if draw(st.booleans()):
                action["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        actions.append({kind: action})
    return actions


def _named(actions: list[dict], prefix: str) -> list[dict]:
    return [{kind: {**action, "TableName": prefix + action["TableName"]}} for one in actions
            for kind, action in one.items()]


def _answer(client, actions: list[dict]) -> dict:
    try:
        return {"ok": {k: v for k, v in client.transact_write_items(TransactItems=actions).items()
                       if k != "ResponseMetadata"}}
    except client.exceptions.ClientError as error:
        return {k: v for k, v in error.response.items() if k != "ResponseMetadata"}


def _state(prefix: str) -> dict:
    """Each table's items and its stream's records, as moto holds them (without their random ids, and
    their wall-clock times, which SizeBytes counts)."""
    from moto.dynamodb.models import dynamodb_backends

    tables = dynamodb_backends["123456789012"]["us-east-1"].tables
    state = {}
    for name in ("h", "r"):
        table = tables[prefix + name]
        unstamped = {"ApproximateCreationDateTime": 0, "SizeBytes": 0}
        records = [{**r.record, "eventID": None, "dynamodb": {**r.record["dynamodb"], **unstamped}}
                   for r in table.stream_shard.items]
        items = table.items.values() if name == "h" else [i for held in table.items.values() for i in held.values()]
        state[name] = (sorted(json.dumps(item.to_json(), sort_keys=True) for item in items), records)
    return state


def _create_tables(client, prefix: str) -> None:
    """A hash table and a hash-and-range table, both streamed."""
    for name, keys in (("h", ["pk"]), ("r", ["pk", "sk"])):
        client.create_table(
            TableName=prefix + name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ["HASH", "RANGE"], strict=False)],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})


@pytest.fixture
def dynamodb(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")
    moto_speedups.uninstall()


EXAMPLES = itertools.count()


def _both_ways(dynamodb, transactions: list[list[dict]]) -> list[dict]:
    """Runs the transactions on two copies of the same empty tables, on moto's own path and on the
    lean one; checks that the answers and the tables (items, stream records) are the same after
    each, and returns the answers."""
    example = next(EXAMPLES)
    _create_tables(dynamodb, f"moto{example}-")
    _create_tables(dynamodb, f"lean{example}-")
    answers = []
    for actions in transactions:
        moto_speedups.uninstall()
        expected = _answer(dynamodb, _named(actions, f"moto{example}-"))
        moto_speedups.install()
        actual = _answer(dynamodb, _named(actions, f"lean{example}-"))
        assert actual == expected
        assert _state(f"lean{example}-") == _state(f"moto{example}-")
        answers.append(actual)
    return answers


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transactions=st.lists(transaction_actions(), min_size=1, max_size=6))
def test_transactions_answer_and_roll_back_like_moto(dynamodb, transactions):
    # GIVEN random transactions on a hash table and a hash-and-range table, WHEN they run both ways,
    # THEN every answer (success, or the error with every cancellation reason) and every table and
    # stream afterwards are the same: a cancelled transaction leaves no trace
    _both_ways(dynamodb, transactions)


PUT_A = {"Put": {"TableName": "h", "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}}
PAD = {"Update": {"TableName": "r", "Key": _key("r", "a", "x"), "UpdateExpression": "SET pad1 = :pad, pad2 = :pad",
                  "ExpressionAttributeValues": {":pad": {"S": BIG}}}}
ONLY_NEW_B = {"ConditionCheck": {"TableName": "h", "Key": _key("h", "b", ""), "ConditionExpression":
                                 "attribute_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


@pytest.mark.parametrize(("transaction", "error"), [
    ([PUT_A, ONLY_NEW_B], "TransactionCanceledException"),  # a condition fails on one item
    ([PUT_A, {"Delete": {"TableName": "h", "Key": _key("h", "a", "")}}], "ValidationException"),  # one item twice
    ([PUT_A, PAD], "ValidationException"),  # an item grows past the size limit
])
def test_each_kind_of_cancelled_transaction_answers_like_moto_and_changes_nothing(dynamodb, transaction, error):
    # GIVEN tables holding an item written before, WHEN a transaction that writes first and then fails runs
    first, cancelled = _both_ways(dynamodb, [[{"Put": {"TableName": "r", "Item": _key("r", "a", "x")}}], transaction])
    # THEN it fails as moto fails it, and (checked both ways) every table is as it was
    assert "ok" in first and cancelled["Error"]["Code"] == error


def test_a_cancelled_transaction_changes_nothing_and_the_stream_goes_on(cloud_with_stream):
    client, streams, arn = cloud_with_stream
    client.put_item(TableName="h", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"],
        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = streams.get_records(ShardIterator=iterator)
    # GIVEN a transaction that updates one item, then fails its condition on another
    with pytest.raises(client.exceptions.TransactionCanceledException) as cancelled:
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": "h", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": "h", "Key": {"pk": {"S": "b"}},
                                "ConditionExpression": "attribute_exists(pk)"}}])
    # THEN the reasons name the one that failed, the item is as it was, and the stream carries
    # no record of the cancelled update but does carry the next write
    assert [r["Code"] for r in cancelled.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert client.get_item(TableName="h", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    client.put_item(TableName="h", Item={"pk": {"S": "c"}})
    later = streams.get_records(ShardIterator=first["NextShardIterator"])["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in later] == [("INSERT", "c")]


@pytest.fixture
def cloud_with_stream(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        moto_speedups.install()
        client = boto3.client("dynamodb", region_name="us-east-1")
        arn = client.create_table(
            TableName="h", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        yield client, boto3.client("dynamodbstreams", region_name="us-east-1"), arn
    moto_speedups.uninstall()
