"""Member API: the pages behind the email links (GET shows, POST acts) and the IAM-authorized
routes of the service's apps (read the notice, keep, rejoin, record activity)."""

import json
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from lifecycle import campaign, clock
from lifecycle.errors import (
    ConcurrentChange,
    DeliveryFailed,
    InvalidRequest,
    MemberNotFound,
    NoOpenNotice,
    NotCancelled,
)
from lifecycle.member_links import PageSpec, link_choice, link_page
from lifecycle.models import parse_iso
from lifecycle.observability import logger, metrics, tracer
from lifecycle.repository import MembershipStore
from lifecycle.settings import Settings
from lifecycle.web import from_another_site, json_error, json_response, membership_json, page

app = APIGatewayRestResolver()
FORM = "application/x-www-form-urlencoded"


def _store() -> tuple[Settings, MembershipStore]:
    settings = Settings.from_env()
    return settings, MembershipStore(settings)


def _render(spec: PageSpec, settings: Settings):
    return page(
        spec, accept_language=app.current_event.headers.get("accept-language"), service_name=settings.service_name
    )


# ------------------------------------------------------------ member pages
@app.get("/n/<token>")
def notice_page(token: str):
    settings, store = _store()
    preselected = app.current_event.get_query_string_value("choice")
    return _render(link_page(store, token, preselected, clock.now(), settings), settings)


@app.post("/n/<token>")
def notice_choice(token: str):
    settings, store = _store()
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM or from_another_site(app.current_event.headers):
        return _render(PageSpec("bad_request", None), settings)
    fields = parse_qs(app.current_event.decoded_body or "", max_num_fields=10)
    choice = fields.get("choice", [None])[0]
    return _render(link_choice(store, token, choice, clock.now(), settings), settings)


# ------------------------------------------------ the service's apps (IAM)
@app.get("/members/<member_id>/notice")
def member_notice(member_id: str):
    _, store = _store()
    return json_response(200, membership_json(store.member(member_id)))


@app.post("/members/<member_id>/keep")
def member_keep(member_id: str):
    settings, store = _store()
    campaign.keep_open_notice(store, member_id, clock.now(), settings.policy)
    return json_response(200, membership_json(store.member(member_id)))


@app.post("/members/<member_id>/rejoin")
def member_rejoin(member_id: str):
    _, store = _store()
    member = campaign.rejoin(store, member_id, clock.now())
    return json_response(200, membership_json(member, profiles=store.profiles(member_id) or []))


@app.post("/members/<member_id>/activity")
def member_activity(member_id: str):
    _, store = _store()
    try:
        body = json.loads(app.current_event.decoded_body) if app.current_event.body else {}
    except ValueError:
        raise InvalidRequest("body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object")
    watched_at = body.get("watched_at")
    try:
        moment = parse_iso(watched_at) if watched_at is not None else clock.now()
    except (TypeError, ValueError):
        raise InvalidRequest("watched_at must be an ISO 8601 time with a time zone") from None
    if moment > clock.now():
        raise InvalidRequest("watched_at is in the future")
    outcome = campaign.record_activity(store, member_id, moment, clock.now())
    return json_response(200, {**membership_json(store.member(member_id)), "notice_closed": outcome is not None})


# ------------------------------------------------------- errors, for apps
@app.exception_handler(MemberNotFound)
def _not_found(error):
    return json_error(404, "member_not_found", str(error))


@app.exception_handler(NoOpenNotice)
def _no_notice(error):
    return json_error(409, "no_open_notice", str(error))


@app.exception_handler(NotCancelled)
def _not_cancelled(error):
    return json_error(409, "not_cancelled", str(error))


@app.exception_handler(InvalidRequest)
def _invalid(error):
    return json_error(400, "invalid_request", str(error))


@app.exception_handler(ConcurrentChange)
def _busy(error):
    return json_error(409, "concurrent_change", str(error))


@app.exception_handler(DeliveryFailed)
def _unavailable(error):
    logger.exception("dependency failed")
    return json_error(503, "unavailable", "try again shortly; nothing was changed")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
