"""Reading back what the stack sent, from the AWS side: SES mail and EventBridge events.

Owns :func:`read_sent_emails` (SES messages as the moto server keeps them, read from its
``/moto-api/data.json``) and :class:`BusTap` (an SQS queue ``local-<bus>-tap`` fed by a rule
that matches every event of a bus - moto keeps PutEvents entries nowhere unless a rule
targets something). Both are the local cloud's own instruments, never part of the template.

The stack sends only raw mail (``SendRawEmail``, the one send its roles allow): moto keeps
the whole MIME message, parsed here into its parts. Other sends are not read.
"""
from __future__ import annotations

import email
import email.policy
import html as html_lib
import json
import re
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_URL = re.compile(r"""https?://[^\s<>"')\]]+""")


@dataclass(frozen=True)
class SentEmail:
    """One email SES accepted."""

    message_id: str
    source: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    raw: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def body(self) -> str:
        return self.html if self.html is not None else (self.text or "")

    @property
    def links(self) -> tuple[str, ...]:
        """The links a reader can follow: hrefs of the HTML part, else URLs in the text."""
        if self.html is not None:
            found = [html_lib.unescape(a or b) for a, b in _HREF.findall(self.html)]
        else:
            found = _URL.findall(self.text or "")
        return tuple(dict.fromkeys(found))

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc + self.bcc


def _parse_mime(raw: str) -> dict[str, Any]:
    message = email.message_from_string(raw, policy=email.policy.default)
    parts: dict[str, Any] = {"subject": message.get("Subject"), "html": None, "text": None,
                             "to": tuple(a.strip() for a in (message.get("To") or "").split(",") if a.strip()),
                             "cc": tuple(a.strip() for a in (message.get("Cc") or "").split(",") if a.strip()),
                             "headers": {name: str(value) for name, value in message.items()}}
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/html" and parts["html"] is None:
            parts["html"] = part.get_content()
        elif kind == "text/plain" and parts["text"] is None:
            parts["text"] = part.get_content()
    return parts


def read_sent_emails(endpoint_url: str) -> list[SentEmail]:
    """Every raw email the moto server at ``endpoint_url`` accepted."""
    with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/data.json", timeout=30) as response:
        return sent_emails_from(json.load(response).get("ses", {}))


def read_sent_emails_in_process(account_id: str, region: str,
                                parsed: dict[int, list[SentEmail]] | None = None) -> list[SentEmail]:
    """The same, in the order they were sent, from a moto server running in this process: its
    SES backend read directly (the dashboard's JSON dump costs a tenth of a second, and a
    campaign reads its mail thousands of times). ``parsed`` keeps messages already parsed."""
    from moto.ses.models import ses_backends

    parsed = {} if parsed is None else parsed
    sent: list[SentEmail] = []
    for message in ses_backends[account_id][region].sent_messages:
        if id(message) not in parsed:
            parsed[id(message)] = sent_emails_from({type(message).__name__: [vars(message)]})
        sent.extend(parsed[id(message)])
    return sent


def sent_emails_from(ses: Mapping[str, Any]) -> list[SentEmail]:
    """SentEmails from moto's raw SES messages (its dashboard's ``ses`` section)."""
    sent: list[SentEmail] = []
    for message in ses.get("RawMessage", []):
        parts = _parse_mime(message.get("raw_data") or "")
        to = parts["to"] or tuple(message.get("destinations") or ())
        sent.append(SentEmail(message["id"], message.get("source", ""), to, parts["cc"], (), parts["subject"],
                              parts["html"], parts["text"], raw=message.get("raw_data"), headers=parts["headers"]))
    return sent


# ------------------------------------------------------------------------------ event buses


@dataclass(frozen=True)
class BusEvent:
    """One event published on an event bus."""

    bus: str
    id: str
    source: str
    detail_type: str
    detail: Any
    time: str
    resources: tuple[str, ...] = ()


def tap_queue_name(bus_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"local-{bus_name}-tap")[:80]


class BusTap:
    """Copies every event of one bus into an SQS queue and reads them back."""

    MATCH_EVERYTHING = json.dumps({"source": [{"prefix": ""}]})

    def __init__(self, events_client: Any, sqs_client: Any, bus_name: str, peek: Callable[[str], bool]):
        self.bus_name = bus_name
        self._sqs = sqs_client
        self._peek = peek  # peek(queue name) -> whether a receive would find a message (no request)
        name = self.queue_name = tap_queue_name(bus_name)
        self.queue_url = sqs_client.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs_client.get_queue_attributes(QueueUrl=self.queue_url,
                                                    AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events_client.put_rule(Name=name, EventBusName=bus_name, EventPattern=self.MATCH_EVERYTHING,
                               Description="local cloud: copies every event of the bus for tests and reports")
        events_client.put_targets(Rule=name, EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}])
        self.events: list[BusEvent] = []

    def drain(self) -> list[BusEvent]:
        """Every event published so far (each read from the queue once, kept here)."""
        while self._peek(self.queue_name):
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                 VisibilityTimeout=60).get("Messages", [])
            for message in messages:
                body = json.loads(message["Body"])
                detail = body.get("detail")
                if isinstance(detail, str):
                    with suppress(ValueError):
                        detail = json.loads(detail)
                self.events.append(BusEvent(self.bus_name, body.get("id", ""), body.get("source", ""),
                                            body.get("detail-type", ""), detail, body.get("time", ""),
                                            tuple(body.get("resources") or ())))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self.events)
