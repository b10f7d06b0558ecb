"""What members read: the emails and pages, in their language, with dates and prices their way."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
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


def moment(when: datetime, tag: str, time_zone: str | None = None) -> str:
    """A date and time as Babel writes them for the locale, joined its way, in the member's zone
    (UTC when unknown) and named; its spaces no-break, as for a date."""
    loc = Locale.parse(tag.replace("-", "_"))
    zone = ZoneInfo(time_zone) if time_zone else UTC
    day = format_date(when.astimezone(zone).date(), format="long", locale=loc)
    clock = format_time(when, format="short", tzinfo=zone, locale=loc)
    name = format_datetime(when, "z", tzinfo=zone, locale=loc) if time_zone else "UTC"
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


# --- catalogs -------------------------------------------------------------------------------

PACKAGE = Path(rendering.__file__).parent


def template_messages() -> set[str | tuple[str, ...]]:
    return {
        message
        for _, _, message, _, _ in extract_from_dir(
            PACKAGE / "templates",
            method_map=[("**.html", "jinja2.ext:babel_extract"), ("**.txt", "jinja2.ext:babel_extract")],
        )
    }


def catalog(lang: str):
    with (PACKAGE / "locales" / f"{lang}.po").open("rb") as po:
        return read_po(po, locale=lang)


@pytest.mark.parametrize("lang", [lang for lang in SUPPORTED_LANGUAGES if lang != "en"])
def test_every_sentence_a_member_can_see_is_translated(lang):
    # GIVEN every sentence the templates can show, and a language's catalog
    used = template_messages()
    translations = catalog(lang)

    # WHEN each sentence is looked up
    missing = [
        message
        for message in used
        if (entry := translations.get(message)) is None
        or not all(entry.string if isinstance(entry.string, tuple) else (entry.string,))
    ]

    # THEN none is left in English
    assert missing == []
    # AND every translation keeps the placeholders of its English source
    assert [errors for _, errors in translations.check() if errors] == []


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_catalogs_hold_only_sentences_the_templates_use(lang):
    # GIVEN a language's catalog
    # WHEN it is compared with the templates
    held = {entry.id for entry in catalog(lang) if entry.id}

    # THEN it holds no stale sentence
    assert held == template_messages()


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
