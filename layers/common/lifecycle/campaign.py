"""The notice lifecycle: open, remind, answer, settle at the deadline, cancel, rejoin, purge.

Each step reads the member, decides with the pure policy, and writes through one
conditional transaction. When the condition fails (someone else acted first, or this is a
retry of a step that already happened) the step re-reads and decides again, so every step is
safe to run twice and no decision is taken on stale data.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from lifecycle.errors import ConcurrentChange, InvalidRequest, MemberNotFound, NoOpenNotice, NotCancelled
from lifecycle.models import HOLD, NOTICE, LifecycleRecord, MemberRecord, iso
from lifecycle.notifications import catch_up
from lifecycle.observability import logger
from lifecycle.policy import (
    Inactivity,
    SweepAction,
    deadline_for,
    plan,
    prefilter_cutoffs,
    respond_by,
    retained_until,
    used_since,
)
from lifecycle.repository import MalformedMember, MembershipStore, MemberSnapshot, snapshot_from_item
from lifecycle.settings import Policy, Settings

MAX_ATTEMPTS = 3  # re-read and decide again this many times when a write loses a race


class Outcome(StrEnum):
    KEPT = "kept"
    KEPT_BY_WATCHING = "kept_by_watching"
    CANCELLED_ON_REQUEST = "cancelled_on_request"
    CANCELLED_NO_RESPONSE = "cancelled_no_response"


CANCEL_REASONS = {
    Outcome.CANCELLED_ON_REQUEST: "member_request",
    Outcome.CANCELLED_NO_RESPONSE: "no_response",
}


class Choice(StrEnum):
    KEEP = "keep"
    CANCEL = "cancel"


# ---------------------------------------------------------------- notices
def open_notice(
    store: MembershipStore, snapshot: MemberSnapshot, rule: Inactivity, now: datetime, policy: Policy
) -> bool:
    """Open a notice for an inactive member; False if one is open already or the member changed."""
    view = snapshot.view
    deadline = deadline_for(now, policy)
    notice = LifecycleRecord(
        view.member_id,
        NOTICE,
        expires_at=deadline,
        email=snapshot.email,
        locale=snapshot.locale,
        notice_id=secrets.token_urlsafe(9),
        reason=rule.value,
        opened_at=now,
        deadline=deadline,
        respond_by=respond_by(now, policy).isoformat(),
        monthly_price=str(view.monthly_price),
        currency=snapshot.currency,
    )
    opened = store.open_notice(snapshot, notice)
    if opened:
        logger.info("notice opened", extra={"member_id": view.member_id, "rule": rule.value, "deadline": iso(deadline)})
    return opened


def request_reminder(store: MembershipStore, member_id: str, notice_id: str, now: datetime) -> bool:
    return store.request_reminder(member_id, notice_id, now)


def answer_notice(
    store: MembershipStore, member_id: str, notice_id: str, choice: Choice, now: datetime, policy: Policy
) -> Outcome:
    """The member's own answer, from the page or the app. An answer after the deadline still
    counts while the membership has not been cancelled yet: nobody who said "keep" is cancelled."""
    for _ in range(MAX_ATTEMPTS):
        snapshot = store.snapshot(member_id)
        if snapshot.view.notice_id != notice_id or snapshot.view.status != "active":
            raise NoOpenNotice(f"notice {notice_id} of member {member_id} is not open")
        if choice is Choice.KEEP:
            if store.close_notice_kept(member_id, notice_id, Outcome.KEPT, now, engaged=True):
                logger.info("member kept the membership", extra={"member_id": member_id})
                return Outcome.KEPT
        elif _cancel(store, snapshot, Outcome.CANCELLED_ON_REQUEST, now, policy):
            return Outcome.CANCELLED_ON_REQUEST
    raise ConcurrentChange(f"member {member_id} kept changing while answering")


def keep_open_notice(store: MembershipStore, member_id: str, now: datetime, policy: Policy) -> Outcome:
    """ "Keep", said in the app: answers whichever notice is open."""
    notice_id = store.snapshot(member_id).view.notice_id
    if notice_id is None:
        raise NoOpenNotice(f"member {member_id} has no open notice")
    return answer_notice(store, member_id, notice_id, Choice.KEEP, now, policy)


def settle_notice(
    store: MembershipStore, member_id: str, notice_id: str, now: datetime, policy: Policy
) -> Outcome | None:
    """The deadline passed (TTL deletion, or the sweep found it overdue): keep a member who used
    the service during the notice, cancel one who did not answer. None when there is nothing to
    settle (already answered or settled, not due yet, member gone)."""
    for _ in range(MAX_ATTEMPTS):
        try:
            snapshot = store.snapshot(member_id)
        except MemberNotFound:
            logger.warning("notice of an unknown member", extra={"member_id": member_id})
            return None
        view = snapshot.view
        if view.notice_id != notice_id or view.status != "active":
            return None
        if view.notice_deadline is None or now < view.notice_deadline:
            logger.warning("notice not due yet; left open", extra={"member_id": member_id})
            return None
        if used_since(view, view.notice_opened_at):
            if store.close_notice_kept(member_id, notice_id, Outcome.KEPT_BY_WATCHING, now, engaged=False):
                return Outcome.KEPT_BY_WATCHING
        elif _cancel(store, snapshot, Outcome.CANCELLED_NO_RESPONSE, now, policy):
            return Outcome.CANCELLED_NO_RESPONSE
    raise ConcurrentChange(f"member {member_id} kept changing while settling notice {notice_id}")


def _cancel(store: MembershipStore, snapshot: MemberSnapshot, outcome: Outcome, now: datetime, policy: Policy) -> bool:
    view = snapshot.view
    hold = LifecycleRecord(
        view.member_id,
        HOLD,
        expires_at=retained_until(now, policy),
        email=snapshot.email,
        locale=snapshot.locale,
        reason=CANCEL_REASONS[outcome],
        cancelled_at=now,
        retained_until=retained_until(now, policy),
    )
    cancelled = store.cancel(snapshot, hold, outcome, require_no_activity=outcome is Outcome.CANCELLED_NO_RESPONSE)
    if cancelled:
        logger.info("membership cancelled", extra={"member_id": view.member_id, "reason": hold.reason})
    return cancelled


# ------------------------------------------------------- the service's apps
EARLIEST_VIEWING = datetime(1970, 1, 1, tzinfo=UTC)  # older is a client's mistake, not a viewing


def record_activity(store: MembershipStore, member_id: str, watched_at: datetime, now: datetime) -> Outcome | None:
    """The member watched something. An open notice closes at once: nobody who uses the
    service is asked again, reminded or cancelled."""
    if watched_at > now:
        raise InvalidRequest("watched_at is in the future")
    if watched_at < EARLIEST_VIEWING:
        raise InvalidRequest("watched_at is before 1970")
    store.record_watch(member_id, watched_at)
    for _ in range(MAX_ATTEMPTS):
        view = store.snapshot(member_id).view
        if view.notice_id is None or view.status != "active" or not used_since(view, view.notice_opened_at):
            return None
        if store.close_notice_kept(member_id, view.notice_id, Outcome.KEPT_BY_WATCHING, now, engaged=False):
            return Outcome.KEPT_BY_WATCHING
    raise ConcurrentChange(f"member {member_id} kept changing while recording activity")


def rejoin(store: MembershipStore, member_id: str, now: datetime) -> MemberRecord:
    """Come back: membership and billing resume; within retention, everything is as it was.
    Asking again after a failure finishes the job (billing hears of it) instead of refusing."""
    member = store.member(member_id)
    if not _rejoined_but_unannounced(member):
        if member.status != "cancelled" or member.cancelled_at is None:
            raise NotCancelled(f"member {member_id} is not cancelled")
        store.rejoin(member_id, member.cancelled_at, now)
        member = store.member(member_id)
        if member.status != "active":
            raise ConcurrentChange(f"member {member_id} changed while rejoining")
    if _rejoined_but_unannounced(member):
        store.publish(
            "MembershipRejoined",
            {
                "member_id": member_id,
                "rejoined_at": iso(member.rejoined_at),
                "previously_cancelled_at": iso(member.cancelled_at),
                "billing": "resume",
            },
        )
        store.mark_billing_resumed(member_id, member.rejoined_at)
        logger.info("member rejoined", extra={"member_id": member_id})
    return store.member(member_id)


def _rejoined_but_unannounced(member: MemberRecord) -> bool:
    return member.status == "active" and member.rejoined_at is not None and member.billing_resumed_at is None


# ------------------------------------------------------------------ retention
def purge_retained_data(store: MembershipStore, member_id: str, cancelled_at: datetime, now: datetime) -> bool:
    """Delete profiles, My List and preferences for good, once retention has run out for the
    cancellation it was held for (a member who rejoined, or was cancelled again since, keeps them)."""
    try:
        member = store.member(member_id)
    except MemberNotFound:
        return False
    if member.status != "cancelled" or member.cancelled_at != cancelled_at or member.purged_at is not None:
        return False
    if member.retained_until is None or now < member.retained_until:
        logger.warning("retention not over yet; nothing purged", extra={"member_id": member_id})
        return False
    purged = store.purge(member_id, cancelled_at, now)
    if purged:
        logger.info("retained data purged", extra={"member_id": member_id})
    return purged


# ---------------------------------------------------------------- the sweep
@dataclass
class SweepReport:
    scanned: int = 0
    malformed: int = 0
    dry_run: bool = False
    actions: Counter = field(default_factory=Counter)  # done (or, in a dry run, that would be done)
    skipped: Counter = field(default_factory=Counter)  # actions not taken because a condition failed
    inactive_found: int = 0
    deferred: int = 0  # notices left for the next run by MaxNoticesPerRun
    guard_tripped: bool = False
    caught_up: Counter = field(default_factory=Counter)  # emails and events a lost stream record owed

    def as_dict(self) -> dict:
        return {
            "scanned": self.scanned,
            "malformed": self.malformed,
            "dry_run": self.dry_run,
            "actions": dict(self.actions),
            "lost_races": dict(self.skipped),
            "inactive_found": self.inactive_found,
            "deferred": self.deferred,
            "guard_tripped": self.guard_tripped,
            "caught_up": dict(self.caught_up),
        }


def sweep(
    store: MembershipStore, now: datetime, settings: Settings, segment: int = 0, total_segments: int = 1
) -> SweepReport:
    """One pass over the members: open notices, request reminders, settle overdue notices and
    purge expired retention. It is also the safety net for stream records that never arrived:
    overdue notices and retentions are settled here, and unsent emails and events caught up."""
    policy = settings.policy
    report = SweepReport(dry_run=policy.dry_run)
    newly_inactive: list[tuple[MemberSnapshot, str]] = []
    for page in store.scan_members(prefilter_cutoffs(now, policy), segment, total_segments):
        report.scanned += page.scanned
        for item in page.items:
            try:
                snapshot = snapshot_from_item(item)
            except MalformedMember as exc:
                report.malformed += 1
                logger.warning("malformed member skipped", extra={"problem": str(exc)})
                continue
            decision = plan(snapshot.view, now, policy)
            if decision.action is SweepAction.OPEN_NOTICE:
                newly_inactive.append((snapshot, decision.why))  # opened only once the whole pass is seen
            elif decision.action is not SweepAction.NOTHING:
                _record(
                    report,
                    decision.action,
                    policy.dry_run or _carry_out(store, snapshot, decision.action, now, policy),
                )
            view = snapshot.view
            if not policy.dry_run and (view.has_open_notice or not view.cancellation_announced):
                report.caught_up.update(catch_up(store, view, now, settings))
    report.inactive_found = len(newly_inactive)
    if _looks_like_a_broken_feed(report, policy):
        report.guard_tripped = True
        logger.error(
            "sweep opened no notice: too many members look inactive at once, the sign of a broken activity feed",
            extra={
                "inactive_found": report.inactive_found,
                "scanned": report.scanned,
                "max_notice_share": policy.max_notice_share,
            },
        )
        return report
    # those inactive the longest first, when MaxNoticesPerRun paces the emails
    newly_inactive.sort(key=lambda pair: pair[0].view.last_watched_at or pair[0].view.joined_at)
    cap = policy.max_notices_per_run or len(newly_inactive)
    report.deferred = max(0, len(newly_inactive) - cap)
    for snapshot, why in newly_inactive[:cap]:
        _record(
            report,
            SweepAction.OPEN_NOTICE,
            policy.dry_run or open_notice(store, snapshot, Inactivity(why), now, policy),
        )
    return report


def _looks_like_a_broken_feed(report: SweepReport, policy: Policy) -> bool:
    return report.inactive_found >= policy.guard_min_notices and report.inactive_found > policy.max_notice_share * max(
        report.scanned, 1
    )


def _record(report: SweepReport, action: SweepAction, done: bool) -> None:
    (report.actions if done else report.skipped)[action.value] += 1


def _carry_out(
    store: MembershipStore, snapshot: MemberSnapshot, action: SweepAction, now: datetime, policy: Policy
) -> bool:
    """Every action but opening a notice (which waits for the guard)."""
    view = snapshot.view
    match action:
        case SweepAction.REQUEST_REMINDER:
            return request_reminder(store, view.member_id, view.notice_id, now)
        case SweepAction.KEEP_FOR_ACTIVITY:
            return store.close_notice_kept(view.member_id, view.notice_id, Outcome.KEPT_BY_WATCHING, now, engaged=False)
        case SweepAction.SETTLE_OVERDUE_NOTICE:
            return settle_notice(store, view.member_id, view.notice_id, now, policy) is not None
        case SweepAction.PURGE_RETAINED_DATA:
            member = store.member(view.member_id)
            return member.cancelled_at is not None and purge_retained_data(
                store, view.member_id, member.cancelled_at, now
            )
    return False
