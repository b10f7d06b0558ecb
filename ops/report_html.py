"""The one-page HTML report of a campaign, for a person to open in a browser.

Owns ``report.html``, made from a REPORT.json dict: a rehearsal's, or a deployed stack's
(:mod:`ops.stack_report`). Every number on it comes from :mod:`ops.funnel`, so the cards, the
funnel, the weeks and the tables agree, and each share names its base. The page works on a
phone (390 CSS pixels, no sideways scrolling) and in a dark colour scheme, and is
self-contained: inline CSS and SVG, no script, no external resource, a Content-Security-Policy
that forbids both. Every value from the report goes through Jinja2's autoescaping: member ids,
subjects and parameters are data, never markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, StrictUndefined

from ops.funnel import (
    CANCELLED_ELSEWHERE,
    CANCELLED_NO_RESPONSE,
    CANCELLED_ON_REQUEST,
    EMAIL_KIND_LABELS,
    KEPT,
    KEPT_BY_WATCHING,
    MEASURES,
    SERIES,
    Group,
    Stage,
    Timeline,
    breakdown,
    charge_stopped,
    currency_of,
    format_money,
    format_monthly,
    funnel,
    funnel_stages,
    language_label,
    notice_outcome,
    parts_text,
    percent_text,
    share_text,
    was_noticed,
    weekly,
)

REPORT_FILE = "report.html"
SAMPLE_SIZE = 50
_UNTOUCHED_IN_SAMPLE = 5

# Sample rows are grouped by what happened, in this order; "open" and "untouched" have no outcome.
_OUTCOME_LABELS = {
    CANCELLED_NO_RESPONSE: ("Cancelled, no response", "cancelled"),
    CANCELLED_ON_REQUEST: ("Cancelled on request", "cancelled"),
    CANCELLED_ELSEWHERE: ("Left through the account page", "cancelled"),
    KEPT: ("Kept", "kept"),
    KEPT_BY_WATCHING: ("Kept by watching", "kept"),
    "open": ("Notice open", "open"),
    "untouched": ("No notice", "quiet"),
}

# What the rehearsal's members did, and what came of it, in words (REPORT.json keeps "kind:result").
_ACTION_WORDS = {
    "watch": "Watched something (playback recorded)",
    "open": "Opened the email's link",
    "keep": "Chose keep on the email's page",
    "cancel": "Chose cancel on the email's page",
    "app_keep": "Kept through the app",
    "rejoin": "Rejoined through the app",
    "join": "Joined (the sign-up flow)",
    "change": "Changed their details",
    "cancel_elsewhere": "Cancelled on the account page",
    "rejoin_elsewhere": "Came back through sign-up",
    "play": "Played something (viewing feed)",
}
_RESULT_WORDS = {
    "recorded": "recorded",
    "older": "older than the viewing on record",
    "sent": "delivered to the product",
    "refused": "refused by the event bus",
    "no email": "no email to follow",
    "no form": "the page offered no choice",
}
_STATUS_WORDS = {
    200: "done",
    303: "done",
    400: "refused as malformed",
    403: "refused: not allowed",
    404: "not found",
    409: "already settled",
    410: "link expired",
}
_FAULT_WORDS = {
    "duplicate-delivery": "deliveries duplicated",
    "duplicate_delivery": "deliveries duplicated",
    "ses-throttle": "SES sends refused (throttled)",
    "ses_throttle": "SES sends refused (throttled)",
    "lost-stream": "stream records lost",
    "lost_stream": "stream records lost",
    "crash": "invocations crashed after their first write",
}


@dataclass(frozen=True)
class _EmailFile:
    label: str
    href: str | None  # None when the path is not a plain relative path


@dataclass(frozen=True)
class _Bar:
    x: float  # percent of the chart's width
    width: float
    height: float
    y: float
    count: int


@dataclass(frozen=True)
class _Panel:
    key: str
    label: str
    meaning: str
    total: int
    busiest: int
    top: float
    bars: list[_Bar]


_PANEL_HEIGHT = 52  # CSS pixels of bars per series: the SVG has no viewBox, so nothing in it scales
_PANEL_GAP = 34
_AXIS = 22


def write_report(report: dict, out_dir: Path, email_files: list[tuple[str, str]] | None = None) -> Path:
    """Write ``out_dir/report.html`` for ``report`` (a REPORT.json dict) and return its path.

    ``email_files`` are (label, path relative to ``out_dir``) of the emails written as HTML;
    each is linked from the page, and from a sampled member's row when the label or path
    names that member.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(render_report(report, email_files), encoding="utf-8")
    return path


def render_report(report: Mapping[str, Any], email_files: Sequence[tuple[str, str]] | None = None) -> str:
    """The report page as a string (what :func:`write_report` writes)."""
    counts = funnel(report)
    members: Mapping[str, Mapping[str, Any]] = report.get("members") or {}
    stack: Mapping[str, Any] | None = report.get("stack")
    files = [_EmailFile(str(label), _relative_href(str(rel_path))) for label, rel_path in email_files or ()]
    file_index = [(label, rel_path, file) for (label, rel_path), file in zip(email_files or (), files, strict=True)]
    timeline = weekly(report)
    panels, chart_height = _panels(timeline)
    sample = _sample(members)
    summary: Mapping[str, Any] = report.get("summary") or {}
    return _template().render(
        title=f"Inactive memberships — stack {stack['name']}" if stack else "Inactive memberships — campaign rehearsal",
        period=_period(report),
        stack=stack,
        params=_pairs(report.get("params") or {}),
        counts=counts,
        kpis=_kpis(counts),
        stages=[_stage_row(stage) for stage in funnel_stages(counts)],
        panels=panels,
        chart_height=chart_height,
        axis=_axis(timeline),
        timeline=timeline,
        series=SERIES,
        weeks=[(f"{week.start:%d %b %Y}", [(label, getattr(week, name)) for name, (label, _) in SERIES.items()])
               for week in timeline.weeks],
        money=_money(members, counts),
        groups={by: _group_rows(breakdown(report, by)) for by in ("rule", "locale", "currency")},
        measures=list(MEASURES.values()),
        email_kinds=[(kind, EMAIL_KIND_LABELS.get(kind, kind)) for kind in counts["emails_by_kind"]],
        email_langs=[(lang, language_label(lang)) for lang in counts["emails_by_lang"]],
        email_grid=_email_grid(members),
        actions=_actions(summary.get("actions")) if not stack else None,
        faults=_faults(report.get("faults")) if not stack else None,
        billing_unconfirmed=summary.get("billing_unconfirmed"),
        sweep_runs=[_run_row(run) for run in (stack or {}).get("sweep_runs") or ()],
        sample=[_sample_row(member_id, members[member_id], file_index) for member_id in sample],
        sample_note=f"{len(sample):,} of {len(members):,} members, every outcome represented",
        email_files=files,
    )


# ------------------------------------------------------------------ figures
def _kpis(counts: Mapping[str, Any]) -> list[dict[str, str]]:
    def card(key: str, parts: bool = False) -> dict[str, str]:
        measure = MEASURES[key]
        base = counts[measure.base] if measure.base else 0
        return {
            "name": measure.label,
            "value": f"{counts[key]:,}",
            "share": f"{share_text(counts[key], base, measure.base)} ({percent_text(counts[key], base)})"
            if measure.base else "in the report",
            "parts": parts_text(counts, key) if parts else "",
            "key": key,
        }

    return [card("members"), card("noticed"), card("kept", parts=True), card("cancelled", parts=True),
            card("rejoined")]


def _stage_row(stage: Stage) -> dict[str, Any]:
    return {
        "key": stage.key,
        "label": stage.label,
        "count": f"{stage.count:,}",
        "share": stage.share,
        "percent": percent_text(stage.count, stage.base_count),
        "width": round(max(stage.percent, 0.6 if stage.count else 0), 1),  # a stage that happened is visible
        "tone": stage.tone,
        "part": stage.part_of is not None,
    }


def _panels(timeline: Timeline) -> tuple[list[_Panel], int]:
    """One row of weekly bars a series, each on its own scale (notices dwarf purges)."""
    panels, top = [], 0
    weeks = timeline.weeks
    slot = 100 / len(weeks) if weeks else 0
    for key, (label, meaning) in SERIES.items():
        values = [getattr(week, key) for week in weeks]
        busiest = max(values, default=0)
        bar_top = top + 20
        bars = []
        for index, value in enumerate(values):
            if value:
                height = max(2.0, _PANEL_HEIGHT * value / busiest)
                bars.append(_Bar(round(index * slot + slot * 0.12, 3), round(slot * 0.76, 3), round(height, 1),
                                 round(bar_top + _PANEL_HEIGHT - height, 1), value))
        panels.append(_Panel(key, label, meaning, sum(values), busiest, top, bars))
        top += 20 + _PANEL_HEIGHT + _PANEL_GAP
    return panels, top - _PANEL_GAP + _AXIS


def _axis(timeline: Timeline) -> dict[str, str]:
    if not timeline.weeks:
        return {"first": "", "last": ""}
    return {"first": f"week of {timeline.weeks[0].start:%d %b %Y}", "last": f"{timeline.weeks[-1].start:%d %b %Y}"}


def _money(members: Mapping[str, Mapping[str, Any]], counts: Mapping[str, Any]) -> list[dict[str, str]]:
    memberships: dict[str, int] = {}
    for member in members.values():
        if charge_stopped(member):
            memberships[currency_of(member)] = memberships.get(currency_of(member), 0) + 1
    currencies = sorted(set(counts["monthly_savings"]) | set(counts["campaign_savings"]))
    return [
        {
            "currency": currency,
            "monthly": format_monthly(currency, counts["monthly_savings"].get(currency, "0")),
            "campaign": format_money(currency, counts["campaign_savings"].get(currency, "0")),
            "memberships": _count_of(memberships.get(currency, 0), "membership"),
        }
        for currency in currencies
    ]


def _group_rows(groups: Sequence[Group]) -> list[dict[str, Any]]:
    return [
        {
            "label": group.label,
            "noticed": group.counts["noticed"],
            "kept": group.counts["kept"],
            "answered_keep": group.counts["answered_keep"],
            "kept_by_watching": group.counts["kept_by_watching"],
            "cancelled": group.counts["cancelled"],
            "other": group.counts["left_elsewhere"] + group.counts["still_open"],
            "rejoined": group.counts["rejoined"],
            "monthly": group.monthly,
            "campaign": group.campaign,
        }
        for group in groups
    ]


def _email_grid(members: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    grid: dict[tuple[str, str], int] = {}
    for member in members.values():
        for email in member.get("emails") or ():
            key = (str(email.get("kind") or "unknown"), str(email.get("lang") or "unknown"))
            grid[key] = grid.get(key, 0) + 1
    return grid


def _actions(actions: Any) -> list[tuple[str, str, str]]:
    """The rehearsal's action log ("keep:200": 3) as (what the members did, what came of it, times)."""
    rows = []
    for key, times in (actions or {}).items():
        kind, _, result = str(key).partition(":")
        rows.append((_ACTION_WORDS.get(kind, kind.replace("_", " ")), _result_words(result), f"{int(times):,}"))
    return sorted(rows)


def _result_words(result: str) -> str:
    if result.isdigit():
        status = int(result)
        if status in _STATUS_WORDS:
            return _STATUS_WORDS[status]
        return "failed: the service erred" if status >= 500 else "refused"
    return _RESULT_WORDS.get(result, result.replace("_", " "))


def _faults(faults: Any) -> dict[str, Any] | None:
    if not isinstance(faults, Mapping):
        return None
    asked = [str(name).replace(":", " at a rate of ") for name in faults.get("asked") or ()]
    injected = [(_FAULT_WORDS.get(str(name), str(name).replace("_", " ")), f"{int(count):,}")
                for name, count in (faults.get("injected") or {}).items()]
    return {"asked": asked, "injected": injected}


def _run_row(run: Mapping[str, Any]) -> dict[str, str]:
    actions = run.get("actions") or {}
    return {
        "started": _when(run.get("started_at")),
        "finished": _when(run.get("finished_at")) or "not finished",
        "read": f"{int(run.get('scanned') or 0):,}",
        "notices": f"{int(actions.get('open_notice') or 0):,}",
        "note": "; ".join(note for note, on in (("dry run: nothing opened", run.get("dry_run")),
                                                 ("the notice guard tripped", run.get("guard_tripped"))) if on),
    }


def _period(report: Mapping[str, Any]) -> str:
    start, end = _when(report.get("start")), _when(report.get("end"))
    if report.get("stack"):
        return f"Read from the stack's tables at {end}" if end else "Read from the stack's tables"
    return f"Rehearsed from {start} to {end}" if start and end else ""


# ------------------------------------------------------------------ member sample
def _outcome_key(member: Mapping[str, Any]) -> str:
    outcome = notice_outcome(member)
    if outcome:
        return outcome
    return "open" if was_noticed(member) else "untouched"


def _sample(members: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Up to SAMPLE_SIZE member ids, taken in turn from each outcome so every one is seen.

    Members who were never asked are the vast majority and say little: a few of them show that
    the campaign left them alone, and the rest of the rows go to members who got a notice.
    """
    groups: dict[str, list[str]] = {}
    for member_id in sorted(members):
        groups.setdefault(_outcome_key(members[member_id]), []).append(member_id)
    order = [key for key in _OUTCOME_LABELS if key in groups] + sorted(set(groups) - set(_OUTCOME_LABELS))
    chosen: dict[str, list[str]] = {key: [] for key in order}
    wanted = min(SAMPLE_SIZE, len(members))

    def take_in_turn(limits: Mapping[str, int]) -> None:
        taken = sum(map(len, chosen.values()))
        while taken < wanted:
            before = taken
            for key in order:
                if taken < wanted and len(chosen[key]) < min(len(groups[key]), limits.get(key, wanted)):
                    chosen[key].append(groups[key][len(chosen[key])])
                    taken += 1
            if taken == before:
                return

    take_in_turn({"untouched": _UNTOUCHED_IN_SAMPLE})
    take_in_turn({})
    return [member_id for key in order for member_id in chosen[key]]


def _sample_row(
    member_id: str, member: Mapping[str, Any], file_index: Sequence[tuple[str, str, _EmailFile]]
) -> dict[str, Any]:
    key = _outcome_key(member)
    label, tone = _OUTCOME_LABELS.get(key, (key.replace("_", " ").capitalize(), "quiet"))
    notes = []
    if member.get("rejoined_at"):
        notes.append(f"rejoined {_when(member['rejoined_at'])}")
    if member.get("purged_at"):
        notes.append(f"purged {_when(member['purged_at'])}")
    naming_this_member = re.compile(rf"(?<![A-Za-z0-9]){re.escape(member_id)}(?![A-Za-z0-9])")
    return {
        "member_id": member_id,
        "outcome": label,
        "tone": tone,
        "notes": notes,
        "cancelled_at": _when(member.get("cancelled_at")),
        "emails": [
            {
                "kind": str(email.get("kind") or ""),
                "lang": str(email.get("lang") or ""),
                "at": _when(email.get("at")),
                "subject": str(email.get("subject") or ""),
            }
            for email in member.get("emails") or ()
        ],
        "files": [
            file
            for label_text, rel_path, file in file_index
            if naming_this_member.search(label_text) or naming_this_member.search(rel_path)
        ],
    }


# ------------------------------------------------------------------ formatting
def _when(value: Any) -> str:
    """``2025-02-16 12:00 UTC`` for an ISO 8601 time; anything else as given; "" for nothing."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _count_of(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(_humanize(str(key)), _display(value)) for key, value in values.items()]


def _humanize(key: str) -> str:
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _display(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, Mapping):  # in words, never as a raw dict
        return "; ".join(f"{_humanize(str(key))}: {_display(item)}" for key, item in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_display(item) for item in value) or "—"
    return _when(value) if _looks_like_time(value) else str(value)


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


def _looks_like_time(value: Any) -> bool:
    return isinstance(value, str) and _ISO_TIME.fullmatch(value) is not None


def _relative_href(rel_path: str) -> str | None:
    """A link for a file next to the report; None for anything that could leave the folder's files
    (a scheme such as ``javascript:``, a host, an absolute path)."""
    rel_path = rel_path.replace("\\", "/")
    parts = urlsplit(rel_path)
    if not rel_path or parts.scheme or parts.netloc or rel_path.startswith("/"):
        return None
    return quote(rel_path, safe="/")


def _template():
    environment = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(_PAGE)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
  :root {
    color-scheme: light dark;
    --ink: #1f2933; --muted: #52606d; --line: #e4e7eb; --paper: #ffffff; --wash: #f5f7fa; --track: #edf0f3;
    --accent: #3b5bdb; --kept: #2b8a3e; --cancelled: #c92a2a; --open: #b7791f; --after: #1971c2;
    --notice: #3b5bdb; --masthead: #1c2541; --masthead-ink: #c5cde0;
    --s-notices: #3b5bdb; --s-answers: #2b8a3e; --s-cancellations: #c92a2a; --s-rejoins: #1971c2;
    --s-purges: #6c757d;
  }
  @media (prefers-color-scheme: dark) {
    :root {
      --ink: #e6e9ef; --muted: #a7b0be; --line: #313845; --paper: #181c24; --wash: #0f1218; --track: #262c38;
      --accent: #8ea8ff; --kept: #5fce7a; --cancelled: #ff8787; --open: #f2c063; --after: #74b9ff;
      --notice: #8ea8ff; --masthead: #0b0f1a; --masthead-ink: #a7b0be;
      --s-notices: #8ea8ff; --s-answers: #5fce7a; --s-cancellations: #ff8787; --s-rejoins: #74b9ff;
      --s-purges: #adb5bd;
    }
  }
  * { box-sizing: border-box; }
  body {
    margin: 0; background: var(--wash); color: var(--ink);
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
    overflow-wrap: break-word;
  }
  header { background: var(--masthead); color: #fff; padding: 28px 0 24px; }
  .wrap { max-width: 1120px; margin: 0 auto; padding: 0 28px; }
  header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
  header p { margin: 0; color: var(--masthead-ink); }
  header .period { margin-top: 6px; color: #fff; font-weight: 600; }
  main.wrap { padding-top: 24px; padding-bottom: 48px; }
  section {
    background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
    padding: 20px 24px; margin-bottom: 20px; min-width: 0;
  }
  h2 { font-size: 17px; margin: 0 0 14px; font-weight: 650; }
  h3 { font-size: 15px; margin: 18px 0 8px; }
  .lead { color: var(--muted); margin: -8px 0 14px; }
  .kpis { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 14px; margin-bottom: 20px; }
  .kpi { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; }
  .kpi .name { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
  .kpi .value { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
  .kpi .share, .kpi .parts { color: var(--muted); font-size: 13px; }
  .columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 20px; }
  .columns > section { margin-bottom: 20px; }
  ol.funnel { list-style: none; margin: 0; padding: 0; }
  ol.funnel li { display: grid; grid-template-columns: minmax(0, 1fr) auto; column-gap: 12px; margin: 0 0 12px; }
  ol.funnel li.part { padding-left: 20px; }
  ol.funnel .label { font-size: 15px; }
  ol.funnel li.part .label { font-size: 14px; color: var(--muted); }
  ol.funnel .figure { font-size: 14px; text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  ol.funnel .figure strong { font-size: 15px; }
  ol.funnel .track { display: block; grid-column: 1 / -1; height: 12px; background: var(--track);
                    border-radius: 6px; margin-top: 3px; }
  ol.funnel .fill { display: block; height: 100%; border-radius: 6px; }
  .tone-notice { background: var(--notice); } .tone-kept { background: var(--kept); }
  .tone-cancelled { background: var(--cancelled); } .tone-open { background: var(--open); }
  .tone-after { background: var(--after); }
  li.part .fill { opacity: .65; }
  svg.timeline { display: block; width: 100%; overflow: visible; }
  svg.timeline text { fill: var(--ink); font-size: 13px; font-family: inherit; }
  svg.timeline text.quiet { fill: var(--muted); }
  svg.timeline line { stroke: var(--line); stroke-width: 1; }
  .s-notices { fill: var(--s-notices); } .s-answers { fill: var(--s-answers); }
  .s-cancellations { fill: var(--s-cancellations); } .s-rejoins { fill: var(--s-rejoins); }
  .s-purges { fill: var(--s-purges); }
  details { margin-top: 14px; }
  summary { cursor: pointer; color: var(--accent); font-weight: 600; }
  .table-wrap { max-width: 100%; overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; font-weight: 600; }
  td.num, th.num { text-align: right; }
  td small { display: block; color: var(--muted); font-size: 12px; }
  tbody tr:last-child td { border-bottom: 0; }
  dl.params { display: grid; grid-template-columns: minmax(0, auto) minmax(0, 1fr); gap: 4px 16px; margin: 0; }
  dl.params dt { color: var(--muted); }
  dl.params dd { margin: 0; font-variant-numeric: tabular-nums; }
  .money { display: grid; gap: 10px; }
  .money > div { border-left: 4px solid var(--kept); padding: 4px 12px; }
  .money strong { display: block; font-size: 20px; }
  .money span { color: var(--muted); font-size: 13px; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 13px; font-weight: 600;
           background: var(--track); color: var(--ink); }
  .badge.kept { color: var(--kept); } .badge.cancelled { color: var(--cancelled); }
  .badge.open { color: var(--open); } .badge.quiet { color: var(--muted); }
  .note { display: block; color: var(--muted); font-size: 13px; }
  code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
  ul.emails { list-style: none; margin: 0; padding: 0; }
  .kind { font-weight: 600; }
  a { color: var(--accent); }
  .files { columns: 3 260px; margin: 0; padding-left: 18px; }
  .empty, .absent { color: var(--muted); }
  footer { color: var(--muted); font-size: 13px; text-align: center; padding: 0 16px 32px; }
  @media (max-width: 900px) {
    .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); }
    .columns { grid-template-columns: minmax(0, 1fr); }
  }
  @media (max-width: 600px) {
    .wrap { padding: 0 12px; }
    header h1 { font-size: 21px; }
    section { padding: 16px 14px; }
    .kpi { padding: 12px; }
    .kpi .value { font-size: 24px; }
    /* wide tables become one card a row, each cell named by its column */
    table.cards thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
    table.cards tr { display: block; border-bottom: 1px solid var(--line); padding: 6px 0; }
    table.cards tbody tr:last-child { border-bottom: 0; }
    table.cards td { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; border: 0;
                     padding: 3px 0; text-align: right; }
    table.cards td::before { content: attr(data-label); flex: 0 0 auto; color: var(--muted); text-align: left; }
    table.cards td > span { min-width: 0; }
    table.cards td.block { display: block; text-align: left; }
    table.cards td.block::before { display: block; }
    table.cards td.group, table.cards td.id { display: block; text-align: left; font-weight: 650; }
    table.cards td.group::before, table.cards td.id::before { content: none; }
    th, td { padding: 6px 6px; }
    th { text-transform: none; letter-spacing: 0; }
    table.compact { font-size: 14px; }
    table.compact th, table.compact td { padding: 6px 3px; }
  }
  @media print {
    body { background: #fff; }
    header { background: #fff; color: var(--ink); }
    section { break-inside: avoid; }
  }
</style>
</head>
<body>
<header>
  <div class="wrap">
    <h1>{{ title }}</h1>
    <p>Members who pay but no longer watch are asked whether to keep their membership. Those who cancel, or don't
       answer, stop being charged; their profiles are kept for a while in case they come back.</p>
    {% if period %}<p class="period">{{ period }}</p>{% endif %}
  </div>
</header>
<main class="wrap">
  <div class="kpis">
  {% for kpi in kpis %}
    <div class="kpi" data-measure="{{ kpi.key }}">
      <div class="name">{{ kpi.name }}</div><div class="value">{{ kpi.value }}</div>
      <div class="share">{{ kpi.share }}</div>
      {% if kpi.parts %}<div class="parts">{{ kpi.parts }}</div>{% endif %}
    </div>
  {% endfor %}
  </div>

  <section aria-labelledby="funnel-title">
    <h2 id="funnel-title">What happened to the members who got a notice</h2>
    <p class="lead">Each share names its base. The outcomes add up to the {{ "{:,}".format(counts.noticed) }}
      members noticed; rejoins and purges are shares of the {{ "{:,}".format(counts.cancelled) }} cancelled.</p>
    <ol class="funnel">
    {% for stage in stages %}
      <li class="{{ 'part' if stage.part else 'stage' }}" data-measure="{{ stage.key }}">
        <span class="label">{{ stage.label }}</span>
        <span class="figure"><strong class="count">{{ stage.count }}</strong> · {{ stage.percent }}
          <span class="share">({{ stage.share }})</span></span>
        <span class="track" aria-hidden="true"><span class="fill tone-{{ stage.tone }}"
          style="width: {{ stage.width }}%"></span></span>
      </li>
    {% endfor %}
    </ol>
  </section>

  <section aria-labelledby="timeline-title">
    <h2 id="timeline-title">Week by week</h2>
    {% if timeline.weeks %}
    <p class="lead">Weeks start on Monday; each line has its own scale, with its busiest week named.
      {% if timeline.notices_from == "sweep runs" %}Notices come from the sweep's run records (the progress table
      keeps a run for 30 days); the other lines from the members' records.{% else %}Each line adds up to its
      count above.{% endif %}</p>
    <svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="100%" height="{{ chart_height }}"
         role="img" aria-labelledby="timeline-svg-title timeline-svg-desc">
      <title id="timeline-svg-title">Notices, answers, cancellations, rejoins and purges per week</title>
      <desc id="timeline-svg-desc">
        {%- for panel in panels %}{{ panel.label }}: {{ panel.total }} in all, at most {{ panel.busiest }} in a
        week. {% endfor %}The table below gives every week.</desc>
    {% for panel in panels %}
      <text x="0" y="{{ panel.top + 14 }}" class="label"><tspan font-weight="650">{{ panel.label }}</tspan>
        <tspan class="quiet" dx="6">{{ "{:,}".format(panel.total) }} in all · busiest week
          {{ "{:,}".format(panel.busiest) }}</tspan></text>
      <line x1="0" x2="100%" y1="{{ panel.top + 72.5 }}" y2="{{ panel.top + 72.5 }}"/>
      {% for bar in panel.bars %}
      <rect class="s-{{ panel.key }}" x="{{ bar.x }}%" y="{{ bar.y }}" width="{{ bar.width }}%"
            height="{{ bar.height }}" rx="1"><title>{{ bar.count }}</title></rect>
      {% endfor %}
    {% endfor %}
      <text x="0" y="{{ chart_height - 4 }}" class="quiet label">{{ axis.first }}</text>
      <text x="100%" y="{{ chart_height - 4 }}" class="quiet label" text-anchor="end">{{ axis.last }}</text>
    </svg>
    {% if timeline.undated %}
    <p class="absent">Not on the chart, for want of a date in the report:
      {% for name, count in timeline.undated.items() -%}
        {{ count }} {{ series[name][0] | lower }}{{ ", " if not loop.last }}
      {%- endfor %}.</p>
    {% endif %}
    <details>
      <summary>The same numbers, week by week</summary>
      <div class="table-wrap">
      <table class="cards weekly">
        <thead><tr><th>Week of</th>
          {% for name in series %}<th class="num">{{ series[name][0] }}</th>{% endfor %}</tr></thead>
        <tbody>
        {% for week, values in weeks %}
          <tr><td class="group">{{ week }}</td>
          {% for name, value in values %}<td class="num" data-label="{{ name }}">{{ value }}</td>{% endfor %}</tr>
        {% endfor %}
        </tbody>
      </table>
      </div>
    </details>
    {% else %}
    <p class="empty">The report has no dates to place on weeks.</p>
    {% endif %}
  </section>

  <div class="columns">
    <section aria-labelledby="money-title">
      <h2 id="money-title">No longer charged</h2>
      <p class="lead">Per month: the monthly prices of the members the campaign cancelled who have not come back.
        Over the campaign: each cancelled member's monthly price for every whole month from the cancellation to
        the rejoin or the report's end.</p>
      {% if money %}
      <div class="money">
        {% for row in money %}
        <div><strong>{{ row.monthly }}</strong><span>{{ row.memberships }} · {{ row.campaign }} over the
          campaign</span></div>
        {% endfor %}
      </div>
      {% else %}
      <p class="empty">No membership has been cancelled yet.</p>
      {% endif %}
    </section>

    <section aria-labelledby="params-title">
      <h2 id="params-title">{{ "The stack's parameters" if stack else "Campaign parameters" }}</h2>
      {% if params %}
      <dl class="params">
        {% for name, value in params %}<dt>{{ name }}</dt><dd>{{ value }}</dd>{% endfor %}
      </dl>
      {% else %}
      <p class="empty">The report names no parameters.</p>
      {% endif %}
      {% if billing_unconfirmed is not none %}
      <h3>Billing</h3>
      <p>{{ "{:,}".format(billing_unconfirmed) }} of the cancellations the product told billing of
        {{ "is" if billing_unconfirmed == 1 else "are" }} not confirmed by billing yet.</p>
      {% endif %}
    </section>
  </div>

  <section aria-labelledby="groups-title">
    <h2 id="groups-title">Outcomes by rule, language and currency</h2>
    <p class="lead">Noticed members only. Kept = answered keep + kept by watching; cancelled = on request + for no
      response; "other" = still open or left through the account page.</p>
    {% for by, heading, column in [("rule", "By the rule that found them inactive", "Rule"),
                                   ("locale", "By language", "Language"),
                                   ("currency", "By currency", "Currency")] %}
    <h3>{{ heading }}</h3>
    {% if groups[by] %}
    <div class="table-wrap">
    <table class="cards groups" data-by="{{ by }}">
      <thead><tr><th>{{ column }}</th><th class="num">Noticed</th><th class="num">Kept</th>
        <th class="num">Cancelled</th><th class="num">Other</th><th class="num">Rejoined</th>
        {% if by == "currency" %}<th class="num">No longer charged</th>{% endif %}</tr></thead>
      <tbody>
      {% for row in groups[by] %}
        <tr><td class="group">{{ row.label }}</td>
          <td class="num" data-label="Noticed">{{ row.noticed }}</td>
          <td class="num" data-label="Kept"><span>{{ row.kept }}<small>{{ row.answered_keep }} answered +
            {{ row.kept_by_watching }} watching</small></span></td>
          <td class="num" data-label="Cancelled">{{ row.cancelled }}</td>
          <td class="num" data-label="Other">{{ row.other }}</td>
          <td class="num" data-label="Rejoined">{{ row.rejoined }}</td>
          {% if by == "currency" %}<td class="num" data-label="No longer charged"><span>{{ row.monthly }}
            <small>{{ row.campaign }} over the campaign</small></span></td>{% endif %}
        </tr>
      {% endfor %}
      </tbody>
    </table>
    </div>
    {% else %}
    <p class="empty">Nobody was noticed.</p>
    {% endif %}
    {% endfor %}
  </section>

  {% if stack %}
  <section aria-labelledby="runs-title">
    <h2 id="runs-title">Sweep runs</h2>
    {% if sweep_runs %}
    <div class="table-wrap">
    <table class="cards">
      <thead><tr><th>Started</th><th>Finished</th><th class="num">Members read</th><th class="num">Notices opened</th>
        <th>Note</th></tr></thead>
      <tbody>
      {% for run in sweep_runs %}
        <tr><td class="group">{{ run.started }}</td><td data-label="Finished">{{ run.finished }}</td>
          <td class="num" data-label="Members read">{{ run.read }}</td>
          <td class="num" data-label="Notices opened">{{ run.notices }}</td>
          <td data-label="Note">{{ run.note or "—" }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
    </div>
    {% else %}
    <p class="empty">The progress table holds no sweep run (it keeps each for 30 days).</p>
    {% endif %}
  </section>
  {% endif %}

  <section aria-labelledby="emails-title">
    <h2 id="emails-title">Emails sent, by kind and language</h2>
    {% if stack %}
    <p class="absent">Not in a stack's report: SES keeps no copy of the mail it sent (a rehearsal shows them).</p>
    {% elif email_kinds %}
    <div class="table-wrap">
    <table class="compact">
      <thead>
        <tr>
        <th>Kind</th>{% for lang, name in email_langs %}<th class="num">{{ name }}</th>{% endfor %}
        <th class="num">Total</th>
        </tr>
      </thead>
      <tbody>
      {% for kind, kind_name in email_kinds %}
        <tr><td class="kind">{{ kind }}</td>
        {% for lang, name in email_langs %}
          <td class="num">{{ "{:,}".format(email_grid.get((kind, lang), 0)) }}</td>
        {% endfor %}
        <td class="num"><strong>{{ "{:,}".format(counts.emails_by_kind[kind]) }}</strong></td></tr>
      {% endfor %}
        <tr><td><strong>Total</strong></td>
        {% for lang, name in email_langs %}
          <td class="num"><strong>{{ "{:,}".format(counts.emails_by_lang[lang]) }}</strong></td>
        {% endfor %}
        <td class="num"><strong>{{ "{:,}".format(counts.emails_by_kind.values() | sum) }}</strong></td></tr>
      </tbody>
    </table>
    </div>
    {% else %}
    <p class="empty">No email was sent.</p>
    {% endif %}
  </section>

  <section aria-labelledby="actions-title">
    <h2 id="actions-title">What the members did, and what came of it</h2>
    {% if stack %}
    <p class="absent">Only a rehearsal has an actions log and injected faults: a stack's members act for real.</p>
    {% else %}
    {% if actions %}
    <div class="table-wrap">
    <table class="cards">
      <thead><tr><th>Action</th><th>Result</th><th class="num">Times</th></tr></thead>
      <tbody>
      {% for action, result, times in actions %}
        <tr><td class="group">{{ action }}</td><td data-label="Result">{{ result }}</td>
          <td class="num" data-label="Times">{{ times }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
    </div>
    {% else %}
    <p class="empty">The rehearsal played no action.</p>
    {% endif %}
    {% if faults and (faults.asked or faults.injected) %}
    <h3>Faults injected</h3>
    <p>Asked for: {{ faults.asked | join(", ") or "none" }}.</p>
    <ul>{% for what, count in faults.injected %}<li>{{ count }} {{ what }}</li>{% endfor %}</ul>
    {% elif faults %}
    <p class="empty">No fault was injected.</p>
    {% endif %}
    {% endif %}
  </section>

  <section aria-labelledby="sample-title">
    <h2 id="sample-title">Members</h2>
    <p class="lead">{{ sample_note }}.</p>
    {% if sample %}
    <div class="table-wrap">
    <table class="cards members">
      <thead><tr><th>Member</th><th>Outcome</th><th>Cancelled</th><th>Emails</th></tr></thead>
      <tbody>
      {% for row in sample %}
        <tr>
          <td class="id">{{ row.member_id }}</td>
          <td data-label="Outcome">
            <span><span class="badge {{ row.tone }}">{{ row.outcome }}</span>
            {% for note in row.notes %}<span class="note">{{ note }}</span>{% endfor %}</span>
          </td>
          <td data-label="Cancelled">{{ row.cancelled_at or "—" }}</td>
          <td class="block" data-label="Emails">
            <span>
            {% if row.emails %}
            <ul class="emails">
              {% for email in row.emails %}
              <li title="{{ email.subject }}">
                <span class="kind">{{ email.kind }}</span> · {{ email.lang }} · {{ email.at }} — {{ email.subject }}
              </li>
              {% endfor %}
            </ul>
            {% else %}<span class="empty">none</span>{% endif %}
            {% for file in row.files if file.href %}
              <a href="{{ file.href }}">{{ file.label }}</a>{{ " · " if not loop.last }}
            {% endfor %}
            </span>
          </td>
        </tr>
      {% endfor %}
      </tbody>
    </table>
    </div>
    {% else %}
    <p class="empty">The report has no members.</p>
    {% endif %}
  </section>

  {% if email_files %}
  <section aria-labelledby="files-title">
    <h2 id="files-title">Emails as the members see them</h2>
    <ul class="files">
      {% for file in email_files %}
      <li>{% if file.href %}<a href="{{ file.href }}">{{ file.label }}</a>{% else %}{{ file.label }}{% endif %}</li>
      {% endfor %}
    </ul>
  </section>
  {% endif %}

  <section aria-labelledby="definitions-title">
    <h2 id="definitions-title">How each number is counted</h2>
    <div class="table-wrap">
    <table class="cards definitions">
      <thead><tr><th>Number</th><th>What it counts</th><th>Share of</th></tr></thead>
      <tbody>
      {% for measure in measures %}
        <tr><td class="group">{{ measure.label }}</td><td data-label="Counts">{{ measure.meaning }}</td>
          <td data-label="Share of">{{ measure.base or "—" }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
    </div>
  </section>
</main>
<footer>{{ "Read from the stack's tables and its sweep's run records." if stack
           else "Generated from the rehearsal's REPORT.json." }}</footer>
</body>
</html>
"""
