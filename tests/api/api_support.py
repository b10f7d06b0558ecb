"""What the API tests share: a small campaign deployed on the stack of ``tests/stack.py``, and
the ways a test talks to the API and reads its answers:

* ``Campaign``: members whose notices are open, kept or cancelled after the first sweep, their
  links as emailed, the link-signing key, and ``world()`` / ``assert_nothing_changed()``: every
  item of the four tables, the emails sent and the events on the bus, before and after;
* ``segment()``: any text as one URL path segment, exactly as a client would encode it;
* ``SigV4``: a ``requests`` auth that signs the request as it is finally sent (the service's apps
  call with IAM, as the app role the deployment admits; or with other credentials);
* ``assert_page()`` / ``assert_json_error()`` / ``assert_gateway_refusal()``: the three kinds of
  answer the API may give to bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from botocore.credentials import Credentials
from itsdangerous.encoding import base64_decode

from lifecycle.rendering import SUPPORTED_LANGUAGES
from ops.app_calls import SignedAsApp
from tests.stack import FIRST_SWEEP, deployed_stack

TABLES = ("ActivityTable", "LifecycleTable", "MemberDataTable", "LinkTable")
LANGUAGES = SUPPORTED_LANGUAGES  # the languages pages are written in
TIMEOUT = 30


# ------------------------------------------------------------------ the campaign
# member id -> locale; each has an open notice after the first sweep, then:
OPEN = {"m-open-fr": "fr-FR", "m-open-de": "de-DE"}  # ... nobody answers
KEPT = {"m-kept-es": "es-ES"}  # ... the member keeps, through the page's form
CANCELLED = {"m-cancelled-fr": "fr-CA"}  # ... the member cancels, through the page's form
ACTIVE = "m-active"  # an active member nothing is due for; apps record activity for them
WATCHED_AT = datetime(2026, 5, 20, 21, 0, tzinfo=UTC)  # ACTIVE's last viewing


@dataclass
class Campaign:
    """The stack after its first sweep, with members in each state a link can find."""

    stack: Any
    links: dict[str, dict[str, str]] = field(default_factory=dict)  # member -> choice -> link as emailed

    @property
    def api_url(self) -> str:
        return self.stack.cloud.api_url

    def token(self, member_id: str, choice: str = "keep") -> str:
        return token_of(self.links[member_id][choice])

    def notice_id(self, member_id: str) -> str:
        return self.stack.member(member_id)["notice_id"]

    def signing_key(self) -> str:
        cloud = self.stack.cloud
        secret = cloud.client("secretsmanager").get_secret_value(SecretId=cloud.resource("LinkSigningSecret"))
        return json.loads(secret["SecretString"])["current"]

    def page_url(self, token: str, *, choice: str | None = None) -> str:
        query = "" if choice is None else "?choice=" + quote(choice, safe="")
        return f"{self.api_url}/n/{segment(token)}{query}"

    def app_url(self, member_id: str, action: str) -> str:
        return f"{self.api_url}/members/{segment(member_id)}/{action}"

    # ------------------------------------------------------------ what changed
    def world(self) -> dict[str, Any]:
        """Every item of every table, and how many emails SES has sent and events the bus got."""
        cloud = self.stack.cloud
        tables = {table: sorted(cloud.table_items(table), key=repr) for table in TABLES}
        return {"tables": tables, "emails": len(cloud.sent_emails()), "events": len(self.stack.bus())}

    def assert_nothing_changed(self, before: dict[str, Any]) -> None:
        """No item of any table changed, and - once the streams have delivered whatever a change
        would have caused - no email was sent and no event reached the bus."""
        self.stack.cloud.settle()
        after = self.world()
        assert after["tables"] == before["tables"]
        assert after["emails"] == before["emails"]
        assert after["events"] == before["events"]


@contextmanager
def deployed_campaign() -> Iterator[Campaign]:
    """The shared test deployment (``tests/stack.py``) with the campaign's members, swept once,
    and the answers given."""
    with deployed_stack() as stack:
        cloud = stack.cloud
        for member_id, locale in {**OPEN, **KEPT, **CANCELLED}.items():
            stack.add_inactive_member(member_id, locale=locale)
        stack.add_member(ACTIVE, joined_at=datetime(2025, 1, 1, tzinfo=UTC), last_watched_at=WATCHED_AT)
        stack.run_until(FIRST_SWEEP)
        campaign = Campaign(stack)
        for member_id in {**OPEN, **KEPT, **CANCELLED}:
            campaign.links[member_id] = {choice: stack.link(member_id, choice) for choice in ("keep", "cancel")}
        for members, choice in ((KEPT, "keep"), (CANCELLED, "cancel")):
            for member_id in members:
                answer = post_form(campaign.links[member_id][choice], f"choice={choice}")
                assert answer.status_code == 200, answer.text
        cloud.settle()
        _deployed.append(campaign)
        try:
            yield campaign
        finally:
            _deployed.remove(campaign)


_deployed: list[Campaign] = []  # the campaign deployed now (one LocalCloud per process)


# -------------------------------------------------------------------- requests
def segment(text: str) -> str:
    """``text`` as one path segment: every reserved character percent-encoded, dots too (a
    client would otherwise resolve ``.`` and ``..`` away before sending)."""
    return quote(text, safe="").replace(".", "%2E")


def token_of(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[1]


def same_link(token: str, altered: str) -> bool:
    """Whether ``altered`` is ``token`` written differently: the same payload, and a signature
    whose base64 decodes to the same bytes (the last character of base64 carries spare bits)."""
    payload, _, signature = token.rpartition(".")
    altered_payload, _, altered_signature = altered.rpartition(".")
    if altered_payload != payload:
        return False
    try:
        return base64_decode(altered_signature) == base64_decode(signature)
    except Exception:  # not base64 at all
        return False


def post_form(url: str, body: str | bytes, **headers: str) -> requests.Response:
    """A form post as a browser sends it (text as UTF-8)."""
    headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    data = body.encode("utf-8") if isinstance(body, str) else body
    return requests.post(url, data=data, headers=headers, timeout=TIMEOUT)


class SigV4(SignedAsApp):
    """Signs a request as the service's apps do, after ``requests`` has prepared it. Without
    ``credentials``, as the app role of the campaign deployed now (its STS session)."""

    def __init__(self, credentials: Credentials | None = None):
        super().__init__(credentials)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self.credentials = self.credentials or _deployed[-1].stack.cloud.app_credentials()
        return super().__call__(request)


def app_call(
    method: str,
    url: str,
    body: bytes | str | None = None,
    content_type: str | None = None,
    credentials: Credentials | None = None,
):
    """An app's call, signed as the app role (or with ``credentials``)."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    return requests.request(method, url, data=body, headers=headers, auth=SigV4(credentials), timeout=TIMEOUT)


# --------------------------------------------------------------------- answers
def expected_language(accept_language: str | bytes | None) -> str:
    """The language a page names nobody is written in, for the Accept-Language values the tests
    send: the first supported language it lists, else English."""
    if isinstance(accept_language, str):
        for item in accept_language.split(","):
            language = item.split(";")[0].strip().split("-")[0].lower()
            if language in LANGUAGES:
                return language
    return "en"


def assert_page(response: requests.Response, status: int | tuple[int, ...], lang: str | tuple[str, ...]) -> None:
    """An HTML page with this status, written in this language, under the pages' strict CSP."""
    statuses = (status,) if isinstance(status, int) else status
    languages = (lang,) if isinstance(lang, str) else lang
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Language"] in languages
    assert f'<html lang="{response.headers["Content-Language"]}"' in response.text
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in response.text.lower()


def assert_json_error(response: requests.Response, status: int, error: str | tuple[str, ...]) -> None:
    """A JSON error of the app routes: ``{"error": code, "message": text}``."""
    codes = (error,) if isinstance(error, str) else error
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] in codes, body
    assert isinstance(body["message"], str) and body["message"]


def assert_gateway_refusal(response: requests.Response) -> None:
    """API Gateway's own 403, before any function runs (a method or path the API does not have)."""
    assert response.status_code == 403, (response.status_code, response.text[:500])
    assert response.json() == {"message": "Missing Authentication Token"}
