"""In-memory fakes of the domain's ports (``lifecycle.ports``), honouring the same rules as the
AWS adapters: ``tests/contracts`` runs one set of checks against both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifecycle.adapters.eventbridge import SOURCE
from lifecycle.addresses import ses_address
from lifecycle.errors import DeliveryFailed
from lifecycle.rendering import RenderedEmail
from local.aws_rules import EVENTS_MAX_REQUEST_BYTES, event_entry_size


@dataclass(frozen=True)
class FakeMail:
    message_id: str
    to: str  # as SES is given it (a Unicode domain in Punycode)
    kind: str
    subject: str
    lang: str
    member_id: str
    sent_at: datetime


class InMemoryMailer:
    """Keeps what it sends; refuses an address SES cannot send to, as SES does."""

    def __init__(self) -> None:
        self.sent: list[FakeMail] = []

    def send(self, to: str, email: RenderedEmail, kind: str, sent_at: datetime, member_id: str) -> str:
        address = ses_address(to)  # AddressRefused, as the SES mailer
        message_id = f"fake-message-{len(self.sent) + 1}"
        self.sent.append(FakeMail(message_id, address, kind, email.subject, email.lang, member_id, sent_at))
        return message_id


class InMemoryBus:
    """Keeps what it is told; refuses an entry EventBridge would refuse for its size."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}
        if event_entry_size(entry) >= EVENTS_MAX_REQUEST_BYTES:
            raise DeliveryFailed(f"EventBridge refused {detail_type}: ValidationException")
        self.events.append((detail_type, json.loads(entry["Detail"])))


class InMemoryLinkKeys:
    """The secret's value, as given."""

    def __init__(self, value: object):
        self.value = value

    def secret(self) -> object:
        return self.value
