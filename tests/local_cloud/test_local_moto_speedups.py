"""The local cloud's speed-ups change no answer: its faster Scan returns exactly what moto's own
Scan returns, its transactions answer and roll back as moto's own do, and clients of every
session share botocore's parsed service models."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import random
from contextlib import suppress
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


def scan_all(client, filter_, limit, segments, projection=None):
    pages = []
    for segment in range(segments or 1):
        kwargs = {"TableName": "t", "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
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


def test_lean_scan_pages_like_moto(monkeypatch):
    # GIVEN a table of random members, some large enough to cut pages at 1 MB
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        rng = random.Random(2)
        random_table(client, rng, 200)
        for changed in (False, True):
            if changed:  # AND then written to on the lean path: items gone, new, grown in place
                moto_speedups.install()
                for n in rng.sample(range(200), 20):
                    client.delete_item(TableName="t", Key={"member_id": {"S": f"m-{n:05d}"}})
                    client.scan(TableName="t")  # a scan between writes, so that what it keeps must be kept current
                    client.put_item(TableName="t", Item={"member_id": {"S": f"m-{n:05d}-new"}})
                    client.scan(TableName="t")
                    client.scan(TableName="t", ProjectionExpression="padding, member_id")  # projections kept
                    client.update_item(TableName="t", Key={"member_id": {"S": f"m-{(n + 1) % 200:05d}"}},
                                       UpdateExpression="SET padding = :p", ExpressionAttributeValues={
                                           ":p": {"S": "y" * rng.randint(0, 30_000)}})
                    client.scan(TableName="t")
                moto_speedups.uninstall()
            for filter_ in FILTERS:
                for limit, segments, projection in ((None, 1, None), (7, 1, None), (None, 3, None), (50, 2, None),
                                                    (None, None, None), (None, 1, "padding, member_id"),
                                                    (9, 2, "member_id, last_watched_at, notice_id")):
                    # WHEN the same scans run through moto's scan and through the lean one
                    moto_speedups.uninstall()
                    expected = scan_all(client, filter_, limit, segments, projection)
                    moto_speedups.install()
                    try:
                        actual = scan_all(client, filter_, limit, segments, projection)
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


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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


# ------------------------------------------------------------------ JSON answers
def _serializer(service: str, operation: str):
    from moto.core.serialize import JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    # as moto's ActionResult makes it (DynamoDB's handler has no response transformers)
    return JSONSerializer(operation_model=get_service_model(service).operation_model(operation),
                          value_picker=XFormedAttributePicker(response_transformers=None))


def _by_moto_then_sped_up(work, *args):
    """(what ``work(*args)`` gives on moto's own code, what it gives with the speed-ups installed)."""
    moto_speedups.uninstall()
    expected = work(*args)
    moto_speedups.install()
    try:
        return expected, work(*args)
    finally:
        moto_speedups.uninstall()


def _serialized(service: str, operation: str, result) -> object:
    try:
        return _serializer(service, operation).serialize(result)
    except Exception as error:  # the same failure both ways counts as the same answer
        return (type(error), str(error))


ODD = st.sampled_from([None, 0, 7, "", "x", [], {}, True, False, 1.5, b"\x00"])  # a value of another kind


@st.composite
def shaped(draw, shape, depth=0):
    """A value for a botocore shape as a moto handler might hand it over: mostly well formed, with
    members spelled as moto's attribute picker may find them, some None, and now and then a value
    of another kind."""
    from botocore import xform_name

    if draw(st.integers(0, 12)) == 0:
        return draw(ODD)
    kind = shape.type_name
    if kind == "structure":
        if depth >= 4:
            return {}
        value = {}
        for name, member in shape.members.items():
            if draw(st.integers(0, 2)) == 0:
                spelled = draw(st.sampled_from([name, name, xform_name(name), member.name, name.lower()]))
                value[spelled] = draw(shaped(member, depth + 1))
        if draw(st.integers(0, 5)) == 0:
            value[draw(st.text(max_size=3))] = draw(ODD)
        return value
    if kind == "list":
        return draw(st.lists(shaped(shape.member, depth + 1), max_size=3 if depth < 4 else 0))
    if kind == "map":
        size = 3 if depth < 4 else 0
        return draw(st.dictionaries(st.text(max_size=4), shaped(shape.value, depth + 1), max_size=size))
    if kind == "string":
        return draw(st.one_of(st.text(max_size=6), st.integers()))
    if kind in ("integer", "long"):
        return draw(st.integers(-(10**12), 10**12))
    if kind in ("float", "double"):
        return draw(st.floats())
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "blob":
        return draw(st.one_of(st.binary(max_size=6), st.text(max_size=6)))
    if kind == "timestamp":
        return draw(st.one_of(st.datetimes(timezones=st.just(UTC)), st.integers(0, 2**31)))
    return draw(ODD)


def _operations() -> list[tuple[str, str]]:
    from moto.core.utils import get_service_model

    return [(service, name) for service in sorted(moto_speedups.FAST_JSON_SERVICES)
            for name in get_service_model(service).operation_names
            if get_service_model(service).operation_model(name).output_shape is not None]


@st.composite
def answers(draw):
    from moto.core.utils import get_service_model

    service, operation = draw(st.sampled_from(_operations()))
    return service, operation, draw(shaped(get_service_model(service).operation_model(operation).output_shape))


@settings(max_examples=300, deadline=None)
@given(answer=answers())
def test_json_answers_serialize_to_the_bytes_moto_writes(answer):
    # GIVEN a result for any operation of DynamoDB, its streams or SQS, shaped like its output or not
    # WHEN moto's serializer and the fast one write it
    expected, actual = _by_moto_then_sped_up(_serialized, *answer)
    # THEN the status, headers and body are the same
    assert actual == expected


def test_a_result_of_objects_goes_to_moto_own_serializer():
    class Description:  # an object, as some of moto's handlers hand over: its attributes are found by name
        table_name = "t"

    moto_speedups.install()
    try:
        answer = _serializer("dynamodb", "DescribeTable").serialize({"Table": Description()})
    finally:
        moto_speedups.uninstall()
    assert json.loads(answer["body"]) == {"Table": {"TableName": "t"}}


def _attribute_values():
    numbers = st.one_of(st.integers(-(10**9), 10**9), st.decimals(-1000, 1000, places=3)).map(str)
    scalars = st.one_of(
        st.text(max_size=8).map(lambda s: {"S": s}),
        numbers.map(lambda n: {"N": n}),
        st.binary(max_size=8).map(lambda b: {"B": b}),
        st.just({"NULL": True}),
        st.booleans().map(lambda b: {"BOOL": b}),
        st.sets(st.text(max_size=4), min_size=1, max_size=3).map(lambda s: {"SS": sorted(s)}),
        st.sets(numbers, min_size=1, max_size=3).map(lambda s: {"NS": sorted(s)}),
        st.sets(st.binary(max_size=4), min_size=1, max_size=3).map(lambda s: {"BS": sorted(s)}),
    )
    return st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda items: {"L": items}),
        st.dictionaries(st.text(min_size=1, max_size=4), children, max_size=3).map(lambda m: {"M": m}),
    ), max_leaves=6)


ITEMS = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 3),
                           st.dictionaries(st.sampled_from(["s", "n", "m", "l", "x", "y"]), _attribute_values(),
                                           max_size=4)), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=ITEMS)
def test_real_requests_and_answers_of_dynamodb_streams_and_sqs_are_read_and_written_as_moto_does(monkeypatch, items):
    from moto.core.parse import JSONParser
    from moto.core.serialize import JSONSerializer

    compared, differ, fast = [], [], set()

    def both_ways(self, resp, result):  # every answer moto serializes, written by moto's serializer and the fast one
        expected = moto_speedups._moto_serialize_result(self, copy.deepcopy(resp), result)
        actual = moto_speedups.fast_serialize_result(self, copy.deepcopy(resp), result)
        with suppress(Exception):
            moto_speedups._writer(self.operation_model.output_shape)({}, result, "")
            fast.add(self.operation_name)
        compared.append(self.operation_name)
        if actual != expected:
            differ.append((self.operation_name, actual, expected))
        return expected

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    def parse_both_ways(self, request_dict, shape):  # and every request moto parses, both ways too
        expected = moto_speedups._moto_do_parse(self, request_dict, shape)
        actual = moto_speedups.fast_do_parse(self, request_dict, shape)
        with suppress(Exception):
            moto_speedups._reader(shape)(self._parse_body_as_json(request_dict["body"]))
            parsed.append(self.operation_model.name)
        if actual != expected:
            differ.append((self.operation_model.name, actual, expected))
        return expected

    parsed: list[str] = []
    monkeypatch.setattr(JSONSerializer, "_serialize_result", JSONSerializer._serialize_result)  # put back after
    monkeypatch.setattr(JSONParser, "_do_parse", JSONParser._do_parse)
    with mock_aws():
        moto_speedups.install()
        JSONSerializer._serialize_result = both_ways
        JSONParser._do_parse = parse_both_ways
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            # GIVEN a streamed table of random items (every type, nested), and a queue
            arn = client.create_table(
                TableName="t", BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "N"}],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )["TableDescription"]["LatestStreamArn"]
            keys = []
            for pk, sk, attributes in items:
                key = {"pk": {"S": pk}, "sk": {"N": str(sk)}}
                client.put_item(TableName="t", Item={**attributes, **key}, ReturnValues="ALL_OLD")
                keys.append(key)
            unique = [dict(k) for k in {json.dumps(k, sort_keys=True): k for k in keys}.values()]
            # WHEN the cloud answers reads and writes of every kind
            client.describe_table(TableName="t")
            client.list_tables()
            client.scan(TableName="t")
            client.scan(TableName="t", Limit=2, ProjectionExpression="pk, s, m")
            client.scan(TableName="t", FilterExpression="attribute_exists(s) OR attribute_exists(l)",
                        ReturnConsumedCapacity="TOTAL")
            client.scan(TableName="t", Select="COUNT")
            client.query(TableName="t", KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}})
            client.get_item(TableName="t", Key=keys[0])
            client.get_item(TableName="t", Key=keys[0], ProjectionExpression="x, y", ReturnConsumedCapacity="TOTAL")
            client.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"N": "0"}})
            client.batch_get_item(RequestItems={"t": {"Keys": unique}})
            client.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": k}} for k in unique])
            for returned in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "ALL_OLD", "NONE"):
                client.update_item(TableName="t", Key=keys[0], UpdateExpression="SET s = :s ADD c :one",
                                   ExpressionAttributeValues={":s": {"S": returned}, ":one": {"N": "1"}},
                                   ReturnValues=returned)
            client.delete_item(TableName="t", Key=keys[-1], ReturnValues="ALL_OLD")
            streams = boto3.client("dynamodbstreams", region_name="us-east-1")
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            streams.get_records(ShardIterator=iterator)
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(items[0][2], default=str),
                             MessageAttributes={"a": {"DataType": "String", "StringValue": "v"}})
            sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        finally:
            moto_speedups.uninstall()
    # THEN every request was read and every answer written the same both ways, DynamoDB's on the fast path
    assert len(compared) > 20 and differ == []
    assert {"Scan", "Query", "GetItem", "BatchGetItem", "UpdateItem", "PutItem", "TransactGetItems"} <= set(parsed)
    assert {"Scan", "Query", "GetItem", "BatchGetItem", "UpdateItem", "PutItem", "DeleteItem", "TransactGetItems",
            "DescribeTable", "GetRecords"} <= fast


def test_handler_method_names_and_action_names_are_moto_own():
    import moto.core.responses
    from moto.core import utils

    moto_speedups.install()
    try:
        # GIVEN every handler class moto has loaded, WHEN its methods are listed twice, THEN moto's list both times
        handlers = [cls for cls in _subclasses(moto.core.responses.BaseResponse)]
        assert len(handlers) > 3
        for cls in handlers:
            assert moto.core.responses.method_names_from_class(cls) == utils.method_names_from_class(cls)
            assert moto.core.responses.method_names_from_class(cls) == utils.method_names_from_class(cls)
        # AND action names turn into the method names moto makes of them
        for action in ["Scan", "GetItem", "BatchGetItem", "TransactWriteItems", "SendMessageBatch", "ListQueues",
                       "DescribeDBInstances", "PutEvents", "GetRecords", "", "a", "ABCDef", "getItem"]:
            assert moto.core.responses.camelcase_to_underscores(action) == utils.camelcase_to_underscores(action)
    finally:
        moto_speedups.uninstall()


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@given(action=st.text(alphabet=st.sampled_from("AbCdXyz_19 "), max_size=12))
def test_any_action_name_turns_into_the_method_name_moto_makes(action):
    import moto.core.responses
    from moto.core import utils

    moto_speedups.install()
    try:
        assert moto.core.responses.camelcase_to_underscores(action) == utils.camelcase_to_underscores(action)
    finally:
        moto_speedups.uninstall()


# ------------------------------------------------------------------ FilterExpressions
EXPRESSION_VALUES = {
    ":s": {"S": "m"}, ":e": {"S": ""}, ":n": {"N": "3"}, ":n2": {"N": "7.5"}, ":b": {"B": b"x"}, ":t": {"S": "N"},
    ":yes": {"BOOL": True}, ":null": {"NULL": True}, ":ss": {"SS": ["m", "z"]}, ":l": {"L": [{"S": "m"}]},
    ":bad": {"N": "zz"},
}
EXPRESSION_NAMES = {"#n": "status", "#a": "a"}
_PATHS = st.sampled_from(["a", "b", "c", "#n", "#a", "m.x", "l[0]", "nothing"])
_VALUES = st.sampled_from(sorted(EXPRESSION_VALUES))
_OPERANDS = st.one_of(_PATHS, _VALUES, _PATHS.map(lambda p: f"size({p})"))
_ATOMS = st.one_of(
    st.tuples(_OPERANDS, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), _OPERANDS).map(" ".join),
    _PATHS.map(lambda p: f"attribute_exists({p})"),
    _PATHS.map(lambda p: f"attribute_not_exists({p})"),
    st.tuples(_PATHS, _VALUES).map(lambda pv: "begins_with({}, {})".format(*pv)),
    st.tuples(_PATHS, _OPERANDS).map(lambda pv: "contains({}, {})".format(*pv)),
    _PATHS.map(lambda p: f"attribute_type({p}, :t)"),
    st.tuples(_OPERANDS, _VALUES, _VALUES).map(lambda t: "{} BETWEEN {} AND {}".format(*t)),
    st.tuples(_OPERANDS, _VALUES, _VALUES).map(lambda t: "{} IN ({}, {})".format(*t)),
)
# attributes named more than once, as values and as attribute_exists, in either order (as the sweep's)
SHARED_NAMES = [
    "a = :s AND attribute_exists(a)", "attribute_exists(a) AND a = :s", "a < :n OR attribute_not_exists(a) OR a = :s",
    "#n = :s AND attribute_not_exists(b) OR #n = :t AND b <= :s OR status = :e AND attribute_exists(status)",
    "(attribute_not_exists(a) OR a <= :n) AND (#a >= :n2 OR a = :s) AND attribute_exists(#a)",
    "b < a OR a < b OR attribute_exists(b) AND b = a",
]
FILTER_EXPRESSIONS = st.sampled_from(SHARED_NAMES) | st.recursive(_ATOMS, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["AND", "OR", "and"]), inner).map(" ".join),
    inner.map(lambda c: f"NOT {c}"),
    inner.map(lambda c: f"({c})"),
), max_leaves=6)
_STORED = st.one_of(
    st.sampled_from(["", "a", "m", "mz", "N", "z"]).map(lambda s: {"S": s}),
    st.sampled_from(["-1", "0", "3", "3.0", "7.5", "12"]).map(lambda n: {"N": n}),
    st.sampled_from([b"", b"x", b"y"]).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.just({"SS": ["m", "z"]}),
    st.just({"L": [{"S": "m"}, {"N": "3"}]}),
    st.just({"M": {"x": {"S": "m"}}}),
)
STORED_ITEMS = st.dictionaries(st.sampled_from(["a", "b", "c", "status", "m", "l"]), _STORED)


def _answer_of(evaluate, item):
    try:
        return ("answer", evaluate(item))
    except Exception as error:
        return ("error", type(error), str(error))


def _parsed(expression, names, values):
    from moto.dynamodb.comparisons import create_condition_expression_parser

    parser = create_condition_expression_parser(expression, names, values)
    try:
        return parser.parse(), parser.expr_attr_names_found, parser.expr_attr_values_found
    except Exception as error:
        return None, type(error), str(error)


@settings(max_examples=250, deadline=None)
@given(expression=FILTER_EXPRESSIONS, stored=st.lists(STORED_ITEMS, min_size=1, max_size=5))
def test_a_filter_expression_matches_the_items_moto_matches(expression, stored):
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    # GIVEN a random expression, parsed by moto's parser and by the one that keeps what it parsed (twice)
    expected_op, *expected_found = _parsed(expression, EXPRESSION_NAMES, EXPRESSION_VALUES)
    moto_speedups.install()
    try:
        _parsed(expression, EXPRESSION_NAMES, EXPRESSION_VALUES)
        op, *found = _parsed(expression, EXPRESSION_NAMES, EXPRESSION_VALUES)
        # THEN it fails, or finds the same names and values, alike
        assert found == expected_found and (op is None) == (expected_op is None)
        if op is None:
            return
        # AND on random items its compiled match answers what moto's tree answers, errors included
        for attrs in stored:
            item = Item(hash_key=DynamoType({"S": "k"}), range_key=None, attrs=attrs)
            expected = _answer_of(expected_op.expr, item)
            assert _answer_of(moto_speedups.matcher(op), item) == expected
            assert _answer_of(op.expr, item) == expected
    finally:
        moto_speedups.uninstall()


@settings(max_examples=200, deadline=None)
@given(now=st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)),
       members=st.lists(st.fixed_dictionaries({}, optional={
           name: st.one_of(st.datetimes(datetime(2024, 1, 1), datetime(2028, 1, 1)).map(
               lambda t: {"S": t.strftime("%Y-%m-%dT%H:%M:%SZ")}), st.just({"S": "x"}), st.just({"N": "1"}))
           for name in ("last_watched_at", "joined_at", "engaged_at", "retained_until", "cancelled_at", "rejoined_at",
                        "cancellation_announced_at", "billing_confirmed_at", "purged_at", "notice_id")
       } | {"status": st.sampled_from([{"S": "active"}, {"S": "cancelled"}, {"S": "other"}])}), max_size=8))
def test_the_sweeps_prefilter_matches_the_members_moto_matches(now, members):
    from datetime import timedelta

    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from lifecycle.adapters.dynamodb import _sweep_candidates
    from lifecycle.policy import PrefilterCutoffs

    # GIVEN the sweep's own FilterExpression, as PynamoDB sends it for some night
    cutoffs = PrefilterCutoffs(now - timedelta(days=400), now - timedelta(days=200), now, now - timedelta(hours=30),
                               now - timedelta(days=30))
    placeholders: dict[str, str] = {}
    values: dict = {}
    expression = _sweep_candidates(cutoffs).serialize(placeholders, values)
    names = {placeholder: name for name, placeholder in placeholders.items()}
    expected_op = _parsed(expression, names, values)[0]
    moto_speedups.install()
    try:
        op = _parsed(expression, names, values)[0]
        # WHEN random members are judged by moto's tree and by the compiled match
        for n, attrs in enumerate(members):
            key = {"S": f"m{n}"}
            item = Item(hash_key=DynamoType(key), range_key=None, attrs={"member_id": key, **attrs})
            # THEN both keep the same members
            assert _answer_of(moto_speedups.matcher(op), item) == _answer_of(expected_op.expr, item)
    finally:
        moto_speedups.uninstall()


# ------------------------------------------------------------------ projections
_NUMBERS = st.sampled_from(["0", "-0", "1e3", "0.10", "100", "1.5E-2", "12345678901234567890"])
PROJECTED_VALUES = st.one_of(_attribute_values(), _NUMBERS.map(lambda n: {"N": n}),
                             st.lists(_NUMBERS, min_size=1, max_size=3, unique=True).map(lambda ns: {"NS": ns}))
PROJECTIONS = [["a"], ["a", "b", "nothing"], ["c", "a", "pk"], ["m", "n", "l", "s"], ["a", "a"], ["m.x", "a"]]


def _scan_both_ways(client, **kwargs):
    def pages():
        try:
            return scan_pages(client, **kwargs)
        except client.exceptions.ClientError as error:
            return error.response["Error"]
        except Exception as error:  # moto's own projection fails on a path into a number
            return (type(error), str(error))
    moto_speedups.uninstall()
    expected = pages()
    moto_speedups.install()
    try:
        return pages(), expected
    finally:
        moto_speedups.uninstall()


def scan_pages(client, **kwargs):
    pages, kwargs = [], {"TableName": "p", **kwargs}
    while True:
        page = client.scan(**kwargs)
        pages.append((page["Items"], page["ScannedCount"], page.get("LastEvaluatedKey")))
        if "LastEvaluatedKey" not in page:
            return pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "m", "n", "l", "s"]), PROJECTED_VALUES,
                                      max_size=5), min_size=1, max_size=8))
def test_a_projected_scan_returns_what_moto_returns(monkeypatch, items):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # GIVEN items of every type, numbers written in ways boto3's round trip rewrites
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="p", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        for n, attrs in enumerate(items):
            client.put_item(TableName="p", Item={**attrs, "pk": {"S": f"k{n}"}})
        for names in PROJECTIONS:
            # WHEN they are scanned with a projection, a page at a time or all at once, both ways
            for limit in ({}, {"Limit": 3}):
                actual, expected = _scan_both_ways(client, ProjectionExpression=", ".join(names), **limit)
                # THEN the pages are the same
                assert actual == expected


def test_a_projection_that_outgrows_the_item_size_limit_fails_as_in_moto(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # GIVEN an item just under moto's size limit whose numbers boto3's round trip writes longer ("1e3" is "1E+3")
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="p", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        numbers = {f"n{i:02d}": {"N": "1e3"} for i in range(20)}
        room = 405_000 - len("pk") - 1 - len("filler") - sum(len(k) + 3 for k in numbers) - 5
        client.put_item(TableName="p", Item={"pk": {"S": "k"}, "filler": {"S": "x" * room}, **numbers})
        for names in (["filler", *numbers], ["filler", "n00"]):
            # WHEN it is scanned with a projection of all of it, or of a little of it
            actual, expected = _scan_both_ways(client, ProjectionExpression=", ".join(names))
            # THEN the lean scan fails (or answers) as moto's does
            assert actual == expected
        assert expected == _scan_both_ways(client, ProjectionExpression="filler, n00")[1]
        failed = _scan_both_ways(client, ProjectionExpression=", ".join(["filler", *numbers]))[1]
        assert failed["Message"].startswith("Item size")


# ------------------------------------------------------------------ JSON requests
JSON_ODD = st.sampled_from([None, 0, 7, "", "x", "AAE=", "not base64!", [], {}, True, 1.5, "2026-01-01T00:00:00Z"])


@st.composite
def json_shaped(draw, shape, depth=0):
    """A JSON value for a botocore input shape, as a client may send it: mostly well formed, and
    now and then of another kind (moto's parser must fail the same way on it)."""
    if draw(st.integers(0, 12)) == 0:
        return draw(JSON_ODD)
    kind = shape.type_name
    if kind == "structure":
        if depth >= 4:
            return {}
        value = {}
        for name, member in shape.members.items():
            if draw(st.integers(0, 2)) == 0:
                value[member.serialization.get("name", name)] = draw(json_shaped(member, depth + 1))
        if draw(st.integers(0, 5)) == 0:
            value[draw(st.text(max_size=3))] = draw(JSON_ODD)
        return value
    if kind == "list":
        return draw(st.lists(json_shaped(shape.member, depth + 1), max_size=3 if depth < 4 else 0))
    if kind == "map":
        size = 3 if depth < 4 else 0
        return draw(st.dictionaries(st.text(max_size=4), json_shaped(shape.value, depth + 1), max_size=size))
    if kind == "blob":
        return draw(st.one_of(st.binary(max_size=6).map(lambda b: base64.b64encode(b).decode()), JSON_ODD))
    if kind == "timestamp":
        return draw(st.one_of(st.integers(0, 2**31), st.floats(0, 2**31),
                              st.datetimes().map(lambda t: t.isoformat() + "Z"), JSON_ODD))
    if kind in ("integer", "long"):
        return draw(st.one_of(st.integers(-(10**12), 10**12), st.sampled_from(["12", "x"])))
    if kind in ("float", "double"):
        return draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["1.5", "x"])))
    if kind == "boolean":
        return draw(st.booleans())
    return draw(st.one_of(st.text(max_size=6), st.integers()))


def _input_operations() -> list[tuple[str, str]]:
    from moto.core.utils import get_service_model

    return [(service, name) for service in sorted(moto_speedups.FAST_JSON_SERVICES)
            for name in get_service_model(service).operation_names
            if get_service_model(service).operation_model(name).input_shape is not None]


def _parsed_request(service: str, operation: str, body: bytes) -> object:
    from moto.core.parse import JSONParser
    from moto.core.utils import get_service_model

    parser = JSONParser(get_service_model(service).operation_model(operation), map_type=dict)
    try:
        return parser.parse({"body": body, "headers": {}, "method": "POST", "url_params": {}, "url_path": "/",
                             "values": {}})
    except Exception as error:
        return (type(error), str(error))


@st.composite
def requests_(draw):
    from moto.core.utils import get_service_model

    service, operation = draw(st.sampled_from(_input_operations()))
    value = draw(json_shaped(get_service_model(service).operation_model(operation).input_shape))
    body = draw(st.sampled_from([json.dumps(value).encode(), json.dumps(value).encode(), b"", b"{not json", b"[]"]))
    return service, operation, body


@settings(max_examples=300, deadline=None)
@given(request=requests_())
def test_json_requests_parse_to_what_moto_parses(request):
    # GIVEN a request body for any operation of DynamoDB, its streams or SQS, shaped like its input or not
    # WHEN moto's parser and the fast one read it
    expected, actual = _by_moto_then_sped_up(_parsed_request, *request)
    # THEN they give the same parameters, or fail alike
    assert actual == expected


# ------------------------------------------------------------------ event paths
PATHS = ["$.detail.member_id", "$.detail", "$.detail-type", "$.detail.items[0].id", "$.detail.items[*].id", "$.nothing",
         "$.detail.`len`"]


@settings(max_examples=100, deadline=None)
@given(detail=st.recursive(st.one_of(st.text(max_size=4), st.integers(), st.none()),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.sampled_from(["member_id", "items", "id"]), inner,
                                                                   max_size=3)), max_leaves=8),
       path=st.sampled_from(PATHS))
def test_an_event_path_parsed_once_finds_what_a_new_parse_finds(detail, path):
    import jsonpath_ng.ext

    event = {"detail-type": "T", "detail": detail}
    expected = [(str(m.full_path), m.value) for m in jsonpath_ng.ext.parse(path).find(event)]
    moto_speedups.install()
    try:
        for _ in range(2):  # the second time, the parsed path is the one kept
            assert [(str(m.full_path), m.value) for m in jsonpath_ng.ext.parse(path).find(event)] == expected
    finally:
        moto_speedups.uninstall()


def test_eventbridge_delivers_transformed_events_as_moto_does(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # GIVEN a rule whose target takes two paths of each event into a template, on a queue
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["s"]}))
        events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn, "InputTransformer": {
            "InputPathsMap": {"member": "$.detail.member_id", "kind": "$.detail-type"},
            "InputTemplate": '{"who": "<member>", "what": "<kind>"}'}}])

        def delivered(member_ids):
            for member_id in member_ids:
                events.put_events(Entries=[{"Source": "s", "DetailType": "Kept", "Detail": json.dumps(
                    {"member_id": member_id})}])
            return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
        # WHEN events go through moto's EventBridge with each path parsed anew, and parsed once
        expected = delivered(["a", "b"])
        moto_speedups.install()
        try:
            actual = delivered(["a", "b"])
        finally:
            moto_speedups.uninstall()
        # THEN the queue gets the same bodies
        assert sorted(actual) == sorted(expected) and len(expected) == 2


# ------------------------------------------------------------------ the rest of a request
def _tree(node):
    """A parsed UpdateExpression as nested tuples, to compare (its nodes define no equality)."""
    if isinstance(node, list | tuple):
        return tuple(_tree(child) for child in node)
    if hasattr(node, "__dict__"):
        return (type(node).__name__, tuple(sorted((k, _tree(v)) for k, v in vars(node).items() if k != "parent")))
    return repr(node)


UPDATES = ["SET a = :b", "SET a = a + :n, b = if_not_exists(b, :b) REMOVE c", "ADD n :n DELETE s :s",
           "SET l = list_append(l, :l), m.x = :b", "SET #a = :b", "REMOVE l[0], m.x"]


def test_an_update_expression_parsed_once_stays_as_parsed_and_updates_as_moto_does(dynamodb):
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    values = {":b": {"S": "x"}, ":n": {"N": "2"}, ":s": {"SS": ["q"]}, ":l": {"L": [{"S": "z"}]}}
    for update in UPDATES:
        # GIVEN two copies of an item, WHEN the same update runs on one through moto and on the other with
        # the expression parsed once (twice, so that the second runs on the kept tree)
        fresh = _tree(UpdateExpressionParser.make(update))
        items = {}
        for name, installed in (("moto", False), ("lean", True)):
            table = f"{name}-{UPDATES.index(update)}"
            dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                  KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
            if installed:
                moto_speedups.install()
            for key in ("k1", "k2"):
                dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "a": {"N": "1"}, "c": {"S": "c"},
                                                         "s": {"SS": ["q", "r"]}, "l": {"L": [{"S": "y"}]},
                                                         "m": {"M": {"x": {"S": "w"}}}})
                kwargs = {"ExpressionAttributeNames": {"#a": "a"}} if "#a" in update else {}
                used = {k: v for k, v in values.items() if k in update}
                if used:
                    kwargs["ExpressionAttributeValues"] = used
                dynamodb.update_item(TableName=table, Key={"pk": {"S": key}}, UpdateExpression=update,
                                     ReturnValues="ALL_NEW", **kwargs)
            items[name] = dynamodb.scan(TableName=table)["Items"]
            # THEN the tree kept is as parsed
            assert _tree(UpdateExpressionParser.make(update)) == fresh
            moto_speedups.uninstall()
        # AND both items were updated alike
        assert sorted(items["lean"], key=str) == sorted(items["moto"], key=str)


@settings(max_examples=200, deadline=None)
@given(result=st.recursive(
    st.one_of(_attribute_values().map(lambda v: ("typed", v)), st.text(max_size=3), st.integers(), st.none(),
              st.booleans(), st.floats(allow_nan=False), st.binary(max_size=3), st.datetimes()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3),
                            st.dictionaries(st.text(min_size=1, max_size=3), inner, max_size=3).map(
                                lambda d: ("limited", d))), max_leaves=10))
def test_a_result_turns_into_the_dicts_moto_makes_of_it(result):
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import dynamo_to_dict

    def built(value):  # DynamoTypes and attribute dicts where the strategy marked them
        if isinstance(value, tuple) and value[0] == "typed":
            return DynamoType(value[1])
        if isinstance(value, tuple) and value[0] == "limited":
            return LimitedSizeDict({k: built(v) for k, v in value[1].items()})
        if isinstance(value, dict):
            return {k: built(v) for k, v in value.items()}
        if isinstance(value, list):
            return [built(v) for v in value]
        return value

    value = built(result)
    assert moto_speedups.plain_dynamo_to_dict(value) == dynamo_to_dict(value)


@given(body=st.one_of(st.text(max_size=20), st.just("<a><RequestId>x</RequestId></a>"), st.binary(max_size=5),
                      st.none(), st.just('{"RequestId": "<RequestId>"}')),
       status=st.sampled_from([None, 200, "400"]))
def test_an_answer_gets_the_headers_and_body_moto_gives_it(body, status):
    from moto.core.responses import BaseResponse
    from moto.moto_api._internal import mock_random

    def enriched():
        mock_random.seed(7)  # the same request id both ways
        headers = {} if status is None else {"status": status}
        return BaseResponse._enrich_response(headers, body)

    expected = enriched()
    moto_speedups.install()
    try:
        assert enriched() == expected
    finally:
        moto_speedups.uninstall()


@pytest.mark.parametrize("key_spec", ["RSA_2048", "ECC_NIST_P256"])
def test_a_kms_key_pair_made_when_first_used_signs_and_verifies_as_moto_does(monkeypatch, key_spec):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    algorithm = "RSASSA_PKCS1_V1_5_SHA_256" if key_spec.startswith("RSA") else "ECDSA_SHA_256"
    with mock_aws():
        moto_speedups.install()
        try:
            kms = boto3.client("kms", region_name="us-east-1")
            # GIVEN a signing key, and a symmetric one (whose pair is never made)
            key = kms.create_key(KeySpec=key_spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
            symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
            # WHEN a message is signed
            signature = kms.sign(KeyId=key, Message=b"cancel m-1", SigningAlgorithm=algorithm)["Signature"]
            # THEN KMS verifies it, and so does its public key, outside KMS
            assert kms.verify(KeyId=key, Message=b"cancel m-1", Signature=signature,
                              SigningAlgorithm=algorithm)["SignatureValid"]
            public = serialization.load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
            if key_spec.startswith("RSA"):
                public.verify(signature, b"cancel m-1", padding.PKCS1v15(), hashes.SHA256())
            else:
                public.verify(signature, b"cancel m-1", ec.ECDSA(hashes.SHA256()))
            # AND a tampered message is not valid
            assert not kms.verify(KeyId=key, Message=b"cancel m-2", Signature=signature,
                                  SigningAlgorithm=algorithm)["SignatureValid"]
            # AND the symmetric key encrypts and decrypts as before
            blob = kms.encrypt(KeyId=symmetric, Plaintext=b"secret")["CiphertextBlob"]
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
        finally:
            moto_speedups.uninstall()
