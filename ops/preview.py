"""Before go-live (``python -m ops preview --stack NAME``): tonight's sweep judged against the
stack as a dry run would judge it, and nothing written (no run record, no baseline, no notice).

It reads the activity table with the layer's own scan, judges each member with the stack's own
policy (its Parameters) and the guard's verdict on the baseline the last real run left, and says
how many members each rule would notice, what the guard would do, how many nights
``MaxNoticesPerRun`` spreads them over, and how long SES's sending quota needs for them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lifecycle.policy import SweepAction, inactive_from, plan, prefilter_cutoffs
from lifecycle.settings import Policy, Settings, SweepSettings, declared
from lifecycle.store import Store
from lifecycle.sweep.guard import GuardState, verdict
from lifecycle.sweep.progress import SweepProgress
from lifecycle.switch import notices_paused
from ops.stack_access import DeployedStack

_TABLES = {"ACTIVITY_TABLE": "ActivityTableName", "LIFECYCLE_TABLE": "LifecycleTableName",
           "MEMBER_DATA_TABLE": "MemberDataTableName", "LINK_TABLE": "LinkTableName",
           "SWEEP_PROGRESS_TABLE": "SweepProgressTableName", "NOTICES_SWITCH_PARAMETER": "NoticesSwitchParameterName"}
RULE_NAMES = {"never_watched": "never watched", "dormant": "stopped watching"}


@dataclass
class Preview:
    at: datetime
    settings: Settings
    scanned: int = 0
    malformed: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    inactive_before_baseline: int = 0
    other_actions: Counter[str] = field(default_factory=Counter)
    guard: GuardState = field(default_factory=GuardState)
    paused: bool = False
    quota: dict[str, float] = field(default_factory=dict)

    @property
    def noticed(self) -> int:
        return sum(self.by_rule.values())

    @property
    def guard_verdict(self) -> str | None:
        return verdict(scanned=self.scanned, newly_inactive=self.noticed,
                       inactive_before_baseline=self.inactive_before_baseline,
                       baseline=self.guard.baseline, policy=self.settings.policy)


def stack_settings(stack: DeployedStack) -> Settings:
    """The settings the stack's functions run with: its table names and its Parameters."""
    env = {name: stack.output(output)[0] for name, output in _TABLES.items()}
    for cls in (Settings, Policy, SweepSettings):
        for spec in declared(cls):
            parameter = spec.metadata["parameter"]
            if parameter and stack.parameters.get(parameter, "").strip():
                env[spec.metadata["env"]] = stack.parameters[parameter]
    return Settings.from_env(env)


def preview(stack: DeployedStack, at: datetime, ses: Any) -> Preview:
    settings = stack_settings(stack)
    policy = settings.policy
    progress = SweepProgress(settings.sweep)
    found = Preview(at, settings, guard=progress.guard_state(), paused=notices_paused(settings))
    baseline_at = found.guard.baseline.at if found.guard.baseline else None
    members = Store.on_aws(settings).members
    cutoffs, next_key = prefilter_cutoffs(at, policy), None
    while True:
        page = members.scan_page(cutoffs, 0, 1, next_key, settings.sweep.page_size)
        found.scanned += page.scanned
        found.malformed += len(page.malformed)
        for snapshot in page.members:
            decision = plan(snapshot.view, at, policy)
            if decision.action is SweepAction.OPEN_NOTICE:
                found.by_rule[decision.why] += 1
                if baseline_at is not None and inactive_from(snapshot.view, policy)[1] <= baseline_at:
                    found.inactive_before_baseline += 1
            elif decision.action is not SweepAction.NOTHING:
                found.other_actions[decision.action.value] += 1
        next_key = page.next_key
        if next_key is None:
            break
    found.quota = {name: float(value) for name, value in ses.get_send_quota().items()
                   if name in ("Max24HourSend", "MaxSendRate", "SentLast24Hours")}
    return found


def summary_lines(found: Preview) -> list[str]:
    """The preview in an operator's words, a line each."""
    policy = found.settings.policy
    lines = [f"tonight's sweep at {found.at:%Y-%m-%d %H:%M} UTC, as a dry run would judge it (nothing written)",
             f"members read       {found.scanned:,}" + (f" ({found.malformed:,} unreadable, skipped)"
                                                        if found.malformed else "")]
    parts = " · ".join(f"{RULE_NAMES.get(rule, rule)}: {count:,}" for rule, count in sorted(found.by_rule.items()))
    share = found.noticed / max(found.scanned, 1)
    lines.append(f"would be noticed   {found.noticed:,} ({share:.1%} of the members read)"
                 + (f": {parts}" if parts else ""))
    if found.guard.latch:
        lines.append(f"guard              HELD since run {found.guard.latch.run_id}: no notice opens until released "
                     "(python -m ops guard release)")
    elif (why := found.guard_verdict) is not None:
        lines.append(f"guard              WOULD TRIP and hold every notice: {why}")
    else:
        first = "" if found.guard.baseline else " (the first run: all of it is backlog)"
        lines.append(f"guard              passes{first}")
    if found.paused:
        lines.append("notices            PAUSED: nothing opens until python -m ops notices resume")
    cap = policy.max_notices_per_run
    if cap and found.noticed:
        nights = math.ceil(found.noticed / cap)
        lines.append(f"MaxNoticesPerRun   {cap:,} a night: {nights:,} night{'s' * (nights != 1)} to notice them all "
                     "(those inactive longest first)")
    else:
        lines.append("MaxNoticesPerRun   no cap: all of them tonight")
    per_night = min(found.noticed, cap) if cap else found.noticed
    if found.quota:
        rate, day, sent = (found.quota[name] for name in ("MaxSendRate", "Max24HourSend", "SentLast24Hours"))
        takes = timedelta(seconds=round(per_night / max(rate, 1e-9)))
        over = ", MORE than a day's quota: raise it or set MaxNoticesPerRun" if per_night > day - sent else ""
        lines.append(f"SES quota          {day:,.0f} emails a day, {rate:,.0f} a second ({sent:,.0f} sent in the "
                     f"last 24 h): tonight's {per_night:,} notice emails take {takes} at that rate{over}")
    if found.other_actions:
        lines.append("also               " + ", ".join(f"{name.replace('_', ' ')}: {count:,}"
                                                      for name, count in sorted(found.other_actions.items())))
    return lines
