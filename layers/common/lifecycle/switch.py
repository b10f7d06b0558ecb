"""The campaign's pause button: an SSM parameter (``NoticesSwitch``) an operator sets to
``paused`` or ``running`` at any time, without a deploy, read through Powertools and cached for a
minute. Paused, the sweep opens no notice, requests no reminder and settles no overdue notice,
and a notice whose deadline passes is left open (``expire``): cancellations wait until the
campaign runs again. Members' own answers, purges and billing go on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lifecycle import aws, clock
from lifecycle.settings import Settings, SettingsError

PAUSED, RUNNING = "paused", "running"
CACHED_FOR = timedelta(seconds=60)
_fetched_at: dict[str, datetime] = {}  # by the campaign's clock, which the local cloud moves faster than the wall's


def notices_paused(settings: Settings) -> bool:
    """Whether the operator paused the campaign's notices (False when the stack has no switch)."""
    name = settings.notices_switch_parameter
    if not name:
        return False
    now = clock.now()
    stale = now - _fetched_at.get(name, datetime.min.replace(tzinfo=now.tzinfo)) >= CACHED_FOR
    value = str(aws.parameters().get(name, max_age=int(CACHED_FOR.total_seconds()), force_fetch=stale)).strip()
    if stale:
        _fetched_at[name] = now
    if value not in (PAUSED, RUNNING):
        raise SettingsError(f"the SSM parameter {name} must be {RUNNING!r} or {PAUSED!r}, got {value!r}")
    return value == PAUSED
