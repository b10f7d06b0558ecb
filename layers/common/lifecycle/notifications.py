"""What a change to a notice or a retention hold tells the outside world: notice, reminder and
cancellation emails through SES, and the billing event on the bus.

The lifecycle table's stream is the outbox: a change is written once, in the transaction that
decides it, and its announcements follow from the stream. Each announcement is claimed on its
record with a lease, made, then recorded as done, as Powertools' idempotency utility does it:
while one sender holds the lease no other sends (the stream and the sweep's catch-up may meet
on the same record), a stream record delivered twice sends nothing twice, and a send that
failed (or a sender that died before recording it) is made again by the retry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from lifecycle.clock import iso
from lifecycle.errors import AddressRefused, InvalidRequest, SendInProgress
from lifecycle.membership import HOLD, NOTICE, Claim, Hold, LifecycleChange, Notice, RecordKind, SendLease, SendMark
from lifecycle.observability import logger, metrics
from lifecycle.policy import MemberView, billing_unconfirmed_for, link_expires_at, republish_due
from lifecycle.rendering import RenderedEmail, render_email
from lifecycle.settings import Policy, Settings
from lifecycle.store import Store
from lifecycle.tokens import LinkSigner, SigningKeys


def announce(store: Store, change: LifecycleChange, now: datetime, settings: Settings, lease: SendLease) -> list[str]:
    """Send what this change calls for; returns what was sent (for logs and tests).
    ``SendInProgress`` when another sender holds the lease: the record is retried later."""
    new, old = change.new, change.old
    if isinstance(new, Notice) and change.event_name == "INSERT":
        return _notice_email(store, new, "notice", "notice_email_at", now, settings, lease)
    if (
        isinstance(new, Notice)
        and change.event_name == "MODIFY"
        and new.reminder_requested_at is not None
        and (not isinstance(old, Notice) or old.reminder_requested_at is None)
    ):
        return _notice_email(store, new, "reminder", "reminder_email_at", now, settings, lease)
    if isinstance(new, Hold) and change.event_name == "INSERT":
        return _cancellation(store, new, now, settings, lease)
    return []


def _once(
    store: Store,
    item: Notice | Hold,
    mark: SendMark,
    now: datetime,
    lease: SendLease,
    action: Callable[[], None],
) -> bool:
    """Do ``action`` unless the record says it was done; then say so on the record. The claim is
    a lease: a failure gives it back at once, a sender that dies leaves it to expire (or to the
    retry of the same delivery), and a second sender meanwhile gets ``SendInProgress``."""
    record: RecordKind = NOTICE if isinstance(item, Notice) else HOLD
    claim = store.lifecycle.claim(item.member_id, record, mark, now, lease)
    if claim is Claim.DONE:
        return False
    if claim is Claim.BUSY:
        raise SendInProgress(f"{mark} of member {item.member_id} is being sent by another sender")
    try:
        action()
    except BaseException:
        store.lifecycle.release(item.member_id, record, lease)
        raise
    store.lifecycle.confirm(item.member_id, record, mark, now)
    return True


def _notice_email(
    store: Store,
    notice: Notice,
    kind: str,
    mark: SendMark,
    now: datetime,
    settings: Settings,
    lease: SendLease,
) -> list[str]:
    if notice.notice_id is None or notice.deadline is None or notice.respond_by is None:
        raise InvalidRequest(f"the notice record of member {notice.member_id} lacks its id, deadline or date")
    signer = LinkSigner(SigningKeys.from_secret(store.link_keys.secret()))
    token = signer.sign(notice.notice_id, link_expires_at(notice.deadline, settings.policy))
    link = f"{settings.public_base_url}/n/{token}"
    email = render_email(
        kind,
        locale=notice.locale,
        service_name=settings.service_name,
        respond_by=notice.respond_by,
        keep_url=f"{link}?choice=keep",
        cancel_url=f"{link}?choice=cancel",
        monthly_price=notice.monthly_price,
        currency=notice.currency,
        retention_months=settings.policy.retention_months,
        help_url=settings.help_url,
        replies_read=bool(settings.reply_to_address),
    )

    if not _once(store, notice, mark, now, lease, lambda: _deliver(store, notice, email, kind, now)):
        return []
    return [kind]


def _deliver(store: Store, item: Notice | Hold, email: RenderedEmail, kind: str, now: datetime) -> None:
    """Send, unless the address bounced for good, complained or was refused by SES: then the
    member is reached by the in-app notice only, and SES's reputation is spared another bounce.
    An address SES refuses now is recorded so (``refused``), like a permanent bounce. A member
    with no address (purged, and none given since) is not sent anything, and nothing is alarmed."""
    if not item.email:
        logger.info("email not sent: no address on record", extra={"member_id": item.member_id, "kind": kind})
        return
    if store.members.email_unreachable(item.member_id):
        logger.info(
            "email suppressed: address bounced or complained", extra={"member_id": item.member_id, "kind": kind}
        )
        return
    try:
        store.mailer.send(item.email, email, kind, now, item.member_id)
    except AddressRefused as refused:
        # it would fail on every retry: handled as a permanent bounce, counted and alarmed
        store.members.record_email_feedback(item.member_id, "refused", now)
        metrics.add_metric(name="EmailAddressRefused", unit="Count", value=1)
        logger.warning(
            "email address refused: the member is reached in the app only",
            extra={"member_id": item.member_id, "kind": kind, "why": str(refused)},
        )
        return
    logger.info("email sent", extra={"member_id": item.member_id, "kind": kind, "lang": email.lang})


def _billing_stop(
    member_id: str, cancelled_at: datetime, reason: str | None, retained_until: datetime, ends_at: datetime | None
) -> dict[str, Any]:
    """MembershipCancelled's detail: the same each time it is published for one cancellation, so
    billing can key its work on the member and ``cancelled_at``; ``ends_at`` is when billing
    stops and access ends (the cancellation itself, or the end of the period already paid)."""
    return {
        "member_id": member_id,
        "cancelled_at": iso(cancelled_at),
        "reason": reason,
        "billing": "stop",
        "ends_at": iso(ends_at or cancelled_at),
        "retained_until": iso(retained_until),
    }


def republish_billing_stop(store: Store, member_id: str, now: datetime, policy: Policy) -> bool:
    """Billing has not confirmed a cancellation (no BillingStopped) for ``BillingAckHours``:
    publish its MembershipCancelled again, the same; counted, and past ``BillingAlarmHours``
    counted for the alarm. False when billing confirmed meanwhile or the member moved on."""
    member = store.members.snapshot(member_id)
    view = member.view
    unconfirmed = billing_unconfirmed_for(view, now)
    if not republish_due(view, now, policy) or view.cancelled_at is None or view.retained_until is None:
        return False
    store.bus.publish("MembershipCancelled", _billing_stop(member_id, view.cancelled_at, member.cancel_reason,
                                                           view.retained_until, member.ends_at))
    metrics.add_metric(name="BillingUnconfirmed", unit="Count", value=1)
    overdue = unconfirmed >= timedelta(hours=policy.billing_alarm_hours)
    if overdue:
        metrics.add_metric(name="BillingUnconfirmedOverdue", unit="Count", value=1)
    logger.warning("billing has not confirmed a cancellation; published again",
                   extra={"member_id": member_id, "unconfirmed_hours": int(unconfirmed.total_seconds() // 3600),
                          "overdue": overdue})
    return True


def _cancellation(store: Store, hold: Hold, now: datetime, settings: Settings, lease: SendLease) -> list[str]:
    cancelled_at, retained_until = hold.cancelled_at, hold.retained_until
    if cancelled_at is None or retained_until is None:
        raise InvalidRequest(f"the retention hold of member {hold.member_id} lacks its cancellation or its end")
    sent = []

    def stop_billing() -> None:
        detail = _billing_stop(hold.member_id, cancelled_at, hold.reason, retained_until, hold.ends_at)
        store.bus.publish("MembershipCancelled", detail)

    if _once(store, hold, "billing_event_at", now, lease, stop_billing):
        sent.append("billing_stopped")

    email = render_email(
        "cancelled",
        locale=hold.locale,
        service_name=settings.service_name,
        rejoin_url=settings.rejoin_url,
        retained_until=retained_until,
        cancelled_at=cancelled_at,
        ends_at=hold.ends_at,
        time_zone=hold.time_zone,
        help_url=settings.help_url,
        replies_read=bool(settings.reply_to_address),
    )

    if _once(store, hold, "cancelled_email_at", now, lease, lambda: _deliver(store, hold, email, "cancelled", now)):
        sent.append("cancelled")
    store.members.mark_cancellation_announced(hold.member_id, cancelled_at, now)
    return sent


# Stream records normally arrive within seconds; one that has not after this long is lost.
CATCH_UP_AFTER = timedelta(hours=1)


def catch_up(store: Store, view: MemberView, now: datetime, settings: Settings, lease: SendLease) -> list[str]:
    """The sweep's safety net for stream records that never arrived (older than the stream's
    24-hour retention, or parked on the failure queue): sends whatever this member's open
    notice or cancellation still owes them. Everything sent here is claimed as usual, so a
    record that does arrive later sends nothing twice; what another sender is sending right
    now is left to it (the next sweep looks again)."""
    sent: list[str] = []

    def unless_under_way(send: Callable[[], list[str]]) -> None:
        try:
            sent.extend(send())
        except SendInProgress:
            logger.info("catch-up left to the sender under way", extra={"member_id": view.member_id})

    # a notice without its opening time is incomplete (``plan`` leaves it be): nothing is owed for it
    if view.has_open_notice and view.notice_opened_at is not None and view.notice_opened_at <= now - CATCH_UP_AFTER:
        notice = store.lifecycle.notice(view.member_id)
        if notice is None or notice.notice_id != view.notice_id:
            return []
        if notice.notice_email_at is None:
            unless_under_way(lambda: _notice_email(store, notice, "notice", "notice_email_at", now, settings, lease))
        requested = notice.reminder_requested_at
        if requested is not None and requested <= now - CATCH_UP_AFTER and notice.reminder_email_at is None:
            unless_under_way(
                lambda: _notice_email(store, notice, "reminder", "reminder_email_at", now, settings, lease)
            )
    elif view.status == "cancelled" and view.cancelled_at is not None and view.cancelled_at <= now - CATCH_UP_AFTER:
        hold = store.lifecycle.hold(view.member_id)
        if hold is not None and hold.cancelled_at == view.cancelled_at:
            unless_under_way(lambda: _cancellation(store, hold, now, settings, lease))
    return sent
