"""A reference billing consumer: the product's billing events in, the billing API called, the
confirmation out.

Each ``MembershipCancelled`` (and ``MembershipRejoined``) the product publishes on its billing
bus reaches this function through a queue. It asks the billing API to stop (or resume)
charging the member, with an ``Idempotency-Key`` derived from the member and the change - the
same for every copy of one event (the product publishes a cancellation again while it is
unconfirmed; queues deliver twice), so billing acts once - and, once billing has said yes,
publishes ``BillingStopped`` (``BillingResumed``) on the product's inbound bus, naming the
member and the change. A message that fails is retried by the queue, then kept on its
dead-letter queue; the others in the batch are not held up (partial batch responses).

The billing API this expects (adapt ``call_billing`` to yours):
``POST {BILLING_API_URL}/members/{member_id}/billing/stop`` (or ``/resume``) with a JSON body
``{"change_at": ...}`` and the headers ``Idempotency-Key`` and, when a token is configured,
``Authorization: Bearer``; a 2xx answer is done - its JSON ``effective_at``, when billing
stopped or resumed charging, is the confirmation's ``occurred_at`` - and so is a 409 for a key
it acted on already (then the time of this answer stands for it).
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3

SOURCE = "billing-consumer"
CHANGES = {
    # detail-type: (what billing is asked, the time that names the change, the confirmation)
    "MembershipCancelled": ("stop", "cancelled_at", "BillingStopped"),
    "MembershipRejoined": ("resume", "rejoined_at", "BillingResumed"),
}
TIMEOUT_SECONDS = 10


class BillingRefused(RuntimeError):
    """The billing API answered with something other than done: the message is retried."""


def idempotency_key(member_id: str, change: str, change_at: str) -> str:
    """One key per member and change, whatever copy of the event carries it."""
    return hashlib.sha256(f"{member_id}\x1f{change}\x1f{change_at}".encode()).hexdigest()


@cache
def _client(service: str) -> Any:
    return boto3.client(service)  # one a cold start, not one a message


def _token() -> str | None:
    """The billing API's token, read once an invocation (a rotated token is used from the next)."""
    secret = os.environ.get("BILLING_API_TOKEN_SECRET_ARN", "")
    if not secret:
        return None
    return str(_client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])


def call_billing(member_id: str, change: str, change_at: str, token: str | None, ends_at: str | None = None) -> str:
    """Asks billing for the change; when it took effect (RFC 3339). A stop names ``ends_at``:
    no charge after it (the cancellation itself, or the end of the period already paid for)."""
    member = urllib.parse.quote(member_id, safe="")  # an id may hold "/", "|" or any character
    url = f"{os.environ['BILLING_API_URL'].rstrip('/')}/members/{member}/billing/{change}"
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key(member_id, change, change_at)}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"change_at": change_at, **({"ends_at": ends_at} if ends_at else {})}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            body = answer.read()
    except urllib.error.HTTPError as error:
        if error.code != 409:  # 409: this key was acted on already
            raise BillingRefused(f"billing answered {error.code} for {change} of a member") from None
        body = b"{}"
    try:
        effective = json.loads(body or b"{}").get("effective_at")
    except (ValueError, AttributeError):
        effective = None
    return str(effective) if effective else datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def confirm(kind: str, member_id: str, changed: str, change_at: str, effective_at: str) -> None:
    answer = _client("events").put_events(Entries=[{
        "EventBusName": os.environ["INBOUND_EVENT_BUS_NAME"],
        "Source": SOURCE,
        "DetailType": kind,
        "Detail": json.dumps({"member_id": member_id, changed: change_at, "occurred_at": effective_at}),
    }])
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"the confirmation was not put on the bus: {answer['Entries']}")


def handle(body: str, token: str | None) -> None:
    event = json.loads(body)
    change, changed, kind = CHANGES[event["detail-type"]]
    member_id, change_at = event["detail"]["member_id"], event["detail"][changed]
    effective_at = call_billing(member_id, change, change_at, token, event["detail"].get("ends_at"))
    confirm(kind, member_id, changed, change_at, effective_at)


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    failures, token = [], _token()
    for record in event.get("Records", []):
        try:
            handle(record["body"], token)
        except Exception as error:  # each message on its own: the others of the batch go on
            print(json.dumps({"level": "ERROR", "message": "billing event failed", "error": type(error).__name__,
                              "detail": str(error), "message_id": record["messageId"]}))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
