"""Typed settings, read once from the environment the template gives each function.

Every policy number is a template Parameter passed through here; domain code receives a
``Settings`` (or the ``Policy`` inside it) as an argument and never reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


class SettingsError(ValueError):
    """The function's environment is missing a value or holds one that makes no sense."""


@dataclass(frozen=True)
class Policy:
    """The campaign's policy numbers (template Parameters of the same names)."""

    never_watched_months: int = 12
    inactive_months: int = 24
    response_window_days: int = 30
    reminder_days_before: int = 7
    retention_months: int = 10
    link_grace_days: int = 7
    # guards of the sweep against mass mistakes and for SES reputation
    max_notice_share: float = 0.01
    guard_min_notices: int = 50
    max_notices_per_run: int = 0  # 0: no cap
    dry_run: bool = False

    def __post_init__(self) -> None:
        for name in ("never_watched_months", "inactive_months", "response_window_days", "retention_months"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.reminder_days_before < self.response_window_days:
            raise SettingsError(
                f"reminder_days_before ({self.reminder_days_before}) must be between 0 and "
                f"response_window_days - 1 ({self.response_window_days - 1})"
            )
        if self.link_grace_days < 0:
            raise SettingsError(f"link_grace_days must not be negative, got {self.link_grace_days}")
        if not 0 < self.max_notice_share <= 1:
            raise SettingsError(f"max_notice_share must be above 0 and at most 1, got {self.max_notice_share}")
        if self.guard_min_notices < 0 or self.max_notices_per_run < 0:
            raise SettingsError("guard_min_notices and max_notices_per_run must not be negative")


@dataclass(frozen=True)
class SweepSettings:
    """How the nightly sweep splits, paces and hands on its work (the ``Sweep*`` Parameters)."""

    progress_table: str = ""
    queue_url: str = ""
    members_per_segment: int = 3_000_000
    max_segments: int = 256
    max_concurrency: int = 64
    read_units_per_second: float = 20_000
    page_size: int = 5000
    hand_off_seconds: float = 60

    def __post_init__(self) -> None:
        for name in ("members_per_segment", "max_segments", "max_concurrency", "page_size"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.read_units_per_second <= 0 or self.hand_off_seconds <= 0:
            raise SettingsError("read_units_per_second and hand_off_seconds must be above 0")


@dataclass(frozen=True)
class Settings:
    activity_table: str
    lifecycle_table: str
    member_data_table: str
    link_table: str = "membership-links"
    event_bus_name: str = "default"
    link_secret_id: str = ""
    sender_address: str = "no-reply@example.com"
    configuration_set: str = ""
    public_base_url: str = "http://127.0.0.1:3000"
    rejoin_url: str = "https://example.com/rejoin"
    service_name: str = "Streaming"
    default_locale: str = "en-US"
    policy: Policy = field(default_factory=Policy)
    sweep: SweepSettings = field(default_factory=SweepSettings)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is required")
            return value

        def share(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from None

        def flag(name: str) -> bool:
            raw = env.get(name, "").strip().lower()
            if raw not in ("", "true", "false"):
                raise SettingsError(f"environment variable {name} must be true or false, got {raw!r}")
            return raw == "true"

        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"environment variable {name} must be a whole number, got {raw!r}") from None

        defaults = cls.__dataclass_fields__
        return cls(
            activity_table=required("ACTIVITY_TABLE"),
            lifecycle_table=required("LIFECYCLE_TABLE"),
            member_data_table=required("MEMBER_DATA_TABLE"),
            link_table=required("LINK_TABLE"),
            event_bus_name=env.get("EVENT_BUS_NAME") or defaults["event_bus_name"].default,
            link_secret_id=env.get("LINK_SECRET_ID", ""),
            sender_address=env.get("SENDER_ADDRESS") or defaults["sender_address"].default,
            configuration_set=env.get("SES_CONFIGURATION_SET", ""),
            public_base_url=(env.get("PUBLIC_BASE_URL") or defaults["public_base_url"].default).rstrip("/"),
            rejoin_url=env.get("REJOIN_URL") or defaults["rejoin_url"].default,
            service_name=env.get("SERVICE_NAME") or defaults["service_name"].default,
            default_locale=env.get("DEFAULT_LOCALE") or defaults["default_locale"].default,
            policy=Policy(
                never_watched_months=number("NEVER_WATCHED_MONTHS", 12),
                inactive_months=number("INACTIVE_MONTHS", 24),
                response_window_days=number("RESPONSE_WINDOW_DAYS", 30),
                reminder_days_before=number("REMINDER_DAYS_BEFORE", 7),
                retention_months=number("RETENTION_MONTHS", 10),
                link_grace_days=number("LINK_GRACE_DAYS", 7),
                max_notice_share=share("MAX_NOTICE_SHARE", 0.01),
                guard_min_notices=number("GUARD_MIN_NOTICES", 50),
                max_notices_per_run=number("MAX_NOTICES_PER_RUN", 0),
                dry_run=flag("DRY_RUN"),
            ),
            sweep=SweepSettings(
                progress_table=env.get("SWEEP_PROGRESS_TABLE", ""),
                queue_url=env.get("SWEEP_QUEUE_URL", ""),
                members_per_segment=number("SWEEP_MEMBERS_PER_SEGMENT", 3_000_000),
                max_segments=number("SWEEP_MAX_SEGMENTS", 256),
                max_concurrency=number("SWEEP_MAX_CONCURRENCY", 64),
                read_units_per_second=share("SWEEP_READ_UNITS_PER_SECOND", 20_000),
                page_size=number("SWEEP_PAGE_SIZE", 5000),
                hand_off_seconds=share("SWEEP_HAND_OFF_SECONDS", 60),
            ),
        )


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """Settings of this process, read once (handlers call this, domain code never does)."""
    return Settings.from_env()
