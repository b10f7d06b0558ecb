"""REPORT.json's members, read back from the AWS side: one row a member, made the same way for a
rehearsal (:func:`rehearsal_report`, with the mail SES sent and the billing bus's events) and for
a deployed stack (:mod:`ops.stack_report`, from its tables alone), so that the HTML page and the
funnel of :mod:`ops.funnel` read one shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from ops.funnel import DORMANT, NEVER_WATCHED, funnel, noticed_at, parse_moment


def member_row(item: Mapping[str, Any], made: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A member's row from their activity item (plain values), and what they made from the
    member-data item."""
    return {
        "status": item.get("status"),
        "locale": item.get("locale"),
        "cancelled_at": item.get("cancelled_at"),
        "cancel_reason": item.get("cancel_reason"),
        "billing_stopped_at": item.get("billing_stopped_at"),
        "billing_confirmed_at": item.get("billing_confirmed_at"),
        "purged_at": item.get("purged_at"),
        "notice_outcome": item.get("notice_outcome"),
        "noticed_at": item.get("notice_opened_at"),  # while the notice is open; the table forgets it after
        "notice_closed_at": item.get("notice_closed_at"),
        "rejoined_at": item.get("rejoined_at"),
        "last_watched_at": item.get("last_watched_at"),
        "monthly_price": item.get("monthly_price"),
        "currency": item.get("currency"),
        "profiles": (made or {}).get("profiles"),
    }


def rehearsal_report(cloud: Any, plan: Any, log: Any) -> dict[str, Any]:
    """The rehearsal's REPORT.json: every member's row, the emails SES sent them, the events the
    product published to billing, and the summary of :func:`ops.funnel.funnel`."""
    from ops.rehearsal import mailbox

    joined = [action.member for action in plan.actions if action.member is not None]
    members = {member["member_id"]: member for member in [*plan.members, *joined]}
    by_address = {mailbox(member["email"]): member["member_id"] for member in members.values()}
    for action in plan.actions:  # mail goes to an address the business changed, too
        if action.fields and "email" in action.fields:
            by_address[mailbox(action.fields["email"])] = action.member_id
    made = _by_member(cloud.table_items("MemberDataTable"))
    rows = {
        member_id: member_row(item, made.get(member_id))
        for member_id, item in _by_member(cloud.table_items("ActivityTable")).items()
        if member_id in members
    }
    for row in rows.values():
        row["emails"], row["billing_events"] = [], []
    for mail in cloud.sent_emails():
        for address in map(mailbox, mail.to):
            if address in by_address:
                rows[by_address[address]]["emails"].append(email_row(mail))
    for event in cloud.bus_events("BillingEventBus"):  # what the product told billing
        detail = event.detail if isinstance(event.detail, dict) else {}
        if detail.get("member_id") in rows:
            rows[detail["member_id"]]["billing_events"].append(
                {
                    "type": event.detail_type,
                    "billing": detail.get("billing"),
                    "at": detail.get("cancelled_at") or detail.get("rejoined_at"),
                }
            )
    viewings = _viewings(plan, members)
    for member_id, row in rows.items():
        row["emails"].sort(key=lambda email: email["at"] or "")
        opened = noticed_at(row)
        if opened is not None:
            row["noticed_at"] = iso(opened)
            # the rule is the policy's: no viewing recorded before the notice means never watched
            row["notice_rule"] = DORMANT if any(at < opened for at in viewings.get(member_id, ())) else NEVER_WATCHED
    report = {
        "params": dict(cloud.parameters),
        "start": iso(plan.start),
        "end": iso(plan.end),
        "members": rows,
        "summary": {},
    }
    # cancellations the product told billing of (members cancelled before the rehearsal never were)
    unconfirmed = sum(1 for row in rows.values() if row["status"] == "cancelled" and not row["billing_confirmed_at"]
                      and any(event["billing"] == "stop" for event in row["billing_events"]))
    report["summary"] = json_safe({**funnel(report), "actions": dict(sorted(log.counts.items())),
                                   "billing_unconfirmed": unconfirmed})
    return report


def _viewings(plan: Any, members: Mapping[str, Mapping[str, Any]]) -> dict[str, list[datetime]]:
    """Every viewing the rehearsal recorded, by member: the members file's, then each watch and play."""
    viewings: dict[str, list[datetime]] = {}
    for member_id, member in members.items():
        if member.get("last_watched_at") is not None:
            viewings.setdefault(member_id, []).append(parse_moment(member["last_watched_at"]))
    for action in plan.actions:
        if action.do in ("watch", "play"):
            viewings.setdefault(action.member_id, []).append(action.at)
    return viewings


def _by_member(items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item["member_id"]): json_safe(item) for item in items}


def email_row(mail: Any) -> dict[str, Any]:
    date = mail.headers.get("Date")
    return {
        "kind": mail.headers.get("X-Membership-Email", "other"),
        "at": iso(parsedate_to_datetime(date)) if date else None,
        "subject": mail.subject,
        "lang": mail.headers.get("Content-Language"),
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    return value
