"""In-memory fakes of the domain's ports (``lifecycle.ports``), honouring the same rules as the
AWS adapters: ``tests/contracts`` runs one set of checks against both."""

from __future__ import annotations

import json
import zlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from lifecycle.adapters.dynamodb import SWEEP_PROJECTION
from lifecycle.adapters.eventbridge import SOURCE
from lifecycle.adapters.sqs import MAX_REASON_CHARS
from lifecycle.addresses import ses_address
from lifecycle.clock import iso, parse_iso
from lifecycle.errors import DeliveryFailed, InvalidRequest, MemberNotFound
from lifecycle.membership import (
    HOLD,
    MEMBER_DETAILS,
    NOTICE,
    PURGED_DETAILS,
    PURGED_FIELDS,
    UNREACHABLE,
    ActivityMarks,
    BillingChange,
    Claim,
    Hold,
    MalformedMember,
    Membership,
    MemberSnapshot,
    NewMember,
    Notice,
    RecordKind,
    ScanPage,
    SendLease,
    SendMark,
    ViewingState,
    cancellation,
    membership_from_attributes,
    opening,
)
from lifecycle.policy import PrefilterCutoffs, viewing_day_start
from lifecycle.rendering import RenderedEmail
from lifecycle.store import Store
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
    text: str = ""  # the plain-text part, as the member reads it


class InMemoryMailer:
    """Keeps what it sends; refuses an address SES cannot send to, as SES does."""

    def __init__(self) -> None:
        self.sent: list[FakeMail] = []

    def send(self, to: str, email: RenderedEmail, kind: str, sent_at: datetime, member_id: str) -> str:
        address = ses_address(to)  # AddressRefused, as the SES mailer
        message_id = f"fake-message-{len(self.sent) + 1}"
        self.sent.append(FakeMail(message_id, address, kind, email.subject, email.lang, member_id, sent_at, email.text))
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


@dataclass
class InMemoryParking:
    """The inbound dead-letter queue: what was parked, in order, as (body, reason, kind)."""

    parked: list[tuple[str, str, str | None]] = field(default_factory=list)

    def park(self, body: str, reason: str, kind: str | None) -> None:
        self.parked.append((body, reason[:MAX_REASON_CHARS], kind))


class InMemoryLinkKeys:
    """The secret's value, as given."""

    def __init__(self, value: object):
        self.value = value

    def secret(self) -> object:
        return self.value


class InMemoryAddressKeys(InMemoryLinkKeys):
    """The address-hash secret's value, as given."""


ADDRESS_KEY = "address-hash-key-of-the-fakes-only-000000000000000000000"


# ------------------------------------------------------------------ the member tables
# What the activity table's model fills in for an attribute a row lacks (``models.MemberRecord``).
MEMBER_DEFAULTS = {"locale": "en-US", "status": "active", "monthly_price": "0.00", "currency": "USD"}


def inactive_member(member_id: str, **attributes: str) -> dict[str, str]:
    """The activity row of a paying member silent since 2023, as the service writes it."""
    return {
        "email": f"{member_id}@members.example",
        "locale": "fr-FR",
        "status": "active",
        "monthly_price": "9.99",
        "currency": "EUR",
        "joined_at": "2020-01-01T00:00:00Z",
        "last_watched_at": "2023-01-01T00:00:00Z",
        **attributes,
    }
_ACTIVITY = ("notice_id", "notice_opened_at", "notice_deadline", "notice_reminded_at")


class InMemoryTables:
    """The four member tables in dictionaries: member rows as the activity table stores them
    (attribute → text), profiles, lifecycle records with their send leases, and links."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, str]] = {}
        self.member_data: dict[str, list[dict[str, Any]]] = {}
        self.records: dict[tuple[str, RecordKind], Notice | Hold] = {}
        self.leases: dict[tuple[str, RecordKind], SendLease] = {}
        self.links: dict[str, str] = {}  # notice id → member id

    def add_member(self, member_id: str, profiles: list[dict[str, Any]] | None = None, **attributes: str) -> None:
        """A member as the service writes it."""
        self.members[member_id] = {"member_id": member_id, **attributes}
        if profiles is not None:
            self.member_data[member_id] = profiles

    def set_member(self, member_id: str, **attributes: str) -> None:
        """The service's own activity feed writing straight into the row."""
        self.members[member_id].update(attributes)


def _stored(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def _as_stored[R: (Notice, Hold)](record: R) -> R:
    """The record as it reads back from the table: times in whole seconds."""
    times = {f.name: parse_iso(iso(v)) for f in fields(record) if isinstance(v := getattr(record, f.name), datetime)}
    return replace(record, **times)


class InMemoryMembers:
    """``Members`` on ``InMemoryTables``, refusing what the DynamoDB adapter's conditions refuse."""

    def __init__(self, tables: InMemoryTables) -> None:
        self.tables = tables

    def _row(self, member_id: str) -> dict[str, str]:
        row = self.tables.members.get(member_id)
        if row is None:
            raise MemberNotFound(member_id)
        return row

    def snapshot(self, member_id: str) -> Membership:
        return membership_from_attributes({**MEMBER_DEFAULTS, **self._row(member_id)})

    def profiles(self, member_id: str) -> list[dict[str, Any]] | None:
        profiles = self.tables.member_data.get(member_id)
        return None if profiles is None else list(profiles)

    def count(self) -> int:
        return len(self.tables.members)

    def scan_page(
        self,
        cutoffs: PrefilterCutoffs | None = None,
        segment: int = 0,
        total_segments: int = 1,
        start_key: dict[str, Any] | None = None,
        page_size: int | None = None,
    ) -> ScanPage:
        ids = sorted(i for i in self.tables.members if zlib.crc32(i.encode()) % total_segments == segment)
        if start_key is not None:
            ids = [i for i in ids if i > start_key["member_id"]]
        read = ids[:page_size] if page_size else ids
        members: list[MemberSnapshot] = []
        malformed: list[str] = []
        for member_id in read:
            row = self.tables.members[member_id]
            if cutoffs is not None and not _sweep_candidate(row, cutoffs):
                continue
            try:
                members.append(membership_from_attributes({k: v for k, v in row.items() if k in SWEEP_PROJECTION}))
            except MalformedMember as exc:
                malformed.append(str(exc))
        more = len(read) < len(ids)
        return ScanPage(members, malformed, len(read), {"member_id": read[-1]} if more else None)

    def scan_members(
        self, cutoffs: PrefilterCutoffs | None = None, segment: int = 0, total_segments: int = 1
    ) -> Iterator[ScanPage]:
        start_key = None
        while True:
            page = self.scan_page(cutoffs, segment, total_segments, start_key)
            yield page
            start_key = page.next_key
            if not start_key:
                return

    def viewing_states(self, member_ids: Collection[str]) -> dict[str, ViewingState]:
        states = {}
        for member_id in member_ids:
            row = self.tables.members.get(member_id)
            if row is not None:
                try:
                    stored = parse_iso(row["last_watched_at"]) if row.get("last_watched_at") else None
                except ValueError:  # as the adapter: a badly written row is left to the conditional write
                    stored = None
                states[member_id] = ViewingState(stored, bool(row.get("notice_id")))
        return states

    def record_watch(self, member_id: str, watched_at: datetime) -> ViewingState | None:
        row = self._row(member_id)
        stamp, day_began = iso(watched_at), iso(viewing_day_start(watched_at))
        stored = row.get("last_watched_at")
        if stored is not None and not (stored < day_began or (row.get("notice_id") and stored <= stamp)):
            return None
        row["last_watched_at"] = stamp
        return ViewingState(parse_iso(stamp), bool(row.get("notice_id")))

    def join(self, member: NewMember, occurred_at: datetime) -> bool:
        if member.member_id in self.tables.members:
            return False
        stamp = iso(occurred_at)
        self.tables.members[member.member_id] = {
            "member_id": member.member_id,
            "email": member.email,
            "locale": member.locale,
            "monthly_price": member.monthly_price,
            "currency": member.currency,
            "status": "active",
            "joined_at": iso(member.joined_at),
            **{f"{name}_changed_at": stamp for name in MEMBER_DETAILS},
        }
        return True

    def change_details(self, member_id: str, details: Mapping[str, str], occurred_at: datetime) -> bool:
        row, stamp, changed = self._row(member_id), iso(occurred_at), False
        for name, value in details.items():
            if name not in MEMBER_DETAILS:
                raise InvalidRequest(f"{name} is not a detail the business changes")
            if row.get(f"{name}_changed_at", "") < stamp:
                row[name], row[f"{name}_changed_at"], changed = value, stamp, True
        return changed

    def mark_rejoined(self, member_id: str, rejoined_at: datetime) -> bool:
        row, when = self.tables.members.get(member_id), iso(rejoined_at)
        if row is None or row.get("status") != "active" or not (
                row.get("rejoined_at", "") < when and row.get("cancelled_at", "") < when):
            return False
        row.update(rejoined_at=when, engaged_at=when, billing_resumed_at=when, billing_confirmed_at=when)
        return True

    def confirm_billing(
        self, member_id: str, change: BillingChange, changed_at: datetime, confirmed_at: datetime
    ) -> bool:
        row = self.tables.members.get(member_id)
        status, latest = ("cancelled", "cancelled_at") if change == "stopped" else ("active", "rejoined_at")
        if row is None or row.get("status") != status or row.get(latest) != iso(changed_at) \
                or "billing_confirmed_at" in row:
            return False
        row["billing_confirmed_at"] = iso(confirmed_at)
        return True

    def email_unreachable(self, member_id: str) -> bool:
        row = self.tables.members.get(member_id)
        return row is not None and row.get("email_status") in UNREACHABLE

    def record_email_feedback(self, member_id: str, status: str, at: datetime) -> bool:
        row = self.tables.members.get(member_id)
        if row is None:
            return False
        row.update(email_status=status, email_status_at=iso(at))
        return True

    def mark_billing_resumed(self, member_id: str, rejoined_at: datetime) -> None:
        row = self.tables.members.get(member_id)
        if row is not None and row.get("rejoined_at") == iso(rejoined_at):
            row["billing_resumed_at"] = iso(rejoined_at)

    def mark_cancellation_announced(self, member_id: str, cancelled_at: datetime, now: datetime) -> None:
        row = self.tables.members.get(member_id)
        if row is not None and row.get("cancelled_at") == iso(cancelled_at) and "cancellation_announced_at" not in row:
            row["cancellation_announced_at"] = iso(now)


def _sweep_candidate(row: dict[str, str], cutoffs: PrefilterCutoffs) -> bool:
    """The DynamoDB adapter's scan filter, on the stored text as DynamoDB compares it."""
    get = row.get
    never_watched, dormant = iso(cutoffs.never_watched_before), iso(cutoffs.dormant_before)

    def not_engaged_since(cutoff: str) -> bool:
        return "engaged_at" not in row or row["engaged_at"] <= cutoff

    active = get("status") == "active"
    cancelled = get("status") == "cancelled"
    return (
        "notice_id" in row
        or (
            active
            and "last_watched_at" not in row
            and get("joined_at", "~") <= never_watched
            and not_engaged_since(never_watched)
        )
        or (active and "last_watched_at" in row and row["last_watched_at"] <= dormant and not_engaged_since(dormant))
        or (
            cancelled
            and "retained_until" in row
            and row["retained_until"] <= iso(cutoffs.retention_ended_before)
            and "purged_at" not in row
        )
        or (cancelled and "cancelled_at" in row and "cancellation_announced_at" not in row)
        or (
            cancelled
            and iso(cutoffs.billing_told_after)
            <= get("cancellation_announced_at", "~")
            <= iso(cutoffs.billing_told_before)
            and "billing_confirmed_at" not in row
        )
        or (active and "cancelled_at" in row and ("rejoined_at" not in row or row["rejoined_at"] < row["cancelled_at"]))
    )


class InMemoryLifecycle:
    """``Lifecycle`` on ``InMemoryTables``: each transition checks every condition of the DynamoDB
    adapter's transaction first, then writes all of it, or nothing."""

    def __init__(self, tables: InMemoryTables) -> None:
        self.tables = tables

    def _member(self, member_id: str) -> dict[str, str] | None:
        return self.tables.members.get(member_id)

    def _notice_is(self, member_id: str, notice_id: str | None) -> bool:
        record = self.tables.records.get((member_id, NOTICE))
        return record is None or (isinstance(record, Notice) and record.notice_id == notice_id)

    def _hold_of(self, member_id: str, cancelled_at: datetime | None) -> bool:
        record = self.tables.records.get((member_id, HOLD))
        return record is None or (isinstance(record, Hold) and record.cancelled_at == cancelled_at)

    def _drop(self, member_id: str, kind: RecordKind) -> None:
        self.tables.records.pop((member_id, kind), None)
        self.tables.leases.pop((member_id, kind), None)

    def open_notice(self, snapshot: MemberSnapshot, notice: Notice, link_expires_at: datetime) -> bool:
        notice_id, opened_at, deadline = opening(notice)
        row = self._member(snapshot.view.member_id)
        if (
            (notice.member_id, NOTICE) in self.tables.records
            or notice_id in self.tables.links
            or row is None
            or row.get("status") != "active"
            or "notice_id" in row
            or not _marks_as_read(row, snapshot.marks)
        ):
            return False
        self.tables.records[(notice.member_id, NOTICE)] = _as_stored(notice)
        self.tables.links[notice_id] = notice.member_id
        row.update(notice_id=notice_id, notice_opened_at=iso(opened_at), notice_deadline=iso(deadline))
        return True

    def request_reminder(self, member_id: str, notice_id: str, now: datetime) -> bool:
        record, row = self.tables.records.get((member_id, NOTICE)), self._member(member_id)
        if (
            not isinstance(record, Notice)
            or record.notice_id != notice_id
            or record.reminder_requested_at is not None
            or row is None
            or row.get("notice_id") != notice_id
        ):
            return False
        self.tables.records[(member_id, NOTICE)] = _as_stored(replace(record, reminder_requested_at=now))
        row["notice_reminded_at"] = iso(now)
        return True

    def close_kept(self, member_id: str, notice_id: str, outcome: str, now: datetime, engaged: bool) -> bool:
        row = self._member(member_id)
        if (
            not self._notice_is(member_id, notice_id)
            or row is None
            or row.get("status") != "active"
            or row.get("notice_id") != notice_id
        ):
            return False
        self._drop(member_id, NOTICE)
        for name in _ACTIVITY:
            row.pop(name, None)
        row.update(notice_outcome=outcome, notice_closed_at=iso(now))
        if engaged:
            row["engaged_at"] = iso(now)
        return True

    def cancel(self, snapshot: MemberSnapshot, hold: Hold, outcome: str, require_no_activity: bool) -> bool:
        reason, cancelled_at, retained_until = cancellation(hold)
        view = snapshot.view
        row = self._member(view.member_id)
        if (
            not self._notice_is(view.member_id, view.notice_id)
            or row is None
            or row.get("status") != "active"
            or row.get("notice_id") != view.notice_id
            or (require_no_activity and not _marks_as_read(row, snapshot.marks))
        ):
            return False
        self._drop(view.member_id, NOTICE)
        for name in (*_ACTIVITY, "purged_at", "cancellation_announced_at", "billing_confirmed_at"):
            row.pop(name, None)
        when = iso(cancelled_at)
        row.update(
            status="cancelled",
            cancelled_at=when,
            cancel_reason=reason,
            billing_stopped_at=iso(hold.ends_at or cancelled_at),
            retained_until=iso(retained_until),
            notice_outcome=outcome,
            notice_closed_at=when,
        )
        self._drop(view.member_id, HOLD)
        self.tables.records[(view.member_id, HOLD)] = _as_stored(hold)
        return True

    def cancel_elsewhere(self, snapshot: MemberSnapshot, hold: Hold, outcome: str) -> bool:
        reason, cancelled_at, retained_until = cancellation(hold)
        view, when = snapshot.view, iso(cancelled_at)
        row = self._member(view.member_id)
        as_read = row is not None and (
            row.get("status") == "active" and row.get("notice_id") == view.notice_id
            if view.status == "active"
            else row.get("status") == "cancelled" and row.get("cancelled_at") == _stored(view.cancelled_at)
        )
        if (
            row is None
            or not as_read
            or (view.notice_id is not None and not self._notice_is(view.member_id, view.notice_id))
            or not row.get("cancelled_at", "") < when
            or not row.get("rejoined_at", "") < when
        ):
            return False
        if view.notice_id is not None:
            self._drop(view.member_id, NOTICE)
            row.update(notice_outcome=outcome, notice_closed_at=when)
        for name in (*_ACTIVITY, "purged_at"):
            row.pop(name, None)
        row.update(status="cancelled", cancelled_at=when, cancel_reason=reason, billing_stopped_at=when,
                   retained_until=iso(retained_until), cancellation_announced_at=when, billing_confirmed_at=when)
        self._drop(view.member_id, HOLD)
        self.tables.records[(view.member_id, HOLD)] = _as_stored(
            replace(hold, cancelled_email_at=cancelled_at, billing_event_at=cancelled_at))
        return True

    def rejoin(self, member_id: str, cancelled_at: datetime, now: datetime, *, resumed_elsewhere: bool = False) -> bool:
        row = self._member(member_id)
        if (
            row is None
            or row.get("status") != "cancelled"
            or row.get("cancelled_at") != iso(cancelled_at)
            or not self._hold_of(member_id, cancelled_at)
        ):
            return False
        for name in ("retained_until", "billing_resumed_at", "billing_confirmed_at"):
            row.pop(name, None)
        row.update(status="active", rejoined_at=iso(now), engaged_at=iso(now))
        if resumed_elsewhere:
            row.update(billing_resumed_at=iso(now), billing_confirmed_at=iso(now))
        self._drop(member_id, HOLD)
        return True

    def record_rejoin_elsewhere(self, snapshot: MemberSnapshot, now: datetime) -> bool:
        view = snapshot.view
        row = self._member(view.member_id)
        if (
            row is None
            or row.get("status") != "active"
            or row.get("cancelled_at") != _stored(view.cancelled_at)
            or row.get("rejoined_at") != _stored(view.rejoined_at)
            or not self._hold_of(view.member_id, view.cancelled_at)
        ):
            return False
        row.pop("retained_until", None)
        stamp = iso(now)
        row.update(rejoined_at=stamp, engaged_at=stamp, billing_resumed_at=stamp, billing_confirmed_at=stamp)
        self._drop(view.member_id, HOLD)
        return True

    def purge(self, member_id: str, cancelled_at: datetime, now: datetime, email: str, email_hash: str | None) -> bool:
        row = self._member(member_id)
        if (
            row is None
            or row.get("status") != "cancelled"
            or row.get("cancelled_at") != iso(cancelled_at)
            or "purged_at" in row
            or not ("rejoined_at" not in row or row["rejoined_at"] < iso(cancelled_at))
            or row.get("email", "") != email
            or not self._hold_of(member_id, cancelled_at)
        ):
            return False
        for name in PURGED_FIELDS:
            row.pop(name, None)
        row.update({f"{name}_changed_at": iso(now) for name in PURGED_DETAILS}, purged_at=iso(now))
        if email_hash is not None:
            row["email_hash"] = email_hash
        self.tables.member_data.pop(member_id, None)
        self._drop(member_id, HOLD)
        return True

    def member_of_notice(self, notice_id: str) -> str | None:
        return self.tables.links.get(notice_id)

    def notice(self, member_id: str) -> Notice | None:
        record = self.tables.records.get((member_id, NOTICE))
        return record if isinstance(record, Notice) else None

    def hold(self, member_id: str) -> Hold | None:
        record = self.tables.records.get((member_id, HOLD))
        return record if isinstance(record, Hold) else None

    def claim(self, member_id: str, record: RecordKind, mark: SendMark, now: datetime, lease: SendLease) -> Claim:
        item = self.tables.records.get((member_id, record))
        if item is None or getattr(item, mark) is not None:
            return Claim.DONE
        held = self.tables.leases.get((member_id, record))
        if held is not None and held.owner != lease.owner and not held.until < parse_iso(iso(now)):
            return Claim.BUSY
        self.tables.leases[(member_id, record)] = SendLease(lease.owner, parse_iso(iso(lease.until)))
        return Claim.CLAIMED

    def release(self, member_id: str, record: RecordKind, lease: SendLease) -> None:
        held = self.tables.leases.get((member_id, record))
        if held is not None and held.owner == lease.owner:
            del self.tables.leases[(member_id, record)]

    def confirm(self, member_id: str, record: RecordKind, mark: SendMark, now: datetime) -> None:
        item = self.tables.records.get((member_id, record))
        if item is not None:
            self.tables.records[(member_id, record)] = _as_stored(replace(item, **{mark: now}))
            self.tables.leases.pop((member_id, record), None)


def _marks_as_read(row: dict[str, str], marks: ActivityMarks) -> bool:
    return row.get("last_watched_at") == marks.last_watched_at and row.get("engaged_at") == marks.engaged_at


def in_memory_store(tables: InMemoryTables, link_secret: object = None, address_secret: object = None) -> Store:
    """Every port in memory, on ``tables``: no AWS, no network."""
    return Store(
        members=InMemoryMembers(tables),
        lifecycle=InMemoryLifecycle(tables),
        mailer=InMemoryMailer(),
        bus=InMemoryBus(),
        link_keys=InMemoryLinkKeys(link_secret if link_secret is not None else {"current": "k" * 48}),
        address_keys=InMemoryAddressKeys(address_secret if address_secret is not None else {"key": ADDRESS_KEY}),
    )
