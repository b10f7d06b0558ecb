"""The one-page HTML report of a rehearsed campaign, for a person to open in a browser.

Owns ``report.html``: the campaign's parameters, the funnel drawn as an inline SVG chart, the
monthly charges stopped per currency, the emails sent by kind and language, and a sample of
members with links to the emails written for them. The page is self-contained (inline CSS
and SVG, no script, no external resource, a Content-Security-Policy that forbids both), and
every value from the report goes through Jinja2's autoescaping: member ids, subjects and
parameters are data, never markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, StrictUndefined

from ops.funnel import (
    CANCELLED_NO_RESPONSE,
    CANCELLED_ON_REQUEST,
    KEPT,
    KEPT_BY_WATCHING,
    Stage,
    charge_stopped,
    format_monthly,
    funnel,
    funnel_stages,
    notice_outcome,
    was_noticed,
)

REPORT_FILE = "report.html"
SAMPLE_SIZE = 50
_UNTOUCHED_IN_SAMPLE = 5

_STAGE_COLOURS = {
    "noticed": "#3b5bdb",
    "kept": "#2b8a3e",
    "kept_by_watching": "#40c057",
    "cancelled_on_request": "#e8590c",
    "cancelled_no_response": "#c92a2a",
    "still_open": "#f59f00",
    "rejoined": "#1c7ed6",
    "purged": "#868e96",
}
_STAGE_GROUPS = {"noticed": "Notice", "kept": "Outcome", "rejoined": "Afterwards"}

# Sample rows are grouped by what happened, in this order; "open" and "untouched" have no outcome.
_OUTCOME_LABELS = {
    CANCELLED_NO_RESPONSE: ("Cancelled, no response", "cancelled"),
    CANCELLED_ON_REQUEST: ("Cancelled on request", "cancelled"),
    KEPT: ("Kept", "kept"),
    KEPT_BY_WATCHING: ("Kept by watching", "kept"),
    "open": ("Notice open", "open"),
    "untouched": ("No notice", "quiet"),
}


@dataclass(frozen=True)
class _ChartBar:
    label: str
    group: str | None
    count: str
    percent: str
    colour: str
    y: float
    width: float


@dataclass(frozen=True)
class _EmailFile:
    label: str
    href: str | None  # None when the path is not a plain relative path


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
    files = [_EmailFile(str(label), _relative_href(str(rel_path))) for label, rel_path in email_files or ()]
    file_index = [(label, rel_path, file) for (label, rel_path), file in zip(email_files or (), files, strict=True)]
    stages = funnel_stages(counts)
    chart_bars, chart_height = _chart(stages)
    sample = _sample(members)
    return _template().render(
        title="Inactive memberships — campaign rehearsal",
        params=_pairs(report.get("params") or {}),
        summary=_pairs(report.get("summary") or {}),
        counts=counts,
        kpis=_kpis(counts),
        chart_bars=chart_bars,
        chart={
            "label_width": _CHART_LABEL_WIDTH,
            "bar_width": _CHART_BAR_WIDTH,
            "width": _CHART_WIDTH,
            "height": chart_height,
        },
        savings=_savings(members, counts["monthly_savings"]),
        email_kinds=list(counts["emails_by_kind"]),
        email_langs=list(counts["emails_by_lang"]),
        email_grid=_email_grid(members),
        sample=[_sample_row(member_id, members[member_id], file_index) for member_id in sample],
        sample_note=f"{len(sample):,} of {len(members):,} members, every outcome represented",
        email_files=files,
    )


# ------------------------------------------------------------------ figures
def _kpis(counts: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    noticed = counts["noticed"]

    def share(part: int, whole: int, of: str) -> str:
        return f"{100 * part / whole:.1f}% of {of}" if whole else "—"

    kept = counts["kept"] + counts["kept_by_watching"]
    cancelled = counts["cancelled_on_request"] + counts["cancelled_no_response"]
    return [
        ("Members", f"{counts['members']:,}", "in the rehearsal"),
        ("Noticed", f"{noticed:,}", share(noticed, counts["members"], "members")),
        ("Kept", f"{kept:,}", share(kept, noticed, "noticed")),
        ("Cancelled", f"{cancelled:,}", share(cancelled, noticed, "noticed")),
        ("Rejoined", f"{counts['rejoined']:,}", share(counts["rejoined"], cancelled, "cancelled")),
    ]


_CHART_LABEL_WIDTH = 230
_CHART_BAR_WIDTH = 470
_CHART_ROW = 34
_CHART_WIDTH = _CHART_LABEL_WIDTH + _CHART_BAR_WIDTH + 160  # room for "12,345  100.0%"
_CHART_GROUP_GAP = 26


def _chart(stages: Sequence[Stage]) -> tuple[list[_ChartBar], float]:
    """Bars positioned for the SVG: a group heading above Notice, Outcome and Afterwards."""
    bars: list[_ChartBar] = []
    y = 8.0
    for stage in stages:
        group = _STAGE_GROUPS.get(stage.key)
        if group:
            y += _CHART_GROUP_GAP
        width = _CHART_BAR_WIDTH * stage.percent_of_noticed / 100
        if stage.count and width < 2:
            width = 2.0  # a stage that happened at all is visible
        bars.append(
            _ChartBar(
                label=stage.label,
                group=group,
                count=f"{stage.count:,}",
                percent=f"{stage.percent_of_noticed:.1f}%",
                colour=_STAGE_COLOURS.get(stage.key, "#495057"),
                y=round(y, 1),
                width=round(width, 1),
            )
        )
        y += _CHART_ROW
    return bars, round(y + 8, 1)


def _savings(members: Mapping[str, Mapping[str, Any]], monthly: Mapping[str, str]) -> list[dict[str, str]]:
    memberships: dict[str, int] = {}
    for member in members.values():
        if charge_stopped(member):
            currency = str(member.get("currency") or "XXX")
            memberships[currency] = memberships.get(currency, 0) + 1
    return [
        {
            "currency": currency,
            "monthly": format_monthly(currency, amount),
            "memberships": _count_of(memberships.get(currency, 0), "membership"),
        }
        for currency, amount in monthly.items()
    ]


def _email_grid(members: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    grid: dict[tuple[str, str], int] = {}
    for member in members.values():
        for email in member.get("emails") or ():
            key = (str(email.get("kind") or "unknown"), str(email.get("lang") or "unknown"))
            grid[key] = grid.get(key, 0) + 1
    return grid


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
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
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
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
  :root {
    --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --paper: #ffffff; --wash: #f5f7fa;
    --accent: #3b5bdb; --kept: #2b8a3e; --cancelled: #c92a2a; --open: #b7791f;
  }
  * { box-sizing: border-box; }
  body {
    margin: 0; background: var(--wash); color: var(--ink);
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  }
  header { background: #1c2541; color: #fff; padding: 28px 0 24px; }
  .wrap { max-width: 1120px; margin: 0 auto; padding: 0 28px; }
  header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
  header p { margin: 0; color: #c5cde0; }
  main.wrap { padding-top: 24px; padding-bottom: 48px; }
  section {
    background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
    padding: 20px 24px; margin-bottom: 20px;
  }
  h2 { font-size: 17px; margin: 0 0 14px; font-weight: 650; }
  .lead { color: var(--muted); margin: -8px 0 14px; }
  .kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 14px; margin-bottom: 20px; }
  .kpi { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; }
  .kpi .name { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
  .kpi .value { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
  .kpi .share { color: var(--muted); font-size: 13px; }
  .columns { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
  .columns > section { margin-bottom: 20px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; font-weight: 600; }
  td.num, th.num { text-align: right; }
  tbody tr:last-child td { border-bottom: 0; }
  dl.params { display: grid; grid-template-columns: max-content 1fr; gap: 6px 22px; margin: 0; }
  dl.params dt { color: var(--muted); }
  dl.params dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
  .money { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px; }
  .money div { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; background: #f3faf4; }
  .money strong { display: block; font-size: 18px; color: var(--kept); font-variant-numeric: tabular-nums; }
  .money span { color: var(--muted); font-size: 13px; }
  .chart svg { width: 100%; height: auto; max-width: 900px; display: block; }
  .chart text { font-family: inherit; }
  .badge {
    display: inline-block; padding: 1px 9px; border-radius: 999px;
    font-size: 12.5px; font-weight: 600; white-space: nowrap;
  }
  .badge.kept { background: #e6f4ea; color: var(--kept); }
  .badge.cancelled { background: #fdecec; color: var(--cancelled); }
  .badge.open { background: #fff4e0; color: var(--open); }
  .badge.quiet { background: #eef0f3; color: var(--muted); }
  .note { color: var(--muted); font-size: 13px; display: block; }
  code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
  ul.emails { list-style: none; margin: 0; padding: 0; }
  ul.emails li { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 520px; }
  .kind { font-weight: 600; }
  a { color: var(--accent); }
  .files { columns: 3 260px; margin: 0; padding-left: 18px; }
  .empty { color: var(--muted); }
  footer { color: var(--muted); font-size: 13px; text-align: center; padding-bottom: 32px; }
  @media (max-width: 900px) {
    .kpis { grid-template-columns: repeat(2, 1fr); }
    .columns { grid-template-columns: 1fr; }
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
  </div>
</header>
<main class="wrap">
  <div class="kpis">
  {% for name, value, share in kpis %}
    <div class="kpi">
      <div class="name">{{ name }}</div><div class="value">{{ value }}</div><div class="share">{{ share }}</div>
    </div>
  {% endfor %}
  </div>

  <section class="chart" aria-labelledby="funnel-title">
    <h2 id="funnel-title">What happened to the members who got a notice</h2>
    <p class="lead">Bars are shares of the {{ "{:,}".format(counts.noticed) }} members noticed.</p>
    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ chart.width }} {{ chart.height }}"
         role="img" aria-labelledby="funnel-svg-title">
      <title id="funnel-svg-title">Campaign funnel:
        {%- for bar in chart_bars %} {{ bar.label }} {{ bar.count }}{{ "," if not loop.last }}{% endfor %}</title>
    {% for bar in chart_bars %}
      {% if bar.group %}
      <text x="0" y="{{ bar.y - 8 }}" font-size="11" font-weight="700" fill="#616e7c" letter-spacing="1">
        {{- bar.group | upper -}}
      </text>
      {% endif %}
      <text x="{{ chart.label_width - 14 }}" y="{{ bar.y + 17 }}" font-size="14" text-anchor="end" fill="#1f2933">
        {{- bar.label -}}
      </text>
      <rect x="{{ chart.label_width }}" y="{{ bar.y }}" width="{{ chart.bar_width }}" height="24" rx="4"
            fill="#f1f3f5"/>
      <rect x="{{ chart.label_width }}" y="{{ bar.y }}" width="{{ bar.width }}" height="24" rx="4"
            fill="{{ bar.colour }}"/>
      <text x="{{ chart.label_width + bar.width + 10 }}" y="{{ bar.y + 17 }}" font-size="14" fill="#1f2933">
        <tspan font-weight="700">{{ bar.count }}</tspan> <tspan fill="#616e7c" dx="3">{{ bar.percent }}</tspan>
      </text>
    {% endfor %}
    </svg>
  </section>

  <div class="columns">
    <section aria-labelledby="money-title">
      <h2 id="money-title">Charges stopped</h2>
      <p class="lead">Monthly price of the memberships the campaign cancelled, less those who rejoined.</p>
      {% if savings %}
      <div class="money">
        {% for row in savings %}
        <div><strong>{{ row.monthly }}</strong><span>{{ row.memberships }}</span></div>
        {% endfor %}
      </div>
      {% else %}
      <p class="empty">No membership has been cancelled yet.</p>
      {% endif %}
    </section>

    <section aria-labelledby="params-title">
      <h2 id="params-title">Campaign parameters</h2>
      {% if params %}
      <dl class="params">
        {% for name, value in params %}<dt>{{ name }}</dt><dd>{{ value }}</dd>{% endfor %}
      </dl>
      {% else %}
      <p class="empty">The report names no parameters.</p>
      {% endif %}
      {% if summary %}
      <h2 style="margin-top:18px">Summary</h2>
      <dl class="params">
        {% for name, value in summary %}<dt>{{ name }}</dt><dd>{{ value }}</dd>{% endfor %}
      </dl>
      {% endif %}
    </section>
  </div>

  <section aria-labelledby="emails-title">
    <h2 id="emails-title">Emails sent, by kind and language</h2>
    {% if email_kinds %}
    <table>
      <thead>
        <tr>
        <th>Kind</th>{% for lang in email_langs %}<th class="num">{{ lang }}</th>{% endfor %}<th class="num">Total</th>
        </tr>
      </thead>
      <tbody>
      {% for kind in email_kinds %}
        <tr><td class="kind">{{ kind }}</td>
        {% for lang in email_langs %}
          <td class="num">{{ "{:,}".format(email_grid.get((kind, lang), 0)) }}</td>
        {% endfor %}
        <td class="num"><strong>{{ "{:,}".format(counts.emails_by_kind[kind]) }}</strong></td></tr>
      {% endfor %}
        <tr><td><strong>Total</strong></td>
        {% for lang in email_langs %}
          <td class="num"><strong>{{ "{:,}".format(counts.emails_by_lang[lang]) }}</strong></td>
        {% endfor %}
        <td class="num"><strong>{{ "{:,}".format(counts.emails_by_kind.values() | sum) }}</strong></td></tr>
      </tbody>
    </table>
    {% else %}
    <p class="empty">No email was sent.</p>
    {% endif %}
  </section>

  <section aria-labelledby="sample-title">
    <h2 id="sample-title">Members</h2>
    <p class="lead">{{ sample_note }}.</p>
    {% if sample %}
    <table>
      <thead><tr><th>Member</th><th>Outcome</th><th>Cancelled</th><th>Emails</th></tr></thead>
      <tbody>
      {% for row in sample %}
        <tr>
          <td class="id">{{ row.member_id }}</td>
          <td>
            <span class="badge {{ row.tone }}">{{ row.outcome }}</span>
            {% for note in row.notes %}<span class="note">{{ note }}</span>{% endfor %}
          </td>
          <td>{{ row.cancelled_at or "—" }}</td>
          <td>
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
          </td>
        </tr>
      {% endfor %}
      </tbody>
    </table>
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
</main>
<footer>Generated from the rehearsal's REPORT.json.</footer>
</body>
</html>
"""
