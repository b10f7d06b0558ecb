"""Signed, expiring links for notice emails.

A token names one member and one notice, and carries its own expiry; it is signed with
HMAC-SHA256 (itsdangerous) under a purpose-specific salt, so a token minted for anything
else never verifies here. Keys rotate: the secret holds the current key and, until its end
date, the previous one, which still verifies links already sent but never signs new ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadData, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from lifecycle.errors import ExpiredLink, InvalidLink

NOTICE_LINK = "notice-link"
MAX_TOKEN_LENGTH = 200  # a longer one is not ours; refuse it before doing any work


_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def exactly_as_signed(token: str) -> bool:
    """Whether ``token`` is written exactly as signing writes it. Base64 decoding skips characters
    outside its alphabet and ignores the spare bits of a last character, so a genuine token with
    such changes (``é`` inserted, the last letter shifted by one) would still verify: a link
    altered in any way is refused, even when it still says the same thing."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not _TOKEN_SHAPE.fullmatch(token):
        return False
    signature = token.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(signature)) == signature.encode("ascii")
    except BadData:
        return False


@dataclass(frozen=True)
class LinkClaims:
    member_id: str
    notice_id: str
    expires_at: datetime


@dataclass(frozen=True)
class SigningKeys:
    current: str
    previous: str | None = None
    previous_valid_until: datetime | None = None

    @classmethod
    def from_secret(cls, secret: dict) -> SigningKeys:
        current = secret.get("current")
        if not isinstance(current, str) or len(current) < 32:
            raise ValueError("link-signing secret needs a 'current' key of at least 32 characters")
        until = secret.get("previous_valid_until")
        return cls(
            current=current,
            previous=secret.get("previous") or None,
            previous_valid_until=datetime.fromisoformat(until).astimezone(UTC) if until else None,
        )

    def verifying(self, now: datetime) -> list[str]:
        """Keys that verify now, oldest first (itsdangerous signs with the last one)."""
        keys = [self.current]
        if self.previous and self.previous_valid_until and now < self.previous_valid_until:
            keys.insert(0, self.previous)
        return keys


class LinkSigner:
    def __init__(self, keys: SigningKeys, purpose: str = NOTICE_LINK):
        self._keys = keys
        self._purpose = purpose

    def _serializer(self, keys: str | list[str]) -> URLSafeSerializer:
        return URLSafeSerializer(keys, salt=self._purpose, signer_kwargs={"digest_method": hashlib.sha256})

    def sign(self, member_id: str, notice_id: str, expires_at: datetime) -> str:
        """New links are always signed with the current key."""
        return self._serializer(self._keys.current).dumps([member_id, notice_id, int(expires_at.timestamp())])

    def verify(self, token: str, now: datetime) -> LinkClaims:
        """The claims of a genuine, unexpired token; ``InvalidLink`` or ``ExpiredLink`` otherwise."""
        if not exactly_as_signed(token):
            raise InvalidLink("link token missing, too long, or not written as signed")
        try:
            payload = self._serializer(self._keys.verifying(now)).loads(token)  # constant-time signature check
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidLink("link token does not verify") from exc
        if (
            not isinstance(payload, list)
            or len(payload) != 3
            or not all(isinstance(part, str) and part for part in payload[:2])
            or not isinstance(payload[2], int)
        ):
            raise InvalidLink("link token has an unexpected shape")
        member_id, notice_id, expires = payload
        try:
            expires_at = datetime.fromtimestamp(expires, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidLink("link token has an impossible expiry") from None
        if now >= expires_at:
            raise ExpiredLink(member_id)
        return LinkClaims(member_id, notice_id, expires_at)
