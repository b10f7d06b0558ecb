"""Errors of the domain. The AWS adapters turn AWS errors into these; the API maps them to
pages and JSON answers; stream handlers let the transient ones fail the record for a retry."""

from __future__ import annotations


class LifecycleError(Exception):
    """Base of every error the domain raises on purpose."""


class MemberNotFound(LifecycleError):
    def __init__(self, member_id: str):
        super().__init__(f"no member {member_id!r}")
        self.member_id = member_id


class NoOpenNotice(LifecycleError):
    """The notice a request refers to is no longer open (answered, settled or replaced)."""


class NotCancelled(LifecycleError):
    """Rejoin asked for a member whose membership is not cancelled."""


class ConcurrentChange(LifecycleError):
    """The member changed between read and write; the caller re-reads and decides again."""


class InvalidLink(LifecycleError):
    """A link token that is forged, altered, truncated or meant for another purpose."""


class ExpiredLink(LifecycleError):
    """A genuine link token past its expiry."""

    def __init__(self, notice_id: str | None = None):
        super().__init__("link expired")
        self.notice_id = notice_id


class InvalidRequest(LifecycleError):
    """A request or event that cannot be acted on as given (a precise message says why)."""


class DeliveryFailed(LifecycleError):
    """An email or event could not be handed over now; the record is retried."""


class SendInProgress(DeliveryFailed):
    """Another sender holds the lease on this email or event right now; try again later."""


class AddressRefused(LifecycleError):
    """SES cannot send to this address as it is written (malformed, or non-ASCII before the
    ``@``): a permanent failure, handled like a bounce. The message never repeats the address."""
