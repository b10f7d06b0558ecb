"""Typed settings, read once from the environment the template gives each function.

Each setting is declared once, here: its default, the environment variable that carries it,
the template Parameter it comes from and the bounds it must keep. ``template.yaml`` repeats the
defaults and bounds for ``sam deploy`` to check; ``tests/unit/test_settings.py`` holds the two
to the same values. Domain code receives a ``Settings`` (or the ``Policy`` inside it) as an
argument and never reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any


class SettingsError(ValueError):
    """The function's environment is missing a value or holds one that makes no sense."""


def setting(
    default: Any = MISSING,
    *,
    env: str,
    parameter: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    allowed: tuple[str, ...] | None = None,
) -> Any:
    """A setting read from ``env``; ``parameter`` names the template Parameter that sets it
    (None for a resource name or a URL the template derives); ``allowed``: its only values."""
    metadata = {"env": env, "parameter": parameter, "minimum": minimum, "maximum": maximum, "allowed": allowed}
    return field(default=default, metadata=metadata)


def declared(cls: type) -> list[Field[Any]]:
    """The settings of one of the classes below, in declaration order."""
    return [f for f in fields(cls) if "env" in f.metadata]


def _check_bounds(instance: object) -> None:
    for spec in declared(type(instance)):
        value = getattr(instance, spec.name)
        low, high, allowed = spec.metadata["minimum"], spec.metadata["maximum"], spec.metadata["allowed"]
        if allowed is not None and value not in allowed:
            raise SettingsError(f"{spec.name} must be one of {', '.join(allowed)}, got {value!r}")
        if low is not None and value < low:
            raise SettingsError(f"{spec.name} must be at least {low:g}, got {value}")
        if high is not None and value > high:
            raise SettingsError(f"{spec.name} must be at most {high:g}, got {value}")


@dataclass(frozen=True)
class Policy:
    """The campaign's policy numbers (template Parameters of the same names)."""

    never_watched_months: int = setting(12, env="NEVER_WATCHED_MONTHS", parameter="NeverWatchedMonths", minimum=1)
    inactive_months: int = setting(24, env="INACTIVE_MONTHS", parameter="InactiveMonths", minimum=1)
    response_window_days: int = setting(30, env="RESPONSE_WINDOW_DAYS", parameter="ResponseWindowDays", minimum=1)
    reminder_days_before: int = setting(7, env="REMINDER_DAYS_BEFORE", parameter="ReminderDaysBefore", minimum=0)
    retention_months: int = setting(10, env="RETENTION_MONTHS", parameter="RetentionMonths", minimum=1)
    # when a cancellation ends access and billing: at once, or when the period the member paid
    # for ends (their ``paid_until``, where the business writes it; at once where it does not)
    cancellation_takes_effect: str = setting(
        "immediately", env="CANCELLATION_TAKES_EFFECT", parameter="CancellationTakesEffect",
        allowed=("immediately", "end_of_paid_period"),
    )
    link_grace_days: int = setting(7, env="LINK_GRACE_DAYS", parameter="LinkGraceDays", minimum=0)
    # billing answers each MembershipCancelled with BillingStopped: the sweep publishes the
    # cancellation again after this long unconfirmed, and the alarm fires after the second limit
    billing_ack_hours: int = setting(24, env="BILLING_ACK_HOURS", parameter="BillingAckHours", minimum=1)
    billing_alarm_hours: int = setting(72, env="BILLING_ALARM_HOURS", parameter="BillingAlarmHours", minimum=1)
    # the guard against a broken activity feed or load (``lifecycle.sweep.guard``): more newly
    # inactive than this share is implausible on any night, the first included...
    max_notice_share: float = setting(
        0.5, env="MAX_NOTICE_SHARE", parameter="MaxNoticeShare", minimum=0.0001, maximum=1
    )
    # ...and more than this share inactive since before the last run, beyond what it left
    # waiting, means recorded activity moved backwards or vanished
    max_unexplained_share: float = setting(
        0.01, env="MAX_UNEXPLAINED_SHARE", parameter="MaxUnexplainedShare", minimum=0.0001, maximum=1
    )
    guard_min_notices: int = setting(50, env="GUARD_MIN_NOTICES", parameter="GuardMinNotices", minimum=0)
    max_notices_per_run: int = setting(
        0, env="MAX_NOTICES_PER_RUN", parameter="MaxNoticesPerRun", minimum=0
    )  # 0: no cap
    dry_run: bool = setting(False, env="DRY_RUN", parameter="DryRun")

    def __post_init__(self) -> None:
        _check_bounds(self)
        if self.billing_alarm_hours < self.billing_ack_hours:
            raise SettingsError(
                f"billing_alarm_hours ({self.billing_alarm_hours}) must be at least billing_ack_hours "
                f"({self.billing_ack_hours})"
            )
        if self.reminder_days_before >= self.response_window_days:
            raise SettingsError(
                f"reminder_days_before ({self.reminder_days_before}) must be between 0 and "
                f"response_window_days - 1 ({self.response_window_days - 1})"
            )


@dataclass(frozen=True)
class SweepSettings:
    """How the nightly sweep splits, paces and hands on its work (the ``Sweep*`` Parameters)."""

    progress_table: str = setting("", env="SWEEP_PROGRESS_TABLE")
    queue_url: str = setting("", env="SWEEP_QUEUE_URL")
    members_per_segment: int = setting(
        3_000_000, env="SWEEP_MEMBERS_PER_SEGMENT", parameter="SweepMembersPerSegment", minimum=1
    )
    max_segments: int = setting(
        256, env="SWEEP_MAX_SEGMENTS", parameter="SweepMaxSegments", minimum=1, maximum=1_000_000
    )
    # 2: the least an SQS event source's MaximumConcurrency may be
    max_concurrency: int = setting(
        64, env="SWEEP_MAX_CONCURRENCY", parameter="SweepMaxConcurrency", minimum=2, maximum=1000
    )
    read_units_per_second: float = setting(
        20_000, env="SWEEP_READ_UNITS_PER_SECOND", parameter="SweepReadUnitsPerSecond", minimum=1
    )
    page_size: int = setting(5000, env="SWEEP_PAGE_SIZE", parameter="SweepPageSize", minimum=1, maximum=100_000)
    hand_off_seconds: float = setting(
        60, env="SWEEP_HAND_OFF_SECONDS", parameter="SweepHandOffSeconds", minimum=1, maximum=900
    )

    def __post_init__(self) -> None:
        _check_bounds(self)


@dataclass(frozen=True)
class Settings:
    activity_table: str = setting(env="ACTIVITY_TABLE")
    lifecycle_table: str = setting(env="LIFECYCLE_TABLE")
    member_data_table: str = setting(env="MEMBER_DATA_TABLE")
    link_table: str = setting(env="LINK_TABLE")
    event_bus_name: str = setting("default", env="EVENT_BUS_NAME")
    link_secret_id: str = setting("", env="LINK_SECRET_ID")
    # the key a purged member's address is hashed with (``addresses.purged_address_hash``)
    address_secret_id: str = setting("", env="ADDRESS_HASH_SECRET_ID")
    sender_address: str = setting("no-reply@example.com", env="SENDER_ADDRESS", parameter="SenderAddress")
    # where a member's reply goes (Reply-To), when people read it; empty: replies are not read
    reply_to_address: str = setting("", env="REPLY_TO_ADDRESS", parameter="ReplyToAddress")
    # the service's help page, linked from every email and page; empty: none
    help_url: str = setting("", env="HELP_URL", parameter="HelpUrl")
    configuration_set: str = setting("", env="SES_CONFIGURATION_SET", parameter="ConfigurationSetName")
    # the template gives the API's own URL when its PublicBaseUrl is empty
    public_base_url: str = setting("http://127.0.0.1:3000", env="PUBLIC_BASE_URL")
    rejoin_url: str = setting("https://example.com/rejoin", env="REJOIN_URL", parameter="RejoinUrl")
    service_name: str = setting("Streaming", env="SERVICE_NAME", parameter="ServiceName")
    default_locale: str = setting("en-US", env="DEFAULT_LOCALE")
    # the SSM parameter that pauses notices (``lifecycle.switch``); empty: no pause button
    notices_switch_parameter: str = setting("", env="NOTICES_SWITCH_PARAMETER")
    # where the inbound consumer parks an event it cannot apply, with the reason
    inbound_dead_letter_queue_url: str = setting("", env="INBOUND_DEAD_LETTER_QUEUE_URL")
    policy: Policy = field(default_factory=Policy)
    sweep: SweepSettings = field(default_factory=SweepSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            **_read(cls, env), policy=Policy(**_read(Policy, env)), sweep=SweepSettings(**_read(SweepSettings, env))
        )


def _read(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    """The values of ``cls``' settings that ``env`` sets; an unset or empty one keeps its default."""
    values: dict[str, Any] = {}
    for spec in declared(cls):
        name = spec.metadata["env"]
        raw = env.get(name, "").strip()
        if raw:
            values[spec.name] = _parse(name, raw, str(spec.type))
        elif spec.default is MISSING:
            raise SettingsError(f"environment variable {name} is required")
    return values


def _flag(raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ValueError(raw)
    return raw.lower() == "true"


# how each kind of setting is read (annotations are strings here: ``from __future__ import annotations``)
_PARSERS: dict[str, tuple[Any, str]] = {
    "bool": (_flag, "true or false"),
    "int": (int, "a whole number"),
    "float": (float, "a number"),
    "str": (str, "text"),
}


def _parse(name: str, raw: str, annotation: str) -> Any:
    parse, meaning = _PARSERS[annotation]
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be {meaning}, got {raw!r}") from None
