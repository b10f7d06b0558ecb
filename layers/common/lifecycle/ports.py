"""The domain's ports to the services it sends through, named from what the domain asks of them.
Each has one adapter on AWS (``lifecycle.adapters``) and an in-memory fake in the tests
(``tests/fakes.py``); ``tests/contracts`` runs the same checks against both, so a fake cannot
drift from the real thing. The member tables stay with ``MembershipStore`` (``repository``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from lifecycle.rendering import RenderedEmail


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
