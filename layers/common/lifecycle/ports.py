"""The domain's ports to the tables it keeps and the services it sends through, named from what
the domain asks of them; they take and hand back plain values (``lifecycle.membership``). Each
has one adapter on AWS (``lifecycle.adapters``) and an in-memory fake in the tests
(``tests/fakes.py``); ``tests/contracts`` runs the same checks against both, so a fake cannot
drift from the real thing.

Every change of a member's state is one method of ``Lifecycle``: one conditional write that
re-checks exactly what the decision was based on (status, the open notice, the activity marks
as read), so a decision taken on a stale read is refused (False) instead of acting, and a step
run twice changes nothing twice."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from lifecycle.membership import (
    BillingChange,
    Claim,
    Hold,
    Membership,
    MemberSnapshot,
    NewMember,
    Notice,
    RecordKind,
    ScanPage,
    SendLease,
    SendMark,
    ViewingState,
)
from lifecycle.policy import PrefilterCutoffs
from lifecycle.rendering import RenderedEmail


class Members(Protocol):
    """The members as the service keeps them: the activity table (membership, last activity, the
    campaign's marks) and the member data table (profiles, My List, preferences)."""

    def snapshot(self, member_id: str) -> Membership:
        """The member read whole and consistently; ``MemberNotFound`` for nobody."""
        ...

    def profiles(self, member_id: str) -> list[dict[str, Any]] | None:
        """The member's profiles, My List and preferences; None once purged (or never stored)."""
        ...

    def count(self) -> int:
        """About how many members there are (enough to size the sweep's segments)."""
        ...

    def scan_page(
        self,
        cutoffs: PrefilterCutoffs | None = None,
        segment: int = 0,
        total_segments: int = 1,
        start_key: dict[str, Any] | None = None,
        page_size: int | None = None,
    ) -> ScanPage:
        """One page of one scan segment from ``start_key`` on. With ``cutoffs``, only members
        something can happen to (see ``policy.prefilter_cutoffs``); ``scanned`` counts all."""
        ...

    def scan_members(
        self, cutoffs: PrefilterCutoffs | None = None, segment: int = 0, total_segments: int = 1
    ) -> Iterator[ScanPage]:
        """Every page of one scan segment (see ``scan_page``)."""
        ...

    def viewing_states(self, member_ids: Collection[str]) -> dict[str, ViewingState]:
        """What each member's next viewing write depends on, read in one eventually consistent
        batch (half a read unit a member, where a write tried and refused costs a whole write
        unit); members unknown are left out."""
        ...

    def record_watch(self, member_id: str, watched_at: datetime) -> ViewingState | None:
        """Move ``last_watched_at`` forward, never back (feeds deliver out of order), at most
        once a UTC day, as :func:`policy.viewing_worth_writing` says (a later viewing of the
        same day changes no decision: :func:`policy.watched_through`), but every one while a
        notice is open. The state as written, or None when nothing was. ``MemberNotFound`` for
        nobody."""
        ...

    def join(self, member: NewMember, occurred_at: datetime) -> bool:
        """Add a member the business signed up; False when the member is known already."""
        ...

    def change_details(self, member_id: str, details: Mapping[str, str], occurred_at: datetime) -> bool:
        """Set each detail (email, locale, monthly_price, currency) whose stored change is older
        than ``occurred_at``; False when none was. ``MemberNotFound`` for nobody."""
        ...

    def mark_rejoined(self, member_id: str, rejoined_at: datetime) -> bool:
        """The business says an active member came back at ``rejoined_at`` (its cancellation may
        still be on its way): engaged from then, billing resumed there, so that a cancellation
        from before it, delivered late, is refused. Only while active and neither cancelled nor
        rejoined since."""
        ...

    def confirm_billing(
        self, member_id: str, change: BillingChange, changed_at: datetime, confirmed_at: datetime
    ) -> bool:
        """Billing confirmed it stopped for the cancellation of ``changed_at`` (or resumed for the
        rejoin of ``changed_at``): record ``billing_confirmed_at``, once, and only while that is
        still the member's latest cancellation (or rejoin)."""
        ...

    def email_unreachable(self, member_id: str) -> bool:
        """The member's address bounced for good, complained or was refused: send it nothing more."""
        ...

    def record_email_feedback(self, member_id: str, status: str, at: datetime) -> bool:
        """False for a member nobody knows."""
        ...

    def mark_billing_resumed(self, member_id: str, rejoined_at: datetime) -> None:
        """Billing heard of the rejoin at ``rejoined_at``; nothing if the member moved on since."""
        ...

    def mark_cancellation_announced(self, member_id: str, cancelled_at: datetime, now: datetime) -> None:
        """Billing was told and the member emailed: the sweep stops looking at this cancellation.
        Nothing if announced already or the member was cancelled again since."""
        ...


class Lifecycle(Protocol):
    """Notices and retention holds (the lifecycle table, whose TTL and stream drive the rest),
    the links that name a notice, and every transition of a member, each one conditional write
    across the tables it touches."""

    def open_notice(self, snapshot: MemberSnapshot, notice: Notice, link_expires_at: datetime) -> bool:
        """Open ``notice`` (TTL at its deadline) with its link's record, and mark it on the member;
        only while the member is active, has no notice open and its activity marks are as read."""
        ...

    def request_reminder(self, member_id: str, notice_id: str, now: datetime) -> bool:
        """Ask for the reminder of this notice, once, while it is open."""
        ...

    def close_kept(self, member_id: str, notice_id: str, outcome: str, now: datetime, engaged: bool) -> bool:
        """The member keeps the membership: by answering (``engaged``: the clock restarts) or by
        having watched. Only while this notice is the member's open one."""
        ...

    def cancel(self, snapshot: MemberSnapshot, hold: Hold, outcome: str, require_no_activity: bool) -> bool:
        """Close the notice, stop billing on the member's record, open the retention hold; only
        while the notice read is still open, and with ``require_no_activity`` only while the
        activity marks are as read (activity recorded meanwhile wins)."""
        ...

    def rejoin(self, member_id: str, cancelled_at: datetime, now: datetime, *, resumed_elsewhere: bool = False) -> bool:
        """Active again from ``now``, the hold of that cancellation ended; only while the member
        is still cancelled from ``cancelled_at``. Billing is to be told and to confirm, unless
        the business's sign-up flow resumed it (``resumed_elsewhere``)."""
        ...

    def cancel_elsewhere(self, snapshot: MemberSnapshot, hold: Hold, outcome: str) -> bool:
        """The business cancelled the member through its own account page: close the notice read
        (with ``outcome``), open the retention hold with nothing left to send (the business
        confirmed it and stopped billing), in place of an earlier cancellation's; only while the
        member is as read (active with its notice, or cancelled from the same time) and neither
        cancelled nor rejoined since ``hold.cancelled_at``."""
        ...

    def record_rejoin_elsewhere(self, snapshot: MemberSnapshot, now: datetime) -> bool:
        """The service's own sign-up flow made the cancelled member active (billing resumed
        there): engaged from ``now``, the hold ended; only while cancellation and rejoin are as read."""
        ...

    def purge(self, member_id: str, cancelled_at: datetime, now: datetime, email: str, email_hash: str | None) -> bool:
        """Delete the kept data for good, and the member's row forgets the person: it loses
        ``PURGED_FIELDS``, holds ``email_hash`` in the address's place (one kept from before is
        left when None) and has its ``PURGED_DETAILS`` changed at ``now``. Only while the member
        is still cancelled from ``cancelled_at``, not purged, not rejoined since, and its address
        still ``email``, as read (none for "")."""
        ...

    def member_of_notice(self, notice_id: str) -> str | None:
        """The member whose notice this is, while its links live; None for a notice nobody has."""
        ...

    def notice(self, member_id: str) -> Notice | None:
        """The member's notice record, as stored (an expired one may still read back)."""
        ...

    def hold(self, member_id: str) -> Hold | None:
        """The member's retention hold, as stored."""
        ...

    def claim(self, member_id: str, record: RecordKind, mark: SendMark, now: datetime, lease: SendLease) -> Claim:
        """Start a side effect of a lifecycle record (an email, an event) under ``lease``:
        ``DONE`` when it was already done or the record is gone (the notice was answered
        meanwhile), ``BUSY`` while another sender's lease is alive. The same delivery retried
        (its sender died) takes its own lease back; anyone takes an expired one."""
        ...

    def release(self, member_id: str, record: RecordKind, lease: SendLease) -> None:
        """Give a lease back after a failed send (nothing if it is no longer ours)."""
        ...

    def confirm(self, member_id: str, record: RecordKind, mark: SendMark, now: datetime) -> None:
        """Record a side effect as done and its lease as given back (nothing if the record is gone)."""
        ...


class Mailer(Protocol):
    """Sends the member one email (SES in production)."""

    def send(self, to: str, email: RenderedEmail, kind: str, sent_at: datetime, member_id: str) -> str:
        """The message id. ``AddressRefused`` when the address cannot be sent to at all (nothing is
        sent, and retrying cannot help); ``DeliveryFailed`` for anything a retry may cure."""
        ...


class BillingBus(Protocol):
    """Tells billing what happened to a membership (EventBridge in production)."""

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """One event, source ``membership.lifecycle``; ``DeliveryFailed`` when it was not accepted."""
        ...


class LinkKeys(Protocol):
    """The link-signing keys' secret (Secrets Manager in production)."""

    def secret(self) -> object:
        """The secret's JSON value, whatever it holds (``tokens.SigningKeys`` checks it);
        ``DeliveryFailed`` when it cannot be read."""
        ...


class AddressKeys(Protocol):
    """The key purged members' addresses are hashed with (Secrets Manager in production)."""

    def secret(self) -> object:
        """The secret's JSON value, whatever it holds (``addresses.address_key`` checks it);
        ``DeliveryFailed`` when it cannot be read."""
        ...


class Parking(Protocol):
    """Where an inbound event that cannot be applied waits for a person, as it came, with the
    reason (SQS, the inbound dead-letter queue, in production)."""

    def park(self, body: str, reason: str, kind: str | None) -> None:
        """Keep ``body`` with ``reason`` (and its detail-type when it had one); ``DeliveryFailed``
        when it could not be kept."""
        ...
