"""What members read: the emails and pages, in their language, with dates and prices their way."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from gettext import c2py
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_timezone_gmt
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from lifecycle import rendering
from lifecycle.rendering import SUPPORTED_LANGUAGES, negotiate_locale, render_email, render_page

SERVICE = "Streamly"
RESPOND_BY = date(2026, 6, 30)
RETAINED_UNTIL = date(2027, 1, 5)
CANCELLED_AT = datetime(2026, 7, 2, 3, 0, tzinfo=UTC)
KEEP_URL = "https://members.example.com/n/keep?t=eyJtIjoiYWJjIn0.sig&v=1"
CANCEL_URL = "https://members.example.com/n/cancel?t=eyJtIjoiYWJjIn0.sig&v=1"
REJOIN_URL = "https://www.example.com/rejoin?ref=email&lang=auto"
HOSTILE = '<script>alert("x")</script>'

# One member's locale per language, as their account would store it.
MEMBER_LOCALE = {
    "en": "en-US",
    "fr": "fr-FR",
    "de": "de-DE",
    "es": "es-ES",
    "pt": "pt-BR",
    "it": "it-IT",
    "nl": "nl-NL",
    "pl": "pl-PL",
    "sv": "sv-SE",
    "tr": "tr-TR",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "ar": "ar-EG",
}
# The languages written right to left.
RIGHT_TO_LEFT = {"ar"}

SUBJECTS = {
    "notice": {
        "en": "Do you want to keep your Streamly membership?",
        "fr": "Souhaitez-vous conserver votre abonnement Streamly\u00a0?",
        "de": "Möchten Sie Ihre Mitgliedschaft bei Streamly behalten?",
        "es": "¿Desea mantener su membresía de Streamly?",
        "pt": "Deseja manter sua assinatura Streamly?",
        "it": "Desidera mantenere il suo abbonamento a Streamly?",
        "nl": "Wilt u uw lidmaatschap bij Streamly behouden?",
        "pl": "Czy chcą Państwo zachować subskrypcję Streamly?",
        "sv": "Vill du behålla ditt medlemskap hos Streamly?",
        "tr": "Streamly üyeliğinizi sürdürmek istiyor musunuz?",
        "ja": "Streamlyのメンバーシップを継続しますか？",
        "ko": "Streamly 멤버십을 유지하시겠습니까?",
        "ar": "هل تريد الاحتفاظ بعضويتك في Streamly؟",
    },
    "reminder": {
        "en": "Reminder: do you want to keep your Streamly membership?",
        "fr": "Rappel\u00a0: souhaitez-vous conserver votre abonnement Streamly\u00a0?",
        "de": "Erinnerung: Möchten Sie Ihre Mitgliedschaft bei Streamly behalten?",
        "es": "Recordatorio: ¿desea mantener su membresía de Streamly?",
        "pt": "Lembrete: deseja manter sua assinatura Streamly?",
        "it": "Promemoria: desidera mantenere il suo abbonamento a Streamly?",
        "nl": "Herinnering: wilt u uw lidmaatschap bij Streamly behouden?",
        "pl": "Przypomnienie: czy chcą Państwo zachować subskrypcję Streamly?",
        "sv": "Påminnelse: vill du behålla ditt medlemskap hos Streamly?",
        "tr": "Hatırlatma: Streamly üyeliğinizi sürdürmek istiyor musunuz?",
        "ja": "リマインダー：Streamlyのメンバーシップを継続しますか？",
        "ko": "알림: Streamly 멤버십을 유지하시겠습니까?",
        "ar": "تذكير: هل تريد الاحتفاظ بعضويتك في Streamly؟",
    },
    "cancelled": {
        "en": "Your Streamly membership is cancelled",
        "fr": "Votre abonnement Streamly est résilié",
        "de": "Ihre Mitgliedschaft bei Streamly ist gekündigt",
        "es": "Su membresía de Streamly está cancelada",
        "pt": "Sua assinatura Streamly foi cancelada",
        "it": "Il suo abbonamento a Streamly è stato disdetto",
        "nl": "Uw lidmaatschap bij Streamly is opgezegd",
        "pl": "Subskrypcja Streamly została anulowana",
        "sv": "Ditt medlemskap hos Streamly är avslutat",
        "tr": "Streamly üyeliğiniz iptal edildi",
        "ja": "Streamlyのメンバーシップは解約されました",
        "ko": "Streamly 멤버십이 해지되었습니다",
        "ar": "تم إلغاء عضويتك في Streamly",
    },
}

# Page name -> the context a handler gives it, and the status it goes with.
PAGES = {
    "choice": ({"respond_by": RESPOND_BY, "form_action": "/notices/abc/choice"}, 200),
    "kept": ({}, 200),
    "cancelled": ({"cancelled_at": CANCELLED_AT, "retained_until": RETAINED_UNTIL, "rejoin_url": REJOIN_URL}, 200),
    "already_answered": ({"outcome": "kept"}, 409),
    "expired": ({"rejoin_url": REJOIN_URL}, 410),
    "invalid": ({}, 400),
    "bad_request": ({"detail": "choice is missing"}, 400),
    "not_found": ({}, 404),
    "method_not_allowed": ({}, 405),
    "error": ({}, 500),
}


VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Document(HTMLParser):
    """The tags and the visible text of an HTML document, as a browser would see them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._ancestors: list[tuple[str, tuple[str, ...]]] = []
        self._open: list[str] = []
        self._text: list[str] = []
        self._hidden = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._ancestors.append((tag, tuple(self._open)))
        if tag not in VOID_ELEMENTS:
            self._open.append(tag)
        self._hidden += tag in ("style", "title", "script")

    def handle_endtag(self, tag):
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]
        self._hidden -= tag in ("style", "title", "script")

    def handle_data(self, data):
        if not self._hidden:
            self._text.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def inside(self, tag: str) -> list[tuple[str, ...]]:
        """Where each such element is: the elements it sits in, outermost first."""
        return [ancestors for name, ancestors in self._ancestors if name == tag]

    @property
    def text(self) -> str:
        # Collapse layout whitespace only: the no-break spaces of French typography stay.
        return re.sub(r"[ \t\r\n]+", " ", "".join(self._text)).strip()


def question_email(kind: str, locale: str | None, service_name: str = SERVICE, **overrides) -> rendering.RenderedEmail:
    values = {"respond_by": RESPOND_BY, "keep_url": KEEP_URL, "cancel_url": CANCEL_URL} | overrides
    return render_email(kind, locale=locale, service_name=service_name, **values)


def cancelled_email(locale: str | None, **overrides) -> rendering.RenderedEmail:
    values = {"cancelled_at": CANCELLED_AT, "retained_until": RETAINED_UNTIL, "rejoin_url": REJOIN_URL} | overrides
    return render_email("cancelled", locale=locale, service_name=SERVICE, **values)


def long_date(day: date, tag: str) -> str:
    """The date as Babel writes it for the locale, its spaces no-break (it never splits across lines)."""
    return format_date(day, format="long", locale=Locale.parse(tag.replace("-", "_"))).replace(" ", "\u00a0")


def money(amount: str, currency: str, tag: str) -> str:
    """The price as Babel writes it for the locale, its spaces no-break."""
    return format_currency(Decimal(amount), currency, locale=Locale.parse(tag.replace("-", "_"))).replace(" ", "\u00a0")


def moment(when: datetime, tag: str, time_zone: str | None = None) -> str:
    """A date and time as Babel writes them for the locale, joined its way, in the member's zone
    (UTC when unknown) and named; its spaces no-break, as for a date."""
    loc = Locale.parse(tag.replace("-", "_"))
    zone = ZoneInfo(time_zone) if time_zone else UTC
    day = format_date(when.astimezone(zone).date(), format="long", locale=loc)
    clock = format_time(when, format="short", tzinfo=zone, locale=loc)
    name = format_datetime(when, "z", tzinfo=zone, locale=loc) if time_zone else "UTC"
    if name[:1] in "+-":  # no short name in this language: its GMT offset, as it writes one
        name = get_timezone_gmt(when.astimezone(zone), width="long", locale=loc)
    return str(loc.datetime_formats["long"]).format(f"{clock} {name}", day).replace(" ", "\u00a0")


def direction(lang: str) -> str:
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"


def root(document: Document) -> dict:
    """The language and direction the document declares."""
    (attrs,) = document.all("html")
    return {"lang": attrs.get("lang"), "dir": attrs.get("dir")}


# --- emails ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("kind", ["notice", "reminder"])
def test_question_email_speaks_the_members_language_and_offers_both_choices(kind, lang):
    # GIVEN a member whose account locale is in one of our languages
    locale = MEMBER_LOCALE[lang]

    # WHEN they get the notice or the reminder
    email = question_email(kind, locale)

    # THEN the subject is in their language and names the service
    assert email.subject == SUBJECTS[kind][lang]
    assert email.lang == lang
    # AND the HTML part is in that language and carries both choices as links
    page = Document(email.html)
    assert root(page) == {"lang": lang, "dir": direction(lang)}
    assert {a["href"] for a in page.all("a")} == {KEEP_URL, CANCEL_URL}
    # AND the answer-by date is written the way their locale writes it, in both parts
    assert long_date(RESPOND_BY, locale) in page.text
    assert long_date(RESPOND_BY, locale) in email.text
    # AND the plain-text part writes each address out in full on a line of its own
    assert KEEP_URL in email.text.splitlines()
    assert CANCEL_URL in email.text.splitlines()


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_cancelled_email_says_when_things_are_kept_until_and_how_to_come_back(lang):
    # GIVEN a member whose membership was just cancelled
    locale = MEMBER_LOCALE[lang]

    # WHEN they get the confirmation
    email = cancelled_email(locale)

    # THEN it is in their language, with the date their things are kept until, written their way
    assert email.subject == SUBJECTS["cancelled"][lang]
    page = Document(email.html)
    assert root(page) == {"lang": lang, "dir": direction(lang)}
    assert long_date(RETAINED_UNTIL, locale) in page.text
    assert long_date(RETAINED_UNTIL, locale) in email.text
    # AND both parts show how to come back
    assert [a["href"] for a in page.all("a")] == [REJOIN_URL]
    assert REJOIN_URL in email.text.splitlines()


def test_english_notice_reads_as_a_kind_plain_question():
    # GIVEN an English-speaking member paying 9.99 USD a month, with things kept 10 months after cancellation
    # WHEN they get the notice
    email = question_email("notice", "en-US", monthly_price="9.99", currency="USD", retention_months=10)

    # THEN both parts say why we ask, what it costs, what happens without an answer, and what is kept
    page = Document(email.html)
    for text in (page.text, email.text):
        assert "We noticed you haven't watched anything on Streamly in a while." in text
        assert "We don't want you to pay for something you're not using" in text
        assert "Your membership costs $9.99 a month." in text
        assert (
            "If we don't hear from you by June\u00a030,\u00a02026, we'll cancel your membership and stop billing you."
            in text
        )
        assert "If you watch anything on Streamly before then, your membership stays as it is." in text
        assert "profiles, My List and viewing preferences for 10 months after cancellation" in text
    # AND the HTML shows the title and the two choices in plain words
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", email.html) == ["Do you want to keep your membership?"]
    assert "Keep my membership" in page.text
    assert "Cancel my membership" in page.text


def test_reminder_says_it_is_a_reminder():
    # GIVEN a member who has not answered the notice
    # WHEN the reminder goes out
    email = question_email("reminder", "en-GB")

    # THEN it says it is a reminder and repeats the date to answer by, the British way
    assert email.text.splitlines()[0] == "Reminder: do you want to keep your membership?"
    assert "We recently asked whether you want to keep your Streamly membership" in email.text
    assert "Please answer by 30\u00a0June\u00a02026" in email.text


def test_cancelled_email_says_billing_has_stopped():
    # GIVEN a cancelled member
    # WHEN they read the confirmation
    email = cancelled_email("en-US")

    # THEN it says billing stopped and there will be no further charge, and when their things go
    # sent when billing has been asked, before it confirms: the email promises no more than that
    assert "Your Streamly membership has been cancelled, and we have asked billing to stop charging you." in email.text
    assert "won't be charged" not in email.text
    assert "We'll keep your profiles, My List and viewing preferences until January\u00a05,\u00a02027." in email.text


@pytest.mark.parametrize(
    "locale, price_text",
    [
        ("fr-FR", "Votre abonnement coûte 9,99\u00a0€ par mois."),
        ("de-DE", "Ihre Mitgliedschaft kostet 9,99\u00a0€ pro Monat."),
    ],
)
def test_price_is_written_the_members_way(locale, price_text):
    # GIVEN a member paying 9.99 EUR a month
    # WHEN they get the notice
    email = question_email("notice", locale, monthly_price="9.99", currency="EUR")

    # THEN the price reads the way their locale writes money
    assert price_text in email.text
    assert price_text in Document(email.html).text


def test_price_sentence_is_left_out_without_a_price():
    # GIVEN a notice for which billing gave no price
    # WHEN it is rendered
    email = question_email("notice", "en-US", monthly_price=None, currency="USD")

    # THEN it says nothing about cost rather than something wrong
    assert "costs" not in email.text
    assert "costs" not in email.html


@pytest.mark.parametrize("months, words", [(1, "for 1 month after"), (10, "for 10 months after")])
def test_retention_period_reads_naturally_in_singular_and_plural(months, words):
    # GIVEN a deployment that keeps things for one month, or for ten
    # WHEN a notice goes out
    email = question_email("notice", "en-US", retention_months=months)

    # THEN the sentence agrees with the number
    assert words in email.text


def test_retention_sentence_is_left_out_without_a_retention_period():
    # GIVEN a notice without a retention period
    # WHEN it is rendered
    email = question_email("notice", "en-US")

    # THEN no vague promise about keeping things is made
    assert "My List" not in email.text


@pytest.mark.parametrize("kind", ["notice", "reminder", "cancelled"])
def test_email_html_works_in_every_mail_client(kind):
    # GIVEN any email
    email = question_email(kind, "en-US") if kind != "cancelled" else cancelled_email("en-US")

    # WHEN a mail client opens the HTML part
    page = Document(email.html)

    # THEN it finds a table layout with inline styles, and nothing to run or fetch
    assert page.all("table")
    assert all(attrs.get("role") == "presentation" for attrs in page.all("table"))
    for forbidden in ("<script", "<link", "<img", "<iframe", "<form"):
        assert forbidden not in email.html
    assert not re.search(r"\ssrc=", email.html)
    assert "url(" not in email.html
    # AND its one style element (the dark scheme, for the clients that read it) sits in the head
    # and fetches nothing: the design never depends on it
    assert page.inside("style") == [("html", "head")]
    (style,) = re.findall(r"<style>(.*?)</style>", email.html, flags=re.DOTALL)
    assert "url(" not in style
    assert "@import" not in style
    # AND a visible title
    assert len(page.all("h1")) == 1


@pytest.mark.parametrize("lang", ["en", "de", "ar"])
def test_every_button_is_drawn_for_outlook_too_and_both_answers_look_the_same(lang):
    # GIVEN the notice, in a language with short and one with long labels, and one right to left
    email = question_email("notice", MEMBER_LOCALE[lang])

    # WHEN Outlook on Windows reads it (it shows only what its conditional comments give it, and
    # ignores padding on a link: a plain link-button would be a thin bar there)
    outlook = re.findall(r"<!--\[if mso\]>(.*?)<!\[endif\]-->", email.html, flags=re.DOTALL)
    shapes = [re.search(r'<v:roundrect [^>]*href="([^"]+)"[^>]*fillcolor="(#[0-9a-f]{6})"', part) for part in outlook]
    drawn = [(shape[1], shape[2]) for shape in shapes if shape]

    # THEN each answer is a filled shape of its own, linking where the button does, in one colour
    assert [href for href, _ in drawn] == [html.escape(KEEP_URL), html.escape(CANCEL_URL)]
    assert len({colour for _, colour in drawn}) == 1
    # AND every other client gets the links, the same two, styled alike, neither preselected
    links = [attrs for attrs in Document(email.html).all("a") if attrs.get("class") == "button-link"]
    assert [a["href"] for a in links] == [KEEP_URL, CANCEL_URL]
    assert links[0]["style"] == links[1]["style"]


@pytest.mark.parametrize(
    "first, second",
    [("fr-CA", "fr-FR"), ("en-US", "en-GB"), ("de-AT", "de-DE"), ("es-MX", "es-ES"), ("pt-BR", "pt-PT")],
)
def test_dates_follow_the_members_region(first, second):
    # GIVEN two members reading the same language in different regions
    # WHEN each gets the cancellation confirmation
    emails = {tag: cancelled_email(tag) for tag in (first, second)}

    # THEN each sees the date, and the moment of the cancellation, as their own region writes them
    for tag, email in emails.items():
        assert long_date(RETAINED_UNTIL, tag) in email.text
        assert moment(CANCELLED_AT, tag) in email.text.splitlines()
    # AND the two differ exactly where the regions' calendars and clocks do
    same_in_babel = (long_date(RETAINED_UNTIL, first), moment(CANCELLED_AT, first)) == (
        long_date(RETAINED_UNTIL, second),
        moment(CANCELLED_AT, second),
    )
    assert (emails[first].text == emails[second].text) == same_in_babel


@pytest.mark.parametrize(
    "locale, shown",
    [
        ("en-US", "January\u00a05,\u00a02027"),
        ("en-GB", "5\u00a0January\u00a02027"),
        ("de-AT", "5.\u00a0Jänner\u00a02027"),
        ("de-DE", "5.\u00a0Januar\u00a02027"),
    ],
)
def test_regional_date_spelling(locale, shown):
    # GIVEN a member in a region with its own way of writing dates
    # WHEN they read the cancellation confirmation
    email = cancelled_email(locale)

    # THEN they read the date their way
    assert shown in email.text


@pytest.mark.parametrize("locale", [None, "", "garbage!!", "xx-YY", "zh-Hant-TW", "hi-IN"])
def test_email_falls_back_to_english_for_languages_we_do_not_speak(locale):
    # GIVEN a member whose locale is missing, broken, or in a language without a catalog
    # WHEN they get the notice
    email = question_email("notice", locale)

    # THEN they get it in English with US dates rather than no email at all
    assert email.lang == "en"
    assert email.subject == SUBJECTS["notice"]["en"]
    assert "June\u00a030,\u00a02026" in email.text


def test_email_escapes_a_hostile_service_name_in_html():
    # GIVEN a service name that looks like markup
    # WHEN an email is rendered
    email = question_email("notice", "en-US", service_name=HOSTILE)

    # THEN the HTML shows the text instead of running it
    assert HOSTILE not in email.html
    assert str(escape(HOSTILE)) in email.html
    # AND the plain-text part, which no client interprets, shows it as written
    assert HOSTILE in email.text


def test_email_link_is_escaped_inside_its_attribute():
    # GIVEN a link whose query has an ampersand and a quote
    url = 'https://members.example.com/n?t=a&x="y"'

    # WHEN it goes into the notice
    email = question_email("notice", "en-US", keep_url=url)

    # THEN it stays inside its href, and the client gets back exactly the link we meant
    assert str(escape(url)) in email.html
    assert url in [a["href"] for a in Document(email.html).all("a")]


def test_subject_is_one_line_even_if_a_value_carries_a_line_break():
    # GIVEN a service name with a line break in it (a mail header must not be split)
    # WHEN the subject is built
    email = render_email(
        "cancelled",
        locale="en-US",
        service_name="Stream\r\nBcc: x@example.com",
        cancelled_at=CANCELLED_AT,
        retained_until=RETAINED_UNTIL,
        rejoin_url=REJOIN_URL,
    )

    # THEN the subject stays a single line
    assert email.subject == "Your Stream Bcc: x@example.com membership is cancelled"


def test_unknown_email_kind_is_refused_by_name():
    # GIVEN a kind of email nobody wrote
    # WHEN someone asks for it
    with pytest.raises(ValueError, match="farewell") as refused:
        render_email("farewell", locale="en-US", service_name=SERVICE)

    # THEN the error names it and the kinds there are
    for kind in ("notice", "reminder", "cancelled"):
        assert kind in str(refused.value)


def test_email_without_its_links_is_refused():
    # GIVEN a notice missing the cancel link
    # WHEN it is rendered
    # THEN it is refused rather than sent with a dead button
    with pytest.raises(ValueError, match="cancel_url"):
        render_email("notice", locale="en-US", service_name=SERVICE, respond_by=RESPOND_BY, keep_url=KEEP_URL)


# --- locale negotiation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("fr-FR", "fr_FR"),
        ("fr-CA", "fr_CA"),
        ("de_AT", "de_AT"),
        ("en-GB", "en_GB"),
        ("es-mx", "es_MX"),
        ("fr", "fr"),
        ("fr-XX", "fr"),
        ("pt-BR", "pt_BR"),
        ("hi-IN", "en_US"),
        ("", "en_US"),
        (None, "en_US"),
        ("garbage!!", "en_US"),
        ("   ", "en_US"),
    ],
)
def test_negotiate_locale_keeps_the_region_and_falls_back_by_language(locale, expected):
    # GIVEN a member's stored locale
    # WHEN it is negotiated
    chosen = negotiate_locale(locale)

    # THEN it keeps the region for formats, or falls back to the default for a language we lack
    assert str(chosen) == expected


@pytest.mark.parametrize(
    "locale, accept_language, expected",
    [
        (None, "de-CH,de;q=0.9,en;q=0.8", "de_CH"),
        ("", "hi-IN,hi;q=0.9,es;q=0.5", "es"),
        ("garbage!!", "en;q=0.1, fr-CA;q=0.8", "fr_CA"),
        ("hi-IN", "fr-FR", "en_US"),
        ("de-DE", "fr-FR", "de_DE"),
        (None, "*", "en_US"),
        (None, "fr;q=0, hi", "en_US"),
        (None, ";;,,q=,fr;q=abc,de;q=", "en_US"),
    ],
)
def test_accept_language_counts_only_when_the_member_has_no_usable_locale(locale, accept_language, expected):
    # GIVEN a member's stored locale and their browser's Accept-Language
    # WHEN the locale is negotiated
    chosen = negotiate_locale(locale, accept_language)

    # THEN the member's own valid locale wins, and the browser's best supported language fills a gap
    assert str(chosen) == expected


@pytest.mark.parametrize(
    "default, expected", [("fr-CA", "fr_CA"), ("ja-JP", "ja_JP"), ("nonsense!!", "en_US"), ("hi-IN", "en_US")]
)
def test_default_locale_is_used_and_never_breaks(default, expected):
    # GIVEN a deployment default, sensible or not
    # WHEN a member has no locale at all
    chosen = negotiate_locale(None, None, default=default)

    # THEN the default serves if we speak it, else US English
    assert str(chosen) == expected


@pytest.mark.parametrize(
    "locale, speaks, formats_as",
    [
        ("pt-PT", "pt", "pt_PT"),
        ("pt-BR", "pt", "pt_BR"),
        ("fr-CA", "fr", "fr_CA"),
        ("zh-Hant-TW", "en", "en_US"),
        ("xx-YY", "en", "en_US"),
        ("garbage!!", "en", "en_US"),
        ("", "en", "en_US"),
        (None, "en", "en_US"),
    ],
)
def test_a_locale_falls_back_to_its_language_and_then_to_the_default(locale, speaks, formats_as):
    # GIVEN a member's stored locale: a region of a language we speak, a language we lack, or nothing usable
    # WHEN their notice is written, with a price
    chosen = negotiate_locale(locale)
    email = question_email("notice", locale, monthly_price="9.99", currency="EUR")

    # THEN their language's catalog speaks (one catalog serves every region), else the default's
    assert email.lang == speaks
    assert email.subject == SUBJECTS["notice"][speaks]
    # AND the region still decides how the date and the price look (Portugal's way for pt-PT), else US English's
    assert str(chosen) == formats_as
    assert long_date(RESPOND_BY, formats_as) in email.text
    assert money("9.99", "EUR", formats_as) in email.text


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_page_is_a_complete_accessible_document_in_the_members_language(name, lang):
    # GIVEN a member opening one of the pages
    context, status = PAGES[name]

    # WHEN it is rendered for their locale
    page = render_page(name, locale=MEMBER_LOCALE[lang], service_name=SERVICE, **context)

    # THEN it goes with its status and is written in their language
    assert page.status == status
    assert page.lang == lang
    document = Document(page.html)
    assert page.html.startswith("<!DOCTYPE html>")
    assert root(document) == {"lang": lang, "dir": direction(lang)}
    # AND it fits a phone screen, has one main region with one heading, and a title
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1"} in document.all("meta")
    assert len(document.all("main")) == 1
    assert len(document.all("h1")) == 1
    assert re.search(r"<title>[^<]+ – Streamly</title>", page.html)
    # AND nothing runs or is fetched
    for forbidden in ("<script", "<link", "<img", "<iframe", " src="):
        assert forbidden not in page.html


def test_pages_use_accept_language_when_the_member_locale_is_unknown():
    # GIVEN a visitor whose link does not tell us their locale, and a browser asking for Swiss French
    # WHEN they open the page that confirms they keep their membership
    page = render_page("kept", locale=None, accept_language="fr-CH, en;q=0.5", service_name=SERVICE)

    # THEN the page is in French
    assert page.lang == "fr"
    assert "Votre abonnement est conservé" in Document(page.html).text


def test_choice_page_has_one_post_form_with_two_plain_buttons_and_no_script():
    # GIVEN a member who followed the link in their notice
    # WHEN the page opens
    page = render_page(
        "choice",
        locale="en-US",
        service_name=SERVICE,
        respond_by=RESPOND_BY,
        form_action="/notices/abc/choice",
        monthly_price="9.99",
        currency="USD",
    )

    # THEN it holds exactly one form, posting to the given address
    document = Document(page.html)
    assert document.all("form") == [
        {"method": "post", "action": "/notices/abc/choice", "class": "choices", "aria-labelledby": "title"}
    ]
    # AND two submit buttons, keep and cancel, both as prominent as each other
    buttons = document.all("button")
    assert [(b["type"], b["name"], b["value"]) for b in buttons] == [
        ("submit", "choice", "keep"),
        ("submit", "choice", "cancel"),
    ]
    assert {b["class"] for b in buttons} == {"button primary"}
    assert "<script" not in page.html
    # AND the notice itself: why, the price, and the date to answer by
    assert "We noticed you haven't watched anything on Streamly in a while." in document.text
    assert "Your membership costs $9.99 a month." in document.text
    assert "Please answer by June\u00a030,\u00a02026" in document.text
    assert "Keep my membership" in document.text
    assert "Cancel my membership" in document.text


def test_choice_page_preselected_cancel_asks_to_confirm_and_still_offers_keep():
    # GIVEN a member who clicked "Cancel my membership" in their email
    # WHEN the page opens
    page = render_page(
        "choice",
        locale="en-US",
        service_name=SERVICE,
        respond_by=RESPOND_BY,
        form_action="/notices/abc/choice",
        preselected="cancel",
        retention_months=10,
    )

    # THEN it says they are about to cancel and asks them to confirm
    document = Document(page.html)
    assert document.text.startswith("Streamly Cancel your membership?")
    assert "You're about to cancel your Streamly membership, and we'll ask billing to stop charging you." in (
        document.text
    )
    assert "Please confirm your choice." in document.text
    # AND the cancel button comes first as the primary one, with keep still there
    buttons = document.all("button")
    assert [(b["value"], b["class"]) for b in buttons] == [("cancel", "button primary"), ("keep", "button secondary")]


def test_choice_page_preselected_keep_makes_keep_the_primary_button():
    # GIVEN a member who clicked "Keep my membership" in their email
    # WHEN the page opens
    page = render_page(
        "choice",
        locale="de-DE",
        service_name=SERVICE,
        respond_by=RESPOND_BY,
        form_action="/notices/abc/choice",
        preselected="keep",
    )

    # THEN it asks to confirm keeping, keep first and primary, cancel still offered
    document = Document(page.html)
    assert "Mitgliedschaft behalten?" in document.text
    buttons = document.all("button")
    assert [(b["value"], b["class"]) for b in buttons] == [("keep", "button primary"), ("cancel", "button secondary")]


def test_choice_page_refuses_an_unknown_preselection():
    # GIVEN a handler passing a preselection that is neither keep nor cancel
    # WHEN the page is rendered
    # THEN it is refused rather than shown with a silent default
    with pytest.raises(ValueError, match="preselected"):
        render_page(
            "choice",
            locale="en-US",
            service_name=SERVICE,
            respond_by=RESPOND_BY,
            form_action="/x",
            preselected="delete",
        )


def test_cancelled_page_says_billing_stopped_what_is_kept_and_how_to_come_back():
    # GIVEN a member who just cancelled
    # WHEN the confirmation page opens
    page = render_page(
        "cancelled",
        locale="es-ES",
        service_name=SERVICE,
        cancelled_at=CANCELLED_AT,
        retained_until=RETAINED_UNTIL,
        rejoin_url=REJOIN_URL,
    )

    # THEN it says so in Spanish, with the date their things are kept until and the way back
    document = Document(page.html)
    assert "Su membresía de Streamly se ha cancelado y hemos solicitado que se deje de cobrarle." in document.text
    assert "hasta el 5\u00a0de\u00a0enero\u00a0de\u00a02027" in document.text
    assert [a["href"] for a in document.all("a")] == [REJOIN_URL]


@pytest.mark.parametrize(
    "context, shown",
    [
        ({"outcome": "kept"}, "Your Streamly membership is active"),
        (
            {"outcome": "cancelled", "retained_until": RETAINED_UNTIL, "rejoin_url": REJOIN_URL},
            "Your Streamly membership is cancelled, and we have asked billing to stop charging you.",
        ),
    ],
)
def test_already_answered_page_tells_the_current_state(context, shown):
    # GIVEN a member opening a link they already used
    # WHEN the page opens
    page = render_page("already_answered", locale="en-US", service_name=SERVICE, **context)

    # THEN it says the link was used, and where their membership stands
    assert page.status == 409
    text = Document(page.html).text
    assert "This link has already been used." in text
    assert shown in text
    if context["outcome"] == "cancelled":
        assert "until January\u00a05,\u00a02027" in text
        assert REJOIN_URL in [a["href"] for a in Document(page.html).all("a")]


def test_already_answered_page_refuses_an_unknown_outcome():
    # GIVEN a handler passing an outcome that does not exist
    # WHEN the page is rendered
    # THEN it is refused
    with pytest.raises(ValueError, match="outcome"):
        render_page("already_answered", locale="en-US", service_name=SERVICE, outcome="paused")


@pytest.mark.parametrize(
    "name, shown",
    [
        ("expired", "This link has expired"),
        ("invalid", "Please open the link in the most recent email we sent you"),
        ("not_found", "Page not found"),
        ("method_not_allowed", "Please go back to the link in your email and try again."),
        ("error", "Something went wrong on our side, and nothing was changed. Please try again later."),
    ],
)
def test_trouble_pages_explain_what_happened_in_plain_words(name, shown):
    # GIVEN a member whose link cannot be used as it is
    # WHEN the page opens
    page = render_page(name, locale="en-GB", service_name=SERVICE)

    # THEN it says what happened and what to do
    assert shown in Document(page.html).text


def test_expired_page_says_where_to_manage_the_membership():
    # GIVEN a member opening a link after it expired
    # WHEN the page opens
    page = render_page("expired", locale="fr-FR", service_name=SERVICE, rejoin_url=REJOIN_URL)

    # THEN it says where to manage the membership, and links to the service
    document = Document(page.html)
    assert page.status == 410
    assert "dans les paramètres de votre compte Streamly" in document.text
    assert [a["href"] for a in document.all("a")] == [REJOIN_URL]


def test_bad_request_page_shows_the_detail_escaped():
    # GIVEN a request whose detail carries markup
    # WHEN the page is rendered
    page = render_page("bad_request", locale="en-US", service_name=SERVICE, detail=HOSTILE)

    # THEN the detail is shown as text, never as markup
    assert HOSTILE not in page.html
    assert f"Details: {HOSTILE}" in Document(page.html).text


@pytest.mark.parametrize("name", PAGES)
def test_pages_escape_a_hostile_service_name(name):
    # GIVEN a service name that looks like markup
    context, _ = PAGES[name]

    # WHEN any page is rendered
    page = render_page(name, locale="en-US", service_name=HOSTILE, **context)

    # THEN it appears as text only
    assert HOSTILE not in page.html
    assert str(escape(HOSTILE)) in page.html
    assert "<script" not in page.html


def test_every_page_carries_the_same_single_stylesheet_its_csp_allows():
    # GIVEN every page, in every language
    pages = [
        render_page(name, locale=MEMBER_LOCALE[lang], service_name=SERVICE, **context)
        for name, (context, _) in PAGES.items()
        for lang in SUPPORTED_LANGUAGES
    ]

    for page in pages:
        # WHEN a browser applies the page's Content-Security-Policy
        styles = re.findall(r"<style>(.*?)</style>", page.html, flags=re.DOTALL)

        # THEN there is one style element, no style attribute the policy would block
        assert len(styles) == 1
        assert "style=" not in page.html
        # AND the policy allows exactly that stylesheet, nothing else, and no framing
        digest = base64.b64encode(hashlib.sha256(styles[0].encode("utf-8")).digest()).decode("ascii")
        assert page.content_security_policy == (
            f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
    # AND the stylesheet is identical on every page, so one hash serves them all
    assert len({page.content_security_policy for page in pages}) == 1


def test_unknown_page_is_refused_by_name():
    # GIVEN a page nobody wrote
    # WHEN someone asks for it
    # THEN the error names it
    with pytest.raises(ValueError, match="welcome"):
        render_page("welcome", locale="en-US", service_name=SERVICE)


def test_page_without_what_it_must_show_is_refused():
    # GIVEN a choice page without the address its form posts to
    # WHEN it is rendered
    # THEN it is refused rather than shown with a form that goes nowhere
    with pytest.raises(ValueError, match="form_action"):
        render_page("choice", locale="en-US", service_name=SERVICE, respond_by=RESPOND_BY)


# --- every language: dates, prices, direction --------------------------------------------------


@pytest.mark.parametrize(
    "locale, day, amount, currency, price",
    [
        ("ja-JP", "2027年1月5日", "1490", "JPY", "￥1,490"),
        ("ko-KR", "2027년\u00a01월\u00a05일", "13500", "KRW", "₩13,500"),
        ("ar-EG", "5\u00a0يناير\u00a02027", "120.00", "EGP", "\u200f120.00\u00a0ج.م.\u200f"),
        ("tr-TR", "5\u00a0Ocak\u00a02027", "149.99", "TRY", "₺149,99"),
        ("pl-PL", "5\u00a0stycznia\u00a02027", "43.00", "PLN", "43,00\u00a0zł"),
        ("sv-SE", "5\u00a0januari\u00a02027", "129", "SEK", "129,00\u00a0kr"),
        ("nl-NL", "5\u00a0januari\u00a02027", "9.99", "EUR", "€\u00a09,99"),
        ("it-IT", "5\u00a0gennaio\u00a02027", "9.99", "EUR", "9,99\u00a0€"),
        ("pt-BR", "5\u00a0de\u00a0janeiro\u00a0de\u00a02027", "44.90", "BRL", "R$\u00a044,90"),
        ("pt-PT", "5\u00a0de\u00a0janeiro\u00a0de\u00a02027", "9.99", "EUR", "9,99\u00a0€"),
    ],
)
def test_dates_and_prices_are_written_the_members_way_in_every_new_language(locale, day, amount, currency, price):
    # GIVEN a member in one of the languages added, paying in their currency
    # WHEN they get the notice, and later the cancellation confirmation, and open the choice page
    notice = question_email("notice", locale, monthly_price=amount, currency=currency)
    confirmation = cancelled_email(locale)
    page = render_page(
        "choice",
        locale=locale,
        service_name=SERVICE,
        respond_by=RESPOND_BY,
        form_action="/x",
        monthly_price=amount,
        currency=currency,
    )

    # THEN the price is written as Babel writes it for their region, in both parts and on the page
    assert price == money(amount, currency, locale)
    for text in (notice.text, Document(notice.html).text, Document(page.html).text):
        assert price in text
    # AND so are the dates: the day their things are kept until, and the day to answer by
    assert day == long_date(RETAINED_UNTIL, locale)
    assert day in confirmation.text
    assert day in Document(confirmation.html).text
    assert long_date(RESPOND_BY, locale) in Document(page.html).text


def test_arabic_emails_and_pages_read_right_to_left():
    # GIVEN a member in Egypt, reading Arabic
    emails = [question_email(kind, "ar-EG") for kind in ("notice", "reminder")] + [cancelled_email("ar-EG")]
    pages = [render_page(name, locale="ar-EG", service_name=SERVICE, **context) for name, (context, _) in PAGES.items()]

    # WHEN their emails and pages are opened
    # THEN each declares Arabic, written right to left
    for rendered in emails + pages:
        assert root(Document(rendered.html)) == {"lang": "ar", "dir": "rtl"}
    for email in emails:
        # AND the emails' inline styles (all that many clients keep) start lines on the right, where
        # the deadline's and the record's accent border sits
        styles = [attrs.get("style") or "" for _, attrs in Document(email.html).tags]
        assert any("border-right:4px solid" in style for style in styles)
        assert not any("border-left" in style or "text-align:left" in style for style in styles)
        assert any("text-align:right" in style for style in styles)
        # AND the message's own outer table says so too: webmail drops <html>'s attributes
        assert Document(email.html).all("table")[0].get("dir") == "rtl"
    # AND where English starts on the left, with the border there
    english = Document(question_email("notice", "en-US").html)
    assert any("border-left:4px solid" in (attrs.get("style") or "") for _, attrs in english.tags)


def test_the_pages_stylesheet_names_no_physical_side_so_it_mirrors_right_to_left():
    # GIVEN the one stylesheet every page carries
    (style,) = re.findall(r"<style>(.*?)</style>", render_page("kept", locale="ar-EG", service_name=SERVICE).html, re.S)

    # WHEN a right-to-left page applies it
    # THEN every side it names is a logical one (inline-start, not left), so the layout follows dir
    assert not re.search(r"\b(left|right)\b", style)
    assert "border-inline-start" in style


LOCALES = sorted(
    set(MEMBER_LOCALE.values())
    | {"en-GB", "en-IN", "fr-CA", "fr-CH", "de-AT", "de-CH", "es-MX", "pt-PT", "it-CH", "nl-BE", "sv-FI", "ar-SA"}
)
CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "KRW", "EGP", "SAR", "TRY", "PLN", "SEK", "BRL", "INR"]
ZONES = [None, "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "Africa/Cairo", "Pacific/Chatham"]
BREAKING_SPACE = re.compile(r"[^\S\u00a0\u202f]")


@cache
def catalog_text(lang: str, message: str) -> str:
    """What a member of that language reads in place of the English message."""
    entry = catalog(lang).get(message)
    return entry.string if entry is not None and entry.string else message


def between(text: str, sentence: str, placeholder: str) -> str:
    """The value a line of ``text`` holds in ``sentence``'s place for ``placeholder``."""
    before, after = sentence.split(placeholder)
    (value,) = [
        line[len(before) : len(line) - len(after)]
        for line in text.splitlines()
        if line.startswith(before) and line.endswith(after) and len(line) > len(before) + len(after)
    ]
    return value


@settings(max_examples=40, deadline=None)
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 31)),
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)),
    amount=st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
    time_zone=st.sampled_from(ZONES),
)
def test_a_date_a_price_and_the_cancellation_moment_never_split_across_lines(
    day, when, amount, currency, locale, time_zone
):
    # GIVEN any date, price, moment of cancellation and time zone, for a member in any supported locale
    lang = negotiate_locale(locale).language

    # WHEN the notice and the cancellation confirmation are written
    notice = question_email("notice", locale, respond_by=day, monthly_price=str(amount), currency=currency)
    confirmation = cancelled_email(locale, cancelled_at=when, retained_until=day, time_zone=time_zone)

    # THEN each value reads as Babel writes it for the locale...
    label = catalog_text(lang, "Please answer by")
    shown_day = between(notice.text, label + " %(date)s", "%(date)s")
    shown_price = between(notice.text, catalog_text(lang, "Your membership costs %(price)s a month."), "%(price)s")
    lines = confirmation.text.splitlines()
    shown_moment = lines[lines.index(catalog_text(lang, "Cancelled on")) + 1]
    assert shown_day == long_date(day, locale)
    assert shown_price == money(str(amount), currency, locale)
    assert shown_moment == moment(when, locale, time_zone)
    # ...with no space in it a line may break at
    for value in (shown_day, shown_price, shown_moment):
        assert not BREAKING_SPACE.search(value), repr(value)


# --- the cancellation's record ----------------------------------------------------------------

WINTER_CANCELLATION = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)


def cancellation_texts(locale: str, **values) -> dict[str, str]:
    """What the member reads of their cancellation: the email's two parts and the page."""
    values = {"cancelled_at": WINTER_CANCELLATION} | values
    email = cancelled_email(locale, **values)
    page = render_page(
        "cancelled", locale=locale, service_name=SERVICE, retained_until=RETAINED_UNTIL, rejoin_url=REJOIN_URL, **values
    )
    return {"text": email.text, "html": Document(email.html).text, "page": Document(page.html).text}


@pytest.mark.parametrize(
    "locale, time_zone, cancelled_at, shown",
    [
        ("de-DE", "Europe/Berlin", WINTER_CANCELLATION, "9.\u00a0Dezember\u00a02026,\u00a004:00\u00a0MEZ"),
        ("de-DE", None, WINTER_CANCELLATION, "9.\u00a0Dezember\u00a02026,\u00a003:00\u00a0UTC"),
        ("en-GB", "Europe/Berlin", WINTER_CANCELLATION, "9\u00a0December\u00a02026,\u00a004:00\u00a0CET"),
        # Babel names Berlin's zone for US English by its offset
        ("en-US", "Europe/Berlin", WINTER_CANCELLATION, "December\u00a09,\u00a02026,\u00a04:00\u202fAM\u00a0GMT+01:00"),
        ("en-US", None, WINTER_CANCELLATION, "December\u00a09,\u00a02026,\u00a03:00\u202fAM\u00a0UTC"),
        # a zone the business wrote wrong: UTC, and said so
        ("en-US", "Mars/Olympus", WINTER_CANCELLATION, "December\u00a09,\u00a02026,\u00a03:00\u202fAM\u00a0UTC"),
        # late evening in UTC is the next morning in Tokyo: the day is the member's
        ("ja-JP", "Asia/Tokyo", datetime(2026, 12, 9, 23, 30, tzinfo=UTC), "2026年12月10日\u00a08:30\u00a0JST"),
    ],
)
def test_cancellation_record_says_when_in_the_members_time_zone(locale, time_zone, cancelled_at, shown):
    # GIVEN a cancellation, and the member's time zone where the business knows it
    # WHEN the member reads the confirmation email (both parts) and the page after "Cancel"
    texts = cancellation_texts(locale, cancelled_at=cancelled_at, time_zone=time_zone)

    # THEN each says "Cancelled on" with the date, the time and the zone, where the member is (else UTC)
    lang = negotiate_locale(locale).language
    label = catalog_text(lang, "Cancelled on")
    assert shown == moment(cancelled_at, locale, time_zone if time_zone != "Mars/Olympus" else None)
    lines = texts["text"].splitlines()
    assert lines[lines.index(label) + 1] == shown
    assert f"{label} {shown}" in texts["html"]
    assert f"{label} {shown}" in texts["page"]


@pytest.mark.parametrize(
    "ends_at, keeps_watching",
    [
        (None, False),
        (WINTER_CANCELLATION, False),
        (datetime(2026, 11, 30, tzinfo=UTC), False),  # a paid period already over: access ends now
        (datetime(2027, 1, 1, 0, 30, tzinfo=UTC), True),
    ],
)
def test_cancellation_record_promises_the_paid_period_only_when_there_is_one_left(ends_at, keeps_watching):
    # GIVEN a cancellation whose paid period runs on past it, ends with it, or has none left
    # WHEN a member in New York reads the confirmation and the page
    texts = cancellation_texts("en-US", ends_at=ends_at, time_zone="America/New_York")

    # THEN they read that they can keep watching until the period's end (their day) only when it is later
    access_ends = ends_at if keeps_watching else WINTER_CANCELLATION
    for text in texts.values():
        assert ("You can keep watching until" in text) == keeps_watching
        assert (
            "Your Streamly membership has been cancelled, and we have asked billing to stop charging you." in text
        ) != keeps_watching
        if keeps_watching:
            assert (
                "You can keep watching until December\u00a031,\u00a02026, the end of the period you have already paid"
                " for, and we have asked billing not to charge you after that." in text
            )
    # AND the record says when access and billing end: the paid period's end, else the cancellation itself
    lines = texts["text"].splitlines()
    assert lines[lines.index("Access and billing end") + 1] == moment(access_ends, "en-US", "America/New_York")
    assert f"Access and billing end {moment(access_ends, 'en-US', 'America/New_York')}" in texts["page"]


# --- catalogs -------------------------------------------------------------------------------

PACKAGE = Path(rendering.__file__).parent


@cache
def template_messages() -> frozenset[str | tuple[str, ...]]:
    return frozenset(
        message
        for _, _, message, _, _ in extract_from_dir(
            PACKAGE / "templates",
            method_map=[("**.html", "jinja2.ext:babel_extract"), ("**.txt", "jinja2.ext:babel_extract")],
        )
    )


@cache
def catalog(lang: str) -> Catalog:
    with (PACKAGE / "locales" / f"{lang}.po").open("rb") as po:
        return read_po(po, locale=lang)


PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(PLACEHOLDER.findall(text))


def _forms(entry) -> tuple[str, ...]:
    return entry.string if isinstance(entry.string, tuple) else (entry.string,)


def fills_in(text: str) -> bool:
    """Whether the text takes its values as the templates give them (a lone "%" does not)."""
    try:
        text % {name: 3 if kind == "d" else "x" for name, kind in PLACEHOLDER.findall(text)}
    except (ValueError, TypeError, KeyError):
        return False
    return True


@pytest.mark.parametrize("lang", [lang for lang in SUPPORTED_LANGUAGES if lang != "en"])
def test_every_sentence_a_member_can_see_is_translated(lang):
    # GIVEN every sentence the templates can show, and a language's catalog
    used = template_messages()
    translations = catalog(lang)

    # WHEN each sentence is looked up
    missing = [message for message in used if (entry := translations.get(message)) is None or not all(_forms(entry))]

    # THEN none is left in English
    assert missing == []
    # AND every translation keeps the placeholders of its English source
    assert [errors for _, errors in translations.check() if errors] == []
    # AND keeps them exactly, each form of a plural too (Babel's check lets one go missing), and fills
    # them in without an error (a lone "%" would raise where the template fills the values in)
    changed = [
        form
        for entry in translations
        if entry.id
        for form in _forms(entry)
        if placeholders(form) != placeholders(entry.id[-1] if isinstance(entry.id, tuple) else entry.id)
        or not fills_in(form)
    ]
    assert changed == []


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_catalogs_hold_only_sentences_the_templates_use(lang):
    # GIVEN a language's catalog
    # WHEN it is compared with the templates
    held = {entry.id for entry in catalog(lang) if entry.id}

    # THEN it holds no stale sentence
    assert held == template_messages()


def test_every_catalog_is_a_language_the_product_speaks_and_each_has_one():
    # GIVEN the catalogs on disk and the languages negotiation offers
    on_disk = {po.stem for po in (PACKAGE / "locales").glob("*.po")}

    # THEN they are the same languages, each catalog saying which language it is
    assert on_disk == set(SUPPORTED_LANGUAGES)
    assert all(catalog(lang).locale.language == lang for lang in SUPPORTED_LANGUAGES)
    # AND English is the source itself: its catalog adds nothing to the msgids
    assert [entry.id for entry in catalog("en") if entry.id and any(_forms(entry))] == []


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_plural_has_the_forms_its_language_needs(lang):
    # GIVEN a catalog, and the plural forms its language needs (gettext's count, as Babel gives it)
    translations = catalog(lang)
    needed = get_plural(translations.locale).num_plurals

    # THEN its header declares that many forms, and every plural message has each of them
    assert translations.num_plurals == needed
    plurals = [entry for entry in translations if entry.id and entry.pluralizable]
    assert plurals
    assert all(len(entry.string) == needed for entry in plurals)
    # AND the rule it declares picks one form for all the numbers CLDR puts in a category, and uses every form
    choose = c2py(translations.plural_expr)
    chosen: dict[str, set[int]] = {}
    for n in [*range(1001), 1_000_000]:
        chosen.setdefault(translations.locale.plural_form(n), set()).add(choose(n))
    assert all(len(forms) == 1 for forms in chosen.values()), chosen
    assert set().union(*chosen.values()) == set(range(needed))


def test_an_accept_language_header_of_any_length_costs_a_bounded_number_of_look_ups(monkeypatch):
    # GIVEN a 6 KB Accept-Language header of made-up languages (no browser sends that)
    from babel import Locale as BabelLocale

    from lifecycle import rendering

    header = ",".join(f"zz{i:04d}-QQ;q=0.{i % 9 + 1}" for i in range(400))
    assert len(header) > 6000
    looked_up = []
    real_parse = BabelLocale.parse

    def counted_parse(tag, *args, **kwargs):
        looked_up.append(tag)
        return real_parse(tag, *args, **kwargs)

    monkeypatch.setattr(rendering.Locale, "parse", counted_parse)
    rendering._parse.cache_clear()
    # WHEN the page's language is chosen from it
    chosen = negotiate_locale(None, header)
    # THEN the default language is used, after looking at no more than the first tags it holds
    assert chosen.language == "en"
    assert len(looked_up) <= 2 * rendering.MAX_ACCEPT_LANGUAGE_TAGS + 2
    # AND a real browser's header still picks the member's language
    assert negotiate_locale(None, "de-AT,de;q=0.9,en;q=0.8").language == "de"
