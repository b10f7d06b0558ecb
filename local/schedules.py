"""Schedule expressions as EventBridge Scheduler evaluates them: when does a schedule fire.

Owns ``cron(...)`` (AWS's 6 fields: minutes hours day-of-month month day-of-week year, with
``?``, ``L``, ``W``, ``#`` and day-of-week 1-7 = SUN-SAT; translated for croniter, which
evaluates it) and ``rate(N unit)`` expressions, evaluated in the schedule's time zone, and
the event the Scheduler hands the target (its Input with the ``<aws.scheduler.*>``
context attributes filled in). Nothing here invokes anything.

Deliberate simplifications: a ``FlexibleTimeWindow`` fires at its start; ``rate()``
schedules count from their creation (deployment). One-time ``at(...)`` schedules,
``StartDate`` and ``EndDate`` (no template here has them) are not supported.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter, croniter_range

from local.template import ACCOUNT_ID, REGION, ScheduleEvent


class ScheduleExpressionError(ValueError):
    """A schedule expression the Scheduler would reject."""


_WEEKDAY_NUMBER = re.compile(r"(?<![#\d])(\d+)")  # a day number, not the n of "6#3"


def _croniter_day_of_week(field: str) -> str:
    """AWS's day-of-week field in croniter's terms: AWS counts 1-7 from Sunday, croniter 0-6;
    AWS's "last Monday" is ``2L``, croniter's ``L1``; a lone ``L`` is the week's last day."""
    if field == "L":
        return "6"

    def shifted(match: re.Match[str]) -> str:
        day = int(match.group(1))
        if not 1 <= day <= 7:
            raise ScheduleExpressionError(f"day-of-week: {day} is outside 1-7")
        return str(day - 1)

    return re.sub(r"^(\d)L$", r"L\1", _WEEKDAY_NUMBER.sub(shifted, field))


@dataclass(frozen=True)
class CronExpression:
    """An AWS cron expression (six fields: minutes hours day-of-month month day-of-week year),
    evaluated by croniter; :meth:`between` lists its occurrences as aware UTC datetimes."""

    text: str
    croniter_form: str  # minute hour day month weekday second year

    @classmethod
    def parse(cls, body: str) -> CronExpression:
        fields = body.upper().split()
        if len(fields) != 6:
            raise ScheduleExpressionError(f"cron({body}) needs 6 fields (minutes hours day-of-month month "
                                          f"day-of-week year), got {len(fields)}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
        if dow.count("#") > 1 or ("#" in dow and "," in dow):
            raise ScheduleExpressionError(f"cron({body}): a day-of-week with '#' is one expression only")
        dom, dow = ("*", _croniter_day_of_week(dow)) if dom == "?" else (dom, "*")
        form = " ".join((minute, hour, dom, month, dow, "0", year))
        if not croniter.is_valid(form):
            raise ScheduleExpressionError(f"cron({body}) is not a valid cron expression")
        return cls(f"cron({body})", form)

    def between(self, after: datetime, until: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Occurrences in (after, until], in order. The fields are matched on the zone's wall
        clock: a wall time that a daylight-saving change skips does not happen (the Scheduler
        skips it), one that happens twice fires once, the first time."""
        start = after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)  # DST moves at most 2 h
        end = until.astimezone(tz).replace(tzinfo=None) + timedelta(hours=3)
        for wall in croniter_range(start, end, self.croniter_form):
            moment = wall.replace(tzinfo=tz)
            if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
                continue  # not a time on this day's clock
            if after < moment.astimezone(UTC) <= until:
                yield moment.astimezone(UTC)


_RATE = re.compile(r"^\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RateExpression:
    text: str
    interval: timedelta

    @classmethod
    def parse(cls, body: str) -> RateExpression:
        match = _RATE.match(body)
        if not match:
            raise ScheduleExpressionError(f"rate({body}) must be 'rate(N minutes|hours|days)'")
        value = int(match.group(1))
        if value < 1:
            raise ScheduleExpressionError(f"rate({body}): the value must be at least 1")
        unit = match.group(2).rstrip("s")
        return cls(f"rate({body})", timedelta(seconds=value * _UNIT_SECONDS[unit]))

    def between(self, after: datetime, until: datetime, anchor: datetime) -> Iterator[datetime]:
        """anchor + k * interval (k >= 1) in (after, until]: a rate schedule counts from its creation."""
        k = max(1, int((after - anchor) // self.interval))
        moment = anchor + k * self.interval
        while moment <= until:
            if moment > after:
                yield moment
            moment += self.interval


def parse_expression(text: str) -> CronExpression | RateExpression:
    text = text.strip()
    match = re.fullmatch(r"(cron|rate)\((.*)\)", text)
    if not match:
        raise ScheduleExpressionError(f"{text!r} is not a cron(...) or rate(...) expression")
    kind, body = match.groups()
    return CronExpression.parse(body) if kind == "cron" else RateExpression.parse(body)


@dataclass
class Schedule:
    """One schedule of one function, as deployed (anchored at its creation for rate())."""

    function_id: str
    event: ScheduleEvent
    created_at: datetime

    def __post_init__(self) -> None:
        self.expression = parse_expression(self.event.expression)
        self.tz = ZoneInfo(self.event.timezone)

    @property
    def arn(self) -> str:  # SAM names the schedule after the function and the event
        return f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{self.function_id}{self.event.event_id}"

    def occurrences(self, after: datetime, until: datetime) -> list[datetime]:
        """When it fires in (after, until]."""
        if not self.event.enabled or until <= after:
            return []
        if isinstance(self.expression, RateExpression):
            return list(self.expression.between(after, until, self.created_at))
        return list(self.expression.between(after, until, self.tz))

    def event_for(self, scheduled_time: datetime, attempt: int = 1) -> Any:
        """The payload the target receives for one occurrence."""
        if self.event.input is None:
            return {}
        context = {
            "<aws.scheduler.schedule-arn>": self.arn,
            "<aws.scheduler.scheduled-time>": scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "<aws.scheduler.execution-id>": _execution_id(self.arn, scheduled_time, attempt),
            "<aws.scheduler.attempt-number>": str(attempt),
        }
        text = self.event.input
        for keyword, value in context.items():
            text = text.replace(keyword, value)
        return json.loads(text)


def _execution_id(arn: str, moment: datetime, attempt: int) -> str:
    return hashlib.sha256(f"{arn}|{moment.isoformat()}|{attempt}".encode()).hexdigest()[:16]
