"""The local cloud's speed-ups change no answer: its faster Scan returns exactly what moto's own
Scan returns, and clients of every session share botocore's parsed service models."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import boto3
import pytest
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
    for segment in range(segments):
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
        if segments > 1:
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
        random_table(client, random.Random(seed), 200)
        for filter_ in FILTERS:
            for limit, segments in ((None, 1), (7, 1), (None, 3), (50, 2)):
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
