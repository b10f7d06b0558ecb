"""The app routes with the member ids real services have: every id, encoded as one path segment
by the app, reaches its member decoded exactly once (``auth0|...``, ``acct:...``, e-mail
addresses, ids with ``/`` or ``%`` in them, non-ASCII...). And the sample events of the app
routes (``events/member-api-app-*.json``) look like what API Gateway sends for an app's call."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from api_support import app_call, segment
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import real_world
from tests.stack import iso

EVENTS = Path(__file__).parents[2] / "events"
MEMBER_IDS = real_world.member_ids()
examples = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@examples
@given(member_id=MEMBER_IDS)
def test_every_member_id_reaches_its_member_decoded_once(campaign, member_id):
    # GIVEN a member with this id
    stack = campaign.stack
    watched = campaign.stack.cloud.now.replace(microsecond=0)
    stack.add_member(member_id, joined_at=watched.replace(year=2025), last_watched_at=None)
    try:
        # WHEN the app reads the member's notice, and records a viewing, the id encoded as one
        # path segment
        notice = app_call("GET", campaign.app_url(member_id, "notice"))
        body = json.dumps({"watched_at": iso(watched)})
        viewing = app_call("POST", campaign.app_url(member_id, "activity"), body, "application/json")
        # THEN both name that member, exactly
        assert notice.status_code == 200, (member_id, notice.text)
        assert notice.json()["member_id"] == member_id
        assert viewing.status_code == 200, (member_id, viewing.text)
        assert viewing.json()["member_id"] == member_id
        assert stack.member(member_id)["last_watched_at"] == iso(watched)
    finally:
        stack.cloud.client("dynamodb").delete_item(
            TableName=stack.cloud.table_name("ActivityTable"), Key={"member_id": {"S": member_id}}
        )


def raw_app_call(campaign, method: str, path: str) -> tuple[int, dict]:
    """An app's call with the path on the wire exactly as written (``requests`` would re-encode
    a broken escape), signed as the app role."""
    url = campaign.api_url + path
    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(campaign.stack.cloud.app_credentials(), "execute-api", "us-east-1").add_auth(request)
    parts = urlsplit(campaign.api_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, headers=dict(request.headers.items()))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@examples
@given(garbage=st.sampled_from(["%", "%4", "%zz", "m-%G1", "a%2", "%C3%28", "%FF", "%ED%A0%80", "%C0%AF"]))
def test_a_segment_that_is_not_percent_encoded_utf8_names_nobody(campaign, garbage):
    # GIVEN a path segment that no percent-encoding of any text gives: a broken escape, or
    # escapes of bytes that are not UTF-8
    before = campaign.world()
    # WHEN an app calls a route with it as the member id
    status, body = raw_app_call(campaign, "GET", f"/members/{garbage}/notice")
    # THEN it is the API's JSON 404 for nobody, and nothing changed
    assert status == 404, body
    assert body["error"] == "member_not_found"
    campaign.assert_nothing_changed(before)


def test_the_app_samples_are_what_api_gateway_sends_for_an_apps_call(campaign):
    # GIVEN the app route samples, and the event the local API Gateway made of the app's own
    # call (signed as the app role's session)
    stack = campaign.stack
    samples = {path.name: json.loads(path.read_text()) for path in sorted(EVENTS.glob("member-api-app-*.json"))}
    assert len(samples) == 4
    answered = app_call("GET", campaign.app_url("auth0|5f7c8ec7c33c6c004bbafe82", "notice"))
    assert answered.status_code == 404  # nobody has that id; the gateway's event is what matters
    sent = stack.cloud.invocations_of("MemberApiFunction")[-1].event
    assert sent["path"] == "/members/auth0%7C5f7c8ec7c33c6c004bbafe82/notice"  # as sent: not decoded
    for name, sample in samples.items():
        # THEN each has the path as API Gateway sends it: the member id as one encoded segment,
        # the same in the path, its parameters and the request context
        member_id = unquote(sample["pathParameters"]["member_id"])
        action = sample["resource"].rsplit("/", 1)[1]
        assert sample["pathParameters"] == {"member_id": segment(member_id)}, name
        assert sample["path"] == f"/members/{segment(member_id)}/{action}", name
        context = sample["requestContext"]
        assert context["path"] == f"/{context['stage']}{sample['path']}", name
        assert context["resourcePath"] == sample["resource"] and context["httpMethod"] == sample["httpMethod"]
        # AND its identity is an app's assumed-role session, shaped like the one the gateway
        # gives the function for the app's call
        identity = context["identity"]
        assert set(sent["requestContext"]["identity"]) >= set(identity), name
        assert re.fullmatch(r"arn:aws:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+", identity["userArn"]), name
        role, session = identity["userArn"].split("/")[1:]
        assert identity["caller"] == identity["user"] and re.fullmatch(rf"AROA[A-Z0-9]+:{session}", identity["caller"])
        assert identity["accessKey"].startswith("ASIA") and identity["accountId"] == context["accountId"]
        assert role and name
    gateway = sent["requestContext"]["identity"]
    assert gateway["userArn"].startswith("arn:aws:sts::123456789012:assumed-role/local-app/")
    assert gateway["accessKey"].startswith("ASIA") and gateway["caller"].startswith("AROA")
