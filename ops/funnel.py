"""The campaign funnel and the money it stops charging, read from a rehearsal's REPORT.json.

Owns the arithmetic every view of a rehearsal shares (the terminal summary printed here with
``rich`` and the HTML page in :mod:`ops.report_html`): how many members were noticed, what
became of them (kept, kept by watching, cancelled on request or for no response, still open),
how many rejoined or were purged, which emails went out, and the monthly charges that stopped
per currency. It reads the report's contract only, so it works on any REPORT.json.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

KEPT = "kept"
KEPT_BY_WATCHING = "kept_by_watching"
CANCELLED_ON_REQUEST = "cancelled_on_request"
CANCELLED_NO_RESPONSE = "cancelled_no_response"
CANCELLED_BY_CAMPAIGN = frozenset({CANCELLED_ON_REQUEST, CANCELLED_NO_RESPONSE})

# Reports that leave out ``notice_outcome`` still say why a membership was cancelled.
_OUTCOME_FROM_CANCEL_REASON = {"member_request": CANCELLED_ON_REQUEST, "no_response": CANCELLED_NO_RESPONSE}
_EMAIL_KIND_ORDER = ("notice", "reminder", "cancelled")
_CENT = Decimal("0.01")
_BAR_WIDTH = 32


@dataclass(frozen=True)
class Stage:
    """One bar of the funnel: a count and its share of the members who got a notice."""

    key: str
    label: str
    count: int
    percent_of_noticed: float
    tone: str  # what the stage means to the member: "notice", "kept", "cancelled", "open", "after"


_STAGES = (
    ("noticed", "Noticed", "notice"),
    ("kept", "Kept (answered keep)", "kept"),
    ("kept_by_watching", "Kept by watching", "kept"),
    ("cancelled_on_request", "Cancelled on request", "cancelled"),
    ("cancelled_no_response", "Cancelled for no response", "cancelled"),
    ("still_open", "Still open", "open"),
    ("rejoined", "Rejoined", "after"),
    ("purged", "Purged after retention", "after"),
)


def notice_outcome(member: Mapping[str, Any]) -> str | None:
    """What the member's latest notice ended as, or None while it is open (or there was none)."""
    outcome = member.get("notice_outcome")
    if outcome:
        return str(outcome)
    return _OUTCOME_FROM_CANCEL_REASON.get(member.get("cancel_reason") or "")


def was_noticed(member: Mapping[str, Any]) -> bool:
    return bool(member.get("notice_outcome")) or any(
        email.get("kind") == "notice" for email in member.get("emails") or ()
    )


def cancelled_by_campaign(member: Mapping[str, Any]) -> bool:
    return notice_outcome(member) in CANCELLED_BY_CAMPAIGN


def charge_stopped(member: Mapping[str, Any]) -> bool:
    """Cancelled by the campaign and not back: their monthly charge has stopped."""
    return cancelled_by_campaign(member) and not member.get("rejoined_at") and member.get("status") != "active"


def funnel(report: Mapping[str, Any]) -> dict[str, Any]:
    """Counts of the funnel, emails by kind and language, and monthly savings per currency.

    ``monthly_savings`` maps a currency to the sum (a decimal string, to the cent) of the
    monthly prices of members the campaign cancelled who have not rejoined.
    """
    members: Mapping[str, Mapping[str, Any]] = report.get("members") or {}
    outcomes: Counter[str] = Counter()
    emails_by_kind: Counter[str] = Counter()
    emails_by_lang: Counter[str] = Counter()
    savings: dict[str, Decimal] = {}
    noticed = still_open = rejoined = purged = 0
    for member in members.values():
        outcome = notice_outcome(member)
        if was_noticed(member) or outcome:
            noticed += 1
            if outcome is None:
                still_open += 1
            else:
                outcomes[outcome] += 1
        if member.get("rejoined_at"):
            rejoined += 1
        if member.get("purged_at"):
            purged += 1
        for email in member.get("emails") or ():
            emails_by_kind[str(email.get("kind") or "unknown")] += 1
            emails_by_lang[str(email.get("lang") or "unknown")] += 1
        if charge_stopped(member):
            price = _price(member.get("monthly_price"))
            if price:
                currency = str(member.get("currency") or "XXX")  # ISO 4217's "no currency"
                savings[currency] = savings.get(currency, Decimal(0)) + price
    return {
        "members": len(members),
        "noticed": noticed,
        "kept": outcomes[KEPT],
        "kept_by_watching": outcomes[KEPT_BY_WATCHING],
        "cancelled_on_request": outcomes[CANCELLED_ON_REQUEST],
        "cancelled_no_response": outcomes[CANCELLED_NO_RESPONSE],
        "still_open": still_open,
        "rejoined": rejoined,
        "purged": purged,
        "reminders_sent": emails_by_kind["reminder"],
        "emails_by_kind": _ordered_kinds(emails_by_kind),
        "emails_by_lang": dict(sorted(emails_by_lang.items(), key=lambda item: (-item[1], item[0]))),
        "monthly_savings": {currency: str(total.quantize(_CENT)) for currency, total in sorted(savings.items())},
    }


def funnel_stages(counts: Mapping[str, Any]) -> list[Stage]:
    """The funnel's bars in reading order; "Still open" only when some notices are."""
    noticed = counts["noticed"]
    return [
        Stage(key, label, counts[key], 100.0 * counts[key] / noticed if noticed else 0.0, tone)
        for key, label, tone in _STAGES
        if key != "still_open" or counts[key]
    ]


def format_monthly(currency: str, amount: str | Decimal) -> str:
    """``EUR 1,234.56/month``."""
    return f"{currency} {Decimal(amount):,.2f}/month"


def print_funnel(report: Mapping[str, Any], console: Console) -> None:
    """Print the funnel, the savings and the emails sent, for an operator's terminal."""
    counts = funnel(report)
    console.print(_funnel_table(counts))
    console.print(_savings_text(counts["monthly_savings"]))
    console.print(_emails_table(counts))


def _funnel_table(counts: Mapping[str, Any]) -> Table:
    table = Table(
        title=f"Campaign funnel — {counts['members']:,} members, {counts['noticed']:,} noticed",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("Stage")
    table.add_column("Members", justify="right")
    table.add_column("% of noticed", justify="right")
    table.add_column("", min_width=_BAR_WIDTH, no_wrap=True)
    styles = {"notice": "blue", "kept": "green", "cancelled": "red", "open": "yellow", "after": "cyan"}
    for stage in funnel_stages(counts):
        filled = round(_BAR_WIDTH * stage.percent_of_noticed / 100)
        if stage.count and not filled:
            filled = 1  # a stage that happened at all is visible
        bar = Text("█" * filled, style=styles[stage.tone]) + Text("░" * (_BAR_WIDTH - filled), style="dim")
        indent = "" if stage.key == "noticed" else "  "
        table.add_row(indent + stage.label, f"{stage.count:,}", f"{stage.percent_of_noticed:.1f}%", bar)
    return table


def _savings_text(savings: Mapping[str, str]) -> Text:
    text = Text("Charges stopped", style="bold")
    if not savings:
        return text + Text(": none yet")
    for currency, amount in savings.items():
        text += Text("\n  ") + Text(format_monthly(currency, amount), style="green")
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
