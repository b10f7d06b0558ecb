"""The notice lifecycle: open, remind, answer, settle at the deadline, cancel, rejoin, purge.

Each step reads the member, decides with the pure policy, and writes through one
conditional transaction. When the condition fails (someone else acted first, or this is a
retry of a step that already happened) the step re-reads and decides again, so every step is
safe to run twice and no decision is taken on stale data.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum

from lifecycle.addresses import address_key, purged_address_hash
from lifecycle.clock import iso
from lifecycle.errors import ConcurrentChange, InvalidRequest, MemberNotFound, NoOpenNotice, NotCancelled
from lifecycle.membership import NOTICE, Hold, LifecycleChange, Membership, MemberSnapshot, Notice
from lifecycle.observability import logger
from lifecycle.policy import (
    Inactivity,
    cancellation_ends_at,
    deadline_for,
    link_record_expires_at,
    notice_still_stands,
    respond_by,
    retained_until,
)
from lifecycle.settings import Policy
from lifecycle.store import Store

MAX_ATTEMPTS = 3  # re-read and decide again this many times when a write loses a race


class Outcome(StrEnum):
    KEPT = "kept"
    KEPT_BY_WATCHING = "kept_by_watching"
    CANCELLED_ON_REQUEST = "cancelled_on_request"
    CANCELLED_NO_RESPONSE = "cancelled_no_response"
    CANCELLED_ELSEWHERE = "cancelled_elsewhere"  # through the service's own account page


CANCEL_REASONS = {
    Outcome.CANCELLED_ON_REQUEST: "member_request",
    Outcome.CANCELLED_NO_RESPONSE: "no_response",
    Outcome.CANCELLED_ELSEWHERE: "elsewhere",
}


class Choice(StrEnum):
    KEEP = "keep"
    CANCEL = "cancel"


# ---------------------------------------------------------------- notices
def open_notice(store: Store, snapshot: MemberSnapshot, rule: Inactivity, now: datetime, policy: Policy) -> bool:
    """Open a notice for an inactive member; False if one is open already or the member changed."""
    view = snapshot.view
    deadline = deadline_for(now, policy)
    notice = Notice(
        member_id=view.member_id,
        notice_id=secrets.token_urlsafe(9),
        email=snapshot.email,
        locale=snapshot.locale,
        reason=rule.value,
        opened_at=now,
        deadline=deadline,
        respond_by=respond_by(now, policy),
        monthly_price=str(view.monthly_price),
        currency=snapshot.currency,
    )
    opened = store.lifecycle.open_notice(snapshot, notice, link_record_expires_at(deadline, policy))
    if opened:
        logger.info("notice opened", extra={"member_id": view.member_id, "rule": rule.value, "deadline": iso(deadline)})
    return opened


def request_reminder(store: Store, member_id: str, notice_id: str, now: datetime) -> bool:
    return store.lifecycle.request_reminder(member_id, notice_id, now)


def answer_notice(
    store: Store, member_id: str, notice_id: str, choice: Choice, now: datetime, policy: Policy
) -> Outcome:
    """The member's own answer, from the page or the app. An answer after the deadline still
    counts while the membership has not been cancelled yet: nobody who said "keep" is cancelled."""
    for _ in range(MAX_ATTEMPTS):
        snapshot = store.members.snapshot(member_id)
        if snapshot.view.notice_id != notice_id or snapshot.view.status != "active":
            raise NoOpenNotice(f"notice {notice_id} of member {member_id} is not open")
        if choice is Choice.KEEP:
            if store.lifecycle.close_kept(member_id, notice_id, Outcome.KEPT, now, engaged=True):
                logger.info("member kept the membership", extra={"member_id": member_id})
                return Outcome.KEPT
        elif _cancel(store, snapshot, Outcome.CANCELLED_ON_REQUEST, now, policy):
            return Outcome.CANCELLED_ON_REQUEST
    raise ConcurrentChange(f"member {member_id} kept changing while answering")


def keep_open_notice(store: Store, member_id: str, now: datetime, policy: Policy) -> Outcome:
    """ "Keep", said in the app: answers whichever notice is open."""
    notice_id = store.members.snapshot(member_id).view.notice_id
    if notice_id is None:
        raise NoOpenNotice(f"member {member_id} has no open notice")
    return answer_notice(store, member_id, notice_id, Choice.KEEP, now, policy)


def settle_notice(store: Store, member_id: str, notice_id: str, now: datetime, policy: Policy) -> Outcome | None:
    """The deadline passed (TTL deletion, or the sweep found it overdue): keep a member who, as
    the activity is recorded now, used the service (``notice_still_stands``), cancel one who did
    not answer. None when there is nothing to
    settle (already answered or settled, not due yet, member gone)."""
    for _ in range(MAX_ATTEMPTS):
        try:
            snapshot = store.members.snapshot(member_id)
        except MemberNotFound:
            logger.warning("notice of an unknown member", extra={"member_id": member_id})
            return None
        view = snapshot.view
        if view.notice_id != notice_id or view.status != "active":
            return None
        if view.notice_deadline is None or now < view.notice_deadline:
            logger.warning("notice not due yet; left open", extra={"member_id": member_id})
            return None
        if not notice_still_stands(view, policy):
            if store.lifecycle.close_kept(member_id, notice_id, Outcome.KEPT_BY_WATCHING, now, engaged=False):
                return Outcome.KEPT_BY_WATCHING
        elif _cancel(store, snapshot, Outcome.CANCELLED_NO_RESPONSE, now, policy):
            return Outcome.CANCELLED_NO_RESPONSE
    raise ConcurrentChange(f"member {member_id} kept changing while settling notice {notice_id}")


def _cancel(store: Store, snapshot: MemberSnapshot, outcome: Outcome, now: datetime, policy: Policy) -> bool:
    view = snapshot.view
    ends_at = cancellation_ends_at(now, snapshot.paid_until, policy)
    hold = Hold(
        member_id=view.member_id,
        email=snapshot.email,
        locale=snapshot.locale,
        reason=CANCEL_REASONS[outcome],
        cancelled_at=now,
        retained_until=retained_until(ends_at, policy),
        ends_at=ends_at,
        time_zone=snapshot.time_zone,
    )
    cancelled = store.lifecycle.cancel(
        snapshot, hold, outcome, require_no_activity=outcome is Outcome.CANCELLED_NO_RESPONSE
    )
    if cancelled:
        logger.info("membership cancelled", extra={"member_id": view.member_id, "reason": hold.reason})
    return cancelled


# ------------------------------------------------------- the service's apps
EARLIEST_VIEWING = datetime(1970, 1, 1, tzinfo=UTC)  # older is a client's mistake, not a viewing


def record_activity(
    store: Store, member_id: str, watched_at: datetime, now: datetime, policy: Policy
) -> Outcome | None:
    """The member watched something. An open notice closes at once when the viewing shows the
    member is not the inactive member it was opened for (watched since it opened, or, recorded
    late, shortly before): nobody who uses the service is asked again, reminded or cancelled."""
    if watched_at > now:
        raise InvalidRequest("watched_at is in the future")
    if watched_at < EARLIEST_VIEWING:
        raise InvalidRequest("watched_at is before 1970")
    recorded = store.members.record_watch(member_id, watched_at)
    if recorded is None:
        return None  # a viewing as late is recorded already, and closed the notice if it could
    if not recorded.notice_open:
        return None  # no notice to close: no read needed
    for _ in range(MAX_ATTEMPTS):
        view = store.members.snapshot(member_id).view
        if view.notice_id is None or view.status != "active" or notice_still_stands(view, policy):
            return None
        if store.lifecycle.close_kept(member_id, view.notice_id, Outcome.KEPT_BY_WATCHING, now, engaged=False):
            return Outcome.KEPT_BY_WATCHING
    raise ConcurrentChange(f"member {member_id} kept changing while recording activity")


def rejoin(store: Store, member_id: str, now: datetime) -> Membership:
    """Come back: membership and billing resume; within retention, everything is as it was.
    Asking again after a failure finishes the job (billing hears of it) instead of refusing."""
    member = store.members.snapshot(member_id)
    if not _rejoined_but_unannounced(member):
        cancelled_at = member.view.cancelled_at
        if member.view.status != "cancelled" or cancelled_at is None:
            raise NotCancelled(f"member {member_id} is not cancelled")
        store.lifecycle.rejoin(member_id, cancelled_at, now)
        member = store.members.snapshot(member_id)
        if member.view.status != "active":
            raise ConcurrentChange(f"member {member_id} changed while rejoining")
    rejoined_at, cancelled_at = member.view.rejoined_at, member.view.cancelled_at
    if _rejoined_but_unannounced(member) and rejoined_at is not None and cancelled_at is not None:
        store.bus.publish(
            "MembershipRejoined",
            {
                "member_id": member_id,
                "rejoined_at": iso(rejoined_at),
                "previously_cancelled_at": iso(cancelled_at),
                "billing": "resume",
            },
        )
        store.members.mark_billing_resumed(member_id, rejoined_at)
        logger.info("member rejoined", extra={"member_id": member_id})
    return store.members.snapshot(member_id)


def record_rejoin_elsewhere(store: Store, snapshot: MemberSnapshot, now: datetime) -> bool:
    """A cancelled member came back through the service's own sign-up flow (its billing resumed
    there): from now the member is engaged, like one who rejoined here, so no notice follows
    the rejoin, and the retention hold ends so nothing kept is purged."""
    recorded = store.lifecycle.record_rejoin_elsewhere(snapshot, now)
    if recorded:
        logger.info("member rejoined through the service's own flow", extra={"member_id": snapshot.view.member_id})
    return recorded


def cancel_elsewhere(store: Store, member_id: str, cancelled_at: datetime, policy: Policy) -> bool:
    """The member cancelled through the service's own account page, which confirmed it and
    stopped billing: an open notice closes, and the retention hold opens like any other, with
    no email and no billing event of ours. A member cancelled here from earlier came back
    meanwhile (that rejoin is still on its way) and is cancelled again from ``cancelled_at``.
    False when the member was cancelled or rejoined after it (an old event delivered late)."""
    for _ in range(MAX_ATTEMPTS):
        snapshot = store.members.snapshot(member_id)
        view = snapshot.view
        if any(
            moment is not None and moment >= cancelled_at for moment in (view.cancelled_at, view.rejoined_at)
        ):
            return False
        hold = Hold(member_id, snapshot.email, snapshot.locale, CANCEL_REASONS[Outcome.CANCELLED_ELSEWHERE],
                    cancelled_at, retained_until(cancelled_at, policy))
        if store.lifecycle.cancel_elsewhere(snapshot, hold, Outcome.CANCELLED_ELSEWHERE):
            logger.info("membership cancelled elsewhere", extra={"member_id": member_id})
            return True
    raise ConcurrentChange(f"member {member_id} kept changing while recording a cancellation made elsewhere")


def rejoin_elsewhere(store: Store, member_id: str, rejoined_at: datetime) -> bool:
    """The member came back through the service's sign-up flow, billing resumed there: active
    again from ``rejoined_at``, everything kept as it was, the hold ended. A member still active
    here (the cancellation still on its way) is marked rejoined, so that cancellation is refused
    when it comes. False when the member was cancelled or rejoined after ``rejoined_at``."""
    view = store.members.snapshot(member_id).view
    if view.status == "active":
        return store.members.mark_rejoined(member_id, rejoined_at)
    if view.cancelled_at is None or view.cancelled_at >= rejoined_at:
        return False
    back = store.lifecycle.rejoin(member_id, view.cancelled_at, rejoined_at, resumed_elsewhere=True)
    if back:
        logger.info("member rejoined through the service's own flow", extra={"member_id": member_id})
    return back


def _rejoined_but_unannounced(member: Membership) -> bool:
    return member.view.status == "active" and member.view.rejoined_at is not None and member.billing_resumed_at is None


# ------------------------------------------------------------------ retention
def purge_retained_data(store: Store, member_id: str, cancelled_at: datetime, now: datetime) -> bool:
    """Delete profiles, My List and preferences for good, once retention has run out for the
    cancellation it was held for, and forget how to reach the member: the row keeps the record
    of the membership and, in the address's place, its keyed hash. The membership is read as it
    is now, whoever changed it: a member who rejoined (here or through the service's own sign-up
    flow), or was cancelled again since, keeps them."""
    refused_for: str | None = None  # the address of a purge refused: a new one is hashed and tried again
    for _ in range(MAX_ATTEMPTS):
        try:
            snapshot = store.members.snapshot(member_id)
        except MemberNotFound:
            return False
        member = snapshot.view
        if member.status != "cancelled" or member.cancelled_at != cancelled_at or member.purged_at is not None:
            return False
        if member.rejoined_at is not None and member.rejoined_at >= cancelled_at:
            return False  # came back since, and was cancelled again elsewhere: not the cancellation held for
        if member.retained_until is None or now < member.retained_until:
            logger.warning("retention not over yet; nothing purged", extra={"member_id": member_id})
            return False
        if snapshot.email == refused_for:
            return False  # refused for what it re-checks besides the address (the hold is another's)
        # the key is read only when there is an address to hash: without it nothing is purged (retried)
        email_hash = purged_address_hash(snapshot.email, address_key(store.address_keys.secret())) \
            if snapshot.email else None
        if store.lifecycle.purge(member_id, cancelled_at, now, snapshot.email, email_hash):
            logger.info("retained data purged", extra={"member_id": member_id})
            return True
        refused_for = snapshot.email
    raise ConcurrentChange(f"member {member_id}'s address kept changing while purging")


# ------------------------------------------------------------------ what TTL ended
def settle_what_ttl_ended(
    store: Store, change: LifecycleChange, now: datetime, policy: Policy, paused: bool = False
) -> str | None:
    """A notice or a retention hold DynamoDB TTL deleted: settle the notice (keep a member who
    watched, cancel the rest), or purge what the cancelled member kept. The name of what was
    done (a metric), None when the member had moved on. ``InvalidRequest`` for a record that
    lacks what deciding needs. While notices are ``paused`` a notice is left open on the member:
    the first sweep after the pause settles it (its deadline passed)."""
    old = change.old
    if change.record == NOTICE:
        if not isinstance(old, Notice) or old.notice_id is None:
            raise InvalidRequest("an expired notice record needs an OldImage with notice_id")
        if paused:
            logger.info("notice deadline passed while notices are paused: settled once they resume",
                        extra={"member_id": change.member_id})
            return "SettlementHeldByPause"
        outcome = settle_notice(store, change.member_id, old.notice_id, now, policy)
        return None if outcome is None else f"Settled_{outcome.value}"
    if not isinstance(old, Hold) or old.cancelled_at is None:
        raise InvalidRequest("an expired retention hold record needs an OldImage with cancelled_at")
    return "Purged" if purge_retained_data(store, change.member_id, old.cancelled_at, now) else None
