"""The campaign's numbers, defined once: every view of a report (the terminal summary printed
here with ``rich``, the HTML page of :mod:`ops.report_html`, REPORT.json's summary) reads them
from here, so a number never means two things.

A report is a REPORT.json dict (a rehearsal's, or a deployed stack's from
:mod:`ops.stack_report`): members keyed by id, each with what became of their latest notice.
:data:`MEASURES` names each count, what it means and the base its share is taken of; the
counts of a stage are the sum of its parts (kept = answered keep + kept by watching;
cancelled = on request + for no response); the weeks of :func:`weekly` add up to the same
totals; money is per currency, written by Babel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_name
from dateutil.relativedelta import relativedelta
from rich.console import Console
from rich.table import Table
from rich.text import Text

KEPT = "kept"  # the notice outcome of a member who answered "keep" (link or app)
KEPT_BY_WATCHING = "kept_by_watching"
CANCELLED_ON_REQUEST = "cancelled_on_request"
CANCELLED_NO_RESPONSE = "cancelled_no_response"
CANCELLED_ELSEWHERE = "cancelled_elsewhere"  # left through the service's own account page
CANCELLED_BY_CAMPAIGN = frozenset({CANCELLED_ON_REQUEST, CANCELLED_NO_RESPONSE})
ANSWERS = frozenset({KEPT, CANCELLED_ON_REQUEST})

NEVER_WATCHED = "never_watched"
DORMANT = "dormant"
RULE_NOT_KNOWN = "not_known"
RULE_LABELS = {
    NEVER_WATCHED: "Never watched",
    DORMANT: "Inactive (nothing watched for too long)",
    RULE_NOT_KNOWN: "Rule not known (watched since)",
}

# Reports that leave out ``notice_outcome`` still say why a membership was cancelled.
_OUTCOME_FROM_CANCEL_REASON = {"member_request": CANCELLED_ON_REQUEST, "no_response": CANCELLED_NO_RESPONSE}
_EMAIL_KIND_ORDER = ("notice", "reminder", "cancelled")
EMAIL_KIND_LABELS = {"notice": "Notice", "reminder": "Reminder", "cancelled": "Cancellation"}
_CENT = Decimal("0.01")
_BAR_WIDTH = 10  # the table fits an 80-column terminal unwrapped


@dataclass(frozen=True)
class Measure:
    """One count of the report: its name on every view, what it counts, and what its share is of."""

    key: str
    label: str
    meaning: str
    base: str | None = None  # the measure its share is taken of
    parts: tuple[str, ...] = ()  # the measures it is the sum of
    tone: str = "notice"  # what it means to the member: "notice", "kept", "cancelled", "open", "after"


MEASURES: dict[str, Measure] = {
    measure.key: measure
    for measure in (
        Measure("members", "Members", "Every member in the report, noticed or not."),
        Measure("noticed", "Noticed", "Members who got a notice; a member noticed twice counts once, "
                "by the latest notice.", base="members"),
        Measure("kept", "Kept", "Noticed members who kept the membership: answered keep + kept by watching.",
                base="noticed", parts=("answered_keep", "kept_by_watching"), tone="kept"),
        Measure("answered_keep", "Kept (answered keep)", "Said keep, by the email's link or in the app.",
                base="noticed", tone="kept"),
        Measure("kept_by_watching", "Kept by watching", "Watched something while the notice was open.",
                base="noticed", tone="kept"),
        Measure("cancelled", "Cancelled", "Noticed members the campaign cancelled: on request + for no response.",
                base="noticed", parts=("cancelled_on_request", "cancelled_no_response"), tone="cancelled"),
        Measure("cancelled_on_request", "Cancelled on request", "Said cancel, by the email's link.",
                base="noticed", tone="cancelled"),
        Measure("cancelled_no_response", "Cancelled for no response", "Neither answered nor watched by the deadline.",
                base="noticed", tone="cancelled"),
        Measure("left_elsewhere", "Left through the account page",
                "Ended the membership on the service's own account page while the notice was open.",
                base="noticed", tone="cancelled"),
        Measure("still_open", "Still open", "Noticed members whose notice had not ended when the report was made.",
                base="noticed", tone="open"),
        Measure("rejoined", "Rejoined", "Members the campaign cancelled who came back.", base="cancelled",
                tone="after"),
        Measure("purged", "Purged after retention", "Members the campaign cancelled whose kept profiles, "
                "My List and preferences were deleted at the end of retention.", base="cancelled", tone="after"),
    )
}
# What the noticed members' latest notices ended as: these add up to "noticed".
OUTCOME_MEASURES = ("kept", "cancelled", "left_elsewhere", "still_open")
_BASE_NAMES = {"members": "members", "noticed": "noticed", "cancelled": "cancelled"}
_OUTCOME_MEASURE = {KEPT: "answered_keep", KEPT_BY_WATCHING: "kept_by_watching",
                    CANCELLED_ON_REQUEST: "cancelled_on_request", CANCELLED_NO_RESPONSE: "cancelled_no_response",
                    CANCELLED_ELSEWHERE: "left_elsewhere"}


# ------------------------------------------------------------------ one member
def notice_outcome(member: Mapping[str, Any]) -> str | None:
    """What the member's latest notice ended as, or None while it is open (or there was none)."""
    outcome = member.get("notice_outcome")
    if outcome:
        return str(outcome)
    return _OUTCOME_FROM_CANCEL_REASON.get(member.get("cancel_reason") or "")


def was_noticed(member: Mapping[str, Any]) -> bool:
    return (bool(notice_outcome(member)) or bool(member.get("noticed_at"))
            or any(email.get("kind") == "notice" for email in member.get("emails") or ()))


def cancelled_by_campaign(member: Mapping[str, Any]) -> bool:
    return notice_outcome(member) in CANCELLED_BY_CAMPAIGN


def came_back(member: Mapping[str, Any]) -> bool:
    """Cancelled by the campaign and rejoined since."""
    return cancelled_by_campaign(member) and bool(member.get("rejoined_at")) and (
        str(member["rejoined_at"]) >= str(member.get("cancelled_at") or ""))


def charge_stopped(member: Mapping[str, Any]) -> bool:
    """Cancelled by the campaign and not back: their monthly charge has stopped."""
    return cancelled_by_campaign(member) and not came_back(member) and member.get("status") != "active"


def noticed_at(member: Mapping[str, Any]) -> datetime | None:
    """When the member's latest notice opened: as recorded, or the latest notice email's time."""
    if member.get("noticed_at"):
        return parse_moment(member["noticed_at"])
    sent = [parse_moment(email.get("at")) for email in member.get("emails") or () if email.get("kind") == "notice"]
    return max((moment for moment in sent if moment), default=None)


def notice_rule(member: Mapping[str, Any]) -> str:
    """Which rule made the member inactive when the latest notice opened.

    As recorded when the report knows it; otherwise from the viewing on record: none means
    never watched, one before the notice means inactive, and one since (the member who kept
    by watching) hides which rule it was. When the opening is not known (a stack's member
    record forgets it), a viewing before a notice that watching did not end came before it:
    watching while a notice is open ends it.
    """
    recorded = member.get("notice_rule")
    if recorded in (NEVER_WATCHED, DORMANT):
        return str(recorded)
    watched = parse_moment(member.get("last_watched_at"))
    if watched is None:
        return NEVER_WATCHED
    opened = noticed_at(member)
    if opened is not None:
        return DORMANT if watched < opened else RULE_NOT_KNOWN
    closed = parse_moment(member.get("notice_closed_at")) or parse_moment(member.get("cancelled_at"))
    if closed is not None and notice_outcome(member) != KEPT_BY_WATCHING and watched < closed:
        return DORMANT
    return RULE_NOT_KNOWN


def answered_at(member: Mapping[str, Any]) -> datetime | None:
    if notice_outcome(member) not in ANSWERS:
        return None
    return parse_moment(member.get("notice_closed_at")) or (
        parse_moment(member.get("cancelled_at")) if notice_outcome(member) == CANCELLED_ON_REQUEST else None)


def months_not_charged(member: Mapping[str, Any], end: datetime) -> int:
    """Whole calendar months from the campaign's cancellation to the rejoin or ``end``: each one
    a monthly charge the member no longer paid."""
    cancelled = parse_moment(member.get("cancelled_at"))
    if not cancelled_by_campaign(member) or cancelled is None:
        return 0
    until = parse_moment(member.get("rejoined_at")) if came_back(member) else None
    until = min(until or end, end)
    if until <= cancelled:
        return 0
    span = relativedelta(until, cancelled)
    return span.years * 12 + span.months


# ------------------------------------------------------------------ the report's counts
def funnel(report: Mapping[str, Any]) -> dict[str, Any]:
    """Every count of :data:`MEASURES`, emails by kind and language, and money per currency.

    ``monthly_savings`` maps a currency to the monthly prices of the members the campaign
    cancelled who have not come back; ``campaign_savings`` to the charges not made over the
    campaign (each such member's price × :func:`months_not_charged` up to the report's end).
    Both are decimal strings to the cent.
    """
    members: Mapping[str, Mapping[str, Any]] = report.get("members") or {}
    end = report_end(report)
    counts: Counter[str] = Counter()
    emails_by_kind: Counter[str] = Counter()
    emails_by_lang: Counter[str] = Counter()
    monthly: dict[str, Decimal] = {}
    campaign: dict[str, Decimal] = {}
    for member in members.values():
        for measure in member_measures(member):
            counts[measure] += 1
        for email in member.get("emails") or ():
            emails_by_kind[str(email.get("kind") or "unknown")] += 1
            emails_by_lang[str(email.get("lang") or "unknown")] += 1
        price = _price(member.get("monthly_price"))
        if price and cancelled_by_campaign(member):
            currency = currency_of(member)
            if charge_stopped(member):
                monthly[currency] = monthly.get(currency, Decimal(0)) + price
            if end is not None:
                months = months_not_charged(member, end)
                if months:
                    campaign[currency] = campaign.get(currency, Decimal(0)) + price * months
    return {
        "members": len(members),
        **{key: counts[key] for key in MEASURES if key != "members"},
        "reminders_sent": emails_by_kind["reminder"],
        "emails_by_kind": _ordered_kinds(emails_by_kind),
        "emails_by_lang": dict(sorted(emails_by_lang.items(), key=lambda item: (-item[1], item[0]))),
        "monthly_savings": _money(monthly),
        "campaign_savings": _money(campaign),
    }


def member_measures(member: Mapping[str, Any]) -> list[str]:
    """The measures one member counts in (a stage and its part both)."""
    if not was_noticed(member):
        return []
    outcome = notice_outcome(member)
    measures = ["noticed"]
    if outcome is None:
        measures.append("still_open")
    elif outcome in _OUTCOME_MEASURE:
        part = _OUTCOME_MEASURE[outcome]
        measures += [part, *(key for key in ("kept", "cancelled") if part in MEASURES[key].parts)]
    if cancelled_by_campaign(member):
        if came_back(member):
            measures.append("rejoined")
        if member.get("purged_at"):
            measures.append("purged")
    return measures


@dataclass(frozen=True)
class Stage:
    """One line of the funnel: a count, and its share of the base it is measured against."""

    key: str
    label: str
    count: int
    base_key: str | None
    base_count: int
    tone: str
    part_of: str | None  # the stage this one is a part of

    @property
    def percent(self) -> float:
        return 100.0 * self.count / self.base_count if self.base_count else 0.0

    @property
    def share(self) -> str:
        """``12 of 40 noticed``."""
        return share_text(self.count, self.base_count, self.base_key)


def share_text(count: int, base_count: int, base_key: str | None) -> str:
    return f"{count:,} of {base_count:,} {_BASE_NAMES.get(base_key or '', base_key or '')}".strip()


def percent_text(count: int, base_count: int) -> str:
    return f"{100 * count / base_count:.1f}%" if base_count else "—"


def funnel_stages(counts: Mapping[str, Any]) -> list[Stage]:
    """The funnel in reading order: noticed, the outcomes with their parts, then what followed
    a cancellation. Outcomes nobody reached that have no parts are left out."""
    order = ["noticed"]
    for key in OUTCOME_MEASURES:
        order += [key, *MEASURES[key].parts]
    order += ["rejoined", "purged"]
    part_of = {part: key for key in OUTCOME_MEASURES for part in MEASURES[key].parts}
    stages = []
    for key in order:
        measure = MEASURES[key]
        if key in ("left_elsewhere", "still_open") and not counts.get(key):
            continue
        base = measure.base
        stages.append(Stage(key, measure.label, counts.get(key, 0), base, counts.get(base, 0) if base else 0,
                            measure.tone, part_of.get(key)))
    return stages


def parts_text(counts: Mapping[str, Any], key: str) -> str:
    """``12 answered keep + 2 kept by watching``."""
    words = {"answered_keep": "answered keep", "kept_by_watching": "kept by watching",
             "cancelled_on_request": "on request", "cancelled_no_response": "for no response"}
    return " + ".join(f"{counts.get(part, 0):,} {words[part]}" for part in MEASURES[key].parts)


# ------------------------------------------------------------------ over time
@dataclass(frozen=True)
class Week:
    start: date  # a Monday
    notices: int = 0
    answers: int = 0
    cancellations: int = 0
    rejoins: int = 0
    purges: int = 0


SERIES = {
    "notices": ("Notices", "Notices opened (each noticed member's latest)."),
    "answers": ("Answers", "Keep or cancel said by the member (answered keep + cancelled on request)."),
    "cancellations": ("Cancellations", "Memberships the campaign cancelled (on request + for no response)."),
    "rejoins": ("Rejoins", "Members the campaign cancelled coming back."),
    "purges": ("Purges", "Kept data deleted at the end of retention."),
}


@dataclass(frozen=True)
class Timeline:
    weeks: list[Week]
    undated: dict[str, int]  # events the report counts but cannot place in a week
    notices_from: str  # where the notices per week come from


def weekly(report: Mapping[str, Any]) -> Timeline:
    """Notices, answers, cancellations, rejoins and purges per week (weeks start on Monday).

    Each series adds up to its count in :func:`funnel` (noticed; answered keep + cancelled on
    request; cancelled; rejoined; purged), less what has no date, which ``undated`` counts. A
    report with ``notices_by_run`` (a deployed stack's: the sweep's run records) takes its
    notices from those instead.
    """
    members: Mapping[str, Mapping[str, Any]] = report.get("members") or {}
    events: dict[str, list[datetime]] = {name: [] for name in SERIES}
    undated: Counter[str] = Counter()

    def add(series: str, moment: datetime | None) -> None:
        if moment is None:
            undated[series] += 1
        else:
            events[series].append(moment)

    runs = report.get("notices_by_run")
    for member in members.values():
        if not was_noticed(member):
            continue
        if runs is None:
            add("notices", noticed_at(member))
        if notice_outcome(member) in ANSWERS:
            add("answers", answered_at(member))
        if cancelled_by_campaign(member):
            add("cancellations", parse_moment(member.get("cancelled_at")))
            if came_back(member):
                add("rejoins", parse_moment(member.get("rejoined_at")))
            if member.get("purged_at"):
                add("purges", parse_moment(member.get("purged_at")))
    for run in runs or ():
        moment = parse_moment(run.get("at"))
        events["notices"].extend([moment] * int(run.get("notices") or 0) if moment else [])
    moments = [moment for series in events.values() for moment in series]
    first = parse_moment(report.get("start")) or min(moments, default=None)
    last = report_end(report) or max(moments, default=None)
    if first is None or last is None:
        return Timeline([], dict(undated), _notices_source(runs))
    first, last = min([first, *moments]), max([last, *moments])
    monday = _monday(first)
    per_week: dict[date, Counter[str]] = {}
    while monday <= _monday(last):
        per_week[monday] = Counter()
        monday += timedelta(days=7)
    for series, moments_of in events.items():
        for moment in moments_of:
            per_week[_monday(moment)][series] += 1
    weeks = [Week(start, **{name: counter[name] for name in SERIES}) for start, counter in per_week.items()]
    return Timeline(weeks, dict(undated), _notices_source(runs))


def _notices_source(runs: Any) -> str:
    if runs is None:
        return "members"
    return "sweep runs"


def _monday(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


# ------------------------------------------------------------------ by rule, language, currency
@dataclass(frozen=True)
class Group:
    key: str
    label: str
    counts: dict[str, int]  # the MEASURES of the group's noticed members
    monthly: str | None = None  # currency groups: the monthly charges stopped, formatted
    campaign: str | None = None  # and over the campaign


def breakdown(report: Mapping[str, Any], by: str) -> list[Group]:
    """The noticed members' outcomes grouped ``by`` "rule", "locale" or "currency", most first."""
    members: Mapping[str, Mapping[str, Any]] = report.get("members") or {}
    grouped: dict[str, dict[str, Mapping[str, Any]]] = {}
    for member_id, member in members.items():
        if was_noticed(member):
            key = {"rule": notice_rule, "locale": locale_of, "currency": currency_of}[by](member)
            grouped.setdefault(key, {})[member_id] = member
    groups = []
    for key, group_members in grouped.items():
        counts = funnel({**report, "members": group_members, "notices_by_run": None})
        label = {"rule": lambda k: RULE_LABELS.get(k, k), "locale": locale_label,
                 "currency": currency_label}[by](key)
        money = {}
        if by == "currency":
            money = {"monthly": format_monthly(key, counts["monthly_savings"].get(key, "0")),
                     "campaign": format_money(key, counts["campaign_savings"].get(key, "0"))}
        groups.append(Group(key, label, {name: counts[name] for name in MEASURES}, **money))
    return sorted(groups, key=lambda group: (-group.counts["noticed"], group.label))


def locale_of(member: Mapping[str, Any]) -> str:
    return str(member.get("locale") or "not recorded")


def currency_of(member: Mapping[str, Any]) -> str:
    return str(member.get("currency") or "XXX")  # ISO 4217's "no currency"


def locale_label(locale: str) -> str:
    """``French (France) · fr-FR``; a locale Babel does not know, as written."""
    try:
        name = Locale.parse(locale.replace("_", "-"), sep="-").get_display_name("en")
    except (ValueError, TypeError, UnknownLocaleError):
        return locale
    return f"{name} · {locale}" if name else locale


def language_label(lang: str) -> str:
    """An email's language (``fr``) by its name in English (``French``)."""
    try:
        return Locale.parse(lang.replace("_", "-"), sep="-").get_display_name("en") or lang
    except (ValueError, TypeError, UnknownLocaleError):
        return lang


def currency_label(currency: str) -> str:
    name = get_currency_name(currency, locale="en")
    return f"{name} ({currency})" if name != currency else currency


# ------------------------------------------------------------------ money
def format_money(currency: str, amount: str | Decimal) -> str:
    """``EUR 1,234.56``: the code, then the amount with the currency's own decimals (Babel)."""
    return format_currency(Decimal(amount), currency, format="¤¤ #,##0.00", locale="en", currency_digits=True)


def format_monthly(currency: str, amount: str | Decimal) -> str:
    """``EUR 1,234.56/month``."""
    return f"{format_money(currency, amount)}/month"


def _money(totals: Mapping[str, Decimal]) -> dict[str, str]:
    return {currency: str(total.quantize(_CENT)) for currency, total in sorted(totals.items())}


# ------------------------------------------------------------------ times
def parse_moment(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report_end(report: Mapping[str, Any]) -> datetime | None:
    return parse_moment(report.get("end"))


# ------------------------------------------------------------------ the terminal
def print_funnel(report: Mapping[str, Any], console: Console) -> None:
    """Print the funnel, the money no longer charged and the emails sent, for an operator's terminal."""
    counts = funnel(report)
    console.print(_funnel_table(counts))
    console.print(_savings_text(counts))
    console.print(_emails_table(counts))


def _funnel_table(counts: Mapping[str, Any]) -> Table:
    table = Table(
        title=f"Campaign funnel — {counts['members']:,} members, {counts['noticed']:,} noticed",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("Stage", no_wrap=True)
    table.add_column("Members", justify="right")
    table.add_column("Share", justify="left", no_wrap=True)
    table.add_column("", min_width=_BAR_WIDTH, no_wrap=True)
    styles = {"notice": "blue", "kept": "green", "cancelled": "red", "open": "yellow", "after": "cyan"}
    for stage in funnel_stages(counts):
        filled = round(_BAR_WIDTH * stage.percent / 100)
        if stage.count and not filled:
            filled = 1  # a stage that happened at all is visible
        bar = Text("█" * filled, style=styles[stage.tone]) + Text("░" * (_BAR_WIDTH - filled), style="dim")
        indent = "" if stage.key == "noticed" else "    " if stage.part_of else "  "
        table.add_row(indent + stage.label, f"{stage.count:,}",
                      f"{percent_text(stage.count, stage.base_count)} of {stage.base_count:,} "
                      f"{_BASE_NAMES[stage.base_key or 'members']}", bar)
    return table


def _savings_text(counts: Mapping[str, Any]) -> Text:
    text = Text("No longer charged", style="bold")
    if not counts["monthly_savings"] and not counts["campaign_savings"]:
        return text + Text(": nothing yet")
    for currency in sorted(set(counts["monthly_savings"]) | set(counts["campaign_savings"])):
        text += Text("\n  ") + Text(format_monthly(currency, counts["monthly_savings"].get(currency, "0")),
                                    style="green")
        text += Text(f"   {format_money(currency, counts['campaign_savings'].get(currency, '0'))} over the campaign")
    return text


def _emails_table(counts: Mapping[str, Any]) -> Table:
    table = Table(title="Emails sent", title_justify="left", header_style="bold")
    table.add_column("By kind")
    table.add_column("", justify="right")
    table.add_column("By language")
    table.add_column("", justify="right")
    kinds = list(counts["emails_by_kind"].items())
    langs = list(counts["emails_by_lang"].items())
    for row in range(max(len(kinds), len(langs))):
        kind, kind_count = kinds[row] if row < len(kinds) else ("", "")
        lang, lang_count = langs[row] if row < len(langs) else ("", "")
        table.add_row(kind, f"{kind_count:,}" if kind else "", lang, f"{lang_count:,}" if lang else "")
    return table


def _ordered_kinds(counter: Counter[str]) -> dict[str, int]:
    known = [kind for kind in _EMAIL_KIND_ORDER if counter[kind]]
    return {kind: counter[kind] for kind in known + sorted(set(counter) - set(known))}


def _price(raw: Any) -> Decimal | None:
    try:
        price = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price > 0 else None

