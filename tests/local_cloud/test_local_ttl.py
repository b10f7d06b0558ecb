"""DynamoDB TTL in the local cloud: late like AWS, never early, never on a changed item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from local_cloud_support import START, epoch

TABLE = "local-items-test"


def _put(cloud, sk: str, ttl_at: datetime | None, **attributes: str) -> None:
    item = {"pk": {"S": "p"}, "sk": {"S": sk}} | {k: {"S": v} for k, v in attributes.items()}
    if ttl_at is not None:
        item["expires_at"] = {"N": str(epoch(ttl_at))}
    cloud.client("dynamodb").put_item(TableName=TABLE, Item=item)


def _remaining(cloud) -> set[str]:
    items = cloud.client("dynamodb").scan(TableName=TABLE)["Items"]
    return {item["sk"]["S"] for item in items}


def _removals(cloud) -> dict[str, dict]:
    """REMOVE records the stream function received, by sort key."""
    return {
        record["dynamodb"]["Keys"]["sk"]["S"]: record
        for invocation in cloud.invocations_of("RecorderFunction")
        for record in invocation.event["Records"]
        if record["eventName"] == "REMOVE"
    }


def test_expired_items_are_deleted_late_but_never_later_than_the_maximum_delay(make_cloud):
    # GIVEN TTL that may be up to 6 hours late, and 20 items expiring at the same second
    cloud = make_cloud(max_ttl_delay=timedelta(hours=6))
    cloud.deploy()
    deadline = START + timedelta(days=1)
    names = [f"item-{n:02}" for n in range(20)]
    for name in names:
        _put(cloud, name, deadline)
    # WHEN the clock reaches one second before the deadline
    cloud.advance_to(deadline - timedelta(seconds=1))
    # THEN nothing is deleted early
    assert _remaining(cloud) == set(names)
    # WHEN the clock passes the deadline by the maximum delay
    cloud.advance_to(deadline + timedelta(hours=6))
    # THEN every item is gone, each deleted between its deadline and deadline + 6 h
    assert _remaining(cloud) == set()
    removed_at = {sk: record["dynamodb"]["ApproximateCreationDateTime"] for sk, record in _removals(cloud).items()}
    assert set(removed_at) == set(names)
    assert all(epoch(deadline) <= at <= epoch(deadline + timedelta(hours=6)) for at in removed_at.values())
    # AND late: not all at the deadline, and at different times
    assert len(set(removed_at.values())) > 10
    assert max(removed_at.values()) - epoch(deadline) > 3600


def test_deletion_times_are_the_same_for_the_same_seed(make_cloud):
    def removal_times(seed: int) -> dict[str, int]:
        cloud = make_cloud(max_ttl_delay=timedelta(hours=48), seed=seed)
        cloud.deploy()
        for n in range(5):
            _put(cloud, f"item-{n}", START)
        cloud.advance_to(START + timedelta(days=3))
        times = {sk: r["dynamodb"]["ApproximateCreationDateTime"] for sk, r in _removals(cloud).items()}
        cloud.stop()
        return times

    # GIVEN the same seed twice, and another seed WHEN items expire THEN the same seed deletes at the same times
    assert removal_times(1) == removal_times(1)
    assert removal_times(1) != removal_times(2)


def test_future_and_untimed_items_are_kept(make_cloud):
    # GIVEN immediate TTL, an expired item, one expiring next year, and one without TTL
    cloud = make_cloud(max_ttl_delay=timedelta(0))
    cloud.deploy()
    _put(cloud, "item-expired", START - timedelta(minutes=1))
    _put(cloud, "item-future", START + timedelta(days=365))
    _put(cloud, "item-untimed", None)
    _put(cloud, "item-text-ttl", None, expires_at="not a number")  # DynamoDB ignores non-Number TTLs
    # WHEN a month passes
    cloud.advance_to(START + timedelta(days=31))
    # THEN only the expired item is gone
    assert _remaining(cloud) == {"item-future", "item-untimed", "item-text-ttl"}


def test_ttl_more_than_five_years_old_is_ignored(make_cloud):
    # GIVEN an item whose TTL is six years in the past (AWS leaves those alone)
    cloud = make_cloud(max_ttl_delay=timedelta(0))
    cloud.deploy()
    _put(cloud, "item-ancient", START - timedelta(days=6 * 365))
    _put(cloud, "item-recent", START - timedelta(days=1))
    # WHEN time passes THEN only the recent one is deleted
    cloud.advance_to(START + timedelta(hours=1))
    assert _remaining(cloud) == {"item-ancient"}


def test_an_item_updated_after_the_reaper_read_it_is_not_deleted(make_cloud):
    # GIVEN an item about to expire, whose TTL the reaper has already seen
    cloud = make_cloud(max_ttl_delay=timedelta(0))
    cloud.deploy()
    deadline = START + timedelta(hours=1)
    _put(cloud, "item-extended", deadline)
    cloud.pump_streams()
    # WHEN its deadline is pushed back before the reaper's delete lands (the stream not read yet)
    cloud.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "item-extended"}},
        UpdateExpression="SET expires_at = :later",
        ExpressionAttributeValues={":later": {"N": str(epoch(deadline + timedelta(days=30)))}},
    )
    cloud.clock.set(deadline + timedelta(minutes=1))
    deleted = cloud.ttl_reaper.reap(cloud.now)
    # THEN the conditional delete leaves it alone
    assert deleted == 0
    assert _remaining(cloud) == {"item-extended"}
    # AND it expires at its new deadline instead
    cloud.advance_to(deadline + timedelta(days=30, minutes=1))
    assert _remaining(cloud) == set()


def test_ttl_removals_carry_the_dynamodb_identity_and_user_deletes_do_not(make_cloud):
    # GIVEN one item that expires and one that a user deletes
    cloud = make_cloud(max_ttl_delay=timedelta(minutes=30))
    cloud.deploy()
    _put(cloud, "item-ttl", START + timedelta(minutes=5))
    _put(cloud, "item-user", None)
    cloud.client("dynamodb").delete_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "item-user"}})
    # WHEN TTL has deleted the other
    cloud.advance_to(START + timedelta(hours=1))
    removals = _removals(cloud)
    # THEN its REMOVE record says DynamoDB deleted it, and the user's says nothing
    assert removals["item-ttl"]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert "userIdentity" not in removals["item-user"]
    assert removals["item-ttl"]["dynamodb"]["OldImage"]["expires_at"] == {"N": str(epoch(START + timedelta(minutes=5)))}


def test_a_user_delete_of_an_expired_item_is_not_a_ttl_removal(make_cloud):
    # GIVEN an expired item that TTL would delete only much later
    cloud = make_cloud(max_ttl_delay=timedelta(days=2), seed=3)
    cloud.deploy()
    _put(cloud, "item-race", START - timedelta(seconds=1))
    delay = cloud.ttl_reaper.delay_seconds(TABLE, '{"pk":{"S":"p"},"sk":{"S":"item-race"}}')
    assert delay > 60
    # WHEN a user deletes it first
    cloud.client("dynamodb").delete_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "item-race"}})
    cloud.advance_to(START + timedelta(days=3))
    # THEN its REMOVE is a user's
    assert "userIdentity" not in _removals(cloud)["item-race"]
    assert cloud.ttl_reaper.deleted_count == 0


def test_immediate_ttl_deletes_at_the_deadline_exactly(make_cloud):
    # GIVEN no TTL lateness
    cloud = make_cloud(max_ttl_delay=timedelta(0))
    cloud.deploy()
    deadline = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    _put(cloud, "item-sharp", deadline)
    # WHEN the clock passes it THEN the removal happened at the deadline's second
    cloud.advance_to(deadline + timedelta(days=1))
    assert _removals(cloud)["item-sharp"]["dynamodb"]["ApproximateCreationDateTime"] == epoch(deadline)


def test_a_table_without_a_stream_has_every_kind_of_write_seen(make_cloud):
    # GIVEN immediate TTL on a table without a stream, whose TTL values the reaper reads itself
    cloud = make_cloud(max_ttl_delay=timedelta(0))
    cloud.deploy()
    table, ddb = "local-unstreamed-test", cloud.client("dynamodb")

    def ttl(at: datetime) -> dict:
        return {"N": str(epoch(at))}

    ddb.put_item(TableName=table, Item={"pk": {"S": "put"}, "expires_at": ttl(START + timedelta(hours=1))})
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "batched"}}}}]})
    cloud.advance_to(START + timedelta(minutes=30))  # the reaper has read the table
    # WHEN later writes of every kind change TTL values: an update brings one forward, another
    # puts one off, a transaction adds one
    ddb.update_item(TableName=table, Key={"pk": {"S": "batched"}}, UpdateExpression="SET expires_at = :t",
                    ExpressionAttributeValues={":t": ttl(START + timedelta(minutes=40))})
    ddb.update_item(TableName=table, Key={"pk": {"S": "put"}}, UpdateExpression="SET expires_at = :t",
                    ExpressionAttributeValues={":t": ttl(START + timedelta(days=10))})
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {
        "pk": {"S": "transacted"}, "expires_at": ttl(START + timedelta(minutes=50))}}}])
    cloud.advance_to(START + timedelta(hours=2))
    # THEN each is deleted as its newest value says, and the one put off stays
    remaining = {item["pk"]["S"] for item in ddb.scan(TableName=table)["Items"]}
    assert remaining == {"put"}
    assert cloud.ttl_reaper.deleted_count == 2
