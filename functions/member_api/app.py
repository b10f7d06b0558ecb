"""Member API: the pages behind the email links (GET shows, POST acts), the IAM-authorized
routes of the service's apps (read the notice, keep, rejoin, record activity), and the API's
own OpenAPI document.

Whatever a request carries, the answer is a page (for the links) or a JSON error (for the apps)
with a 4xx status, and nothing changes: bad input never reaches the domain as an exception."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import campaign, clock
from lifecycle.clock import parse_iso
from lifecycle.errors import (
    ConcurrentChange,
    DeliveryFailed,
    InvalidRequest,
    MemberNotFound,
    NoOpenNotice,
    NotCancelled,
)
from lifecycle.member_links import PageSpec, link_choice, link_page
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from web import form_choice, from_another_site, json_body, json_error, json_response, membership_json, page

app = APIGatewayRestResolver()
OPENAPI_DOCUMENT = Path(__file__).parent / "openapi.json"
PAGE_PREFIX = "/n/"
PAGE_METHODS = ("GET", "POST")
MAX_KEY_BYTES = 2048  # DynamoDB's limit for a partition key: no member can have a longer id
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _store() -> tuple[Settings, Store]:
    settings = Settings.from_env()
    return settings, Store.on_aws(settings)


def _render(spec: PageSpec, settings: Settings | None = None, status: int | None = None) -> Response[str]:
    settings = settings or Settings.from_env()
    return page(
        spec,
        accept_language=app.current_event.headers.get("accept-language"),
        service_name=settings.service_name,
        help_url=settings.help_url,
        status=status,
    )


def _is_page_request() -> bool:
    return app.current_event.path.startswith(PAGE_PREFIX)


def _decoded(segment: str) -> str | None:
    """A path segment decoded once: API Gateway (REST) delivers the path and its parameters
    still percent-encoded (``auth0%7C5f7c``, an encoded ``/`` as ``%2F``), and so do the routes'
    parameters here. None when the segment is not percent-encoded UTF-8 (a ``%`` without two
    hex digits after it, or bytes that are not UTF-8)."""
    if _BROKEN_ESCAPE.search(segment):
        return None
    try:
        return unquote(segment, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


def _member_id(segment: str) -> str:
    """The member id a route's path segment names, decoded once. A segment that is not
    percent-encoded UTF-8, or an id longer than the table could hold (DynamoDB would refuse
    it), names nobody."""
    member_id = _decoded(segment)
    if member_id is None:
        raise MemberNotFound(segment[:64] + ("…" if len(segment) > 64 else ""))
    if len(member_id.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise MemberNotFound(member_id[:64] + "…")
    return member_id


def _whole_token() -> str | None:
    """The link's token from the path (decoded once, like a member id; None when it cannot be
    decoded). Read from the path rather than the route's parameter: a route's pattern ends with
    ``$``, which also matches before a final line break, and would leave that character out."""
    return _decoded(app.current_event.path[len(PAGE_PREFIX) :])


# ------------------------------------------------------------ member pages
@app.get("/n/<token>")
def notice_page(token: str) -> Response[str]:
    settings, store = _store()
    whole = _whole_token()
    if whole is None:
        return _render(PageSpec("invalid", None), settings)
    preselected = app.current_event.get_query_string_value("choice")
    return _render(link_page(store, whole, preselected, clock.now(), settings), settings)


@app.post("/n/<token>")
def notice_choice(token: str) -> Response[str]:
    """Acts only on the page's own form: a post of another type, from another site, or whose
    choice cannot be read answers the link's page for a bad request (in the member's language
    when the link is genuine) and changes nothing."""
    settings, store = _store()
    whole = _whole_token()
    if whole is None:
        return _render(PageSpec("invalid", None), settings)
    event = app.current_event
    choice = None
    if not from_another_site(event.headers):
        choice = form_choice(event.headers, event.body, bool(event.is_base64_encoded))  # None: the body is as sent
    return _render(link_choice(store, whole, choice, clock.now(), settings), settings)


# ------------------------------------------------ the service's apps (IAM)
# each route's ``member_id`` is the path segment as sent, still percent-encoded: decoded once here
@app.get("/members/<member_id>/notice")
def member_notice(member_id: str) -> Response[str]:
    _, store = _store()
    return json_response(200, membership_json(store.members.snapshot(_member_id(member_id))))


@app.post("/members/<member_id>/keep")
def member_keep(member_id: str) -> Response[str]:
    settings, store = _store()
    member_id = _member_id(member_id)
    campaign.keep_open_notice(store, member_id, clock.now(), settings.policy)
    return json_response(200, membership_json(store.members.snapshot(member_id)))


@app.post("/members/<member_id>/rejoin")
def member_rejoin(member_id: str) -> Response[str]:
    _, store = _store()
    member_id = _member_id(member_id)
    member = campaign.rejoin(store, member_id, clock.now())
    return json_response(200, membership_json(member, profiles=store.members.profiles(member_id) or []))


@app.post("/members/<member_id>/activity")
def member_activity(member_id: str) -> Response[str]:
    settings, store = _store()
    member_id = _member_id(member_id)
    event = app.current_event
    body = json_body(event.headers, event.body, bool(event.is_base64_encoded), default={})  # None: the body is as sent
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object")
    watched_at = body.get("watched_at")
    try:
        moment = parse_iso(watched_at) if watched_at is not None else clock.now()
    except (TypeError, ValueError, OverflowError):
        raise InvalidRequest("watched_at must be an ISO 8601 time with a time zone") from None
    outcome = campaign.record_activity(store, member_id, moment, clock.now(), settings.policy)
    return json_response(
        200, {**membership_json(store.members.snapshot(member_id)), "notice_closed": outcome is not None}
    )


# ------------------------------------------------------ the API's document
@cache
def _openapi_document() -> str:
    return OPENAPI_DOCUMENT.read_text(encoding="utf-8")


@app.get("/openapi.json")
def openapi_document() -> Response[str]:
    """The OpenAPI 3.0 description of this API (public documentation, no auth)."""
    return Response(
        status_code=200,
        content_type="application/json",
        body=_openapi_document(),
        headers={"Cache-Control": "public, max-age=300"},
    )


# ------------------------------------------------------- errors, for apps
@app.exception_handler(MemberNotFound)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _not_found(error: MemberNotFound) -> Response[str]:
    return json_error(404, "member_not_found", str(error))


@app.exception_handler(NoOpenNotice)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _no_notice(error: NoOpenNotice) -> Response[str]:
    return json_error(409, "no_open_notice", str(error))


@app.exception_handler(NotCancelled)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _not_cancelled(error: NotCancelled) -> Response[str]:
    return json_error(409, "not_cancelled", str(error))


@app.exception_handler(InvalidRequest)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _invalid(error: InvalidRequest) -> Response[str]:
    return json_error(400, "invalid_request", str(error))


@app.exception_handler(ConcurrentChange)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _busy(error: ConcurrentChange) -> Response[str]:
    if _is_page_request():
        return _render(PageSpec("error", None), status=409)
    return json_error(409, "concurrent_change", str(error))


@app.exception_handler(DeliveryFailed)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _unavailable(error: DeliveryFailed) -> Response[str]:
    logger.exception("dependency failed")
    if _is_page_request():
        return _render(PageSpec("error", None), status=503)
    return json_error(503, "unavailable", "try again shortly; nothing was changed")


@app.not_found
def _no_route(error: NotFoundError) -> Response[str]:
    """A path no route of this function reads: for a link (a token with a character a route
    cannot hold, or a path with more segments) the "invalid link" page, or the "can't be used
    this way" page for a method a link does not take; for anything else a JSON 404."""
    if _is_page_request():
        if app.current_event.http_method.upper() in PAGE_METHODS:
            return _render(PageSpec("invalid", None))
        refused = _render(PageSpec("method_not_allowed", None))
        refused.headers["Allow"] = ", ".join(PAGE_METHODS)
        return refused
    return json_error(404, "not_found", "no route of this API has this path")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools returns it untyped
def _unexpected(error: Exception) -> Response[str]:
    """The last resort: a bug is logged and answered as a page or a JSON error, never as a
    gateway's bare 502."""
    logger.exception("unexpected error")
    if _is_page_request():
        try:
            return _render(PageSpec("error", None))
        except Exception:  # the page itself cannot be made (settings, templates): the JSON error then
            logger.exception("the error page could not be rendered")
    return json_error(500, "internal_error", "something went wrong on our side; nothing was changed")


# no Powertools tracer here: importing the X-Ray SDK costs about 100 ms of every cold start,
# and a member is waiting for this page; Lambda's active tracing still records each request
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
