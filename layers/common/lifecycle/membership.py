"""What the domain knows of a member, a notice and a retention hold, as plain values: what the
table ports (``ports.Members``, ``ports.Lifecycle``) take and hand back, whatever stores them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, Literal, overload

from lifecycle.clock import parse_iso
from lifecycle.policy import MemberView

NOTICE: Final = "notice"
HOLD: Final = "hold"
RecordKind = Literal["notice", "hold"]

# What a lifecycle record says was sent for it, each once.
SendMark = Literal["notice_email_at", "reminder_email_at", "cancelled_email_at", "billing_event_at"]

# email_status values after which an address gets no more email: a permanent bounce, a
# complaint, or an address SES refuses to send to at all
UNREACHABLE = ("bounced", "complained", "refused")


class MalformedMember(ValueError):
    """A member item the policy cannot read (missing or unparsable attribute)."""


@dataclass(frozen=True)
class ActivityMarks:
    """``last_watched_at`` and ``engaged_at`` exactly as stored, so a write can require that
    neither moved since the read (whatever format the activity feed wrote them in)."""

    last_watched_at: str | None
    engaged_at: str | None


@dataclass(frozen=True)
class ViewingState:
    """What a viewing's write depends on, read cheaply before it (eventually consistent)."""

    last_watched_at: datetime | None
    notice_open: bool


@dataclass(frozen=True)
class MemberSnapshot:
    """What one read of a member gave: the policy's view, the raw activity marks, and how to
    reach the member."""

    view: MemberView
    marks: ActivityMarks
    email: str
    locale: str
    currency: str
    # the business's own facts, where it writes them: the member's IANA time zone (the times
    # members read), and the end of the period already paid for (CancellationTakesEffect)
    time_zone: str | None = None
    paid_until: datetime | None = None


@dataclass(frozen=True)
class Membership(MemberSnapshot):
    """A member read whole (not from the sweep's projection): also what the apps are shown and
    whether billing has heard of a rejoin."""

    cancel_reason: str | None = None
    billing_resumed_at: datetime | None = None
    ends_at: datetime | None = None  # when the latest cancellation ends access and billing

    @property
    def monthly_price(self) -> str:
        return str(self.view.monthly_price)


# what billing confirms: that it stopped for a cancellation, or resumed for a rejoin
BillingChange = Literal["stopped", "resumed"]

# the details of a member the business may change (MemberChanged), each stamped with its change
MEMBER_DETAILS: Final = ("email", "locale", "monthly_price", "currency")

# What a purge removes from the member's row: how to reach and address the person, and what SES
# said of that address. The rest is the record of the membership that billing and the law need
# (README, "What a purged member's row keeps"); ``email_hash`` takes the address's place.
PURGED_FIELDS: Final = ("email", "locale", "email_status", "email_status_at")
# stamped changed at the purge, so a change from before it, delivered late, brings nothing back
PURGED_DETAILS: Final = ("email", "locale")


@dataclass(frozen=True)
class NewMember:
    """A member the business signed up, as its ``MemberJoined`` event says."""

    member_id: str
    joined_at: datetime
    email: str
    monthly_price: str
    currency: str
    locale: str = "en-US"


@dataclass(frozen=True)
class ScanPage:
    """One page of one scan segment: the members the prefilter let through, each read or said
    why not."""

    members: list[MemberSnapshot]
    malformed: list[str]  # why each member item that could not be read was skipped
    scanned: int  # members read, including those the prefilter dropped
    next_key: dict[str, Any] | None = None  # where the segment goes on (opaque); None at its end
    read_units: float = 0.0  # what DynamoDB charged for the page


@dataclass(frozen=True)
class Notice:
    """An open notice. Fields a stream record's image may lack are optional; the product writes
    them all."""

    member_id: str
    notice_id: str | None
    email: str
    locale: str
    reason: str | None = None  # the inactivity rule
    opened_at: datetime | None = None
    deadline: datetime | None = None
    respond_by: date | None = None  # the date written in the email
    monthly_price: str | None = None
    currency: str | None = None
    reminder_requested_at: datetime | None = None
    notice_email_at: datetime | None = None
    reminder_email_at: datetime | None = None


@dataclass(frozen=True)
class Hold:
    """A retention hold: the member's things are kept until ``retained_until``."""

    member_id: str
    email: str
    locale: str
    reason: str | None = None  # the cancel reason
    cancelled_at: datetime | None = None
    retained_until: datetime | None = None
    billing_event_at: datetime | None = None
    cancelled_email_at: datetime | None = None
    ends_at: datetime | None = None  # access and billing end (None: at the cancellation)
    time_zone: str | None = None  # the member's, for the times the confirmation states


@dataclass(frozen=True)
class LifecycleChange:
    """One stream record of the lifecycle table, as the domain sees it."""

    event_name: str
    member_id: str
    record: RecordKind
    new: Notice | Hold | None
    old: Notice | Hold | None
    event_id: str = ""  # the stream record's own id: its retries share it


class Claim(StrEnum):
    """What claiming a side effect of a lifecycle record found."""

    CLAIMED = "claimed"  # this sender sends it now
    DONE = "done"  # sent already, or nothing to send any more
    BUSY = "busy"  # another sender is sending it now


@dataclass(frozen=True)
class SendLease:
    """Who is sending, and until when that sender can be alive (its invocation's deadline, as
    Powertools' idempotency utility takes it). ``owner`` names the delivery (a stream record, a
    sweep task), so that delivery's own retry after its sender died takes the lease back."""

    owner: str
    until: datetime

    LONGEST_INVOCATION = 900  # seconds: no Lambda invocation lives longer, so no lease outlasts it

    @classmethod
    def for_delivery(cls, delivery: str, now: datetime, seconds_left: float) -> SendLease:
        seconds = min(max(seconds_left, 0), cls.LONGEST_INVOCATION)
        return cls(delivery, now + timedelta(seconds=seconds))


def opening(notice: Notice) -> tuple[str, datetime, datetime]:
    """What opening a notice writes besides the member: its id, when it opened, its deadline."""
    if notice.notice_id is None or notice.opened_at is None or notice.deadline is None:
        raise ValueError(f"a notice opens with its id, opening time and deadline: {notice}")
    return notice.notice_id, notice.opened_at, notice.deadline


def cancellation(hold: Hold) -> tuple[str, datetime, datetime]:
    """What a cancellation writes on the member and its hold: why, when, and until when things are kept."""
    if hold.reason is None or hold.cancelled_at is None or hold.retained_until is None:
        raise ValueError(f"a hold opens with its reason, cancellation time and end: {hold}")
    return hold.reason, hold.cancelled_at, hold.retained_until


def membership_from_attributes(item: Mapping[str, object]) -> Membership:
    """A member from its stored attributes as text (name → ``str``; anything else is not one
    this product or the activity feed writes). Raises ``MalformedMember``."""

    @overload
    def text(name: str, required: Literal[True]) -> str: ...
    @overload
    def text(name: str, required: bool = False) -> str | None: ...
    def text(name: str, required: bool = False) -> str | None:
        value = item.get(name)
        if value is None:
            if required:
                raise MalformedMember(f"member item lacks {name}")
            return None
        if not isinstance(value, str):
            raise MalformedMember(f"member attribute {name} is not a string")
        return value

    @overload
    def moment(name: str, required: Literal[True]) -> datetime: ...
    @overload
    def moment(name: str, required: bool = False) -> datetime | None: ...
    def moment(name: str, required: bool = False) -> datetime | None:
        raw = text(name, required)
        if raw is None:
            return None
        try:
            return parse_iso(raw)
        except ValueError as exc:
            raise MalformedMember(f"member attribute {name} is not an ISO 8601 time with a zone: {raw!r}") from exc

    member_id = text("member_id", required=True)
    try:
        price = Decimal(text("monthly_price") or "0")
    except InvalidOperation as exc:
        raise MalformedMember(f"member {member_id} has a monthly_price that is not a number") from exc
    view = MemberView(
        member_id=member_id,
        status=text("status") or "active",
        monthly_price=price,
        joined_at=moment("joined_at", required=True),
        last_watched_at=moment("last_watched_at"),
        engaged_at=moment("engaged_at"),
        notice_id=text("notice_id"),
        notice_opened_at=moment("notice_opened_at"),
        notice_deadline=moment("notice_deadline"),
        notice_reminded_at=moment("notice_reminded_at"),
        retained_until=moment("retained_until"),
        purged_at=moment("purged_at"),
        cancelled_at=moment("cancelled_at"),
        cancellation_announced=text("cancellation_announced_at") is not None,
        rejoined_at=moment("rejoined_at"),
        cancellation_announced_at=moment("cancellation_announced_at"),
        billing_confirmed_at=moment("billing_confirmed_at"),
    )
    return Membership(
        view,
        ActivityMarks(text("last_watched_at"), text("engaged_at")),
        email=text("email") or "",
        locale=text("locale") or "",
        currency=text("currency") or "USD",
        time_zone=text("time_zone"),
        paid_until=_lenient_moment(item.get("paid_until")),
        cancel_reason=text("cancel_reason"),
        billing_resumed_at=moment("billing_resumed_at"),
        ends_at=moment("billing_stopped_at"),
    )


def _lenient_moment(raw: object) -> datetime | None:
    """The business's ``paid_until``: a value it wrote wrong counts as unknown (the cancellation
    then takes effect at once), never as a member the campaign cannot read."""
    if not isinstance(raw, str):
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        return None
