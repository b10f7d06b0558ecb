"""Schedule expressions as EventBridge Scheduler evaluates them: when does a schedule fire.

Owns the parsing of ``cron(...)`` (AWS's 6 fields: minutes hours day-of-month month
day-of-week year, with ``?``, ``L``, ``W``, ``#`` and day-of-week 1-7 = SUN-SAT),
``rate(N unit)`` and ``at(...)`` expressions, evaluated in the schedule's time zone, and the
event the Scheduler hands the target (its Input with the ``<aws.scheduler.*>`` context
attributes filled in). Nothing here invokes anything.

Deliberate simplifications: a ``FlexibleTimeWindow`` fires at its start; ``rate()``
schedules count from their creation (deployment) or ``StartDate``; a wall time that a
daylight-saving change skips fires at the same wall-clock time shifted forward by the gap.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from local.template import ACCOUNT_ID, REGION, ScheduleEvent


class ScheduleExpressionError(ValueError):
    """A schedule expression the Scheduler would reject."""


_MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_WEEKDAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


def _aws_weekday(day: date) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday (Python: Monday = 0)."""
    return (day.weekday() + 1) % 7 + 1


def _parse_number(token: str, names: dict[str, int] | None, field: str) -> int:
    token = token.strip().upper()
    if names and token in names:
        return names[token]
    if not token.isdigit():
        raise ScheduleExpressionError(f"{field}: {token!r} is not a value")
    return int(token)


def _parse_set(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> frozenset[int]:
    """A cron field of ``*``, values, ranges ``a-b``, steps ``x/n`` and lists ``a,b``."""
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = _parse_number(step_text, None, field)
            if step < 1:
                raise ScheduleExpressionError(f"{field}: step must be at least 1")
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _parse_number(a, names, field), _parse_number(b, names, field)
        else:
            start = _parse_number(part, names, field)
            end = high if step != 1 else start  # "5/10" runs from 5 to the end
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ScheduleExpressionError(f"{field}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    """An AWS cron expression; :meth:`between` lists its occurrences as aware UTC datetimes."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    day_of_month: str  # kept as text: L, W and ? depend on the month
    day_of_week: str

    @classmethod
    def parse(cls, body: str) -> CronExpression:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(f"cron({body}) needs 6 fields (minutes hours day-of-month month "
                                          f"day-of-week year), got {len(fields)}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
        expression = cls(
            text=f"cron({body})",
            minutes=_parse_set(minute, 0, 59, "minutes"),
            hours=_parse_set(hour, 0, 23, "hours"),
            months=_parse_set(month, 1, 12, "month", _MONTHS),
            years=None if year == "*" else _parse_set(year, 1970, 2199, "year"),
            day_of_month=dom.upper(),
            day_of_week=dow.upper(),
        )
        # validate the day fields once, on some month
        expression._day_matches(date(2024, 1, 1))
        return expression

    def _day_matches(self, day: date) -> bool:
        if self.day_of_month != "?":
            return _dom_matches(self.day_of_month, day)
        return _dow_matches(self.day_of_week, day)

    def _date_matches(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        return self._day_matches(day)

    def between(self, after: datetime, until: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Occurrences in (after, until], in order."""
        local_start = after.astimezone(tz).date() - timedelta(days=1)
        local_end = until.astimezone(tz).date() + timedelta(days=1)
        day = local_start
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        while day <= local_end:
            if self._date_matches(day):
                found = []
                for hour, minute in times:
                    # a wall time that does not exist (DST gap) maps forward, like zoneinfo does
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)
                    if after < moment <= until:
                        found.append(moment)
                yield from sorted(set(found))
            day += timedelta(days=1)


def _dom_matches(spec: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for part in spec.split(","):
        if part == "L":
            if day.day == last:
                return True
        elif part.startswith("L-"):
            if day.day == last - int(part[2:]):
                return True
        elif part == "LW":
            if day.day == _nearest_weekday(day.year, day.month, last):
                return True
        elif part.endswith("W"):
            target = int(part[:-1])
            if not 1 <= target <= 31:
                raise ScheduleExpressionError(f"day-of-month: {part!r} is outside 1-31")
            if target <= last and day.day == _nearest_weekday(day.year, day.month, target):
                return True
        elif day.day in _parse_set(part, 1, 31, "day-of-month"):
            return True
    return False


def _nearest_weekday(year: int, month: int, target: int) -> int:
    """The weekday nearest to ``target`` within the same month (cron's ``W``)."""
    last = calendar.monthrange(year, month)[1]
    weekday = date(year, month, target).weekday()  # Monday = 0
    if weekday == 5:  # Saturday -> Friday, or Monday when the Friday is in the previous month
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday -> Monday, or Friday when the Monday is in the next month
        return target + 1 if target < last else target - 2
    return target


def _dow_matches(spec: str, day: date) -> bool:
    weekday = _aws_weekday(day)
    last = calendar.monthrange(day.year, day.month)[1]
    for part in spec.split(","):
        if "#" in part:
            which_day, nth = part.split("#", 1)
            if weekday == _parse_number(which_day, _WEEKDAYS, "day-of-week") and (day.day - 1) // 7 + 1 == int(nth):
                return True
        elif part.endswith("L") and part != "L":
            if weekday == _parse_number(part[:-1], _WEEKDAYS, "day-of-week") and day.day + 7 > last:
                return True
        elif part == "L":
            if weekday == 7:
                return True
        elif weekday in _parse_set(part, 1, 7, "day-of-week", _WEEKDAYS):
            return True
    return False


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


@dataclass(frozen=True)
class AtExpression:
    text: str
    at: str  # local wall time yyyy-mm-ddThh:mm:ss

    def between(self, after: datetime, until: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        moment = datetime.fromisoformat(self.at).replace(tzinfo=tz).astimezone(UTC)
        if after < moment <= until:
            yield moment


def parse_expression(text: str) -> CronExpression | RateExpression | AtExpression:
    text = text.strip()
    match = re.fullmatch(r"(cron|rate|at)\((.*)\)", text)
    if not match:
        raise ScheduleExpressionError(f"{text!r} is not a cron(...), rate(...) or at(...) expression")
    kind, body = match.groups()
    if kind == "cron":
        return CronExpression.parse(body)
    if kind == "rate":
        return RateExpression.parse(body)
    try:
        datetime.fromisoformat(body)
    except ValueError:
        raise ScheduleExpressionError(f"at({body}) needs yyyy-mm-ddThh:mm:ss") from None
    return AtExpression(text, body)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Schedule:
    """One schedule of one function, as deployed (anchored at its creation for rate())."""

    function_id: str
    event: ScheduleEvent
    created_at: datetime

    def __post_init__(self) -> None:
        self.expression = parse_expression(self.event.expression)
        self.tz = ZoneInfo(self.event.timezone)
        self.start = _parse_date(self.event.start_date)
        self.end = _parse_date(self.event.end_date)

    @property
    def name(self) -> str:
        return f"{self.function_id}{self.event.event_id}"

    @property
    def arn(self) -> str:
        return f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{self.name}"

    def occurrences(self, after: datetime, until: datetime) -> list[datetime]:
        """When it fires in (after, until]."""
        if not self.event.enabled:
            return []
        if self.start and after < self.start:
            after = self.start - timedelta(microseconds=1)
        if self.end and until > self.end:
            until = self.end
        if until <= after:
            return []
        expression = self.expression
        if isinstance(expression, RateExpression):
            return list(expression.between(after, until, self.start or self.created_at))
        return list(expression.between(after, until, self.tz))

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
