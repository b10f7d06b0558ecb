"""The funnel, the savings and the HTML page a person reads after a rehearsal."""

import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from ops.funnel import format_monthly, funnel, print_funnel
from ops.report_html import write_report

HOSTILE_ID = "<script>alert('owned')</script>"


def email(kind: str, at: str, lang: str = "en", subject: str = "Do you still want your membership?") -> dict:
    return {"kind": kind, "at": at, "subject": subject, "lang": lang}


def member(**fields) -> dict:
    record = {
        "status": "active",
        "cancelled_at": None,
        "cancel_reason": None,
        "billing_stopped_at": None,
        "profiles": [{"name": "Camille", "my_list": [], "preferences": {}}],
        "purged_at": None,
        "emails": [],
    }
    record.update(fields)
    return record


def cancelled(reason: str, outcome: str | None, price: str, currency: str, lang: str = "en", **fields) -> dict:
    at = "2025-02-17T03:00:00Z"
    emails = [email("notice", "2025-01-16T03:00:00Z", lang)]
    if reason == "no_response":
        emails.append(email("reminder", "2025-02-09T03:00:00Z", lang))
    emails.append(email("cancelled", at, lang, "Your membership is cancelled"))
    fields = {
        "status": "cancelled",
        "cancelled_at": at,
        "cancel_reason": reason,
        "billing_stopped_at": at,
        "monthly_price": price,
        "currency": currency,
        "emails": emails,
        **fields,
    }
    if outcome is not None:
        fields["notice_outcome"] = outcome
    return member(**fields)


@pytest.fixture
def report() -> dict:
    """Ten members, one of each thing that can happen, with prices that test the arithmetic."""
    notice = [email("notice", "2025-01-16T03:00:00Z", "fr", "Souhaitez-vous garder votre abonnement ?")]
    return {
        "params": {"members": 10, "seed": 42, "start": "2025-01-15T12:00:00Z", "response_window_days": 30},
        "members": {
            "m-000001": member(notice_outcome="kept", emails=notice, monthly_price="13.49", currency="EUR"),
            "m-000002": member(notice_outcome="kept_by_watching", emails=notice, monthly_price="9.99", currency="USD"),
            "m-000003": cancelled("member_request", "cancelled_on_request", "1234.56", "EUR", lang="fr"),
            "m-000004": cancelled("no_response", "cancelled_no_response", "0.01", "EUR", lang="de"),
            # rejoined: no longer a saving
            "m-000005": cancelled(
                "no_response",
                "cancelled_no_response",
                "500.00",
                "EUR",
                status="active",
                rejoined_at="2025-03-01T10:00:00Z",
            ),
            # purged after 10 months: still a saving
            "m-000006": cancelled(
                "no_response", "cancelled_no_response", "15.49", "USD", profiles=None, purged_at="2025-12-17T03:00:00Z"
            ),
            # a report that leaves out notice_outcome still says why the membership ended
            "m-000007": cancelled("member_request", None, "219.00", "MXN", lang="es"),
            "m-000008": member(notice_outcome=None, emails=notice, monthly_price="16.49", currency="CAD"),  # open
            "m-000009": member(monthly_price="15.49", currency="USD"),  # active, never asked
            "m-000010": member(status="cancelled", monthly_price="10.99", currency="GBP"),  # left before the campaign
        },
        "summary": {"sweeps": 425},
    }


# ------------------------------------------------------------------ funnel
def test_the_funnel_counts_each_outcome_once(report):
    # GIVEN a report with one member of each kind WHEN the funnel is computed
    counts = funnel(report)
    # THEN each stage counts the members who reached it, and kept and cancelled are the sums of their parts
    breakdowns = {"emails_by_kind", "emails_by_lang", "monthly_savings", "campaign_savings"}
    assert {key: value for key, value in counts.items() if key not in breakdowns} == {
        "members": 10,
        "noticed": 8,
        "kept": 2,
        "answered_keep": 1,
        "kept_by_watching": 1,
        "cancelled": 5,
        "cancelled_on_request": 2,
        "cancelled_no_response": 3,
        "left_elsewhere": 0,
        "still_open": 1,
        "rejoined": 1,
        "purged": 1,
        "reminders_sent": 3,
    }


def test_the_funnel_counts_emails_by_kind_and_language(report):
    # GIVEN the report WHEN the funnel is computed
    counts = funnel(report)
    # THEN every email is counted once by kind (notice first) and once by language (most first)
    assert counts["emails_by_kind"] == {"notice": 8, "reminder": 3, "cancelled": 5}
    assert list(counts["emails_by_kind"]) == ["notice", "reminder", "cancelled"]
    assert counts["emails_by_lang"] == {"en": 6, "fr": 5, "de": 3, "es": 2}
    assert list(counts["emails_by_lang"]) == ["en", "fr", "de", "es"]


def test_savings_add_up_cancelled_memberships_per_currency_and_leave_out_rejoined_members(report):
    # GIVEN cancelled members in three currencies, one of whom rejoined
    # WHEN the savings are computed
    savings = funnel(report)["monthly_savings"]
    # THEN each currency sums the prices of the campaign's cancellations, without the rejoined member's 500.00
    # nor the member who had left before the campaign
    assert savings == {"EUR": "1234.57", "MXN": "219.00", "USD": "15.49"}


outcomes = st.sampled_from([None, "kept", "kept_by_watching", "cancelled_on_request", "cancelled_no_response"])
any_member = st.builds(
    lambda outcome, noticed, rejoined, price: member(
        notice_outcome=outcome,
        emails=[email("notice", "2025-01-16T03:00:00Z")] if noticed else [],
        rejoined_at="2025-03-01T00:00:00Z" if rejoined else None,
        status="active" if rejoined or outcome is None or outcome.startswith("kept") else "cancelled",
        monthly_price=price,
        currency="EUR",
    ),
    outcomes,
    st.booleans(),
    st.booleans(),
    st.decimals(min_value=0, max_value=1000, places=2).map(str),
)


@given(st.dictionaries(st.from_regex(r"m-\d{6}", fullmatch=True), any_member, max_size=30))
def test_every_noticed_member_is_in_exactly_one_outcome_or_still_open(members):
    # GIVEN any mix of members WHEN the funnel is computed
    counts = funnel({"params": {}, "members": members, "summary": {}})
    # THEN kept and cancelled are the sums of their parts, the outcomes and the open notices add up to the
    # members noticed, and savings are never negative
    assert counts["kept"] == counts["answered_keep"] + counts["kept_by_watching"]
    assert counts["cancelled"] == counts["cancelled_on_request"] + counts["cancelled_no_response"]
    outcomes_total = sum(counts[key] for key in ("kept", "cancelled", "left_elsewhere"))
    assert outcomes_total + counts["still_open"] == counts["noticed"] <= counts["members"]
    assert all(Decimal(amount) >= 0 for amount in counts["monthly_savings"].values())


def test_an_empty_report_gives_an_empty_funnel():
    # GIVEN a report with no members WHEN the funnel is computed THEN everything is zero
    counts = funnel({"params": {}, "members": {}, "summary": {}})
    assert counts["members"] == counts["noticed"] == counts["still_open"] == 0
    assert counts["monthly_savings"] == {} and counts["emails_by_kind"] == {}


def test_monthly_amounts_read_like_money():
    # GIVEN amounts as decimal strings WHEN they are formatted THEN thousands are grouped and cents kept
    assert format_monthly("EUR", "1234.56") == "EUR 1,234.56/month"
    assert format_monthly("MXN", "219") == "MXN 219.00/month"


def test_the_printed_funnel_shows_counts_shares_of_noticed_and_savings(report):
    # GIVEN an operator's terminal
    console = Console(file=io.StringIO(), width=120, record=True, color_system=None)
    # WHEN the funnel is printed
    print_funnel(report, console)
    text = console.export_text()
    # THEN it shows each stage with its count and share of the 8 noticed, bars, and the savings per currency
    assert "10 members, 8 noticed" in text
    assert re.search(r"Cancelled for no response\s+│\s+3\s+│\s+37\.5%", text)
    assert re.search(r"Kept \(answered keep\)\s+│\s+1\s+│\s+12\.5%", text)
    assert "Still open" in text and "█" in text
    assert "EUR 1,234.57/month" in text and "MXN 219.00/month" in text and "USD 15.49/month" in text
    assert re.search(r"reminder\s+│\s+3", text)


# ------------------------------------------------------------------ HTML report
def svg_of(html: str) -> ET.Element:
    return ET.fromstring(re.search(r"<svg.*?</svg>", html, re.S).group(0))


def funnel_text(html: str) -> str:
    """The funnel's lines as a reader sees them, tags left out."""
    funnel_list = re.search(r'<ol class="funnel">.*?</ol>', html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", funnel_list).split())


def test_the_html_report_shows_the_numbers_a_customer_looks_for(tmp_path, report):
    # GIVEN the report WHEN the page is written
    path = write_report(report, tmp_path / "out")
    html = path.read_text(encoding="utf-8")
    # THEN it is out/report.html, and it carries the parameters, the funnel, the savings and the emails
    assert path == tmp_path / "out" / "report.html"
    assert "<title>Inactive memberships" in html
    assert "Response window days" in html and "2025-01-15 12:00 UTC" in html
    chart_text = funnel_text(html)
    for label, count, share in [
        ("Noticed", "8", "80.0% (8 of 10 members)"),
        ("Kept", "2", "25.0% (2 of 8 noticed)"),
        ("Kept (answered keep)", "1", "12.5% (1 of 8 noticed)"),
        ("Kept by watching", "1", "12.5% (1 of 8 noticed)"),
        ("Cancelled", "5", "62.5% (5 of 8 noticed)"),
        ("Cancelled on request", "2", "25.0% (2 of 8 noticed)"),
        ("Cancelled for no response", "3", "37.5% (3 of 8 noticed)"),
        ("Still open", "1", "12.5% (1 of 8 noticed)"),
        # rejoins and purges are shares of the cancelled, as on the card
        ("Rejoined", "1", "20.0% (1 of 5 cancelled)"),
        ("Purged after retention", "1", "20.0% (1 of 5 cancelled)"),
    ]:
        assert re.search(rf"(^| ){re.escape(label)} {count} · {re.escape(share)}", chart_text), label
    assert "EUR 1,234.57/month" in html and "MXN 219.00/month" in html and "USD 15.49/month" in html
    assert "GBP" not in html  # the member who left before the campaign saves nothing
    assert re.search(r'<td class="kind">reminder</td>\s*(<td class="num">\d</td>\s*)+<td class="num"><strong>3<', html)


def test_the_html_report_is_self_contained(tmp_path, report):
    # GIVEN the page WHEN it is written
    html = write_report(report, tmp_path).read_text(encoding="utf-8")
    # THEN it runs no script and loads nothing from anywhere: the only URL is the SVG namespace
    assert "<script" not in html.lower()
    assert "<link" not in html.lower() and " src=" not in html.lower()
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"]
    assert "default-src 'none'" in html


def test_the_html_report_escapes_hostile_member_data(tmp_path, report):
    # GIVEN a member whose id, email subject and the campaign parameters hold markup
    hostile_email = email("notice", "2025-01-16T03:00:00Z", "<b>en</b>", "<img src=x onerror=alert(1)>")
    report["members"][HOSTILE_ID] = member(notice_outcome=None, emails=[hostile_email])
    report["params"]['"><svg onload=alert(1)>'] = "</dd><script>alert(2)</script>"
    # WHEN the page is written, with an email file named after that member
    html = write_report(report, tmp_path, [(f"{HOSTILE_ID} notice", "emails/notice.html")]).read_text(encoding="utf-8")
    # THEN the markup appears as text and never as elements
    assert "<script" not in html.lower()
    assert "<img" not in html.lower() and "<svg onload" not in html.lower() and "<b>en" not in html
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    svg_of(html)  # the chart is still well-formed


def test_the_html_report_links_email_files_and_refuses_links_that_leave_the_folder(tmp_path, report):
    # GIVEN emails written as files next to the report, and one entry that is not a file
    files = [
        ("m-000003 notice (fr)", "emails/m-000003 notice.html"),
        ("m-000004 cancelled (de)", "emails/m-000004-cancelled.html"),
        ("not a file", "javascript:alert(1)"),
        ("elsewhere", "https://tracker.example/pixel"),
    ]
    # WHEN the page is written
    html = write_report(report, tmp_path, files).read_text(encoding="utf-8")
    # THEN the files are linked (from the list and from their member's row), the others are shown as text only
    assert html.count('href="emails/m-000003%20notice.html"') == 2
    assert html.count('href="emails/m-000004-cancelled.html"') == 2
    assert 'href="javascript' not in html and 'href="https://tracker' not in html
    assert "not a file" in html and "elsewhere" in html


def test_the_html_report_samples_at_most_fifty_members_with_every_outcome(tmp_path, report):
    # GIVEN a report with 200 more members who were never asked, plus one of each outcome
    for number in range(100, 300):
        report["members"][f"m-{number:06d}"] = member(monthly_price="9.99", currency="USD")
    # WHEN the page is written
    html = write_report(report, tmp_path).read_text(encoding="utf-8")
    # THEN the member table has 50 rows, and every outcome is among them
    assert html.count('<td class="id">') == 50
    assert "50 of 210 members" in html
    for outcome in (
        "Cancelled, no response",
        "Cancelled on request",
        "Kept",
        "Kept by watching",
        "Notice open",
        "No notice",
    ):
        assert f">{outcome}</span>" in html
    assert "m-000005" in html and "rejoined 2025-03-01 10:00 UTC" in html
