"""BillingBus on Amazon EventBridge: one entry per event, on the stack's billing bus."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lifecycle import aws
from lifecycle.errors import DeliveryFailed

SOURCE = "membership.lifecycle"


class EventBridgeBus:
    def __init__(self, event_bus_name: str):
        self.event_bus_name = event_bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}
        try:
            answer = aws.client("events").put_events(Entries=[{**entry, "EventBusName": self.event_bus_name}])
        except ClientError as exc:
            raise DeliveryFailed(f"EventBridge refused {detail_type}: {exc.response['Error']['Code']}") from exc
        if answer.get("FailedEntryCount"):  # PutEvents answers 200 and names a refused entry's error
            raise DeliveryFailed(f"EventBridge refused {detail_type}: {answer['Entries'][0].get('ErrorCode')}")
