"""What a change to a notice or a retention hold tells the outside world: notice, reminder and
cancellation emails through SES, and the billing event on the bus.

The lifecycle table's stream is the outbox: a change is written once, in the transaction that
decides it, and its announcements follow from the stream. Each announcement is started on its
record, made, then recorded as done, so a stream record delivered twice sends nothing twice,
and a send that failed (or a crash before it was recorded) is made again by the retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from lifecycle.errors import InvalidRequest
from lifecycle.models import HOLD, NOTICE, LifecycleRecord, iso
from lifecycle.observability import logger
from lifecycle.policy import MemberView, link_expires_at
from lifecycle.rendering import RenderedEmail, render_email
from lifecycle.repository import MembershipStore
from lifecycle.settings import Settings
from lifecycle.tokens import LinkSigner, SigningKeys


@dataclass(frozen=True)
class LifecycleChange:
    """One stream record of the lifecycle table, as the domain sees it."""

    event_name: str
    member_id: str
    record: str
    new: LifecycleRecord | None
    old: LifecycleRecord | None

    @classmethod
    def from_stream_record(cls, raw: dict[str, Any]) -> LifecycleChange:
        """Parse a DynamoDB stream record as Lambda delivers it; ``InvalidRequest`` says what is wrong."""
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
        return cls(event_name, member_id, record, _image(change, "NewImage"), _image(change, "OldImage"))

    @property
    def by_ttl(self) -> bool:
        return self.event_name == "REMOVE"


def _image(change: dict, name: str) -> LifecycleRecord | None:
    image = change.get(name)
    if image is None:
        return None
    try:
        return LifecycleRecord.from_raw_data(image)
    except Exception as exc:  # PynamoDB raises assorted errors for a malformed image
        raise InvalidRequest(f"stream record {name} is not a lifecycle item: {exc}") from exc


def announce(store: MembershipStore, change: LifecycleChange, now: datetime, settings: Settings) -> list[str]:
    """Send what this change calls for; returns what was sent (for logs and tests)."""
    new, old = change.new, change.old
    if change.record == NOTICE and change.event_name == "INSERT" and new is not None:
        return _notice_email(store, new, "notice", "notice_email_at", now, settings)
    if (
        change.record == NOTICE
        and change.event_name == "MODIFY"
        and new is not None
        and new.reminder_requested_at is not None
        and (old is None or old.reminder_requested_at is None)
    ):
        return _notice_email(store, new, "reminder", "reminder_email_at", now, settings)
    if change.record == HOLD and change.event_name == "INSERT" and new is not None:
        return _cancellation(store, new, now, settings)
    return []


def _once(store: MembershipStore, item: LifecycleRecord, mark: str, now: datetime, action) -> bool:
    """Do ``action`` unless the record says it was done; then say so on the record. A failure
    (or a crash) before that leaves it undone, and the record's retry does it."""
    if not store.claim(item.member_id, item.record, mark, now):
        return False
    action()
    store.confirm(item.member_id, item.record, mark, now)
    return True


def _notice_email(
    store: MembershipStore, notice: LifecycleRecord, kind: str, mark: str, now: datetime, settings: Settings
) -> list[str]:
    signer = LinkSigner(SigningKeys.from_secret(store.link_secret()))
    token = signer.sign(notice.notice_id, link_expires_at(notice.deadline, settings.policy))
    link = f"{settings.public_base_url}/n/{token}"
    email = render_email(
        kind,
        locale=notice.locale,
        service_name=settings.service_name,
        respond_by=date.fromisoformat(notice.respond_by),
        keep_url=f"{link}?choice=keep",
        cancel_url=f"{link}?choice=cancel",
        monthly_price=notice.monthly_price,
        currency=notice.currency,
        retention_months=settings.policy.retention_months,
    )

    if not _once(store, notice, mark, now, lambda: _deliver(store, notice, email, kind, now)):
        return []
    return [kind]


def _deliver(store: MembershipStore, item: LifecycleRecord, email: RenderedEmail, kind: str, now: datetime) -> None:
    """Send, unless the address bounced for good or complained: then the member is reached by
    the in-app notice only, and SES's reputation is spared another bounce."""
    if store.email_unreachable(item.member_id):
        logger.info(
            "email suppressed: address bounced or complained", extra={"member_id": item.member_id, "kind": kind}
        )
        return
    store.send_email(item.email, email, kind, now, item.member_id)
    logger.info("email sent", extra={"member_id": item.member_id, "kind": kind, "lang": email.lang})


def _cancellation(store: MembershipStore, hold: LifecycleRecord, now: datetime, settings: Settings) -> list[str]:
    sent = []

    def stop_billing() -> None:
        store.publish(
            "MembershipCancelled",
            {
                "member_id": hold.member_id,
                "cancelled_at": iso(hold.cancelled_at),
                "reason": hold.reason,
                "billing": "stop",
                "retained_until": iso(hold.retained_until),
            },
        )

    if _once(store, hold, "billing_event_at", now, stop_billing):
        sent.append("billing_stopped")

    email = render_email(
        "cancelled",
        locale=hold.locale,
        service_name=settings.service_name,
        rejoin_url=settings.rejoin_url,
        retained_until=hold.retained_until.date(),
    )

    if _once(store, hold, "cancelled_email_at", now, lambda: _deliver(store, hold, email, "cancelled", now)):
        sent.append("cancelled")
    store.mark_cancellation_announced(hold.member_id, hold.cancelled_at, now)
    return sent


# Stream records normally arrive within seconds; one that has not after this long is lost.
CATCH_UP_AFTER = timedelta(hours=1)


def catch_up(store: MembershipStore, view: MemberView, now: datetime, settings: Settings) -> list[str]:
    """The sweep's safety net for stream records that never arrived (older than the stream's
    24-hour retention, or parked on the failure queue): sends whatever this member's open
    notice or cancellation still owes them. Everything sent here is claimed as usual, so a
    record that does arrive later sends nothing twice."""
    if view.has_open_notice and view.notice_opened_at <= now - CATCH_UP_AFTER:
        notice = store.lifecycle_record(view.member_id, NOTICE)
        if notice is None or notice.notice_id != view.notice_id:
            return []
        sent = []
        if notice.notice_email_at is None:
            sent += _notice_email(store, notice, "notice", "notice_email_at", now, settings)
        requested = notice.reminder_requested_at
        if requested is not None and requested <= now - CATCH_UP_AFTER and notice.reminder_email_at is None:
            sent += _notice_email(store, notice, "reminder", "reminder_email_at", now, settings)
        return sent
    if view.status == "cancelled" and view.cancelled_at is not None and view.cancelled_at <= now - CATCH_UP_AFTER:
        hold = store.lifecycle_record(view.member_id, HOLD)
        if hold is not None and hold.cancelled_at == view.cancelled_at:
            return _cancellation(store, hold, now, settings)
    return []
