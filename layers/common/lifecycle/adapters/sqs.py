"""Parking an inbound event that cannot be applied: the message as it came, on the inbound
dead-letter queue, with the reason as a message attribute (what the alarm's reader looks at)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from lifecycle import aws
from lifecycle.errors import DeliveryFailed

MAX_REASON_CHARS = 1024  # a reason names a field and a rule; nothing needs more


class SqsParking:
    def __init__(self, queue_url: str):
        self.queue_url = queue_url

    def park(self, body: str, reason: str, kind: str | None) -> None:
        attributes = {"reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_CHARS]}}
        if kind:
            attributes["detail_type"] = {"DataType": "String", "StringValue": kind[:256]}
        try:
            aws.client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attributes)
        except ClientError as exc:
            raise DeliveryFailed(f"parking an inbound event failed: {exc.response['Error']['Code']}") from exc
