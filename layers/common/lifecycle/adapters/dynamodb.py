"""``Members`` and ``Lifecycle`` on Amazon DynamoDB, through the PynamoDB models (``models``),
which nothing outside this module uses; and the lifecycle table's stream records read as the
domain's ``LifecycleChange``.

A transition that writes the lifecycle table while it re-checks the member's row in the activity
table is one ``TransactWriteItems`` here, in ``DynamoDBLifecycle``: the one adapter that owns it.
AWS errors leave this module as domain errors (``raise ... from exc``).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date, datetime
from functools import partial
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, GetError, TableError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from lifecycle.clock import iso, parse_iso
from lifecycle.conditional import conditional_write
from lifecycle.errors import ConcurrentChange, DeliveryFailed, InvalidRequest, MemberNotFound
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
    LifecycleChange,
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
from lifecycle.models import LifecycleRecord, LinkRecord, MemberDataRecord, MemberRecord
from lifecycle.policy import PrefilterCutoffs, viewing_day_start

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
    "billing_confirmed_at",
    "rejoined_at",
    "email",
    "locale",
    "currency",
)
_OPEN_NOTICE_FIELDS = ("notice_id", "notice_opened_at", "notice_deadline", "notice_reminded_at")


def snapshot_from_item(item: dict[str, Any]) -> Membership:
    """A member from a raw DynamoDB item (the sweep's scan pages). Raises ``MalformedMember``."""
    # a DynamoDB string attribute is {"S": text}; any other type is handed on for the domain to refuse
    return membership_from_attributes(
        {name: value["S"] if isinstance(value, dict) and "S" in value else value for name, value in item.items()}
    )


BATCH_GET_KEYS = 100  # BatchGetItem's limit a call
BATCH_ATTEMPTS = 8
_VIEWING_ATTRIBUTES = ("member_id", "last_watched_at", "notice_id")


def backoff_seconds(attempt: int, base: float = 0.05, cap: float = 5.0) -> float:
    """Full-jitter exponential backoff, as AWS advises for unprocessed batch items."""
    return random.uniform(0, min(cap, base * 2**attempt))


def _viewing_state(item: Mapping[str, Any]) -> ViewingState:
    stored = (item.get("last_watched_at") or {}).get("S")
    try:
        last = parse_iso(stored) if stored else None
    except ValueError:  # a row the feed wrote badly: let the conditional write decide
        last = None
    return ViewingState(last, "notice_id" in item)


# what MemberRecord fills in for an attribute an item lacks (locale, status, price, currency)
_MEMBER_DEFAULTS = {
    name: {"S": attribute.default}
    for name, attribute in MemberRecord.get_attributes().items()
    if isinstance(attribute.default, str)
}


class DynamoDBMembers:
    """The activity table and the member data table."""

    def __init__(self, activity_table: str, member_data_table: str):
        MemberRecord.Meta.table_name = activity_table
        MemberDataRecord.Meta.table_name = member_data_table

    def _record(self, member_id: str) -> MemberRecord:
        try:
            return MemberRecord.get(member_id, consistent_read=True)
        except DoesNotExist:
            raise MemberNotFound(member_id) from None
        except GetError as exc:
            raise DeliveryFailed(f"could not read member: {exc}") from exc

    def snapshot(self, member_id: str) -> Membership:
        # the item as stored, not as the model would write it back (it rewrites every time in
        # UTC): a decision then requires the activity marks unchanged, and a feed that wrote
        # "+02:00" must still match. The model's defaults fill in what the item lacks.
        try:
            item = MemberRecord._get_connection().get_item(member_id, consistent_read=True).get("Item")
        except GetError as exc:
            raise DeliveryFailed(f"could not read member: {exc}") from exc
        if item is None:
            raise MemberNotFound(member_id)
        return snapshot_from_item({**_MEMBER_DEFAULTS, **item})

    def profiles(self, member_id: str) -> list[dict[str, Any]] | None:
        try:
            return list(MemberDataRecord.get(member_id, consistent_read=True).profiles or [])
        except DoesNotExist:
            return None
        except GetError as exc:
            raise DeliveryFailed(f"could not read member data: {exc}") from exc

    def count(self) -> int:
        """As DescribeTable gives it (refreshed by DynamoDB about every six hours)."""
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
        """Only the attributes the policy reads. With ``cutoffs``, DynamoDB itself drops the
        members nothing can happen to (almost everyone), so they are never sent, parsed or judged
        here; reads are the same single pass."""
        answer = MemberRecord._get_connection().scan(
            filter_condition=_sweep_candidates(cutoffs) if cutoffs else None,
            exclusive_start_key=start_key,  # type: ignore[arg-type]  # pynamodb says str; it takes a LastEvaluatedKey
            segment=segment,
            total_segments=total_segments,
            limit=page_size,
            attributes_to_get=list(SWEEP_PROJECTION),
            return_consumed_capacity="TOTAL",
        )
        members: list[MemberSnapshot] = []
        malformed: list[str] = []
        for item in answer.get("Items", []):
            try:
                members.append(snapshot_from_item(item))
            except MalformedMember as exc:
                malformed.append(str(exc))
        return ScanPage(
            members,
            malformed,
            answer.get("ScannedCount", 0),
            answer.get("LastEvaluatedKey"),
            float(answer.get("ConsumedCapacity", {}).get("CapacityUnits", 0)),
        )

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
        connection, states = MemberRecord._get_connection(), {}
        wanted = list(dict.fromkeys(member_ids))
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            keys = wanted[start : start + BATCH_GET_KEYS]
            for attempt in range(BATCH_ATTEMPTS):
                try:
                    # each key as an attribute map (PynamoDB's hint says text; its code wants the map)
                    request = cast(Any, [{"member_id": {"S": key}} for key in keys])
                    answer = connection.batch_get_item(request, attributes_to_get=list(_VIEWING_ATTRIBUTES))
                except GetError as exc:
                    raise DeliveryFailed(f"could not read members: {exc}") from exc
                for item in answer.get("Responses", {}).get(MemberRecord.Meta.table_name, []):
                    states[item["member_id"]["S"]] = _viewing_state(item)
                unprocessed = answer.get("UnprocessedKeys", {}).get(MemberRecord.Meta.table_name, {})
                keys = [key["member_id"]["S"] for key in unprocessed.get("Keys", [])]
                if not keys:
                    break
                time.sleep(backoff_seconds(attempt))  # AWS: unprocessed keys are retried with backoff
            else:
                raise DeliveryFailed(f"{len(keys)} members still unread after {BATCH_ATTEMPTS} tries")
        return states

    def record_watch(self, member_id: str, watched_at: datetime) -> ViewingState | None:
        stamp, day_began = iso(watched_at), iso(viewing_day_start(watched_at))
        last = Path("last_watched_at")
        moved = conditional_write(
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.last_watched_at.set(watched_at)],
                # once a day; and while a notice is open, every later viewing (it may close it)
                condition=MemberRecord.member_id.exists()
                & (MemberRecord.last_watched_at.does_not_exist() | (last < day_began)
                   | (MemberRecord.notice_id.exists() & (last <= stamp))),
            ),
            "recording activity",
        )
        if moved is None:
            self._record(member_id)  # raises MemberNotFound for an unknown member
            return None
        return _viewing_state(moved["Attributes"])  # UpdateItem answers with the item as written

    def join(self, member: NewMember, occurred_at: datetime) -> bool:
        record = MemberRecord(
            member.member_id,
            email=member.email,
            locale=member.locale,
            monthly_price=member.monthly_price,
            currency=member.currency,
            joined_at=member.joined_at,
            email_changed_at=occurred_at,
            locale_changed_at=occurred_at,
            monthly_price_changed_at=occurred_at,
            currency_changed_at=occurred_at,
        )
        joined = conditional_write(
            lambda: record.save(condition=MemberRecord.member_id.does_not_exist()), "adding a member"
        )
        return joined is not None

    def change_details(self, member_id: str, details: Mapping[str, str], occurred_at: datetime) -> bool:
        stamp = iso(occurred_at)
        changed = False
        for name, value in details.items():  # one write a field: each keeps the time of its own change
            if name not in MEMBER_DETAILS:
                raise InvalidRequest(f"{name} is not a detail the business changes")
            changed_at = Path(f"{name}_changed_at")
            update = partial(
                MemberRecord(member_id).update,
                actions=[Path(name).set(value), changed_at.set(stamp)],
                condition=MemberRecord.member_id.exists() & (changed_at.does_not_exist() | (changed_at < stamp)),
            )
            written = conditional_write(update, "changing a member's details")
            if written is None:
                self._record(member_id)  # raises MemberNotFound for an unknown member
            changed = changed or written is not None
        return changed

    def mark_rejoined(self, member_id: str, rejoined_at: datetime) -> bool:
        stamp = iso(rejoined_at)
        marked = conditional_write(
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.rejoined_at.set(rejoined_at), MemberRecord.engaged_at.set(rejoined_at),
                         MemberRecord.billing_resumed_at.set(rejoined_at),
                         MemberRecord.billing_confirmed_at.set(rejoined_at)],
                condition=(MemberRecord.status == "active")
                & (Path("rejoined_at").does_not_exist() | (Path("rejoined_at") < stamp))
                & (Path("cancelled_at").does_not_exist() | (Path("cancelled_at") < stamp)),
            ),
            "recording a rejoin",
        )
        return marked is not None

    def confirm_billing(
        self, member_id: str, change: BillingChange, changed_at: datetime, confirmed_at: datetime
    ) -> bool:
        latest = (
            (MemberRecord.status == "cancelled") & (MemberRecord.cancelled_at == changed_at)
            if change == "stopped"
            else (MemberRecord.status == "active") & (MemberRecord.rejoined_at == changed_at)
        )
        confirmed = conditional_write(
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.billing_confirmed_at.set(confirmed_at)],
                condition=latest & MemberRecord.billing_confirmed_at.does_not_exist(),
            ),
            "recording billing's confirmation",
        )
        return confirmed is not None

    def email_unreachable(self, member_id: str) -> bool:
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

    def mark_billing_resumed(self, member_id: str, rejoined_at: datetime) -> None:
        conditional_write(  # refused: the member moved on from that rejoin
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.billing_resumed_at.set(rejoined_at)],
                condition=MemberRecord.rejoined_at == rejoined_at,
            ),
            "marking billing resumed",
        )

    def mark_cancellation_announced(self, member_id: str, cancelled_at: datetime, now: datetime) -> None:
        conditional_write(  # refused: announced already, or another cancellation now
            lambda: MemberRecord(member_id).update(
                actions=[MemberRecord.cancellation_announced_at.set(now)],
                condition=(MemberRecord.cancelled_at == cancelled_at)
                & MemberRecord.cancellation_announced_at.does_not_exist(),
            ),
            "marking the cancellation announced",
        )


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


class DynamoDBLifecycle:
    """The lifecycle and link tables, and each transition's one transaction across them and the
    member's row in the activity table."""

    def __init__(self, activity_table: str, member_data_table: str, lifecycle_table: str, link_table: str):
        MemberRecord.Meta.table_name = activity_table
        MemberDataRecord.Meta.table_name = member_data_table  # a purge deletes the kept data
        LifecycleRecord.Meta.table_name = lifecycle_table
        LinkRecord.Meta.table_name = link_table

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

    def open_notice(self, snapshot: MemberSnapshot, notice: Notice, link_expires_at: datetime) -> bool:
        view = snapshot.view
        notice_id, opened_at, deadline = opening(notice)
        record = LifecycleRecord(
            notice.member_id,
            NOTICE,
            expires_at=deadline,
            email=notice.email,
            locale=notice.locale,
            notice_id=notice_id,
            reason=notice.reason,
            opened_at=opened_at,
            deadline=deadline,
            respond_by=notice.respond_by.isoformat() if notice.respond_by else None,
            monthly_price=notice.monthly_price,
            currency=notice.currency,
        )
        link = LinkRecord(notice_id, member_id=notice.member_id, expires_at=link_expires_at)

        def build(tx: TransactWrite) -> None:
            tx.save(record, condition=LifecycleRecord.member_id.does_not_exist())
            tx.save(link, condition=LinkRecord.notice_id.does_not_exist())
            tx.update(
                MemberRecord(view.member_id),
                actions=[
                    MemberRecord.notice_id.set(notice_id),
                    MemberRecord.notice_opened_at.set(opened_at),
                    MemberRecord.notice_deadline.set(deadline),
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

    def close_kept(self, member_id: str, notice_id: str, outcome: str, now: datetime, engaged: bool) -> bool:
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

    def cancel(self, snapshot: MemberSnapshot, hold: Hold, outcome: str, require_no_activity: bool) -> bool:
        view = snapshot.view
        reason, cancelled_at, retained_until = cancellation(hold)
        condition = (MemberRecord.status == "active") & (MemberRecord.notice_id == view.notice_id)
        if require_no_activity:
            condition = condition & _unchanged(snapshot.marks)
        record = _hold_record(hold)

        def build(tx: TransactWrite) -> None:
            tx.delete(LifecycleRecord(view.member_id, NOTICE), condition=_notice_is(view.notice_id))
            tx.update(
                MemberRecord(view.member_id),
                actions=[
                    *_remove_open_notice(),
                    MemberRecord.status.set("cancelled"),
                    MemberRecord.cancelled_at.set(cancelled_at),
                    MemberRecord.cancel_reason.set(reason),
                    MemberRecord.billing_stopped_at.set(hold.ends_at or cancelled_at),
                    MemberRecord.retained_until.set(retained_until),
                    MemberRecord.notice_outcome.set(outcome),
                    MemberRecord.notice_closed_at.set(cancelled_at),
                    MemberRecord.purged_at.remove(),
                    MemberRecord.cancellation_announced_at.remove(),
                    MemberRecord.billing_confirmed_at.remove(),  # billing has yet to confirm this one
                ],
                condition=condition,
            )
            tx.save(record)

        return self._transact(build)

    def cancel_elsewhere(self, snapshot: MemberSnapshot, hold: Hold, outcome: str) -> bool:
        view = snapshot.view
        reason, cancelled_at, retained_until = cancellation(hold)
        stamp = iso(cancelled_at)
        open_notice = MemberRecord.notice_id.does_not_exist() if view.notice_id is None else (
            MemberRecord.notice_id == view.notice_id)
        # the business's own flow confirmed it to the member and stopped billing: nothing to send
        record = _hold_record(hold, cancelled_email_at=cancelled_at, billing_event_at=cancelled_at)

        def build(tx: TransactWrite) -> None:
            if view.notice_id is not None:
                tx.delete(LifecycleRecord(view.member_id, NOTICE), condition=_notice_is(view.notice_id))
            actions = [
                *_remove_open_notice(),
                MemberRecord.status.set("cancelled"),
                MemberRecord.cancelled_at.set(cancelled_at),
                MemberRecord.cancel_reason.set(reason),
                MemberRecord.billing_stopped_at.set(cancelled_at),
                MemberRecord.retained_until.set(retained_until),
                MemberRecord.purged_at.remove(),
                MemberRecord.cancellation_announced_at.set(cancelled_at),
                MemberRecord.billing_confirmed_at.set(cancelled_at),
            ]
            if view.notice_id is not None:
                actions += [MemberRecord.notice_outcome.set(outcome), MemberRecord.notice_closed_at.set(cancelled_at)]
            if view.status == "active":
                as_read = (MemberRecord.status == "active") & open_notice
            else:  # cancelled again: it came back meanwhile, and that rejoin has not reached us yet
                as_read = (MemberRecord.status == "cancelled") & (MemberRecord.cancelled_at == view.cancelled_at)
            tx.update(
                MemberRecord(view.member_id),
                actions=actions,
                condition=as_read
                & (Path("cancelled_at").does_not_exist() | (Path("cancelled_at") < stamp))
                & (Path("rejoined_at").does_not_exist() | (Path("rejoined_at") < stamp)),
            )
            tx.save(record)  # in place of the hold of an earlier cancellation

        return self._transact(build)

    def rejoin(self, member_id: str, cancelled_at: datetime, now: datetime, *, resumed_elsewhere: bool = False) -> bool:
        # billing resumed by the business's own flow, or to be told (MembershipRejoined) and to confirm
        billing = (
            [MemberRecord.billing_resumed_at.set(now), MemberRecord.billing_confirmed_at.set(now)]
            if resumed_elsewhere
            else [MemberRecord.billing_resumed_at.remove(), MemberRecord.billing_confirmed_at.remove()]
        )

        def build(tx: TransactWrite) -> None:
            tx.update(
                MemberRecord(member_id),
                actions=[
                    MemberRecord.status.set("active"),
                    MemberRecord.rejoined_at.set(now),
                    MemberRecord.engaged_at.set(now),
                    MemberRecord.retained_until.remove(),
                    *billing,
                ],
                condition=(MemberRecord.status == "cancelled") & (MemberRecord.cancelled_at == cancelled_at),
            )
            tx.delete(LifecycleRecord(member_id, HOLD), condition=_hold_of(cancelled_at))

        return self._transact(build)

    def record_rejoin_elsewhere(self, snapshot: MemberSnapshot, now: datetime) -> bool:
        view = snapshot.view

        def build(tx: TransactWrite) -> None:
            tx.update(
                MemberRecord(view.member_id),
                actions=[
                    MemberRecord.rejoined_at.set(now),
                    MemberRecord.engaged_at.set(now),
                    MemberRecord.billing_resumed_at.set(now),  # by the business's own flow, not by an event of ours
                    MemberRecord.billing_confirmed_at.set(now),
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
            tx.delete(LifecycleRecord(view.member_id, HOLD), condition=_hold_of(view.cancelled_at))

        return self._transact(build)

    def purge(self, member_id: str, cancelled_at: datetime, now: datetime, email: str, email_hash: str | None) -> bool:
        address = Path("email")
        # the address hashed is the one removed: one changed since the read refuses the purge
        address_as_read = address == email if email else address.does_not_exist() | (address == "")
        actions: list[Action] = [
            MemberRecord.purged_at.set(now),
            *(Path(name).remove() for name in PURGED_FIELDS),
            *(Path(f"{name}_changed_at").set(iso(now)) for name in PURGED_DETAILS),
        ]
        if email_hash is not None:
            actions.append(MemberRecord.email_hash.set(email_hash))

        def build(tx: TransactWrite) -> None:
            tx.update(
                MemberRecord(member_id),
                actions=actions,
                condition=(MemberRecord.status == "cancelled")
                & (MemberRecord.cancelled_at == cancelled_at)
                & MemberRecord.purged_at.does_not_exist()
                & (MemberRecord.rejoined_at.does_not_exist() | (MemberRecord.rejoined_at < cancelled_at))
                & address_as_read,
            )
            tx.delete(MemberDataRecord(member_id))
            tx.delete(LifecycleRecord(member_id, HOLD), condition=_hold_of(cancelled_at))

        return self._transact(build)

    def member_of_notice(self, notice_id: str) -> str | None:
        try:
            return LinkRecord.get(notice_id, consistent_read=True).member_id
        except DoesNotExist:
            return None
        except GetError as exc:
            raise DeliveryFailed(f"could not read the link's notice: {exc}") from exc

    def _lifecycle_record(self, member_id: str, record: RecordKind) -> LifecycleRecord | None:
        try:
            return LifecycleRecord.get(member_id, record, consistent_read=True)
        except DoesNotExist:
            return None

    def notice(self, member_id: str) -> Notice | None:
        item = self._lifecycle_record(member_id, NOTICE)
        return None if item is None else _notice(item)

    def hold(self, member_id: str) -> Hold | None:
        item = self._lifecycle_record(member_id, HOLD)
        return None if item is None else _hold(item)

    def claim(self, member_id: str, record: RecordKind, mark: SendMark, now: datetime, lease: SendLease) -> Claim:
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
        current = self._lifecycle_record(member_id, record)
        if current is None or getattr(current, mark) is not None:
            return Claim.DONE
        return Claim.BUSY

    def release(self, member_id: str, record: RecordKind, lease: SendLease) -> None:
        conditional_write(  # refused: the record is gone, or the lease no longer ours
            lambda: LifecycleRecord(member_id, record).update(
                actions=[LifecycleRecord.lease_owner.remove(), LifecycleRecord.lease_until.remove()],
                condition=LifecycleRecord.lease_owner == lease.owner,
            ),
            "releasing the send lease",
        )

    def confirm(self, member_id: str, record: RecordKind, mark: SendMark, now: datetime) -> None:
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


def lifecycle_change(raw: object) -> LifecycleChange:
    """A DynamoDB stream record of the lifecycle table as Lambda delivers it; ``InvalidRequest``
    says what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidRequest("stream record is not an object")
    event_name = raw.get("eventName")
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise InvalidRequest(f"stream record has eventName {event_name!r}, expected INSERT, MODIFY or REMOVE")
    change = raw.get("dynamodb")
    if not isinstance(change, dict) or not isinstance(change.get("Keys"), dict):
        raise InvalidRequest("stream record has no dynamodb.Keys")
    keys = change["Keys"]
    member_id = keys.get("member_id", {}).get("S") if isinstance(keys.get("member_id"), dict) else None
    record = keys.get("record", {}).get("S") if isinstance(keys.get("record"), dict) else None
    if not member_id or record not in (NOTICE, HOLD):
        raise InvalidRequest("stream record keys must be member_id (S) and record 'notice' or 'hold'")
    event_id = raw.get("eventID")
    if not isinstance(event_id, str):
        event_id = ""
    kind: RecordKind = NOTICE if record == NOTICE else HOLD
    return LifecycleChange(
        event_name, member_id, kind, _image(change, "NewImage", kind), _image(change, "OldImage", kind), event_id
    )


def _image(change: dict[str, Any], name: str, kind: RecordKind) -> Notice | Hold | None:
    image = change.get(name)
    if image is None:
        return None
    try:
        item = LifecycleRecord.from_raw_data(image)
    except Exception as exc:  # PynamoDB raises assorted errors for a malformed image
        raise InvalidRequest(f"stream record {name} is not a lifecycle item: {exc}") from exc
    return _notice(item) if kind == NOTICE else _hold(item)


# PynamoDB types every attribute as present; a stored item or a stream image may lack one
def _optional(item: LifecycleRecord, name: str) -> Any:
    return getattr(item, name, None)


def _notice(item: LifecycleRecord) -> Notice:
    respond_by = _optional(item, "respond_by")
    return Notice(
        member_id=item.member_id,
        notice_id=_optional(item, "notice_id"),
        email=_optional(item, "email") or "",
        locale=_optional(item, "locale") or "",
        reason=_optional(item, "reason"),
        opened_at=_optional(item, "opened_at"),
        deadline=_optional(item, "deadline"),
        respond_by=date.fromisoformat(respond_by) if respond_by else None,
        monthly_price=_optional(item, "monthly_price"),
        currency=_optional(item, "currency"),
        reminder_requested_at=_optional(item, "reminder_requested_at"),
        notice_email_at=_optional(item, "notice_email_at"),
        reminder_email_at=_optional(item, "reminder_email_at"),
    )


def _hold(item: LifecycleRecord) -> Hold:
    return Hold(
        member_id=item.member_id,
        email=_optional(item, "email") or "",
        locale=_optional(item, "locale") or "",
        reason=_optional(item, "reason"),
        cancelled_at=_optional(item, "cancelled_at"),
        retained_until=_optional(item, "retained_until"),
        billing_event_at=_optional(item, "billing_event_at"),
        cancelled_email_at=_optional(item, "cancelled_email_at"),
        ends_at=_optional(item, "ends_at"),
        time_zone=_optional(item, "time_zone"),
    )


def _hold_record(
    hold: Hold, cancelled_email_at: datetime | None = None, billing_event_at: datetime | None = None
) -> LifecycleRecord:
    """The lifecycle item of a retention hold (TTL at its end), with what was already sent for it."""
    reason, cancelled_at, retained_until = cancellation(hold)
    return LifecycleRecord(
        hold.member_id,
        HOLD,
        expires_at=retained_until,
        email=hold.email,
        locale=hold.locale,
        reason=reason,
        cancelled_at=cancelled_at,
        retained_until=retained_until,
        ends_at=hold.ends_at,
        time_zone=hold.time_zone,
        cancelled_email_at=cancelled_email_at,
        billing_event_at=billing_event_at,
    )


def _unchanged(marks: ActivityMarks) -> Condition:
    """Condition: the activity marks still hold what was read."""
    conditions: list[Condition] = []
    for name, raw in (("last_watched_at", marks.last_watched_at), ("engaged_at", marks.engaged_at)):
        conditions.append(Path(name).does_not_exist() if raw is None else Path(name) == raw)
    return cast(Condition, conditions[0] & conditions[1])  # pynamodb leaves Condition's operators untyped


def _remove_open_notice() -> list[Action]:
    return [getattr(MemberRecord, name).remove() for name in _OPEN_NOTICE_FIELDS]


def _notice_is(notice_id: str | None) -> Condition:
    """The notice item is this notice, or already gone (deleted by TTL)."""
    return cast(Condition, LifecycleRecord.member_id.does_not_exist() | (LifecycleRecord.notice_id == notice_id))


def _hold_of(cancelled_at: datetime | None) -> Condition:
    """The hold item is the one of this cancellation, or already gone (deleted by TTL)."""
    return cast(Condition, LifecycleRecord.member_id.does_not_exist() | (LifecycleRecord.cancelled_at == cancelled_at))


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
    billing_unconfirmed = (
        (Path("status") == "cancelled")
        & (Path("cancellation_announced_at") <= iso(cutoffs.billing_told_before))
        & (Path("cancellation_announced_at") >= iso(cutoffs.billing_told_after))
        & Path("billing_confirmed_at").does_not_exist()
    )
    return cast(
        Condition,
        Path("notice_id").exists()
        | never_watched_long_ago
        | dormant_long
        | retention_over
        | cancellation_unannounced
        | billing_unconfirmed
        | active_after_a_cancellation,
    )
