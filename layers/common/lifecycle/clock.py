"""The one clock every handler reads, and the one way a time is written down. AWS runs the clock
on system time; the local cloud and the tests swap in a clock they can move, so months of a
campaign pass in seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (local cloud, tests)."""

    def __init__(self, at: datetime):
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._at = at


_current: Clock = SystemClock()


def iso(moment: datetime) -> str:
    """The one way times are stored: ISO 8601, UTC, whole seconds, ``Z``."""
    if moment.tzinfo is None:
        raise ValueError(f"datetime {moment.isoformat()} has no time zone")
    utc = moment.astimezone(UTC)
    # four-digit years always (strftime writes 501, not 0501): stored times compare as text
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.astimezone(UTC)


def now() -> datetime:
    return _current.now()


def use(clock: Clock) -> Clock:
    """Make ``clock`` the time source; returns the previous one so callers can restore it."""
    global _current
    previous, _current = _current, clock
    return previous
