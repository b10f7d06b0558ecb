"""The real stack on the local cloud, as every test tier above the unit tests uses it: tables,
streams, filters and handlers from template.yaml, members written into the activity table as the
service's own data, and clients that read back what a member or an operator would see. The
``stack`` fixture itself is in ``tests/conftest.py``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.credentials import Credentials

from lifecycle.aws import forget_clients
from local import LocalCloud
from local.cloud import APP_ROLE_ARN
from ops.app_calls import SignedAsApp
from ops.rehearsal import BillingSide
from ops.sweep_runs import sweep_runs

START = datetime(2026, 5, 31, 12, 0, tzinfo=UTC)  # the first sweep runs 1 June 2026 at 03:00 UTC
FIRST_SWEEP = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
SAMPLE_LINK_KEY = "sample-link-signing-key-for-local-runs-only-000000"  # signs the links in events/

_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stack:
    """What a test sees of the deployed stack. The business's billing answers each
    cancellation and rejoin an hour after it is told (``billing.ack``; None: never), as the
    rehearsal's does, while the clock moves through ``run_until``."""

    cloud: LocalCloud
    billing: BillingSide = field(init=False)

    def __post_init__(self) -> None:
        self.billing = BillingSide(self.cloud, timedelta(hours=1))

    # -------------------------------------------------------------- members
    def add_member(self, member_id: str, **fields: Any) -> None:
        """A member as the service's own data: see :meth:`member_item` for the fields."""
        self.add_members([{"member_id": member_id, **fields}])

    def add_members(self, members: Iterable[Mapping[str, Any]]) -> None:
        """Members written 25 to a BatchWriteItem, as a bulk feed writes them (each mapping has a
        ``member_id`` and the fields of :meth:`member_item`), items handed back written again."""
        activity, member_data = self.cloud.table_name("ActivityTable"), self.cloud.table_name("MemberDataTable")
        requests_: list[tuple[str, dict]] = []
        for member in members:
            item, profiles = self.member_item(**member)
            requests_.append((activity, item))
            if profiles is not None:
                requests_.append((member_data, {"member_id": {"S": member["member_id"]},
                                                "profiles": _serializer.serialize(profiles)}))
        for start in range(0, len(requests_), 25):
            unprocessed: dict[str, list] = {}
            for table, item in requests_[start:start + 25]:
                unprocessed.setdefault(table, []).append({"PutRequest": {"Item": item}})
            while unprocessed:
                unprocessed = self.cloud.client("dynamodb").batch_write_item(RequestItems=unprocessed)[
                    "UnprocessedItems"]

    @staticmethod
    def member_item(
        member_id: str,
        *,
        joined_at: datetime,
        last_watched_at: datetime | None,
        locale: str = "en-US",
        status: str = "active",
        monthly_price: str = "9.99",
        currency: str = "USD",
        profiles: list[dict] | None = None,
        **extra: Any,
    ) -> tuple[dict[str, Any], list[dict] | None]:
        """The member's activity item (DynamoDB JSON), and their profiles for the member data table."""
        item = {
            "member_id": member_id,
            "email": f"{member_id}@members.example",
            "locale": locale,
            "joined_at": iso(joined_at),
            "status": status,
            "monthly_price": monthly_price,
            "currency": currency,
            **extra,
        }
        if last_watched_at is not None:
            item["last_watched_at"] = iso(last_watched_at)
        return {name: _serializer.serialize(value) for name, value in item.items()}, profiles

    def add_inactive_member(self, member_id: str, **fields: Any) -> None:
        fields.setdefault("joined_at", datetime(2020, 1, 1, tzinfo=UTC))
        fields.setdefault("last_watched_at", datetime(2023, 1, 1, tzinfo=UTC))
        fields.setdefault(
            "profiles", [{"name": "Sam", "my_list": ["The Long Night"], "preferences": {"subtitles": "en"}}]
        )
        self.add_member(member_id, **fields)

    def member(self, member_id: str) -> dict[str, Any]:
        item = self.cloud.client("dynamodb").get_item(
            TableName=self.cloud.table_name("ActivityTable"), Key={"member_id": {"S": member_id}}, ConsistentRead=True
        )["Item"]
        return _plain({name: _deserializer.deserialize(value) for name, value in item.items()})

    def profiles(self, member_id: str) -> list[dict] | None:
        """The member's profiles, My List and preferences as kept; None once purged."""
        item = (
            self.cloud.client("dynamodb")
            .get_item(
                TableName=self.cloud.table_name("MemberDataTable"),
                Key={"member_id": {"S": member_id}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return None if item is None else _plain(_deserializer.deserialize(item["profiles"]))

    def set_member(self, member_id: str, **fields: str) -> None:
        """The service's own activity feed writing straight into the table."""
        names = {f"#{i}": name for i, name in enumerate(fields)}
        values = {f":{i}": _serializer.serialize(value) for i, value in enumerate(fields.values())}
        self.cloud.client("dynamodb").update_item(
            TableName=self.cloud.table_name("ActivityTable"),
            Key={"member_id": {"S": member_id}},
            UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def lifecycle(self, member_id: str) -> dict[str, dict[str, Any]]:
        items = self.cloud.client("dynamodb").query(
            TableName=self.cloud.table_name("LifecycleTable"),
            KeyConditionExpression="member_id = :m",
            ExpressionAttributeValues={":m": {"S": member_id}},
            ConsistentRead=True,
        )["Items"]
        return {
            item["record"]["S"]: _plain({k: _deserializer.deserialize(v) for k, v in item.items()}) for item in items
        }

    # --------------------------------------------------------------- mail
    def emails_to(self, member_id: str) -> list:
        return [mail for mail in self.cloud.sent_emails() if f"{member_id}@members.example" in mail.to]

    def email_kinds(self, member_id: str) -> list[str]:
        return [mail.headers.get("X-Membership-Email") for mail in self.emails_to(member_id)]

    def link(self, member_id: str, choice: str = "keep", kind: str = "notice") -> str:
        """The link a member clicks in their latest email of this kind, pointed at the local API."""
        mail = [m for m in self.emails_to(member_id) if m.headers.get("X-Membership-Email") == kind][-1]
        return next(link for link in mail.links if link.endswith(f"choice={choice}"))

    def bus(self, detail_type: str | None = None) -> list:
        """What the product published on the billing bus."""
        return [e for e in self.cloud.bus_events("BillingEventBus") if detail_type in (None, e.detail_type)]

    # ------------------------------------------------------- the business's events
    def publish(self, *events: tuple[str, dict[str, Any] | str], source: str = "streamly.accounts") -> None:
        """The business putting events on the inbound bus, (detail-type, detail) each, ten to a
        PutEvents call as EventBridge takes them; then the queue is delivered."""
        entries = [
            {"Source": source, "DetailType": kind, "EventBusName": self.cloud.outputs["InboundEventBusName"],
             "Detail": detail if isinstance(detail, str) else json.dumps(detail)}
            for kind, detail in events
        ]
        for start in range(0, len(entries), 10):
            answer = self.cloud.client("events").put_events(Entries=entries[start:start + 10])
            assert answer["FailedEntryCount"] == 0, answer
        self.cloud.settle()

    def parked(self) -> list[tuple[str | None, Any]]:
        """The inbound events parked on the dead-letter queue: (the consumer's reason, the event as
        sent); the reason is None for one SQS moved there after five failed tries."""
        parked = []
        for message in self.cloud.queue_messages("InboundDeadLetterQueue"):
            reason = message.message_attributes.get("reason")
            try:
                body = json.loads(message.body)
            except ValueError:  # not an event at all, as it was put on the queue
                body = message.body
            parked.append((reason and reason["StringValue"], body))
        return parked

    # ---------------------------------------------------------- the apps (IAM)
    def app(
        self, method: str, path: str, body: Any = None, signed: bool = True, credentials: Credentials | None = None
    ) -> requests.Response:
        """A call of the service's app, signed (SigV4) with its role's session (the role the
        deployment's ``AppPrincipalArns`` admits), or with other ``credentials``."""
        url = self.cloud.api_url + path
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        auth = SignedAsApp(credentials or self.cloud.app_credentials()) if signed else None
        return requests.request(method, url, data=data, headers=headers, auth=auth, timeout=30)

    # ------------------------------------------------------------ the sweep
    def as_deployed_stack(self, name: str = "membership-prod") -> str:
        """A CloudFormation stack named ``name`` whose outputs are this stack's, as `sam deploy`
        leaves them, for the operator commands that take ``--stack`` (made once)."""
        cloudformation = self.cloud.client("cloudformation")
        if name in {stack["StackName"] for stack in cloudformation.describe_stacks()["Stacks"]}:
            return name
        parameters = {key: ",".join(value) if isinstance(value, list) else str(value)
                      for key, value in self.cloud.parameters.items()}
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({
            "Parameters": {key: {"Type": "String"} for key in parameters},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-outputs"}}},
            "Outputs": {key: {"Value": str(value)} for key, value in self.cloud.outputs.items()}}),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()])
        return name

    def sweep_runs(self) -> list[dict]:
        """Every sweep run's totals, oldest first, as the progress table holds them."""
        return sweep_runs(self.cloud)

    # ------------------------------------------------------------ the clock
    def run_until(self, moment: datetime) -> None:
        """The clock moves to ``moment``, billing answering on the way (at most 6 hours late)."""
        while self.cloud.now < moment:
            self.cloud.advance_to(min(moment, self.cloud.now + timedelta(hours=6)))
            self.billing.answer()

    def ttl_on_time(self) -> None:
        """DynamoDB TTL deleting expired items the moment they expire (AWS's best case)."""
        self.cloud.ttl_reaper.max_delay = timedelta(0)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@contextmanager
def deployed_stack() -> Iterator[Stack]:
    """The real template deployed on a fresh local cloud at START, its API listening and
    admitting the local app role to the app routes, and TTL deleting expired items up to 48
    hours late as AWS may."""
    with LocalCloud(START, seed=11, max_ttl_delay=timedelta(hours=48)) as cloud:
        forget_clients()  # tests that call the domain directly must reach this cloud, not the last one
        api_url = cloud.start_api()
        cloud.deploy(
            {
                "Stage": "test",
                "ServiceName": "Streamly",
                "RejoinUrl": "https://streamly.example/rejoin",
                "PublicBaseUrl": api_url,
                "AppPrincipalArns": APP_ROLE_ARN,
            }
        )
        yield Stack(cloud)
