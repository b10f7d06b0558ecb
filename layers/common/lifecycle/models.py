"""PynamoDB models of the member tables: activity, member data, lifecycle and links. Only the
DynamoDB adapters (``adapters.dynamodb``) use them; the domain sees plain values
(``membership``). Table names are bound at run time by those adapters, from settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    Attribute,
    ListAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import STRING
from pynamodb.models import Model

from lifecycle.clock import iso, parse_iso


class IsoDateTimeAttribute(Attribute[datetime]):
    """A UTC instant stored as readable ISO 8601 text, so operators and other services can
    read and write it too (the activity feed writes ``last_watched_at``)."""

    attr_type = STRING

    def serialize(self, value: datetime) -> str:
        return iso(value)

    def deserialize(self, value: str) -> datetime:
        return parse_iso(value)


class MemberRecord(Model):
    """A member in the activity table: membership, last activity, and the campaign's marks."""

    class Meta:
        table_name = "membership-activity"

    member_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(null=True)  # none once purged
    # a purged member's address, hashed with the stack's key (``addresses.purged_address_hash``)
    email_hash = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="en-US")
    status = UnicodeAttribute(default="active")
    monthly_price = UnicodeAttribute(default="0.00")  # decimal text: no float rounding of money
    currency = UnicodeAttribute(default="USD")
    joined_at = IsoDateTimeAttribute()
    last_watched_at = IsoDateTimeAttribute(null=True)
    engaged_at = IsoDateTimeAttribute(null=True)
    # the open notice, mirrored here so the sweep sees it in the same single pass
    notice_id = UnicodeAttribute(null=True)
    notice_opened_at = IsoDateTimeAttribute(null=True)
    notice_deadline = IsoDateTimeAttribute(null=True)
    notice_reminded_at = IsoDateTimeAttribute(null=True)
    notice_outcome = UnicodeAttribute(null=True)
    notice_closed_at = IsoDateTimeAttribute(null=True)
    cancelled_at = IsoDateTimeAttribute(null=True)
    cancellation_announced_at = IsoDateTimeAttribute(null=True)  # billing told, member emailed
    cancel_reason = UnicodeAttribute(null=True)
    billing_stopped_at = IsoDateTimeAttribute(null=True)
    retained_until = IsoDateTimeAttribute(null=True)
    purged_at = IsoDateTimeAttribute(null=True)
    rejoined_at = IsoDateTimeAttribute(null=True)
    # SES feedback: a permanent bounce or a complaint stops every further email to this address
    email_status = UnicodeAttribute(null=True)  # "bounced" | "complained"
    email_status_at = IsoDateTimeAttribute(null=True)
    billing_resumed_at = IsoDateTimeAttribute(null=True)  # MembershipRejoined published
    # billing's BillingStopped (or BillingResumed) for the latest cancellation (or rejoin)
    billing_confirmed_at = IsoDateTimeAttribute(null=True)
    # when the business changed each detail (its MemberJoined / MemberChanged occurred_at): an
    # event older than the stored change of a field leaves that field alone
    email_changed_at = IsoDateTimeAttribute(null=True)
    locale_changed_at = IsoDateTimeAttribute(null=True)
    monthly_price_changed_at = IsoDateTimeAttribute(null=True)
    currency_changed_at = IsoDateTimeAttribute(null=True)


class MemberDataRecord(Model):
    """What a member made: profiles, each with its My List and viewing preferences. Kept apart
    from the activity table so the nightly scan reads small items (read units go by size)."""

    class Meta:
        table_name = "membership-member-data"

    member_id = UnicodeAttribute(hash_key=True)
    profiles: ListAttribute[dict[str, Any]] = ListAttribute(null=True)  # kept exactly as the service wrote them


class LifecycleRecord(Model):
    """An open notice or a retention hold. Its TTL (``expires_at``) is the deadline or the end
    of retention: DynamoDB deleting it is what drives cancellation and purge."""

    class Meta:
        table_name = "membership-lifecycle"

    member_id = UnicodeAttribute(hash_key=True)
    record = UnicodeAttribute(range_key=True)  # membership.NOTICE | membership.HOLD
    expires_at = TTLAttribute()
    email = UnicodeAttribute()
    locale = UnicodeAttribute()
    # notice
    notice_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # notice: inactivity rule; hold: cancel reason
    opened_at = IsoDateTimeAttribute(null=True)
    deadline = IsoDateTimeAttribute(null=True)
    respond_by = UnicodeAttribute(null=True)  # the date written in the email
    monthly_price = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    reminder_requested_at = IsoDateTimeAttribute(null=True)
    # hold
    cancelled_at = IsoDateTimeAttribute(null=True)
    retained_until = IsoDateTimeAttribute(null=True)
    ends_at = IsoDateTimeAttribute(null=True)  # access and billing end (None: at the cancellation)
    time_zone = UnicodeAttribute(null=True)  # the member's, for the confirmation's times
    # what has been sent for this record: each once (last_attempt_at: the latest try)
    last_attempt_at = IsoDateTimeAttribute(null=True)
    # the sender sending one of them now, and until when it can be alive (its Lambda's deadline)
    lease_owner = UnicodeAttribute(null=True)
    lease_until = IsoDateTimeAttribute(null=True)
    notice_email_at = IsoDateTimeAttribute(null=True)
    reminder_email_at = IsoDateTimeAttribute(null=True)
    cancelled_email_at = IsoDateTimeAttribute(null=True)
    billing_event_at = IsoDateTimeAttribute(null=True)


class LinkRecord(Model):
    """Whose notice an email link names. Links carry only the notice's id, so they are short
    for any member id and reveal nothing; this item, written with the notice, says which member
    it is until TTL deletes it (``LINK_RECORD_OUTLIVES_LINK`` after the link expires)."""

    class Meta:
        table_name = "membership-links"

    notice_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    expires_at = TTLAttribute()
