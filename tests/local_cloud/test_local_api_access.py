"""Who may call the member API, on the real template: the API's resource policy and the app
routes' integration as API Gateway applies them, with the app role the deployment admits
(``AppPrincipalArns``), identities nobody admitted, anonymous callers, and the template as it
was before its app routes set ``InvokeRole: NONE``. The local API's log never carries a link's
token."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.cloud import APP_ROLE_ARN, CREDENTIALS
from local.template import DEFAULT_TEMPLATE, PROJECT_ROOT, Template
from tests.stack import FIRST_SWEEP, START, Stack

APP_ROUTES = [("GET", "notice"), ("POST", "keep"), ("POST", "rejoin"), ("POST", "activity")]
OTHER_ROLE = "arn:aws:iam::123456789012:role/service/other-app"
TABLES = ("ActivityTable", "LifecycleTable", "MemberDataTable", "LinkTable")


def world(stack: Stack) -> dict:
    """Every item of the tables, and how many emails and bus events there were."""
    stack.cloud.settle()
    return {
        "tables": {table: sorted(stack.cloud.table_items(table), key=repr) for table in TABLES},
        "emails": len(stack.cloud.sent_emails()),
        "events": len(stack.bus()),
    }


def add_cancelled_member(stack: Stack, member_id: str) -> None:
    stack.add_member(
        member_id,
        joined_at=datetime(2019, 5, 1, tzinfo=UTC),
        last_watched_at=None,
        status="cancelled",
        cancelled_at="2026-03-01T03:00:00Z",
        cancel_reason="no_response",
        billing_stopped_at="2026-03-01T03:00:00Z",
        retained_until="2027-01-01T03:00:00Z",
        profiles=[{"name": "Ana", "my_list": [], "preferences": {}}],
    )


def test_the_app_role_is_admitted_to_every_app_route(stack):
    # GIVEN a member whose notice is open, and a cancelled member
    stack.add_inactive_member("auth0|5f7c8ec7c33c6c004bbafe82")
    stack.run_until(FIRST_SWEEP)
    add_cancelled_member(stack, "müller-7")
    noticed, cancelled = (quote(m, safe="") for m in ("auth0|5f7c8ec7c33c6c004bbafe82", "müller-7"))
    # WHEN the app, signed as its role (the one AppPrincipalArns names), calls each app route
    answers = {
        "notice": stack.app("GET", f"/members/{noticed}/notice"),
        "keep": stack.app("POST", f"/members/{noticed}/keep"),
        "activity": stack.app("POST", f"/members/{noticed}/activity", {"watched_at": "2026-06-01T02:00:00Z"}),
        "rejoin": stack.app("POST", f"/members/{cancelled}/rejoin"),
    }
    # THEN each is answered by the function, for the member it names
    assert {route: answer.status_code for route, answer in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["notice"].json()["notice"] is not None
    assert stack.member("auth0|5f7c8ec7c33c6c004bbafe82")["notice_outcome"] == "kept"
    assert stack.member("müller-7")["status"] == "active"
    # AND the function saw the app's session, as API Gateway reports an assumed role
    identity = stack.cloud.invocations_of("MemberApiFunction")[-1].event["requestContext"]["identity"]
    assert identity["userArn"] == "arn:aws:sts::123456789012:assumed-role/local-app/local-app"
    assert identity["accessKey"] == stack.cloud.app_credentials().access_key
    assert identity["caller"] == identity["user"] and identity["caller"].endswith(":local-app")
    assert APP_ROLE_ARN in stack.cloud.parameters["AppPrincipalArns"]


def stray_user_credentials(cloud) -> Credentials:
    """The access key of an IAM user of the account whose own policy allows execute-api:Invoke
    on every API of the account: an identity nobody admitted to the app routes."""
    iam = cloud.client("iam")
    iam.create_user(UserName="stray")
    iam.put_user_policy(UserName="stray", PolicyName="InvokeEveryApi", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                                                "Resource": "arn:aws:execute-api:us-east-1:123456789012:*"}]}))
    key = iam.create_access_key(UserName="stray")["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


STRAYS = {
    # an IAM user of the account whose own policy allows execute-api:Invoke on every API
    "an IAM user": (stray_user_credentials, "arn:aws:iam::123456789012:user/stray"),
    # a session of another role of the account, allowed execute-api:Invoke by its own policy
    "another role": (
        lambda cloud: cloud.app_credentials(OTHER_ROLE, session_name="other"),
        "arn:aws:sts::123456789012:assumed-role/other-app/other",
    ),
    # the local default credentials: the account's administrator on the local cloud
    "the administrator": (
        lambda cloud: Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
        "arn:aws:sts::123456789012:user/moto",
    ),
}


@pytest.mark.parametrize("stray", sorted(STRAYS))
def test_an_identity_nobody_admitted_is_refused_every_app_route_and_nothing_changes(stack, stray):
    # GIVEN a member whose notice is open, a cancelled member, and an identity of the account
    # that AppPrincipalArns does not name, though its own IAM policy allows execute-api:Invoke
    stack.add_inactive_member("m-noticed")
    stack.run_until(FIRST_SWEEP)
    add_cancelled_member(stack, "m-cancelled")
    make_credentials, user_arn = STRAYS[stray]
    credentials = make_credentials(stack.cloud)
    api_id = stack.cloud.stack.apis["MemberApi"].id
    calls_before = len(stack.cloud.invocations_of("MemberApiFunction"))
    before = world(stack)
    for method, action in APP_ROUTES:
        member = "m-cancelled" if action == "rejoin" else "m-noticed"
        # WHEN it calls the route, correctly signed
        answer = stack.app(method, f"/members/{member}/{action}", credentials=credentials)
        # THEN API Gateway refuses it with the resource policy's explicit deny
        assert answer.status_code == 403, (action, answer.text)
        resource = f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/test/{method}/members/{member}/{action}"
        assert answer.json() == {
            "Message": f"User: {user_arn} is not authorized to perform: execute-api:Invoke on resource: {resource} "
            "with an explicit deny"
        }
    # AND the function never ran, and nothing changed: the notice is open, the member cancelled
    assert len(stack.cloud.invocations_of("MemberApiFunction")) == calls_before
    assert world(stack) == before
    assert stack.member("m-noticed")["notice_id"] and stack.member("m-cancelled")["status"] == "cancelled"


def test_an_unsigned_call_of_an_app_route_is_refused_before_anything_runs(stack):
    # GIVEN an active member
    stack.add_member("m-active", joined_at=datetime(2025, 1, 1, tzinfo=UTC), last_watched_at=None)
    before = world(stack)
    for method, action in APP_ROUTES:
        # WHEN an app route is called without a signature
        answer = stack.app(method, f"/members/m-active/{action}", signed=False)
        # THEN API Gateway's 403, and nothing changed
        assert answer.status_code == 403
        assert answer.json() == {"message": "Missing Authentication Token"}
    assert stack.cloud.invocations_of("MemberApiFunction") == []
    assert world(stack) == before


def test_links_and_the_document_stay_open_to_anyone(stack):
    # GIVEN a member whose notice email has gone out
    stack.add_inactive_member("m-linked")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-linked", "keep")
    # WHEN a browser (no credentials) opens the link, posts its form, uses another method on it,
    # and anyone reads the API's document
    page = requests.get(link, timeout=30)
    answered = requests.post(link.split("?")[0], data={"choice": "keep"}, timeout=30)
    other = requests.delete(link.split("?")[0], timeout=30)
    document = requests.get(stack.cloud.api_url + "/openapi.json", timeout=30)
    # THEN the resource policy lets each through to the function
    assert (page.status_code, answered.status_code, other.status_code, document.status_code) == (200, 200, 405, 200)
    assert stack.member("m-linked")["notice_outcome"] == "kept"
    assert document.json()["openapi"].startswith("3.")


def test_the_local_api_log_names_a_link_without_its_token(stack, caplog):
    # GIVEN a member's emailed link, and the local API's log captured
    stack.add_inactive_member("m-logged")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-logged", "keep")
    token = urlsplit(link).path.rsplit("/", 1)[1]
    with caplog.at_level(logging.INFO, logger="local.api"):
        # WHEN the link is opened, its form posted, and a mistyped link (a segment more) tried
        assert requests.get(link, timeout=30).status_code == 200
        assert requests.post(link.split("?")[0], data={"choice": "keep"}, timeout=30).status_code == 200
        assert requests.get(link.split("?")[0] + "/x", timeout=30).status_code == 403
    # THEN the log shows each request by its route, and the token appears nowhere in it
    lines = [record.getMessage() for record in caplog.records if record.name == "local.api"]
    assert lines == ["GET /n/… -> 200", "POST /n/… -> 200", "GET /n/… -> 403"]
    assert token not in caplog.text
    assert all(token not in repr(record.args) for record in caplog.records)


def template_without_invoke_role() -> Template:
    """template.yaml as it was before the issue was fixed: its AWS_IAM routes set no InvokeRole
    (SAM's default: API Gateway calls the function with the caller's credentials)."""
    template = Template.load(DEFAULT_TEMPLATE)
    body = copy.deepcopy(template.body)
    removed = 0
    for event in body["Resources"]["MemberApiFunction"]["Properties"]["Events"].values():
        auth = (event.get("Properties") or {}).get("Auth") or {}
        if auth.pop("InvokeRole", None) is not None:
            removed += 1
    assert removed == len(APP_ROUTES)
    return Template(body, template.path)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("as it is (InvokeRole: NONE)", {"notice": 200, "keep": 409, "rejoin": 409, "activity": 200}),
        ("as it was (no InvokeRole)", {"notice": 500, "keep": 500, "rejoin": 500, "activity": 500}),
    ],
)
def test_an_app_allowed_only_to_invoke_the_api_reaches_the_function_only_with_invoke_role_none(
    make_cloud, template, expected
):
    # GIVEN the stack deployed from the template as it is, or as it was, admitting the app role,
    # whose own policy allows execute-api:Invoke and nothing else; and an active member
    loaded = Template.load(DEFAULT_TEMPLATE) if template.startswith("as it is") else template_without_invoke_role()
    cloud = make_cloud(START, template=loaded)
    api_url = cloud.start_api()
    cloud.deploy({"Stage": "test", "PublicBaseUrl": api_url, "AppPrincipalArns": APP_ROLE_ARN})
    stack = Stack(cloud)
    stack.add_member("m-active", joined_at=datetime(2025, 1, 1, tzinfo=UTC), last_watched_at=None)
    # WHEN the app calls each app route, correctly signed as its role
    answers = {action: stack.app(method, f"/members/m-active/{action}") for method, action in APP_ROUTES}
    # THEN with InvokeRole NONE the function answers each (the member has no notice to keep and
    # is not cancelled); without it API Gateway, calling Lambda with the app's own credentials,
    # fails: 500, and the function never runs
    assert {action: answer.status_code for action, answer in answers.items()} == expected
    if template.startswith("as it was"):
        assert all(answer.json() == {"message": "Internal server error"} for answer in answers.values())
        assert cloud.invocations_of("MemberApiFunction") == []
    else:
        assert len(cloud.invocations_of("MemberApiFunction")) == len(APP_ROUTES)


def test_serve_prints_credentials_the_app_routes_admit():
    # GIVEN `python -m ops serve` on the real template
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "layers" / "common")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "ops", "serve", "--port", "0", "--param", "Stage=demo"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # WHEN it has printed where things are
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        printed = "".join(lines)
        api_url = next(line.split()[1] for line in lines if line.startswith("API"))
        found = dict(re.findall(r"(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)=(\S+)", printed))
        credentials = Credentials(*(found[f"AWS_{n}"] for n in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN")))
        # THEN it says which role an app signs as, and a call signed with what it printed reaches
        # the function (a JSON 404: nobody has that id), where an unsigned one is refused
        assert f"as the role {APP_ROLE_ARN}, which AppPrincipalArns admits" in printed
        request = AWSRequest(method="GET", url=f"{api_url}/members/nobody/notice")
        SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
        answer = requests.get(f"{api_url}/members/nobody/notice", headers=dict(request.headers.items()), timeout=30)
        assert answer.status_code == 404 and answer.json()["error"] == "member_not_found"
        assert requests.get(f"{api_url}/members/nobody/notice", timeout=30).status_code == 403
    finally:
        # AND Ctrl-C stops it cleanly
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
