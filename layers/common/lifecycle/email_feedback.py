"""What SES tells us back about an email: a permanent bounce or a complaint.

Such an address gets no more email from the campaign (the member still sees the in-app
notice). The deadline does not move: the in-app notice reaches anyone who opens the app, and
opening it to watch anything keeps the membership anyway; a member reached by neither is the
inactive member the campaign is for, and is cancelled with billing stopped and their things
kept for ``RetentionMonths``, free to come back. A transient bounce (a full mailbox) changes
nothing: SES retries it itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifecycle.clock import parse_iso
from lifecycle.errors import InvalidRequest
from lifecycle.ses_tags import member_from_tags
from lifecycle.store import Store

DETAIL_TYPES = {"Email Bounced": "bounced", "Email Complaint": "complained"}


@dataclass(frozen=True)
class EmailFeedback:
    member_id: str
    status: str  # "bounced" | "complained"
    at: datetime


def feedback_from_ses_event(event: Any) -> EmailFeedback | None:
    """The feedback an SES event (as EventBridge delivers it) carries; None when it changes
    nothing (a transient bounce). ``InvalidRequest`` says what is wrong with a malformed one."""
    if not isinstance(event, dict) or event.get("source") != "aws.ses":
        raise InvalidRequest("expected an SES event from EventBridge (source aws.ses)")
    detail_type = event.get("detail-type")
    # only text names a detail type (a list or an object could not even be looked up)
    status = DETAIL_TYPES.get(detail_type) if isinstance(detail_type, str) else None
    if status is None:
        raise InvalidRequest(f"detail-type {detail_type!r} is neither 'Email Bounced' nor 'Email Complaint'")
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("mail"), dict):
        raise InvalidRequest("SES event has no detail.mail")
    if status == "bounced" and (detail.get("bounce") or {}).get("bounceType") != "Permanent":
        return None
    tags = detail["mail"].get("tags")
    member_id = member_from_tags(tags) if isinstance(tags, dict) else None
    if member_id is None:
        raise InvalidRequest("SES event has no 'member' tag as emails are sent with (see lifecycle.ses_tags)")
    try:
        at = parse_iso(event.get("time", ""))
    except (TypeError, ValueError):
        raise InvalidRequest("SES event has no valid time") from None
    return EmailFeedback(member_id, status, at)


def record_email_feedback(store: Store, feedback: EmailFeedback) -> bool:
    return store.members.record_email_feedback(feedback.member_id, feedback.status, feedback.at)
