"""examples/billing-consumer end to end: its own template deployed beside the product's on the
local cloud, a real HTTP server standing in for the billing API. A cancellation reaches the
API once (its idempotency key the same for every copy of the event), the confirmation reaches
the product, and a billing API that fails for a while, or a cancellation published again, ends
the same way."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest

from lifecycle.aws import forget_clients
from local import LocalCloud
from local.cloud import APP_ROLE_ARN
from local.template import DEFAULT_TEMPLATE, PROJECT_ROOT, Template, load_yaml
from tests.stack import START, Stack, iso

EXAMPLE = PROJECT_ROOT / "examples" / "billing-consumer"
DEADLINE = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)  # of the notices the first sweep opens
TOKEN = "bk_live_6Jq2Xv9TzR4wLm8N"


class BillingApi:
    """The business's billing API: acts once per Idempotency-Key (a key seen again gets the
    first answer again, as Stripe's API does), answers when the change took effect (the
    local cloud's time), and can be told to answer 503 to the next requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.acted: dict[str, str] = {}  # key -> the answer
        self.unavailable_for = 0
        self.now = lambda: datetime.now(UTC)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                key = self.headers.get("Idempotency-Key", "")
                api.requests.append({"path": unquote(self.path), "key": key, "body": body,
                                     "authorization": self.headers.get("Authorization", "")})
                if api.unavailable_for > 0:
                    api.unavailable_for -= 1
                    status, answer = 503, "{}"
                else:
                    status = 200
                    answer = api.acted.setdefault(key, json.dumps({"effective_at": iso(api.now())}))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def with_the_example(product: Template) -> Template:
    """The product's template with the example's resources added, as if both were deployed in
    one account: the example's parameters are given the product's bus names at deploy time."""
    body, example = copy.deepcopy(product.body), load_yaml((EXAMPLE / "template.yaml").read_text(encoding="utf-8"))
    body["Parameters"].update(example["Parameters"])
    body.setdefault("Conditions", {}).update(example.get("Conditions", {}))
    for logical_id, resource in example["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = str(EXAMPLE.relative_to(PROJECT_ROOT))
        body["Resources"][logical_id] = resource
    body["Outputs"].update(example.get("Outputs", {}))
    return Template(body, DEFAULT_TEMPLATE)


@pytest.fixture
def billing_api() -> Iterator[BillingApi]:
    api = BillingApi()
    yield api
    api.stop()


@pytest.fixture
def billed(billing_api: BillingApi) -> Iterator[Stack]:
    with LocalCloud(START, seed=11, template=with_the_example(Template.load(DEFAULT_TEMPLATE))) as cloud:
        forget_clients()
        api_url = cloud.start_api()
        cloud.deploy({
            "Stage": "test", "ServiceName": "Streamly", "RejoinUrl": "https://streamly.example/rejoin",
            "PublicBaseUrl": api_url, "AppPrincipalArns": APP_ROLE_ARN,
            "BillingEventBusName": "membership-billing-test", "InboundEventBusName": "membership-inbound-test",
            "BillingApiUrl": billing_api.url, "BillingApiTokenSecretArn": "billing-api-token",
        })
        cloud.client("secretsmanager").create_secret(Name="billing-api-token", SecretString=TOKEN)
        billing_api.now = lambda: cloud.now
        stack = Stack(cloud)
        stack.billing.ack = None  # the example answers, not the rehearsal's billing side
        stack.ttl_on_time()
        yield stack


def test_a_cancellation_is_stopped_once_at_billing_and_confirmed_back(billed, billing_api):
    # GIVEN a silent member whose notice expires
    member_id = "auth0|5f7c8ec7c33c6c004bbafe82"
    billed.add_inactive_member(member_id)
    # WHEN the deadline passes
    billed.run_until(DEADLINE + timedelta(hours=1))
    # THEN billing was asked once to stop charging the member, with the token and a key
    # derived from the member and the cancellation
    cancelled_at = billed.member(member_id)["cancelled_at"]
    (request,) = billing_api.requests
    assert request["path"] == f"/v1/members/{member_id}/billing/stop"
    assert request["authorization"] == f"Bearer {TOKEN}"
    # no charge after the cancellation's end: at once, by default
    assert json.loads(request["body"]) == {"change_at": cancelled_at, "ends_at": cancelled_at}
    # AND the product heard billing's confirmation, and publishes the cancellation no more
    billed.run_until(DEADLINE + timedelta(days=3))
    assert billed.member(member_id)["billing_confirmed_at"]
    assert len(billed.bus("MembershipCancelled")) == 1 and len(billing_api.requests) == 1


def test_a_billing_api_down_for_a_while_is_retried_and_a_copy_of_the_event_is_acted_on_once(billed, billing_api):
    # GIVEN a billing API that answers 503 to the next three requests
    member_id = "cus_NffrFeUfNV2Hib"
    billed.add_inactive_member(member_id)
    billing_api.unavailable_for = 3
    # WHEN the member is cancelled
    billed.run_until(DEADLINE + timedelta(hours=1))
    # THEN the queue delivered the event again until billing took it, always with the same key
    assert [r["path"].rsplit("/", 1)[1] for r in billing_api.requests] == ["stop"] * 4
    assert len({r["key"] for r in billing_api.requests}) == 1
    assert len(billing_api.acted) == 1
    # AND when the same event comes again (the product publishing it again), billing acts not
    # twice: it knows the key, and the consumer confirms all the same
    event = billed.bus("MembershipCancelled")[0]
    billed.cloud.client("events").put_events(Entries=[{
        "EventBusName": "membership-billing-test", "Source": event.source, "DetailType": event.detail_type,
        "Detail": json.dumps(event.detail)}])
    billed.cloud.settle()
    assert len(billing_api.requests) == 5 and len(billing_api.acted) == 1
    assert billed.member(member_id)["billing_confirmed_at"]
    assert billed.cloud.queue_messages("BillingEventsDeadLetterQueue") == []


def test_a_rejoin_resumes_billing_and_is_confirmed(billed, billing_api):
    member_id = "9b2f7c1e-4d3a-4f6b-8e2d-1a5c7b9e0f13"
    billed.add_inactive_member(member_id)
    billed.run_until(DEADLINE + timedelta(hours=1))
    # WHEN the member rejoins through the service's app
    assert billed.app("POST", f"/members/{member_id}/rejoin").status_code == 200
    billed.cloud.settle()
    # THEN billing was asked to resume, and the product recorded billing's confirmation
    assert [r["path"].rsplit("/", 1)[1] for r in billing_api.requests] == ["stop", "resume"]
    assert len(billing_api.acted) == 2
    assert billed.member(member_id)["status"] == "active"
    assert billed.member(member_id)["billing_confirmed_at"] == iso(billed.cloud.now)
