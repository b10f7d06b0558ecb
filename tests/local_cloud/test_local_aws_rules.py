"""The local cloud refuses, as AWS does, the calls that break AWS's documented rules moto does
not check: SES message tags, destination addresses and message size; DynamoDB item and
transaction sizes and ClientRequestToken idempotency; EventBridge entry size; SQS message size
in bytes. Calls shaped like the product's own pass."""

from __future__ import annotations

import json
import string
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_cloud_support import FIXTURE_TEMPLATE, START
from moto.dynamodb.responses import DynamoHandler
from moto.ses.models import ses_backends
from moto.ses.responses import EmailResponse

from local import LocalCloud, aws_rules
from local.template import ACCOUNT_ID, REGION

SENDER = "sender@example.com"  # the fixture template's SenderAddress: verified on deploy
TABLE = "rules-items"  # the token tests' (transactions copy every table they touch: keep it small)
SIZES_TABLE = "rules-sizes"  # big items
TAG_CHARACTERS = string.ascii_letters + string.digits + "_-"
RULES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """One local cloud for the module (the fixture template, plus tables without a stream and
    queues made here)."""
    cloud = LocalCloud(START, template=FIXTURE_TEMPLATE, seed=7).start()
    try:
        cloud.deploy()
        for table in (TABLE, SIZES_TABLE):
            cloud.client("dynamodb").create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
            )
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture(scope="module")
def tasks_queue(cloud: LocalCloud) -> str:
    return cloud.client("sqs").create_queue(QueueName="rules-sweep-tasks")["QueueUrl"]


@pytest.fixture(scope="module")
def small_queue(cloud: LocalCloud) -> str:
    return cloud.client("sqs").create_queue(QueueName="rules-small", Attributes={"MaximumMessageSize": "1024"})[
        "QueueUrl"
    ]


def refusal(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = error.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


# ============================================================================ SES


def product_email(to: str = "member-1@members.example") -> bytes:
    """A notice as the product sends it: both parts, Date, the kind header, Content-Language."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = "Your membership: keep it or let it go"
    message["Date"] = formatdate(START.timestamp(), usegmt=True)
    message["X-Membership-Email"] = "notice"
    message.set_content("You have not watched anything in a year. Keep or cancel: https://example.test/n/abc")
    message.add_alternative("<p>You have not watched anything in a year.</p>", subtype="html")
    message["Content-Language"] = "en-US"
    return message.as_bytes()


def sent_count() -> int:
    return len(ses_backends[ACCOUNT_ID][REGION].sent_messages)


def send_raw(
    cloud: LocalCloud,
    *,
    tags: list[dict[str, str]] | None = None,
    to: str = "member-1@members.example",
    raw: bytes | None = None,
) -> dict:
    return cloud.client("ses").send_raw_email(
        Source=SENDER,
        Destinations=[to],
        RawMessage={"Data": raw if raw is not None else product_email(to)},
        Tags=tags if tags is not None else [{"Name": "kind", "Value": "notice"}],
    )


def test_an_email_shaped_like_the_products_is_sent(cloud):
    # GIVEN a notice with the product's tags: its kind and the member id, escaped for SES
    before = sent_count()
    tags = [{"Name": "kind", "Value": "notice"}, {"Name": "member", "Value": "auth0_7C5f7c1e2d-a_40b"}]
    # WHEN it is sent raw
    answer = send_raw(cloud, tags=tags)
    # THEN SES accepts it and it is among the sent mail
    assert answer["MessageId"]
    assert sent_count() == before + 1


@RULES
@given(name=st.text(TAG_CHARACTERS, min_size=1, max_size=256), value=st.text(TAG_CHARACTERS, min_size=1, max_size=256))
def test_every_tag_of_allowed_characters_passes(cloud, name, value):
    # GIVEN a tag of ASCII letters, digits, "_" and "-", 256 characters at most
    before = sent_count()
    # WHEN an email carries it
    send_raw(cloud, tags=[{"Name": name, "Value": value}])
    # THEN it is sent
    assert sent_count() == before + 1


outside_the_set = st.characters(exclude_categories=("Cs",)).filter(lambda char: char not in TAG_CHARACTERS)


@RULES
@given(
    value=st.tuples(st.text(TAG_CHARACTERS, max_size=20), outside_the_set, st.text(TAG_CHARACTERS, max_size=20)).map(
        "".join
    ),
    as_name=st.booleans(),
)
def test_every_tag_with_another_character_is_refused(cloud, value, as_name):
    # GIVEN a tag name or value with one character outside the set (a member id like auth0|…, é, a space)
    before = sent_count()
    tag = {"Name": value, "Value": "notice"} if as_name else {"Name": "member", "Value": value}
    # WHEN an email carries it
    with pytest.raises(ClientError) as refused:
        send_raw(cloud, tags=[{"Name": "kind", "Value": "notice"}, tag])
    # THEN SES refuses the whole email as AWS does, and nothing is sent
    code, status, message = refusal(refused)
    assert (code, status) == ("InvalidParameterValue", 400)
    assert message.startswith(f"Invalid tag {'name' if as_name else 'value'} ")
    assert sent_count() == before


def test_a_tag_value_longer_than_256_characters_is_refused(cloud):
    # GIVEN a member id written over one 257-character tag value instead of split over tags
    before = sent_count()
    # WHEN an email carries it
    with pytest.raises(ClientError) as refused:
        send_raw(cloud, tags=[{"Name": "member", "Value": "a" * 257}])
    # THEN it is refused and not sent
    assert refusal(refused)[:2] == ("InvalidParameterValue", 400)
    assert sent_count() == before


atom = st.text(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~", min_size=1, max_size=10)
label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
ascii_address = st.builds(
    lambda atoms, labels, tld: f"{'.'.join(atoms)}@{'.'.join([*labels, tld])}",
    st.lists(atom, min_size=1, max_size=3),
    st.lists(label, min_size=1, max_size=3),
    st.sampled_from(["example", "com", "xn--p1ai", "co"]),
)


@RULES
@given(address=ascii_address, display_name=st.sampled_from(["", "Member One", '"One, Member"']))
def test_every_ascii_address_of_ses_syntax_passes(cloud, address, display_name):
    # GIVEN a 7-bit ASCII address (a Punycode domain included), with or without a display name
    before = sent_count()
    to = f"{display_name} <{address}>" if display_name else address
    # WHEN it is the destination and the To header
    send_raw(cloud, to=to)
    # THEN the email is sent
    assert sent_count() == before + 1


@RULES
@given(
    address=ascii_address, char=st.characters(min_codepoint=0x80, exclude_categories=("Cs",)), in_domain=st.booleans()
)
def test_every_address_with_a_non_ascii_character_is_refused(cloud, address, char, in_domain):
    # GIVEN an address with a Unicode character in its local part or its domain (SES has no SMTPUTF8)
    local, domain = address.split("@")
    address = f"{local}@{char}{domain}" if in_domain else f"{char}{local}@{domain}"
    before = sent_count()
    # WHEN it is a destination
    with pytest.raises(ClientError) as refused:
        send_raw(cloud, to=address, raw=product_email())
    # THEN SES refuses it, saying which part is wrong
    assert refusal(refused) == (
        "InvalidParameterValue",
        400,
        "Domain contains illegal character" if in_domain else "Local address contains illegal character",
    )
    assert sent_count() == before


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("member-1", "Missing final '@domain'"),
        ("@members.example", "Missing local name"),
        ("member 1@members.example", "Local address contains control or whitespace"),
        ("member\t1@members.example", "Local address contains control or whitespace"),
        ("member[1]@members.example", "Local address contains illegal character"),
        ("member@1@members.example", "Domain contains illegal character"),
        ("member-1@members_example.com", "Domain contains illegal character"),
        ("member-1@members.ex ample", "Domain contains control or whitespace"),
        ("member-1@", "Missing domain"),
        ("member..1@members.example", "Local address contains dot-dot"),
        ("member-1@-members.example", "Domain label -members starts or ends with a hyphen"),
        (f"member-1@{'a' * 64}.example", f"Domain label {'a' * 64} is longer than 63 characters"),
    ],
)
def test_an_address_ses_would_refuse_is_refused(cloud, address, message):
    # GIVEN a destination address SES's syntax refuses
    before = sent_count()
    # WHEN an email is sent to it
    with pytest.raises(ClientError) as refused:
        send_raw(cloud, to=address, raw=product_email())
    # THEN the answer is SES's, and nothing is sent
    assert refusal(refused) == ("InvalidParameterValue", 400, message)
    assert sent_count() == before


def test_a_bad_address_in_the_raw_messages_headers_is_refused(cloud):
    # GIVEN a good Destinations parameter, but a Cc header with an address SES refuses
    raw = (
        f"From: {SENDER}\r\nTo: member-1@members.example\r\nCc: Friend <fr\xc3\xa9d@members.example>,\r\n"
        " other@members.example\r\nSubject: hi\r\n\r\nbody\r\n"
    ).encode("latin-1")
    before = sent_count()
    # WHEN it is sent
    with pytest.raises(ClientError) as refused:
        send_raw(cloud, raw=raw)
    # THEN it is refused: SES reads the recipients of the message too
    assert refusal(refused) == ("InvalidParameterValue", 400, "Local address contains illegal character")
    assert sent_count() == before


def raw_message_of(length: int) -> bytes:
    head = f"From: {SENDER}\r\nTo: member-1@members.example\r\nSubject: big\r\n\r\n".encode()
    line = b"x" * 76 + b"\r\n"
    body_length = length - len(head)
    return head + line * (body_length // len(line)) + b"y" * (body_length % len(line))


def test_a_message_of_10_mb_is_sent_and_one_byte_more_is_refused(cloud):
    # GIVEN raw messages of exactly 10 MB (10,485,760 bytes) and one byte more
    at_limit, over = raw_message_of(10_485_760), raw_message_of(10_485_761)
    before = sent_count()
    # WHEN both are sent
    send_raw(cloud, raw=at_limit)
    with pytest.raises(ClientError) as refused:
        send_raw(cloud, raw=over)
    # THEN the first is sent and the second refused with SES's answer
    assert refusal(refused) == (
        "InvalidParameterValue",
        400,
        "Message length is more than 10485760 bytes long: '10485761'.",
    )
    assert sent_count() == before + 1


# ============================================================================ DynamoDB


def stored(cloud: LocalCloud, sk: str, table: str = TABLE) -> dict | None:
    return (
        cloud.client("dynamodb")
        .get_item(TableName=table, Key={"pk": {"S": "rules"}, "sk": {"S": sk}}, ConsistentRead=True)
        .get("Item")
    )


EMPTY_MAPS = 2_000


def item_of_size(sk: str, size: int) -> dict:
    """An item whose size, counted as the DynamoDB page says, is exactly ``size``: a list of
    empty maps (3 bytes of list, and per element 1 of overhead and 3 of map) and padding. moto's
    own count of it is 8,000 bytes lower (no list or map overhead): under moto's own limit."""
    fixed = len("pk") + len("rules") + len("sk") + len(sk) + len("maps") + 3 + 4 * EMPTY_MAPS + len("pad")
    assert size >= fixed
    return {
        "pk": {"S": "rules"},
        "sk": {"S": sk},
        "maps": {"L": [{"M": {}}] * EMPTY_MAPS},
        "pad": {"S": "x" * (size - fixed)},
    }


def test_an_item_of_400_kb_is_put_and_one_byte_more_is_refused(cloud):
    # GIVEN items of exactly 409,600 bytes and 409,601 bytes, counted the DynamoDB way
    ddb = cloud.client("dynamodb")
    at_limit, over = item_of_size("size#at-limit", 409_600), item_of_size("size#over", 409_601)
    # WHEN both are put
    ddb.put_item(TableName=SIZES_TABLE, Item=at_limit)
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=SIZES_TABLE, Item=over)
    # THEN the first is stored and the second refused as AWS refuses it (moto alone stores it)
    assert refusal(refused) == ("ValidationException", 400, "Item size has exceeded the maximum allowed size")
    assert stored(cloud, "size#at-limit", SIZES_TABLE) is not None
    assert stored(cloud, "size#over", SIZES_TABLE) is None


def test_an_oversized_item_is_refused_to_pynamodb_too(cloud):
    # GIVEN a PynamoDB model of the table, and an item whose maps make it 409,601 bytes
    from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute
    from pynamodb.exceptions import PutError
    from pynamodb.models import Model

    class RulesItem(Model):
        class Meta:
            table_name = SIZES_TABLE
            region = REGION

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        maps = ListAttribute(of=MapAttribute)
        pad = UnicodeAttribute()

    raw = item_of_size("size#pynamodb", 409_601)
    item = RulesItem("rules", "size#pynamodb", maps=[MapAttribute() for _ in range(EMPTY_MAPS)], pad=raw["pad"]["S"])
    # WHEN it is saved
    with pytest.raises(PutError) as refused:
        item.save()
    # THEN DynamoDB's answer reaches PynamoDB, and nothing is stored
    assert refused.value.cause_response_code == "ValidationException"
    assert stored(cloud, "size#pynamodb", SIZES_TABLE) is None


def put(sk: str, table: str = SIZES_TABLE, **extra: dict) -> dict:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": "rules"}, "sk": {"S": sk}, **extra}}}


def test_a_transaction_with_an_oversized_put_is_cancelled_naming_that_item(cloud):
    # GIVEN a transaction of a small Put and a Put of 409,601 bytes
    small, big = put("tx-size#small"), {"Put": {"TableName": SIZES_TABLE, "Item": item_of_size("tx-size#big", 409_601)}}
    # WHEN it is written
    with pytest.raises(ClientError) as refused:
        cloud.client("dynamodb").transact_write_items(TransactItems=[small, big])
    # THEN it is cancelled, the big item's reason a ValidationError, and neither item is written
    assert refusal(refused)[:2] == ("TransactionCanceledException", 400)
    assert refused.value.response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ValidationError", "Message": "Item size has exceeded the maximum allowed size"},
    ]
    assert stored(cloud, "tx-size#small", SIZES_TABLE) is None and stored(cloud, "tx-size#big", SIZES_TABLE) is None


def test_a_transaction_of_4_mb_is_written_and_one_byte_more_is_refused(cloud):
    # GIVEN eleven Puts of strings adding up to exactly 4 MB, and the same with one byte more
    def puts(prefix: str, extra: int) -> list[dict]:
        actions = []
        for n in range(11):
            sk = f"{prefix}#{n:02d}"
            size = (381_304 if n == 0 else 381_300) + (extra if n == 0 else 0)
            pad = size - (len("pk") + len("rules") + len("sk") + len(sk) + len("pad"))
            actions.append(put(sk, pad={"S": "x" * pad}))
        return actions

    ddb = cloud.client("dynamodb")
    # WHEN both are written
    ddb.transact_write_items(TransactItems=puts("tx-4mb", 0))
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=puts("tx-4mb-over", 1))
    # THEN the first is written, the second refused whole
    assert refusal(refused)[:2] == ("ValidationException", 400)
    assert stored(cloud, "tx-4mb#10", SIZES_TABLE) is not None
    assert all(stored(cloud, f"tx-4mb-over#{n:02d}", SIZES_TABLE) is None for n in range(11))


def test_a_transaction_of_101_actions_is_refused_by_moto_itself(cloud):
    # GIVEN 101 Puts (moto already checks the count: the rules do not repeat it)
    actions = [put(f"tx-count#{n:03d}", TABLE) for n in range(101)]
    # WHEN they are written in one transaction
    with pytest.raises(ClientError) as refused:
        cloud.client("dynamodb").transact_write_items(TransactItems=actions)
    # THEN the transaction is refused and nothing written
    code, status, message = refusal(refused)
    assert (code, status) == ("ValidationException", 400)
    assert "less than or equal to 100" in message
    assert stored(cloud, "tx-count#000") is None


def notice_transaction(sk: str, deadline: str = "2025-03-01") -> list[dict]:
    """Shaped like the product's: open a notice only if none is open, and mark the member."""
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {"pk": {"S": "rules"}, "sk": {"S": sk}, "deadline": {"S": deadline}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"pk": {"S": "rules"}, "sk": {"S": f"{sk}#member"}},
                "UpdateExpression": "SET notice_deadline = :d",
                "ExpressionAttributeValues": {":d": {"S": deadline}},
            }
        },
    ]


def delete(cloud: LocalCloud, sk: str) -> None:
    cloud.client("dynamodb").delete_item(TableName=TABLE, Key={"pk": {"S": "rules"}, "sk": {"S": sk}})


def test_a_token_replayed_within_10_minutes_changes_nothing_and_after_them_is_a_new_request(cloud):
    ddb, token = cloud.client("dynamodb"), "5f0c1b7e9d2a4c68b3e1f0a9d8c7b6a5e4d3"  # 36 characters
    # GIVEN a transaction with a token, written at virtual time T
    ddb.transact_write_items(TransactItems=notice_transaction("token#replay"), ClientRequestToken=token)
    assert stored(cloud, "token#replay")["deadline"] == {"S": "2025-03-01"}
    # WHEN the item is deleted and the identical request comes again 9 min 59 s later
    delete(cloud, "token#replay")
    cloud.advance(timedelta(minutes=9, seconds=59))
    ddb.transact_write_items(TransactItems=notice_transaction("token#replay"), ClientRequestToken=token)
    # THEN it succeeds without making any change: the item is not written again
    assert stored(cloud, "token#replay") is None
    # WHEN the identical request comes once the 10 minutes are over
    cloud.advance(timedelta(seconds=1))
    ddb.transact_write_items(TransactItems=notice_transaction("token#replay"), ClientRequestToken=token)
    # THEN it is a new request, and writes
    assert stored(cloud, "token#replay") is not None


def test_a_token_reused_for_another_request_is_a_mismatch(cloud):
    ddb, token = cloud.client("dynamodb"), "mismatch-token-0001"
    # GIVEN a transaction written with a token
    ddb.transact_write_items(TransactItems=notice_transaction("token#first"), ClientRequestToken=token)
    # WHEN another request (another deadline) uses the token within the window
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(
            TransactItems=notice_transaction("token#second", "2025-04-01"), ClientRequestToken=token
        )
    # THEN DynamoDB refuses it with IdempotentParameterMismatchException, and writes nothing
    assert refusal(refused)[:2] == ("IdempotentParameterMismatchException", 400)
    assert stored(cloud, "token#second") is None
    assert stored(cloud, "token#first#member")["notice_deadline"] == {"S": "2025-03-01"}


def test_a_token_is_shared_by_every_client_thread(cloud):
    token, answers = "thread-token-0001", {}
    # GIVEN a transaction written with a token from this thread
    cloud.client("dynamodb").transact_write_items(
        TransactItems=notice_transaction("token#thread"), ClientRequestToken=token
    )

    def other_thread() -> None:
        import boto3

        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=cloud.endpoint_url)
        try:
            client.transact_write_items(TransactItems=notice_transaction("token#thread-2"), ClientRequestToken=token)
        except ClientError as exc:
            answers["code"] = exc.response["Error"]["Code"]

    # WHEN another thread's own client uses the token for another request
    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    # THEN it meets the same rule
    assert answers == {"code": "IdempotentParameterMismatchException"}
    assert stored(cloud, "token#thread-2") is None


def test_a_failed_request_does_not_keep_its_token(cloud):
    ddb, token = cloud.client("dynamodb"), "failed-first-0001"
    # GIVEN a notice already open, so the conditional transaction fails
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "rules"}, "sk": {"S": "token#failed"}})
    with pytest.raises(ClientError) as failed:
        ddb.transact_write_items(TransactItems=notice_transaction("token#failed"), ClientRequestToken=token)
    assert refusal(failed)[0] == "TransactionCanceledException"
    # WHEN the notice is closed and the identical request is tried again with the token
    delete(cloud, "token#failed")
    ddb.transact_write_items(TransactItems=notice_transaction("token#failed"), ClientRequestToken=token)
    # THEN it runs: only a successful request records its token
    assert stored(cloud, "token#failed")["deadline"] == {"S": "2025-03-01"}


def test_a_token_of_37_characters_is_refused(cloud):
    # GIVEN a token one character longer than DynamoDB's 36
    token = "x" * 37
    # WHEN a transaction uses it
    with pytest.raises(ClientError) as refused:
        cloud.client("dynamodb").transact_write_items(
            TransactItems=notice_transaction("token#long"), ClientRequestToken=token
        )
    # THEN it is refused as DynamoDB refuses it, and nothing is written
    assert refusal(refused) == (
        "ValidationException",
        400,
        f"1 validation error detected: Value '{token}' at 'clientRequestToken' failed to "
        "satisfy constraint: Member must have length less than or equal to 36",
    )
    assert stored(cloud, "token#long") is None


# ============================================================================ EventBridge


def billing_event(**detail: str) -> dict:
    return {
        "Source": "membership.lifecycle",
        "DetailType": "MembershipCancelled",
        "EventBusName": "local-bus-test",
        "Detail": json.dumps(
            {
                "member_id": "m-1",
                "cancelled_at": "2025-01-31T00:00:00Z",
                "reason": "no-response",
                "billing": "stop",
                "retained_until": "2025-11-30T00:00:00Z",
                **detail,
            }
        ),
    }


def test_a_billing_event_is_published(cloud):
    # GIVEN the event the product publishes when it stops billing
    before = len(cloud.bus_events("Bus"))
    # WHEN it is put
    answer = cloud.client("events").put_events(Entries=[billing_event()])
    # THEN it is on the bus
    assert answer["FailedEntryCount"] == 0
    events = cloud.bus_events("Bus")
    assert len(events) == before + 1 and events[-1].detail["billing"] == "stop"


def event_of_size(size: int, *, with_time: bool) -> dict:
    """A billing event whose entry size (14 for a Time + Source + DetailType + Detail + Resources)
    is ``size``."""
    entry = billing_event(note="")
    entry["Resources"] = ["arn:aws:dynamodb:us-east-1:123456789012:table/members"]
    if with_time:
        entry["Time"] = START
    fixed = (
        (14 if with_time else 0)
        + len(entry["Source"])
        + len(entry["DetailType"])
        + len(entry["Detail"])
        + len(entry["Resources"][0])
    )
    filler = size - fixed
    entry["Detail"] = json.dumps(
        {**json.loads(entry["Detail"]), "note": "é" * (filler // 2) + "x" * (filler % 2)}, ensure_ascii=False
    )
    return entry


@pytest.mark.parametrize("with_time", [True, False])
def test_entries_under_256_kb_are_published_and_256_kb_is_refused(cloud, with_time):
    # GIVEN two entries adding up to 262,143 bytes, counted as EventBridge counts them, and to 262,144
    events = cloud.client("events")
    under = [billing_event(), event_of_size(262_143 - _entry_size(billing_event()), with_time=with_time)]
    at_limit = [billing_event(), event_of_size(262_144 - _entry_size(billing_event()), with_time=with_time)]
    before = len(cloud.bus_events("Bus"))
    # WHEN both requests are put
    events.put_events(Entries=under)
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=at_limit)
    # THEN the first is published, the second refused whole as AWS does
    assert refusal(refused) == (
        "ValidationException",
        400,
        "Total size of the entries in the request is over the limit.",
    )
    assert len(cloud.bus_events("Bus")) == before + 2


def _entry_size(entry: dict) -> int:
    return len(entry["Source"].encode()) + len(entry["DetailType"].encode()) + len(entry["Detail"].encode())


# ============================================================================ SQS


def test_a_sweep_task_is_queued(cloud, tasks_queue):
    # GIVEN segment tasks as the sweep queues them, ten to a batch, and one sent alone
    sqs = cloud.client("sqs")
    tasks = [json.dumps({"run_id": "2025-01-31T03:00:00Z", "segment": n, "total_segments": 11}) for n in range(11)]
    # WHEN they are sent
    answer = sqs.send_message_batch(
        QueueUrl=tasks_queue, Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(tasks[:10])]
    )
    sqs.send_message(QueueUrl=tasks_queue, MessageBody=tasks[10])
    # THEN all of them are on the queue
    assert not answer.get("Failed")
    assert sorted(json.loads(m["Body"])["segment"] for m in receive_all(cloud, tasks_queue)) == list(range(11))


def receive_all(cloud: LocalCloud, queue_url: str) -> list[dict]:
    sqs, messages = cloud.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_a_body_over_1_mib_in_utf8_bytes_is_refused(cloud, tasks_queue):
    # GIVEN a body of 524,289 "é": 1,048,578 bytes, though only 524,289 characters
    sqs = cloud.client("sqs")
    # WHEN it is sent, alone and in a batch
    with pytest.raises(ClientError) as alone:
        sqs.send_message(QueueUrl=tasks_queue, MessageBody="é" * 524_289)
    with pytest.raises(ClientError) as batched:
        sqs.send_message_batch(QueueUrl=tasks_queue, Entries=[{"Id": "0", "MessageBody": "é" * 524_289}])
    # THEN SQS refuses it (moto alone counts characters and takes it), and the queue stays empty
    assert refusal(alone) == (
        "InvalidParameterValue",
        400,
        "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.",
    )
    assert refusal(batched)[:2] == ("AWS.SimpleQueueService.BatchRequestTooLong", 400)
    assert receive_all(cloud, tasks_queue) == []


def test_attributes_count_toward_the_queues_maximum_message_size(cloud, small_queue):
    # GIVEN a queue of MaximumMessageSize 1024, and a message whose body and attribute are 1024 bytes
    sqs = cloud.client("sqs")
    attributes = {"run": {"DataType": "Binary", "BinaryValue": b"\x00" * 10}}  # 3 + 6 + 10 raw bytes
    body = "x" * (1024 - 19)
    # WHEN it is sent, and then one with a byte more
    sqs.send_message(QueueUrl=small_queue, MessageBody=body, MessageAttributes=attributes)
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=small_queue, MessageBody=body + "x", MessageAttributes=attributes)
    # THEN the first is queued and the second refused
    assert refusal(refused) == (
        "InvalidParameterValue",
        400,
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
    )
    assert [m["Body"] for m in receive_all(cloud, small_queue)] == [body]


def test_a_batch_over_1_mib_in_all_is_refused(cloud, tasks_queue):
    # GIVEN two messages of 600,000 bytes each: each fits, together they are over 1 MiB
    entries = [{"Id": str(n), "MessageBody": "x" * 600_000} for n in range(2)]
    # WHEN they are sent in one batch
    with pytest.raises(ClientError) as refused:
        cloud.client("sqs").send_message_batch(QueueUrl=tasks_queue, Entries=entries)
    # THEN the batch is refused and nothing is queued
    assert refusal(refused) == (
        "AWS.SimpleQueueService.BatchRequestTooLong",
        400,
        "Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes.",
    )
    assert receive_all(cloud, tasks_queue) == []


# ============================================================================ install


def test_uninstalling_gives_moto_its_own_handlers_back(cloud):
    # GIVEN the rules installed by the running cloud
    assert EmailResponse.send_raw_email is not aws_rules._ORIGINALS["ses_send_raw_email"]
    before = sent_count()
    try:
        # WHEN they are uninstalled
        aws_rules.uninstall()
        # THEN moto's handlers are back, and moto alone sends an email with a bad tag
        assert EmailResponse.send_raw_email is aws_rules._ORIGINALS["ses_send_raw_email"]
        assert DynamoHandler.transact_write_items is aws_rules._ORIGINALS["dynamodb_transact_write_items"]
        send_raw(cloud, tags=[{"Name": "member", "Value": "auth0|5f7c"}])
        assert sent_count() == before + 1
    finally:
        aws_rules.install(cloud.clock.now)
