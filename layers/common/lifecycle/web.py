"""HTTP answers of the member API: pages with the headers every page carries, and precise JSON
errors for the service's apps."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response

from lifecycle.member_links import PageSpec
from lifecycle.models import MemberRecord, iso
from lifecycle.rendering import render_page

PAGE_HEADERS = {
    "Referrer-Policy": "no-referrer",  # the link's token must not leak to any other site
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def page(spec: PageSpec, *, accept_language: str | None, service_name: str) -> Response:
    rendered = render_page(
        spec.name, locale=spec.locale, accept_language=accept_language, service_name=service_name, **spec.context
    )
    return Response(
        status_code=rendered.status,
        content_type="text/html; charset=utf-8",
        body=rendered.html,
        headers={
            **PAGE_HEADERS,
            "Content-Security-Policy": rendered.content_security_policy,
            "Content-Language": rendered.lang,
        },
    )


def from_another_site(headers: dict[str, str]) -> bool:
    """A form post that another site's page made the browser send (cross-site request forgery):
    browsers say so in ``Sec-Fetch-Site``, and in ``Origin`` when it names another host."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin, host = lowered.get("origin"), lowered.get("host")
    if not origin or origin == "null" or not host:
        return origin == "null"
    return urlsplit(origin).netloc.lower() != host.lower()


def json_response(status: int, body: dict) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, default=str),
        headers={"Cache-Control": "no-store"},
    )


def json_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": code, "message": message})


def _when(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def membership_json(member: MemberRecord, profiles: list[dict] | None = None) -> dict:
    """What the apps see of a member (never the email address)."""
    body = {
        "member_id": member.member_id,
        "status": member.status,
        "notice": None,
        "cancelled_at": _when(member.cancelled_at),
        "cancel_reason": member.cancel_reason,
        "retained_until": _when(member.retained_until),
        "rejoined_at": _when(member.rejoined_at),
        "last_watched_at": _when(member.last_watched_at),
    }
    if member.notice_id:
        body["notice"] = {
            "notice_id": member.notice_id,
            "opened_at": _when(member.notice_opened_at),
            "deadline": _when(member.notice_deadline),
            "reminded_at": _when(member.notice_reminded_at),
        }
    if profiles is not None:
        body["profiles"] = profiles
    return body
