"""One set of checks for each port, run against its AWS adapter on the local cloud and against
its in-memory fake (``tests/fakes.py``): what one accepts, refuses and hands back, the other
does too, so tests that run on the fakes say what production would do."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from lifecycle.adapters.sqs import SqsParking
from lifecycle.addresses import address_key
from lifecycle.errors import AddressRefused, DeliveryFailed
from lifecycle.ports import AddressKeys, BillingBus, LinkKeys, Mailer, Parking
from lifecycle.rendering import RenderedEmail
from lifecycle.settings import Settings
from lifecycle.store import Store
from tests.fakes import ADDRESS_KEY, InMemoryAddressKeys, InMemoryBus, InMemoryLinkKeys, InMemoryMailer, InMemoryParking
from tests.real_world import MEMBER_IDS

SENT_AT = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
EMAIL = RenderedEmail(
    subject="Möchtest du deine Mitgliedschaft behalten?", html="<p>Hallo</p>", text="Hallo", lang="de"
)


@dataclass
class Wired:
    """A port, and how to see what it did."""

    port: Any
    seen: Callable[[], list[Any]]


def aws_settings(stack) -> Settings:
    return Settings.from_env(dict(stack.cloud.stack.function("NotifyFunction").environment))


def aws_store(stack) -> Store:
    return Store.on_aws(aws_settings(stack))


@pytest.fixture(params=["aws", "fake"])
def mail(request) -> Iterator[Wired]:
    if request.param == "fake":
        mailer = InMemoryMailer()
        yield Wired(mailer, lambda: [(m.to, m.kind, m.subject) for m in mailer.sent])
        return
    stack = request.getfixturevalue("stack")
    sent = stack.cloud.sent_emails
    yield Wired(
        aws_store(stack).mailer, lambda: [(m.to[0], m.headers.get("X-Membership-Email"), m.subject) for m in sent()]
    )


@pytest.fixture(params=["aws", "fake"])
def bus(request) -> Iterator[Wired]:
    if request.param == "fake":
        fake = InMemoryBus()
        yield Wired(fake, lambda: list(fake.events))
        return
    stack = request.getfixturevalue("stack")
    yield Wired(aws_store(stack).bus, lambda: [(e.detail_type, e.detail) for e in stack.bus()])


@pytest.fixture(params=["aws", "fake"])
def keys(request) -> Iterator[tuple[LinkKeys, object]]:
    if request.param == "fake":
        value = {"current": "k" * 48}
        yield InMemoryLinkKeys(value), value
        return
    stack = request.getfixturevalue("stack")
    store = aws_store(stack)
    stored = stack.cloud.client("secretsmanager").get_secret_value(SecretId=aws_settings(stack).link_secret_id)
    yield store.link_keys, json.loads(stored["SecretString"])


@pytest.mark.parametrize("member_id", MEMBER_IDS[:3])
def test_a_mailer_sends_to_the_address_as_ses_takes_it_and_gives_a_message_id(mail, member_id):
    mailer: Mailer = mail.port
    message_id = mailer.send("anna.schmidt@bücher.example", EMAIL, "notice", SENT_AT, member_id)
    assert isinstance(message_id, str) and message_id
    assert mail.seen() == [("anna.schmidt@xn--bcher-kva.example", "notice", EMAIL.subject)]


@pytest.mark.parametrize("address", ["josé@example.com", "anna.schmidt@", "not an address"])
def test_a_mailer_refuses_an_address_ses_cannot_send_to_and_sends_nothing(mail, address):
    mailer: Mailer = mail.port
    with pytest.raises(AddressRefused):
        mailer.send(address, EMAIL, "notice", SENT_AT, MEMBER_IDS[0])
    assert mail.seen() == []


def test_a_bus_hands_billing_the_event_as_published(bus):
    port: BillingBus = bus.port
    detail = {"member_id": MEMBER_IDS[0], "cancelled_at": "2026-07-02T12:00:00Z", "reason": "no_response"}
    port.publish("MembershipCancelled", detail)
    assert bus.seen() == [("MembershipCancelled", detail)]


def test_a_bus_refuses_an_event_too_large_for_eventbridge_and_delivers_nothing(bus):
    port: BillingBus = bus.port
    with pytest.raises(DeliveryFailed, match="EventBridge refused MembershipCancelled"):
        port.publish("MembershipCancelled", {"member_id": MEMBER_IDS[0], "note": "x" * (256 * 1024)})
    assert bus.seen() == []


def test_link_keys_hand_back_the_secrets_json_value(keys):
    port, stored = keys
    assert port.secret() == stored


@pytest.fixture(params=["aws", "fake"])
def address_keys(request) -> Iterator[tuple[AddressKeys, object]]:
    if request.param == "fake":
        value = {"key": ADDRESS_KEY}
        yield InMemoryAddressKeys(value), value
        return
    stack = request.getfixturevalue("stack")
    secret_id = aws_settings(stack).address_secret_id
    assert secret_id == stack.cloud.outputs["AddressHashSecretArn"]
    stored = stack.cloud.client("secretsmanager").get_secret_value(SecretId=secret_id)
    yield aws_store(stack).address_keys, json.loads(stored["SecretString"])


def test_address_keys_hand_back_the_secrets_json_value_with_a_usable_key(address_keys):
    port, stored = address_keys
    assert port.secret() == stored
    assert len(address_key(port.secret())) >= 32  # the stack generates its key: nobody has to set one


@pytest.fixture(params=["aws", "fake"])
def parking(request) -> Iterator[Wired]:
    if request.param == "fake":
        fake = InMemoryParking()
        yield Wired(fake, lambda: list(fake.parked))
        return
    stack = request.getfixturevalue("stack")
    environment = stack.cloud.stack.function("InboundFunction").environment
    port = SqsParking(Settings.from_env(dict(environment)).inbound_dead_letter_queue_url)

    def seen() -> list[tuple[str, str, str | None]]:
        parked = []
        for message in stack.cloud.queue_messages("InboundDeadLetterQueue"):
            attributes = message.message_attributes
            kind = attributes.get("detail_type")
            parked.append((message.body, attributes["reason"]["StringValue"], kind and kind["StringValue"]))
        return parked

    yield Wired(port, seen)


def test_parking_keeps_the_event_as_it_came_with_its_reason(parking):
    port: Parking = parking.port
    body = json.dumps({"detail-type": "MemberChanged", "detail": {"member_id": MEMBER_IDS[12], "locale": "xx"}})
    port.park(body, "MemberChanged: detail.locale breaks its schema's pattern " + "x" * 2000, "MemberChanged")
    port.park("not json {", "the message is not JSON", None)
    [(first_body, first_reason, first_kind), second] = parking.seen()
    assert (first_body, first_kind) == (body, "MemberChanged")
    assert first_reason.startswith("MemberChanged: detail.locale") and len(first_reason) == 1024
    assert second == ("not json {", "the message is not JSON", None)
