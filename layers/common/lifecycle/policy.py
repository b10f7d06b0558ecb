"""Who is inactive, and what the sweep should do for each member: pure functions of
(member, now, policy), with no I/O, so they can be tested exhaustively and benchmarked alone.

Calendar months come from ``dateutil.relativedelta``: a member who joined on 29 February has
their anniversary on 28 February of a common year, and "12 months after 31 March" is 31 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from lifecycle.settings import Policy


class Inactivity(StrEnum):
    """Why a member counts as inactive (the two rules of the policy)."""

    NEVER_WATCHED = "never_watched"
    DORMANT = "dormant"


class SweepAction(StrEnum):
    NOTHING = "nothing"
    OPEN_NOTICE = "open_notice"
    REQUEST_REMINDER = "request_reminder"
    KEEP_FOR_ACTIVITY = "keep_for_activity"
    SETTLE_OVERDUE_NOTICE = "settle_overdue_notice"
    PURGE_RETAINED_DATA = "purge_retained_data"
    RECORD_REJOIN = "record_rejoin"
    REPUBLISH_BILLING_STOP = "republish_billing_stop"


@dataclass(frozen=True, slots=True)
class MemberView:
    """The few facts about a member that the policy reads (the sweep's projection)."""

    member_id: str
    status: str
    monthly_price: Decimal
    joined_at: datetime
    last_watched_at: datetime | None = None
    engaged_at: datetime | None = None
    notice_id: str | None = None
    notice_opened_at: datetime | None = None
    notice_deadline: datetime | None = None
    notice_reminded_at: datetime | None = None
    retained_until: datetime | None = None
    purged_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_announced: bool = True
    rejoined_at: datetime | None = None
    cancellation_announced_at: datetime | None = None  # billing told, member emailed
    billing_confirmed_at: datetime | None = None  # billing said it stopped (or resumed)

    @property
    def is_paying(self) -> bool:
        return self.monthly_price > 0

    @property
    def has_open_notice(self) -> bool:
        return self.notice_id is not None

    @property
    def rejoined_since_cancelled(self) -> bool:
        """Came back after the last cancellation (through ``POST /rejoin``, which records it)."""
        return self.cancelled_at is not None and self.rejoined_at is not None and self.rejoined_at >= self.cancelled_at

    @property
    def rejoined_elsewhere(self) -> bool:
        """Active again after a cancellation that no rejoin of ours followed: the service's own
        sign-up flow set the status back. The member is engaged from then on."""
        return self.status == "active" and self.cancelled_at is not None and not self.rejoined_since_cancelled


@dataclass(frozen=True, slots=True)
class SweepDecision:
    action: SweepAction
    why: str


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is a bug upstream, not something to guess."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def months_before(now: datetime, months: int) -> datetime:
    return utc(now) - relativedelta(months=months)


def viewing_day_start(moment: datetime) -> datetime:
    """The start of the UTC day ``moment`` is in: viewing is recorded once a member a day."""
    return datetime.combine(utc(moment).date(), time(), UTC)


def watched_through(last_watched_at: datetime) -> datetime:
    """Until when a member is known to have been watching: the end of the UTC day of the
    recorded viewing, since later viewings of that day are not written. Judging inactivity
    from it never calls a member inactive early; at most a day late."""
    return viewing_day_start(last_watched_at) + timedelta(days=1)


def viewing_worth_writing(stored: datetime | None, notice_open: bool, watched_at: datetime) -> bool:
    """Whether a viewing changes what is recorded: the day's first (the stored one is from an
    earlier UTC day), or, while a notice is open, any at or after the stored one (it may close
    the notice; the same one again finishes a delivery that failed midway). The activity
    table's write condition says the same (``Members.record_watch``)."""
    if stored is None:
        return True
    if notice_open:
        return utc(watched_at) >= utc(stored)
    return utc(stored) < viewing_day_start(watched_at)


def inactive_from(member: MemberView, policy: Policy) -> tuple[Inactivity, datetime]:
    """The rule that applies to this member as recorded, and the moment it makes them inactive.

    Saying "keep" or rejoining (``engaged_at``) restarts the clock as if the member had
    joined, or last watched, at that moment.
    """
    if member.last_watched_at is None:
        anchor = _latest(member.joined_at, member.engaged_at)
        return Inactivity.NEVER_WATCHED, anchor + relativedelta(months=policy.never_watched_months)
    anchor = _latest(watched_through(member.last_watched_at), member.engaged_at)
    return Inactivity.DORMANT, anchor + relativedelta(months=policy.inactive_months)


def inactivity(member: MemberView, now: datetime, policy: Policy) -> Inactivity | None:
    """The rule that makes this member inactive now, or None."""
    rule, since = inactive_from(member, policy)
    return rule if since <= utc(now) else None


def used_since(member: MemberView, moment: datetime) -> bool:
    """Watched something, or said "keep", at or after ``moment``."""
    return any(seen is not None and utc(seen) >= utc(moment) for seen in (member.last_watched_at, member.engaged_at))


def notice_still_stands(member: MemberView, policy: Policy) -> bool:
    """Whether the open notice may still end in a cancellation for no response: nothing was
    watched or answered since it opened and, with the activity as recorded now, the member was
    inactive when it opened. A viewing recorded late (a feed that lags, an app that was offline)
    can show that a member the sweep found inactive had in fact watched: then the notice was
    opened on incomplete data and the member keeps the membership."""
    opened_at = member.notice_opened_at
    if opened_at is None:
        return False
    return not used_since(member, opened_at) and inactivity(member, opened_at, policy) is not None


def plan(member: MemberView, now: datetime, policy: Policy) -> SweepDecision:
    """What the nightly sweep does for this member now."""
    now = utc(now)
    if member.status == "cancelled":
        if (
            member.retained_until is not None
            and member.purged_at is None
            and not member.rejoined_since_cancelled
            and now >= utc(member.retained_until)
        ):
            return SweepDecision(SweepAction.PURGE_RETAINED_DATA, "retention ended")
        if republish_due(member, now, policy):
            return SweepDecision(SweepAction.REPUBLISH_BILLING_STOP, "billing has not confirmed the cancellation")
        return SweepDecision(SweepAction.NOTHING, "cancelled")
    if member.status != "active":
        return SweepDecision(SweepAction.NOTHING, f"status {member.status}")
    if member.rejoined_elsewhere:
        return SweepDecision(SweepAction.RECORD_REJOIN, "active again after a cancellation (rejoined elsewhere)")
    if member.has_open_notice:
        return _plan_open_notice(member, now, policy)
    if not member.is_paying:
        return SweepDecision(SweepAction.NOTHING, "not paying")
    rule = inactivity(member, now, policy)
    if rule is None:
        return SweepDecision(SweepAction.NOTHING, "active")
    return SweepDecision(SweepAction.OPEN_NOTICE, rule.value)


# Billing confirms within hours; a cancellation still unconfirmed after this long has been
# alarmed for weeks and is left to a person. It also bounds what an upgrade to billing
# confirmations publishes again: cancellations made before it never had one.
BILLING_REPUBLISH_FOR = timedelta(days=30)


def republish_due(member: MemberView, now: datetime, policy: Policy) -> bool:
    """Whether the sweep publishes the member's cancellation again tonight."""
    return timedelta(hours=policy.billing_ack_hours) <= billing_unconfirmed_for(member, now) < BILLING_REPUBLISH_FOR


def billing_unconfirmed_for(member: MemberView, now: datetime) -> timedelta:
    """How long billing has been told of the member's cancellation without confirming it (zero
    for a member whose billing is confirmed, or not told yet)."""
    told = member.cancellation_announced_at
    if member.status != "cancelled" or told is None or member.billing_confirmed_at is not None:
        return timedelta(0)
    return max(utc(now) - utc(told), timedelta(0))


def _plan_open_notice(member: MemberView, now: datetime, policy: Policy) -> SweepDecision:
    opened_at, deadline = member.notice_opened_at, member.notice_deadline
    if opened_at is None or deadline is None:
        return SweepDecision(SweepAction.NOTHING, "notice record incomplete")
    if not notice_still_stands(member, policy):
        return SweepDecision(SweepAction.KEEP_FOR_ACTIVITY, "used the service, as recorded now")
    if now >= utc(deadline):
        return SweepDecision(SweepAction.SETTLE_OVERDUE_NOTICE, "deadline passed")
    if member.notice_reminded_at is None and reminder_due(deadline, now, policy):
        return SweepDecision(SweepAction.REQUEST_REMINDER, "reminder due")
    return SweepDecision(SweepAction.NOTHING, "notice open")


# Calendar months are shorter or longer than their neighbours and stored times may carry
# offsets: a prefilter compares text, so it leans generous by this much and lets ``plan``
# decide exactly.
PREFILTER_MARGIN = timedelta(days=4)


@dataclass(frozen=True, slots=True)
class PrefilterCutoffs:
    """Bounds for a storage-side prefilter that returns a superset of the members ``plan``
    could act on: anyone with an open notice, retention that ended, or no activity since
    these times."""

    never_watched_before: datetime
    dormant_before: datetime
    retention_ended_before: datetime
    billing_told_before: datetime  # cancellations billing has not confirmed since,
    billing_told_after: datetime  # and not for longer than BILLING_REPUBLISH_FOR


def prefilter_cutoffs(now: datetime, policy: Policy) -> PrefilterCutoffs:
    now = utc(now)
    return PrefilterCutoffs(
        never_watched_before=now - relativedelta(months=policy.never_watched_months) + PREFILTER_MARGIN,
        dormant_before=now - relativedelta(months=policy.inactive_months) + PREFILTER_MARGIN,
        retention_ended_before=now + PREFILTER_MARGIN,
        billing_told_before=now - timedelta(hours=policy.billing_ack_hours) + PREFILTER_MARGIN,
        billing_told_after=now - BILLING_REPUBLISH_FOR - PREFILTER_MARGIN,
    )


def respond_by(opened_at: datetime, policy: Policy) -> date:
    """The date written in the notice: the response window's last day."""
    return (utc(opened_at) + timedelta(days=policy.response_window_days)).date()


def deadline_for(opened_at: datetime, policy: Policy) -> datetime:
    """When the notice really closes: the end of the respond-by day everywhere on Earth.

    The email gives a date, not a time; the last time zone to finish that day is UTC-12, so
    nobody, wherever they read it, loses a day they were promised.
    """
    last_day = respond_by(opened_at, policy)
    return datetime.combine(last_day + timedelta(days=1), time(12, 0), tzinfo=UTC)


def reminder_due(deadline: datetime, now: datetime, policy: Policy) -> bool:
    if policy.reminder_days_before == 0:
        return False
    return utc(deadline) - timedelta(days=policy.reminder_days_before) <= utc(now) < utc(deadline)


def cancellation_ends_at(cancelled_at: datetime, paid_until: datetime | None, policy: Policy) -> datetime:
    """When a cancellation ends access and billing (``CancellationTakesEffect``): at once, or at
    the end of the period the member already paid for, when the business says when that is."""
    if policy.cancellation_takes_effect == "end_of_paid_period" and paid_until is not None:
        return max(utc(cancelled_at), utc(paid_until))
    return utc(cancelled_at)


def retained_until(ends_at: datetime, policy: Policy) -> datetime:
    """Things are kept ``RetentionMonths`` from the moment the membership ends (access and billing)."""
    return utc(ends_at) + relativedelta(months=policy.retention_months)


def link_expires_at(deadline: datetime, policy: Policy) -> datetime:
    """Links keep opening a page for a grace period so a late click still gets an answer."""
    return utc(deadline) + timedelta(days=policy.link_grace_days)


# An expired link still says so in the member's language for this long (the links table
# forgets whose notice it was after that, and the browser's language is used).
LINK_RECORD_OUTLIVES_LINK = timedelta(days=90)


def link_record_expires_at(deadline: datetime, policy: Policy) -> datetime:
    return link_expires_at(deadline, policy) + LINK_RECORD_OUTLIVES_LINK


def _latest(first: datetime, second: datetime | None) -> datetime:
    first = utc(first)
    return first if second is None else max(first, utc(second))
