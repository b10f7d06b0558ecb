"""HTTP of the member API: reading what a request carries (its body, its form) without ever
failing on what a client sent, and the answers: pages with the headers every page carries, and
precise JSON errors for the service's apps. It ships with the function (beside ``app.py``, on
Lambda's task root), not in the domain's layer: no other function speaks HTTP."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.event_handler import Response

from lifecycle.clock import iso
from lifecycle.errors import InvalidRequest
from lifecycle.member_links import PageSpec
from lifecycle.membership import Membership
from lifecycle.rendering import render_page

PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",  # the link's token must not leak to any other site
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FORM_FIELDS = 10  # the page's form sends one; more is not a browser answering our page


def page(spec: PageSpec, *, accept_language: str | None, service_name: str, help_url: str = "",
         status: int | None = None) -> Response[str]:
    """The page ``spec`` names, with its own status unless ``status`` says otherwise."""
    rendered = render_page(
        spec.name, locale=spec.locale, accept_language=accept_language, service_name=service_name,
        help_url=help_url or None, **spec.context
    )
    return Response(
        status_code=status or rendered.status,
        content_type="text/html; charset=utf-8",
        body=rendered.html,
        headers={
            **PAGE_HEADERS,
            "Content-Security-Policy": rendered.content_security_policy,
            "Content-Language": rendered.lang,
        },
    )


def from_another_site(headers: dict[str, str]) -> bool:
    """A form post that another site's page made the browser send (cross-site request forgery).
    ``Sec-Fetch-Site``, which no page can set, decides when the browser sends it: only
    ``same-origin`` (and ``none``, the member's own action) come from our page. Without it,
    ``Origin`` must name this host, and a request that names no host cannot show it does: it is
    refused. ``Origin: null`` alone is refused, but it does not overrule ``Sec-Fetch-Site:
    same-origin``: browsers send it for our own form, because our pages ask for
    ``Referrer-Policy: no-referrer``. A post with neither header comes from no browser's page
    (a browser sends ``Origin`` with every form post), so no site can have forged it."""
    lowered = {name.lower(): value for name, value in headers.items()}
    site = lowered.get("sec-fetch-site", "").strip().lower()
    if site:
        return site not in ("same-origin", "none")
    origin, host = lowered.get("origin"), lowered.get("host")
    if not origin:
        return False
    if origin == "null" or not host:
        return True
    try:
        return urlsplit(origin).netloc.lower() != host.lower()
    except ValueError:  # not a URL at all ("http://[")
        return True


def media_type(headers: dict[str, str]) -> str:
    """The request's Content-Type without its parameters, lower case ("" when there is none)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return (lowered.get("content-type") or "").split(";")[0].strip().lower()


def body_text(body: str | None, is_base64_encoded: bool) -> str:
    """The request body as text. API Gateway passes a body that is not UTF-8 base64-encoded;
    such a body is refused as ``InvalidRequest`` (nothing here reads binary data)."""
    if not body:
        return ""
    if not is_base64_encoded:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("the body is not UTF-8 text") from None


def form_choice(headers: dict[str, str], body: str | None, is_base64_encoded: bool) -> str | None:
    """The one ``choice`` a form post carries; None for anything that is not exactly the page's
    form answering: another content type, an unreadable body, too many fields, no choice or
    several (a choice that cannot be read is never guessed)."""
    if media_type(headers) != FORM:
        return None
    try:
        fields = parse_qs(body_text(body, is_base64_encoded), max_num_fields=MAX_FORM_FIELDS)
    except (InvalidRequest, ValueError):
        return None
    choices = fields.get("choice", [])
    return choices[0] if len(choices) == 1 else None


def json_body(headers: dict[str, str], body: str | None, is_base64_encoded: bool, *, default: object) -> object:
    """The request's JSON document (``default`` when there is no body; a body of ``null`` is
    None). ``InvalidRequest`` says precisely what is wrong otherwise: content type, encoding,
    syntax, or nesting too deep to read."""
    text = body_text(body, is_base64_encoded)
    if not text:
        return default
    if media_type(headers) != JSON:
        raise InvalidRequest(f"a body must be sent as {JSON}")
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidRequest("the JSON body is nested too deeply") from None
    except ValueError:
        raise InvalidRequest("body must be JSON") from None


def json_response(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, default=str),
        headers={"Cache-Control": "no-store"},
    )


def json_error(status: int, code: str, message: str) -> Response[str]:
    return json_response(status, {"error": code, "message": message})


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def membership_json(member: Membership, profiles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the apps see of a member (never the email address)."""
    view = member.view
    body: dict[str, Any] = {
        "member_id": view.member_id,
        "status": view.status,
        "notice": None,
        "cancelled_at": _when(view.cancelled_at),
        "cancel_reason": member.cancel_reason,
        "ends_at": _when(member.ends_at),  # access and billing end (CancellationTakesEffect)
        "retained_until": _when(view.retained_until),
        "purged_at": _when(view.purged_at),  # what was kept is gone: the app need not offer it back
        "rejoined_at": _when(view.rejoined_at),
        "last_watched_at": _when(view.last_watched_at),
    }
    if view.notice_id:
        body["notice"] = {
            "notice_id": view.notice_id,
            "opened_at": _when(view.notice_opened_at),
            "deadline": _when(view.notice_deadline),
            "reminded_at": _when(view.notice_reminded_at),
        }
    if profiles is not None:
        body["profiles"] = profiles
    return body
