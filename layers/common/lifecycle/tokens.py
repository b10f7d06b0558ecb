"""Signed, expiring links for notice emails.

A token names one notice and carries its own expiry, nothing else: no member id, no address.
Which member a notice belongs to is looked up (the links table), so a token is as short for a
2,048-byte member id as for ``m-1``, and the link reveals nothing about anyone. It is signed
with HMAC-SHA256 (itsdangerous) under a purpose-specific salt, so a token minted for anything
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
MIN_KEY_LENGTH = 32
MAX_TOKEN_LENGTH = 200  # what signing writes is about 80 characters; a longer one is not ours

# How signing writes a token: the payload, then the signature, in unpadded URL-safe base64.
# The payload starts with "." when zlib made it shorter (itsdangerous marks compression so).
_TOKEN_SHAPE = re.compile(r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


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
    notice_id: str
    expires_at: datetime


class SigningKeyProblem(ValueError):
    """The link-signing secret holds something that is not a usable key."""


@dataclass(frozen=True)
class SigningKeys:
    current: str
    previous: str | None = None
    previous_valid_until: datetime | None = None

    @classmethod
    def from_secret(cls, secret: object) -> SigningKeys:
        """The keys the secret holds. Without a usable current key nothing can be signed or
        verified (``SigningKeyProblem``); a previous key that is too short, or whose end date
        cannot be read, is left out (``problems`` says why), so every current link still works."""
        return cls.with_problems(secret)[0]

    @classmethod
    def with_problems(cls, secret: object) -> tuple[SigningKeys, list[str]]:
        # object: the secret holds whatever JSON was stored in it, checked here
        if not isinstance(secret, dict):
            raise SigningKeyProblem("the link-signing secret is not a JSON object")
        current = secret.get("current")
        if not isinstance(current, str) or len(current) < MIN_KEY_LENGTH:
            raise SigningKeyProblem(f"link-signing secret needs a 'current' key of {MIN_KEY_LENGTH} characters or more")
        previous, until, problems = secret.get("previous") or None, secret.get("previous_valid_until"), []
        if previous is not None and (not isinstance(previous, str) or len(previous) < MIN_KEY_LENGTH):
            problems.append(f"'previous' is not a key of at least {MIN_KEY_LENGTH} characters: it verifies nothing")
            previous = None
        valid_until = None
        if previous is not None:
            valid_until = _moment(until)
            if valid_until is None:
                problems.append("'previous_valid_until' is no ISO 8601 time with a zone: 'previous' verifies nothing")
                previous = None
        return cls(current=current, previous=previous, previous_valid_until=valid_until), problems

    def verifying(self, now: datetime) -> list[str]:
        """Keys that verify now, oldest first (itsdangerous signs with the last one)."""
        keys = [self.current]
        if self.previous and self.previous_valid_until and now < self.previous_valid_until:
            keys.insert(0, self.previous)
        return keys


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


class LinkSigner:
    def __init__(self, keys: SigningKeys, purpose: str = NOTICE_LINK):
        self._keys = keys
        self._purpose = purpose

    def _serializer(self, keys: str | list[str]) -> URLSafeSerializer:
        return URLSafeSerializer(keys, salt=self._purpose, signer_kwargs={"digest_method": hashlib.sha256})

    def sign(self, notice_id: str, expires_at: datetime) -> str:
        """New links are always signed with the current key."""
        return self._serializer(self._keys.current).dumps([notice_id, int(expires_at.timestamp())])

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
            or len(payload) != 2
            or not isinstance(payload[0], str)
            or not payload[0]
            or not isinstance(payload[1], int)
        ):
            raise InvalidLink("link token has an unexpected shape")
        notice_id, expires = payload
        try:
            expires_at = datetime.fromtimestamp(expires, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidLink("link token has an impossible expiry") from None
        if now >= expires_at:
            raise ExpiredLink(notice_id)
        return LinkClaims(notice_id, expires_at)
