"""The member tables (through PynamoDB), where the domain reads and decides; with the ports it
sends through (``ports``: mail, the billing bus, the link keys), on AWS unless others are
handed in. ``sweep.progress`` keeps the sweep's own progress.

Every state change is one DynamoDB transaction whose conditions re-check exactly what the
decision was based on (status, open notice, the stored activity marks), so a decision taken
on a stale read fails instead of acting, and running any step twice changes nothing twice.
AWS errors leave this module as domain errors (``raise ... from exc``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal, cast, overload

from pynamodb.exceptions import DoesNotExist, GetError, TableError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from lifecycle.adapters.eventbridge import EventBridgeBus
from lifecycle.adapters.secrets_manager import SecretsManagerLinkKeys
from lifecycle.adapters.ses import SesMailer
from lifecycle.conditional import conditional_write
from lifecycle.errors import ConcurrentChange, DeliveryFailed, MemberNotFound
from lifecycle.models import (
    HOLD,
    NOTICE,
    LifecycleRecord,
    LinkRecord,
    MemberDataRecord,
    MemberRecord,
    bind_tables,
    iso,
    parse_iso,
)
from lifecycle.policy import MemberView, PrefilterCutoffs
from lifecycle.ports import BillingBus, LinkKeys, Mailer
from lifecycle.settings import Settings

# email_status values after which an address gets no more email: a permanent bounce, a
# complaint, or an address SES refuses to send to at all
UNREACHABLE = ("bounced", "complained", "refused")

# The attributes the sweep's policy reads: the scan fetches these and nothing else.
SWEEP_PROJECTION = (
    "member_id",
    "status",
    "monthly_price",
    "joined_at",
    "last_watched_at",
    "engaged_at",
    "notice_id",
    "notice_opened_at",
    "notice_deadline",
    "notice_reminded_at",
    "retained_until",
    "purged_at",
    "cancelled_at",
    "cancellation_announced_at",
    "rejoined_at",
    "email",
    "locale",
    "currency",
)
_OPEN_NOTICE_FIELDS = ("notice_id", "notice_opened_at", "notice_deadline", "notice_reminded_at")


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


class IdempotentTransaction(TransactWrite):
    """A transaction whose ClientRequestToken is a digest of the whole request: the same writes
    under the same conditions share a token, so DynamoDB applies a retried request once (for 10
    minutes, its idempotency window), and two different requests never share one (DynamoDB would
    refuse the second with IdempotentParameterMismatchException)."""

    def _commit(self) -> Any:
        self._client_request_token = request_token(
            self._condition_check_items, self._delete_items, self._put_items, self._update_items
        )
        return super()._commit()


def request_token(*parts: object) -> str:
    """36 characters (DynamoDB's limit) of SHA-256 over the request, written canonically."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:36]


class MalformedMember(ValueError):
    """A member item the policy cannot read (missing or unparsable attribute)."""


@dataclass(frozen=True)
class ScanPage:
    items: list[dict[str, Any]]
    scanned: int  # members read, including those the prefilter dropped
    next_key: dict[str, Any] | None = None  # where the segment goes on; None at its end
    read_units: float = 0.0  # what DynamoDB charged for the page


@dataclass(frozen=True)
class ActivityMarks:
    """``last_watched_at`` and ``engaged_at`` exactly as stored, so a write can require that
    neither moved since the read (whatever format the activity feed wrote them in)."""

    last_watched_at: str | None
    engaged_at: str | None


@dataclass(frozen=True)
class MemberSnapshot:
    """What one read of a member gave: the policy's view, the raw activity marks, and how to
    reach the member."""

    view: MemberView
    marks: ActivityMarks
    email: str
    locale: str
    currency: str


def snapshot_from_item(item: dict[str, Any]) -> MemberSnapshot:
    """A member from a raw DynamoDB item (the sweep's scan pages). Raises ``MalformedMember``."""

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
        if "S" not in value:
            raise MalformedMember(f"member attribute {name} is not a string")
        return cast(str, value["S"])  # a DynamoDB string attribute: {"S": text}

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
    )
    return MemberSnapshot(
        view,
        ActivityMarks(text("last_watched_at"), text("engaged_at")),
        email=text("email") or "",
        locale=text("locale") or "",
        currency=text("currency") or "USD",
    )


def _unchanged(marks: ActivityMarks) -> Condition:
    """Condition: the activity marks still hold what was read."""
    conditions: list[Condition] = []
    for name, raw in (("last_watched_at", marks.last_watched_at), ("engaged_at", marks.engaged_at)):
        conditions.append(Path(name).does_not_exist() if raw is None else Path(name) == raw)
    return cast(Condition, conditions[0] & conditions[1])  # pynamodb leaves Condition's operators untyped


def _remove_open_notice() -> list[Action]:
    return [getattr(MemberRecord, name).remove() for name in _OPEN_NOTICE_FIELDS]


class MembershipStore:
    """Reads and writes of members, notices and retention holds."""

    def __init__(
        self,
        settings: Settings,
        *,
        mailer: Mailer | None = None,
        bus: BillingBus | None = None,
        link_keys: LinkKeys | None = None,
    ):
        self.settings = settings
        # the services the domain sends through: AWS's, unless a caller hands in others
        self.mailer: Mailer = mailer or SesMailer(settings.sender_address, settings.configuration_set)
        self.bus: BillingBus = bus or EventBridgeBus(settings.event_bus_name)
        self.link_keys: LinkKeys = link_keys or SecretsManagerLinkKeys(settings.link_secret_id)
        bind_tables(settings.activity_table, settings.lifecycle_table, settings.member_data_table, settings.link_table)

    # ------------------------------------------------------------------ reads
    def member(self, member_id: str) -> MemberRecord:
        try:
            return MemberRecord.get(member_id, consistent_read=True)
        except DoesNotExist:
            raise MemberNotFound(member_id) from None
        except GetError as exc:
            raise DeliveryFailed(f"could not read member: {exc}") from exc

    def snapshot(self, member_id: str) -> MemberSnapshot:
        record = self.member(member_id)
        return snapshot_from_item(record.serialize())

    def profiles(self, member_id: str) -> list[dict[str, Any]] | None:
        """The member's profiles, My List and preferences; None once purged (or never stored)."""
        try:
            return list(MemberDataRecord.get(member_id, consistent_read=True).profiles or [])
        except DoesNotExist:
            return None
        except GetError as exc:
            raise DeliveryFailed(f"could not read member data: {exc}") from exc

    def member_of_notice(self, notice_id: str) -> str | None:
        """The member whose notice this is, while its links live; None for a notice nobody has."""
        try:
            return LinkRecord.get(notice_id, consistent_read=True).member_id
        except DoesNotExist:
            return None
        except GetError as exc:
            raise DeliveryFailed(f"could not read the link's notice: {exc}") from exc

    def lifecycle_record(self, member_id: str, record: str) -> LifecycleRecord | None:
        try:
            return LifecycleRecord.get(member_id, record, consistent_read=True)
        except DoesNotExist:
            return None

    def member_count(self) -> int:
        """Members in the activity table, as DescribeTable gives them (refreshed by DynamoDB
        about every six hours: close enough to size the sweep's segments)."""
        try:
            return int(MemberRecord.describe_table().get("ItemCount", 0))
        except TableError as exc:
            raise DeliveryFailed(f"describing the activity table failed: {exc}") from exc

    def scan_page(
        self,
        cutoffs: PrefilterCutoffs | None = None,
        segment: int = 0,
        total_segments: int = 1,
        start_key: dict[str, Any] | None = None,
        page_size: int | None = None,
    ) -> ScanPage:
        """One page of raw items of one scan segment, only the attributes the policy reads,
        from ``start_key`` on. With ``cutoffs``, DynamoDB itself drops the members nothing can
        happen to (almost everyone), so they are never sent, parsed or judged here; reads are
        the same single pass."""
        answer = MemberRecord._get_connection().scan(
            filter_condition=_sweep_candidates(cutoffs) if cutoffs else None,
            exclusive_start_key=start_key,  # type: ignore[arg-type]  # pynamodb says str; it takes a LastEvaluatedKey
            segment=segment,
            total_segments=total_segments,
            limit=page_size,
            attributes_to_get=list(SWEEP_PROJECTION),
            return_consumed_capacity="TOTAL",
        )
        return ScanPage(
            answer.get("Items", []),
            answer.get("ScannedCount", 0),
            answer.get("LastEvaluatedKey"),
            float(answer.get("ConsumedCapacity", {}).get("CapacityUnits", 0)),
        )

    def scan_members(
        self, cutoffs: PrefilterCutoffs | None = None, segment: int = 0, total_segments: int = 1
    ) -> Iterator[ScanPage]:
        """Every page of one scan segment (see ``scan_page``)."""
        start_key = None
        while True:
            page = self.scan_page(cutoffs, segment, total_segments, start_key)
            yield page
            start_key = page.next_key
            if not start_key:
                return

    def put_member(self, record: MemberRecord) -> None:
        record.save()

    # ----------------------------------------------------------------- writes
    def _transact(self, build: Callable[[TransactWrite], None]) -> bool:
        """Run one transaction; False when a condition no longer holds (someone acted first)."""
        try:
            with IdempotentTransaction(connection=MemberRecord._get_connection().connection) as tx:
                build(tx)
        except TransactWriteError as exc:
            reasons = [reason.code for reason in exc.cancellation_reasons if reason is not None]
            if "ConditionalCheckFailed" in reasons:
                return False
            if exc.cause_response_code in ("IdempotentParameterMismatchException", "TransactionInProgressException"):
                raise ConcurrentChange(f"the same request is under way or differs: {exc.cause_response_code}") from exc
            raise DeliveryFailed(f"transaction failed: {exc.cause_response_code}") from exc
        return True

    def open_notice(self, snapshot: MemberSnapshot, notice: LifecycleRecord, link: LinkRecord) -> bool:
        view = snapshot.view

        def build(tx: TransactWrite) -> None:
            tx.save(notice, condition=LifecycleRecord.member_id.does_not_exist())
            tx.save(link, condition=LinkRecord.notice_id.does_not_exist())
            tx.update(
                MemberRecord(view.member_id),
                actions=[
                    MemberRecord.notice_id.set(notice.notice_id),
                    MemberRecord.notice_opened_at.set(notice.opened_at),
                    MemberRecord.notice_deadline.set(notice.deadline),
                ],
                condition=(MemberRecord.status == "active")
                & MemberRecord.notice_id.does_not_exist()
                & _unchanged(snapshot.marks),
            )

        return self._transact(build)

    def request_reminder(self, member_id: str, notice_id: str, now: datetime) -> bool:
        def build(tx: TransactWrite) -> None:
            tx.update(
                LifecycleRecord(member_id, NOTICE),
                actions=[LifecycleRecord.reminder_requested_at.set(now)],
                condition=(LifecycleRecord.notice_id == notice_id)
                & LifecycleRecord.reminder_requested_at.does_not_exist(),
            )
            tx.update(
                MemberRecord(member_id),
                actions=[MemberRecord.notice_reminded_at.set(now)],
                condition=MemberRecord.notice_id == notice_id,
            )

        return self._transact(build)

    def close_notice_kept(self, member_id: str, notice_id: str, outcome: str, now: datetime, engaged: bool) -> bool:
        """The member keeps the membership: by answering (``engaged``) or by having watched."""
        actions = [
            *_remove_open_notice(),
            MemberRecord.notice_outcome.set(outcome),
            MemberRecord.notice_closed_at.set(now),
        ]
        if engaged:
            actions.append(MemberRecord.engaged_at.set(now))

        def build(tx: TransactWrite) -> None:
            tx.delete(LifecycleRecord(member_id, NOTICE), condition=_notice_is(notice_id))
            tx.update(
                MemberRecord(member_id),
                actions=actions,
                condition=(MemberRecord.status == "active") & (MemberRecord.notice_id == notice_id),
            )

        return self._transact(build)

    def cancel(
        self,
        snapshot: MemberSnapshot,
        hold: LifecycleRecord,
        outcome: str,
        require_no_activity: bool,
    ) -> bool:
        """Cancel: close the notice, stop billing on the member's record, open the retention hold.

        A cancellation for no response also requires that nothing was watched or answered since
        the read, so activity recorded while it runs wins.
        """
        view = snapshot.view
        condition = (MemberRecord.status == "active") & (MemberRecord.notice_id == view.notice_id)
        if require_no_activity:
            condition = condition & _unchanged(snapshot.marks)

        def build(tx: TransactWrite) -> None:
            tx.delete(LifecycleRecord(view.member_id, NOTICE), condition=_notice_is(view.notice_id))
            tx.update(
                MemberRecord(view.member_id),
                actions=[
                    *_remove_open_notice(),
                    MemberRecord.status.set("cancelled"),
                    MemberRecord.cancelled_at.set(hold.cancelled_at),
                    MemberRecord.cancel_reason.set(hold.reason),
                    MemberRecord.billing_stopped_at.set(hold.cancelled_at),
                    MemberRecord.retained_until.set(hold.retained_until),
                    MemberRecord.notice_outcome.set(outcome),
                    MemberRecord.notice_closed_at.set(hold.cancelled_at),
                    MemberRecord.purged_at.remove(),
                    MemberRecord.cancellation_announced_at.remove(),
                ],
                condition=condition,
            )
            tx.save(hold)

        return self._transact(build)

    def rejoin(self, member_id: str, cancelled_at: datetime, now: datetime) -> bool:
        def build(tx: TransactWrite) -> None:
            tx.update(
                MemberRecord(member_id),
                actions=[
                    MemberRecord.status.set("active"),
                    MemberRecord.rejoined_at.set(now),
                    MemberRecord.engaged_at.set(now),
                    MemberRecord.retained_until.remove(),
                    MemberRecord.billing_resumed_at.remove(),
                ],
                condition=(MemberRecord.status == "cancelled") & (MemberRecord.cancelled_at == cancelled_at),
            )
            tx.delete(
                LifecycleRecord(member_id, HOLD),
                condition=LifecycleRecord.member_id.does_not_exist() | (LifecycleRecord.cancelled_at == cancelled_at),
            )

        return self._transact(build)

    def record_rejoin_elsewhere(self, snapshot: MemberSnapshot, now: datetime) -> bool:
        """The service's own sign-up flow made a cancelled member active again (its billing
        resumed there): the member is engaged from now, and their retention hold is over."""
        view = snapshot.view

        def build(tx: TransactWrite) -> None:
            tx.update(
                MemberRecord(view.member_id),
                actions=[
                    MemberRecord.rejoined_at.set(now),
                    MemberRecord.engaged_at.set(now),
                    MemberRecord.billing_resumed_at.set(now),  # by the business's own flow, not by an event of ours
                    MemberRecord.retained_until.remove(),
                ],
                condition=(MemberRecord.status == "active")
                & (MemberRecord.cancelled_at == view.cancelled_at)
                & (
                    Path("rejoined_at").does_not_exist()
                    if view.rejoined_at is None
                    else MemberRecord.rejoined_at == view.rejoined_at
                ),
            )
            tx.delete(
                LifecycleRecord(view.member_id, HOLD),
                condition=LifecycleRecord.member_id.does_not_exist()
                | (LifecycleRecord.cancelled_at == view.cancelled_at),
            )

        return self._transact(build)

    def purge(self, member_id: str, cancelled_at: datetime, now: datetime) -> bool:
        """Delete the kept data, only while the membership is still the one that cancellation
        left: cancelled, at that time, and not rejoined since (whoever set the status since)."""

        def build(tx: TransactWrite) -> None:
            tx.update(
                MemberRecord(member_id),
                actions=[MemberRecord.purged_at.set(now)],
                condition=(MemberRecord.status == "cancelled")
                & (MemberRecord.cancelled_at == cancelled_at)
                & MemberRecord.purged_at.does_not_exist()
                & (MemberRecord.rejoined_at.does_not_exist() | (MemberRecord.rejoined_at < cancelled_at)),
            )
            tx.delete(MemberDataRecord(member_id))
            tx.delete(
                LifecycleRecord(member_id, HOLD),
                condition=LifecycleRecord.member_id.does_not_exist() | (LifecycleRecord.cancelled_at == cancelled_at),
            )

        return self._transact(build)

    def record_watch(self, member_id: str, watched_at: datetime) -> bool:
        """Move ``last_watched_at`` forward (never back: feeds deliver out of order)."""
        stamp = iso(watched_at)
        moved = conditional_write(
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.last_watched_at.set(watched_at)],
                condition=MemberRecord.member_id.exists()
                & (MemberRecord.last_watched_at.does_not_exist() | (Path("last_watched_at") < stamp)),
            ),
            "recording activity",
        )
        if moved is None:
            self.member(member_id)  # raises MemberNotFound for an unknown member
            return False
        return True

    # ------------------------------------------------- once-only side effects
    def claim(self, member_id: str, record: str, mark: str, now: datetime, lease: SendLease) -> Claim:
        """Start a side effect of a lifecycle record (an email, an event) under ``lease``:
        ``DONE`` when it was already done or the record is gone (the notice was answered
        meanwhile), ``BUSY`` while another sender's lease is alive. The same delivery retried
        (its sender died) takes its own lease back; anyone takes an expired one."""
        claimed = conditional_write(
            lambda: LifecycleRecord(member_id, record).update(
                actions=[
                    LifecycleRecord.last_attempt_at.set(now),
                    LifecycleRecord.lease_owner.set(lease.owner),
                    LifecycleRecord.lease_until.set(lease.until),
                ],
                condition=LifecycleRecord.member_id.exists()
                & getattr(LifecycleRecord, mark).does_not_exist()
                & (
                    LifecycleRecord.lease_owner.does_not_exist()
                    | (LifecycleRecord.lease_owner == lease.owner)
                    | (LifecycleRecord.lease_until < now)
                ),
            ),
            f"starting {mark}",
        )
        if claimed is not None:
            return Claim.CLAIMED
        current = self.lifecycle_record(member_id, record)
        if current is None or getattr(current, mark) is not None:
            return Claim.DONE
        return Claim.BUSY

    def release(self, member_id: str, record: str, lease: SendLease) -> None:
        """Give a lease back after a failed send, so the retry need not wait for it to expire."""
        conditional_write(  # refused: the record is gone, or the lease no longer ours
            lambda: LifecycleRecord(member_id, record).update(
                actions=[LifecycleRecord.lease_owner.remove(), LifecycleRecord.lease_until.remove()],
                condition=LifecycleRecord.lease_owner == lease.owner,
            ),
            "releasing the send lease",
        )

    def mark_billing_resumed(self, member_id: str, rejoined_at: datetime) -> None:
        conditional_write(  # refused: the member moved on from that rejoin
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.billing_resumed_at.set(rejoined_at)],
                condition=MemberRecord.rejoined_at == rejoined_at,
            ),
            "marking billing resumed",
        )

    def mark_cancellation_announced(self, member_id: str, cancelled_at: datetime, now: datetime) -> None:
        """Billing was told and the member emailed: the sweep stops looking at this cancellation."""
        conditional_write(  # refused: announced already, or another cancellation now
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.cancellation_announced_at.set(now)],
                condition=(MemberRecord.cancelled_at == cancelled_at)
                & MemberRecord.cancellation_announced_at.does_not_exist(),
            ),
            "marking the cancellation announced",
        )

    def confirm(self, member_id: str, record: str, mark: str, now: datetime) -> None:
        """Record a side effect as done, and its lease as given back: later deliveries of the
        same change skip it."""
        conditional_write(  # refused: the record is gone meanwhile, nothing to mark
            lambda: LifecycleRecord(member_id, record).update(
                actions=[
                    getattr(LifecycleRecord, mark).set(now),
                    LifecycleRecord.lease_owner.remove(),
                    LifecycleRecord.lease_until.remove(),
                ],
                condition=LifecycleRecord.member_id.exists(),
            ),
            f"recording {mark}",
        )

    # -------------------------------------------------------- SES, EventBridge
    def email_unreachable(self, member_id: str) -> bool:
        """The member's address bounced for good or complained: send it nothing more."""
        try:
            member = MemberRecord.get(member_id, consistent_read=True, attributes_to_get=["email_status"])
        except DoesNotExist:
            return False
        return member.email_status in UNREACHABLE

    def record_email_feedback(self, member_id: str, status: str, at: datetime) -> bool:
        recorded = conditional_write(
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.email_status.set(status), MemberRecord.email_status_at.set(at)],
                condition=MemberRecord.member_id.exists(),
            ),
            "recording email feedback",
        )
        return recorded is not None


def _sweep_candidates(cutoffs: PrefilterCutoffs) -> Condition:
    """Members the sweep may act on: an open notice, ended retention, or no activity since the
    cutoffs. Times compare as stored ISO 8601 text; the cutoffs' margin covers the rest."""
    never_watched, dormant = iso(cutoffs.never_watched_before), iso(cutoffs.dormant_before)
    not_engaged_since: Callable[[str], Condition] = lambda cutoff: (  # noqa: E731
        Path("engaged_at").does_not_exist() | (Path("engaged_at") <= cutoff)
    )
    active = Path("status") == "active"
    never_watched_long_ago = (
        active
        & Path("last_watched_at").does_not_exist()
        & (Path("joined_at") <= never_watched)
        & not_engaged_since(never_watched)
    )
    dormant_long = active & (Path("last_watched_at") <= dormant) & not_engaged_since(dormant)
    retention_over = (
        (Path("status") == "cancelled")
        & (Path("retained_until") <= iso(cutoffs.retention_ended_before))
        & Path("purged_at").does_not_exist()
    )
    # both times are written by this product (ISO 8601, Z), so they compare exactly as text
    active_after_a_cancellation = (
        active
        & Path("cancelled_at").exists()
        & (Path("rejoined_at").does_not_exist() | (Path("rejoined_at") < Path("cancelled_at")))
    )
    cancellation_unannounced = (
        (Path("status") == "cancelled")
        & Path("cancelled_at").exists()
        & Path("cancellation_announced_at").does_not_exist()
    )
    return cast(
        Condition,
        Path("notice_id").exists()
        | never_watched_long_ago
        | dormant_long
        | retention_over
        | cancellation_unannounced
        | active_after_a_cancellation,
    )


def _notice_is(notice_id: str | None) -> Condition:
    """The notice item is this notice, or already gone (deleted by TTL)."""
    return cast(Condition, LifecycleRecord.member_id.does_not_exist() | (LifecycleRecord.notice_id == notice_id))
