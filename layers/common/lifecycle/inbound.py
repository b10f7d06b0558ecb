"""What the business tells the product on the inbound bus: members who join, members whose
details change, cancellations and rejoins made through its own flows, viewings, and billing's
confirmations that it stopped or resumed charging a member. Each event
is an EventBridge event whose ``detail-type`` names its kind and whose ``detail`` follows that
kind's JSON Schema (``SCHEMAS``, published in ``docs/events/``); every detail carries
``occurred_at``, when it happened at the business.

Events may come twice and out of order: each is applied by conditional writes that never let
an older event overwrite newer state (a join creates a member only once; each changed field
keeps the time of the change that set it; a cancellation or rejoin applies only to a member
not cancelled or rejoined since; a viewing moves ``last_watched_at`` only forward).
An event that breaks its schema is ``InvalidEvent``: it changes nothing, and the consumer
parks it with the reason."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import fastjsonschema

from lifecycle import campaign
from lifecycle.clock import parse_iso
from lifecycle.errors import InvalidRequest
from lifecycle.membership import MEMBER_DETAILS, BillingChange, NewMember, ViewingState
from lifecycle.observability import logger
from lifecycle.policy import viewing_worth_writing
from lifecycle.ports import Parking
from lifecycle.settings import Policy
from lifecycle.store import Store

MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key
MAX_CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of ours the business's clock may be
_TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, with its offset (Z for UTC)"}
_MEMBER_ID = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_BYTES, "description": "the service's own id"}
# a member's details, as the business keeps them (membership.MEMBER_DETAILS)
_DETAILS: dict[str, Any] = {
    "email": {"type": "string", "minLength": 3, "maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+$"},
    "locale": {"type": "string", "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
               "description": "BCP 47, e.g. en-US, fr-FR, pt-BR"},
    "monthly_price": {"type": "string", "pattern": "^[0-9]{1,7}(\\.[0-9]{1,4})?$",
                      "description": "decimal text; 0 or 0.00 for a member who does not pay"},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"},
}


def _schema(kind: str, description: str, properties: Mapping[str, Any], required: Iterable[str],
            **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://schemas.membership.example/inbound/{kind}.json",
        "title": kind,
        "description": description,
        "type": "object",
        "properties": {"member_id": _MEMBER_ID, "occurred_at": _TIME, **properties},
        "required": ["member_id", "occurred_at", *required],
        "additionalProperties": False,
        **extra,
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "MemberJoined": _schema("MemberJoined", "A member signed up (and pays monthly_price from occurred_at).",
                            {**_DETAILS, "joined_at": _TIME}, ["email", "monthly_price", "currency"]),
    "MemberChanged": _schema("MemberChanged", "Some of a member's details changed at occurred_at.",
                             _DETAILS, [], anyOf=[{"required": [name]} for name in _DETAILS]),
    "MembershipEnded": _schema("MembershipEnded", "The member cancelled through the service's own account page "
                               "(which confirmed it and stopped billing) at occurred_at.", {}, []),
    "MemberRejoined": _schema("MemberRejoined", "The member came back through the service's sign-up flow (billing "
                              "resumed there) at occurred_at.", {}, []),
    "ViewingRecorded": _schema("ViewingRecorded", "The member watched something at occurred_at.", {}, []),
    "BillingStopped": _schema("BillingStopped", "Billing stopped charging the member at occurred_at, for the "
                              "cancellation MembershipCancelled named (its cancelled_at).",
                              {"cancelled_at": _TIME}, ["cancelled_at"]),
    "BillingResumed": _schema("BillingResumed", "Billing resumed charging the member at occurred_at, for the "
                              "rejoin MembershipRejoined named (its rejoined_at).",
                              {"rejoined_at": _TIME}, ["rejoined_at"]),
}
KINDS = tuple(SCHEMAS)
def registry_schema(kind: str) -> dict[str, Any]:
    """The whole EventBridge event of a kind, for the EventBridge schema registry (which takes
    JSON Schema draft 4): its ``detail`` is the kind's schema, unchanged but for the draft."""
    detail = {key: value for key, value in SCHEMAS[kind].items() if key not in ("$schema", "$id")}
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": kind,
        "description": f"The EventBridge event that carries a {kind} on the inbound bus.",
        "type": "object",
        "properties": {"detail-type": {"type": "string", "enum": [kind]}, "source": {"type": "string"},
                       "time": {"type": "string", "format": "date-time"}, "detail": detail},
        "required": ["detail-type", "source", "detail"],
    }


_VALIDATORS = {kind: fastjsonschema.compile(schema) for kind, schema in SCHEMAS.items()}


APPLIED, PARKED, COALESCED = "applied", "parked", "coalesced"
UNCHANGED = "recorded already"  # a viewing of a day whose first viewing is recorded


class InvalidEvent(InvalidRequest):
    """An inbound event that cannot be applied as sent; the message says why, field by field."""

    def __init__(self, reason: str, kind: str | None = None):
        super().__init__(reason)
        self.kind = kind  # its detail-type, when it is one the product knows


@dataclass(frozen=True)
class InboundEvent:
    kind: str
    member_id: str
    occurred_at: datetime
    details: Mapping[str, str] = field(default_factory=dict)  # the member's details it carries
    joined_at: datetime | None = None
    changed_at: datetime | None = None  # BillingStopped's cancelled_at, BillingResumed's rejoined_at


def parse(body: str) -> InboundEvent:
    """The event an SQS message from the inbound bus carries; ``InvalidEvent`` saying why not."""
    try:
        envelope = json.loads(body)
    except ValueError:
        raise InvalidEvent("the message is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("detail"), dict):
        raise InvalidEvent("the message is not an EventBridge event with a detail object")
    kind = envelope.get("detail-type")
    if kind not in SCHEMAS:
        raise InvalidEvent(f"detail-type {kind!r} is not one of {', '.join(KINDS)}")
    detail: dict[str, Any] = envelope["detail"]
    try:
        _VALIDATORS[kind](detail)
    except fastjsonschema.JsonSchemaValueException as exc:
        # the rule broken and where, never the value (it may be an address)
        where = (exc.name or "data").replace("data", "detail", 1)
        raise InvalidEvent(f"{kind}: {where} {_broken(exc)}", kind) from None
    if len(detail["member_id"].encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidEvent(f"{kind}: detail.member_id is longer than {MAX_KEY_BYTES} bytes", kind)
    return InboundEvent(
        kind,
        detail["member_id"],
        _moment(detail["occurred_at"], kind, "occurred_at"),
        {name: detail[name] for name in MEMBER_DETAILS if name in detail},
        _moment(detail["joined_at"], kind, "joined_at") if "joined_at" in detail else None,
        next((_moment(detail[name], kind, name) for name in ("cancelled_at", "rejoined_at") if name in detail), None),
    )


def _broken(exc: fastjsonschema.JsonSchemaValueException) -> str:
    rule, definition = exc.rule, exc.rule_definition
    if rule == "required":
        return f"must have {', '.join(definition)}"
    if rule == "anyOf":
        return f"must name at least one of {', '.join(MEMBER_DETAILS)}"
    if rule == "additionalProperties":
        return "has a field its schema does not name"
    if rule in ("pattern", "format", "minLength", "maxLength", "type"):
        return f"breaks its schema's {rule} {definition}"
    return f"breaks its schema's rule {rule}"


_NANOSECONDS = re.compile(r"(\.\d{6})\d+")  # Go and Java write nine digits; Python reads six


def _moment(text: str, kind: str, name: str) -> datetime:
    try:
        moment = parse_iso(_NANOSECONDS.sub(r"\1", text.upper(), count=1))  # RFC 3339 allows "t" and "z"
    except ValueError:
        raise InvalidEvent(f"{kind}: detail.{name} is not an RFC 3339 time with an offset", kind) from None
    return moment


class Batch:
    """One batch of messages from the inbound queue, read whole first: of each member's viewings
    only the latest is applied (a streaming service sends many plays a member; the others say
    nothing it does not)."""

    def __init__(self, bodies: Mapping[str, str]):  # message id -> body
        self.events: dict[str, InboundEvent | InvalidEvent] = {}
        for message_id, body in bodies.items():
            try:
                self.events[message_id] = parse(body)
            except InvalidEvent as invalid:
                self.events[message_id] = invalid
        latest: dict[str, tuple[datetime, str]] = {}
        for message_id, event in self.events.items():
            if isinstance(event, InboundEvent) and event.kind == "ViewingRecorded":
                known = latest.get(event.member_id)
                if known is None or event.occurred_at > known[0]:
                    latest[event.member_id] = (event.occurred_at, message_id)
        self._latest_viewings = {message_id for _, message_id in latest.values()}
        self._viewers = list(latest)
        self._viewing_states: dict[str, ViewingState] | None = None  # read at the first viewing applied

    def apply(self, store: Store, parking: Parking, message_id: str, body: str, now: datetime, policy: Policy) -> str:
        """What became of one message: ``parked`` (invalid: kept with the reason, nothing changed),
        ``coalesced`` (a later viewing in the batch says it), ``recorded already`` (a viewing
        the stored one makes worthless: the batch's viewers are read once, half a read unit
        each, instead of a conditional write refused at a whole write unit), or what ``apply``
        says. Raises for what a retry may cure."""
        event = self.events[message_id]
        if isinstance(event, InboundEvent) and event.kind == "ViewingRecorded":
            if message_id not in self._latest_viewings:
                return COALESCED
            if self._viewing_states is None:  # one read for the batch's viewers, not a write tried each
                self._viewing_states = store.members.viewing_states(self._viewers)
            known = self._viewing_states.get(event.member_id)
            plausible = campaign.EARLIEST_VIEWING <= event.occurred_at <= now + MAX_CLOCK_SKEW  # else parked below
            if known is not None and plausible and not viewing_worth_writing(
                    known.last_watched_at, known.notice_open, min(event.occurred_at, now)):
                return UNCHANGED
        try:
            if isinstance(event, InvalidEvent):
                raise event
            return apply(store, event, now, policy)
        except InvalidRequest as invalid:  # it broke its schema, or says what cannot be
            parking.park(body, str(invalid), event.kind)
            logger.warning("inbound event parked", extra={"reason": str(invalid), "message_id": message_id})
            return PARKED


def apply(store: Store, event: InboundEvent, now: datetime, policy: Policy) -> str:
    """Applies one event; says what it did (``applied``, or why it changed nothing). Safe to
    repeat and to receive out of order. ``MemberNotFound`` for a change or viewing of a member
    not joined yet (the message is retried, so a join delivered late still lands first)."""
    if event.occurred_at > now + MAX_CLOCK_SKEW:
        raise InvalidEvent(f"{event.kind}: detail.occurred_at is more than 5 minutes in the future", event.kind)
    event = replace(event, occurred_at=min(event.occurred_at, now))  # the business's clock may be a little ahead
    if event.kind == "MemberJoined":
        member = NewMember(event.member_id, joined_at=event.joined_at or event.occurred_at, **event.details)
        return APPLIED if store.members.join(member, event.occurred_at) else "already joined"
    if event.kind == "MemberChanged":
        changed = store.members.change_details(event.member_id, event.details, event.occurred_at)
        return APPLIED if changed else "older than what is stored"
    if event.kind == "MembershipEnded":
        ended = campaign.cancel_elsewhere(store, event.member_id, event.occurred_at, policy)
        return APPLIED if ended else "not active, or changed since"
    if event.kind in ("BillingStopped", "BillingResumed"):
        assert event.changed_at is not None, "the schema requires cancelled_at or rejoined_at"
        change: BillingChange = "stopped" if event.kind == "BillingStopped" else "resumed"
        confirmed = store.members.confirm_billing(event.member_id, change, event.changed_at, event.occurred_at)
        return APPLIED if confirmed else "confirmed already, or for an earlier change"
    if event.kind == "MemberRejoined":
        back = campaign.rejoin_elsewhere(store, event.member_id, event.occurred_at)
        return APPLIED if back else "cancelled or rejoined after it"
    campaign.record_activity(store, event.member_id, event.occurred_at, now, policy)
    return APPLIED
