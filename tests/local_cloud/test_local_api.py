"""The local API server: HTTP requests become API Gateway REST proxy events and back, with API
Gateway's IAM authorization: who signed, their IAM policies and the API's resource policy."""

from __future__ import annotations

import base64
import copy
import http.client
import json
import logging
from urllib.parse import quote, unquote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from local_cloud_support import FIXTURE_TEMPLATE

from local.api_server import Caller, PolicyError, RequestFacts, api_resource_expander, evaluate
from local.template import CALLER_CREDENTIALS, Template
from tests.real_world import member_ids


def _request(
    base_url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, list[str]], bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        collected: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            collected.setdefault(name.lower(), []).append(value)
        return response.status, collected, response.read()
    finally:
        connection.close()


def _assert_every_request_refused_naming(cloud, caplog, what: str) -> None:
    """A route called on ``cloud``'s API is answered 500 naming ``what``, logged as an error,
    and its function is never invoked."""
    api = cloud.start_api()
    with caplog.at_level(logging.ERROR, logger="local.api"):
        status, _, body = _request(api, "GET", "/items/1")
    assert status == 500
    assert what in json.loads(body)["message"]
    assert any(what in record.getMessage() for record in caplog.records)
    assert cloud.invocations_of("EchoFunction") == []


def _signed_headers(base_url: str, method: str, path: str, body: bytes, secret: str = "testing") -> dict[str, str]:
    request = AWSRequest(method=method, url=base_url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


@pytest.fixture
def api(cloud) -> str:
    return cloud.start_api()


def test_a_get_reaches_the_handler_as_a_rest_proxy_event(cloud, api):
    # GIVEN the route GET /items/{id}
    # WHEN a browser-like client asks for an item with a query string
    status, headers, body = _request(
        api, "GET", "/items/42?a=1&a=2&b=x%20y", headers={"User-Agent": "test-agent", "X-Custom": "v"}
    )
    # THEN the handler answered
    assert status == 200
    report = json.loads(body)
    event = report["event"]
    # AND its event is API Gateway's proxy event for that route
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "2", "b": "x y"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
    assert event["headers"]["X-Custom"] == "v"
    assert event["multiValueHeaders"]["X-Custom"] == ["v"]
    assert event["headers"]["User-Agent"] == "test-agent"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "test"
    assert context["path"] == "/test/items/42"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "test-agent"
    assert context["identity"]["accessKey"] is None
    assert context["requestTimeEpoch"] == int(cloud.now.timestamp() * 1000)
    assert context["apiId"] == cloud.stack.apis["Api"].id
    assert context["requestId"]
    # AND the handler ran with its function's settings and context
    assert report["stage"] == "test"
    assert report["context"]["function_name"] == cloud.stack.function("EchoFunction").name
    assert 0 < report["context"]["remaining_ms"] <= 5000  # its Timeout is 5 s
    # AND the proxy response came back: status, headers and both cookies
    assert headers["x-echo"] == ["1"]
    assert headers["set-cookie"] == ["a=1", "b=2"]
    assert headers["content-type"] == ["application/json"]  # API Gateway's default


def test_a_post_carries_its_body(api):
    # GIVEN the route POST /items/{id}
    # WHEN a form is posted
    status, _, body = _request(
        api,
        "POST",
        "/items/7",
        body=b"choice=keep&x=%C3%A9",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    # THEN the handler got the text body as is
    assert status == 201
    event = json.loads(body)["event"]
    assert event["httpMethod"] == "POST"
    assert event["body"] == "choice=keep&x=%C3%A9"
    assert event["isBase64Encoded"] is False
    assert event["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_a_binary_body_is_base64_encoded(api):
    payload = b"\x89PNG\xff\xfe\x00"
    status, _, body = _request(
        api, "POST", "/items/7", body=payload, headers={"Content-Type": "application/octet-stream"}
    )
    event = json.loads(body)["event"]
    assert status == 201
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_a_base64_response_is_sent_as_bytes(api):
    status, headers, body = _request(api, "GET", "/binary")
    assert status == 200
    assert headers["content-type"] == ["image/png"]
    assert body == b"\x89PNG\r\n\x1a\n\x00\xff"


def test_a_greedy_path_takes_the_rest_of_the_path_for_any_method(api):
    status, _, body = _request(api, "DELETE", "/files/a/b%2Fc/d.txt")
    event = json.loads(body)["event"]
    assert status == 200
    assert event["resource"] == "/files/{path+}"
    # as API Gateway sends it: the path is not decoded, an encoded "/" stays inside its segment
    assert event["pathParameters"] == {"path": "a/b%2Fc/d.txt"}
    assert event["path"] == "/files/a/b%2Fc/d.txt"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),  # unknown path
        ("GET", "/items"),  # a parent of a route is not a route
        ("GET", "/items/1/more"),
        ("DELETE", "/items/1"),  # known path, undeclared method
        ("HEAD", "/items/1"),  # REST APIs do not derive HEAD from GET
        ("OPTIONS", "/items/1"),
        ("GET", "/test/items/1"),  # no stage prefix in local URLs
    ],
)
def test_what_the_template_does_not_route_is_403_missing_authentication_token(api, method, path):
    status, headers, body = _request(api, method, path)
    assert status == 403
    if method != "HEAD":
        assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-errortype"] == ["MissingAuthenticationTokenException"]


def test_a_handler_error_is_a_502(api):
    status, _, body = _request(api, "GET", "/boom")
    assert status == 502
    assert json.loads(body) == {"message": "Internal server error"}


def test_an_iam_route_refuses_unsigned_requests(api):
    # GIVEN the AWS_IAM route POST /private/{id}
    # WHEN it is called without a signature THEN API Gateway's 403
    status, _, body = _request(api, "POST", "/private/1", body=b"{}")
    assert status == 403
    assert json.loads(body) == {"message": "Missing Authentication Token"}


def test_an_iam_route_refuses_a_wrong_signature(api):
    # GIVEN a request signed with the wrong secret key
    payload = b'{"watched": true}'
    headers = _signed_headers(api, "POST", "/private/1", payload, secret="not-the-secret")
    # WHEN sent THEN the signature is refused
    status, _, body = _request(api, "POST", "/private/1", body=payload, headers=headers)
    assert status == 403
    assert json.loads(body)["message"].startswith("The request signature we calculated does not match")


def test_an_iam_route_refuses_a_body_changed_after_signing(api):
    headers = _signed_headers(api, "POST", "/private/1", b'{"a": 1}')
    status, _, body = _request(api, "POST", "/private/1", body=b'{"a": 2}', headers=headers)
    assert status == 403
    assert "signature we calculated does not match" in json.loads(body)["message"]


def test_an_iam_route_accepts_a_sigv4_signed_request(api):
    # GIVEN a request signed with the local credentials for execute-api
    payload = b'{"watched": true}'
    headers = _signed_headers(api, "POST", "/private/1?x=1", payload)
    # WHEN sent
    status, _, body = _request(api, "POST", "/private/1?x=1", body=payload, headers=headers)
    # THEN the handler got it, with the caller's identity
    assert status == 201
    event = json.loads(body)["event"]
    identity = event["requestContext"]["identity"]
    assert identity["accessKey"] == "testing"
    assert identity["accountId"] == "123456789012"
    assert identity["userArn"].startswith("arn:aws:")
    assert identity["caller"]
    assert event["body"] == payload.decode()


# ------------------------------------------------------------ paths as API Gateway sends them
PATH_SEGMENTS = member_ids()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=PATH_SEGMENTS)
def test_a_path_segment_reaches_the_handler_as_the_client_encoded_it(api, text):
    # GIVEN any text (real member ids, non-ASCII, "/", "%"...) as one path segment, encoded by
    # the client; "." encoded too, or a client would resolve "." and ".." away
    segment = quote(text, safe="").replace(".", "%2E")
    # WHEN it is sent on the route GET /items/{id}, with a query string
    status, _, body = _request(api, "GET", f"/items/{segment}?q=a%2Fb%20c")
    # THEN the handler got the path and its parameter as API Gateway (REST) sends them: still
    # percent-encoded, so that decoding once gives the text back; only the query is decoded
    assert status == 200
    event = json.loads(body)["event"]
    assert event["path"] == f"/items/{segment}"
    assert event["pathParameters"] == {"id": segment}
    assert event["requestContext"]["path"] == f"/test/items/{segment}"
    assert unquote(event["pathParameters"]["id"], errors="strict") == text
    assert event["queryStringParameters"] == {"q": "a/b c"}


# ------------------------------------------------------------ who signed, and what IAM says
INVOKE_ANY_API = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*"}
INVOKE_ANY_FUNCTION = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}


def _document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _user(cloud, name: str, *statements: dict) -> Credentials:
    """An IAM user of the account with an access key, allowed (or denied) what ``statements`` say."""
    iam = cloud.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=_document(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _session(cloud, role_name: str, *statements: dict, path: str = "/") -> tuple[Credentials, str]:
    """An STS session of a new role allowed what ``statements`` say, and the role's ARN."""
    iam = cloud.client("iam")
    trust = _document(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    )
    arn = iam.create_role(RoleName=role_name, Path=path, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="own", PolicyDocument=_document(*statements))
    answer = cloud.client("sts").assume_role(RoleArn=arn, RoleSessionName="worker-7")["Credentials"]
    return Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"]), arn


def _signed_as(base_url: str, credentials: Credentials, method: str, path: str, body: bytes = b"{}") -> dict:
    request = AWSRequest(method=method, url=base_url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_an_iam_user_is_reported_in_the_event_as_api_gateway_reports_it(cloud, api):
    # GIVEN an IAM user whose own policy allows invoking the API and the function
    credentials = _user(cloud, "backend", INVOKE_ANY_API, INVOKE_ANY_FUNCTION)
    user = cloud.client("iam").get_user(UserName="backend")["User"]
    # WHEN it calls the AWS_IAM route, signed with its access key
    status, _, body = _request(api, "POST", "/private/1", b"{}", _signed_as(api, credentials, "POST", "/private/1"))
    # THEN the handler ran, and its event names the user as API Gateway does
    assert status == 201
    identity = json.loads(body)["event"]["requestContext"]["identity"]
    assert identity["userArn"] == user["Arn"] == "arn:aws:iam::123456789012:user/backend"
    assert identity["caller"] == identity["user"] == user["UserId"]
    assert (identity["accessKey"], identity["accountId"]) == (credentials.access_key, "123456789012")


def test_an_assumed_role_session_is_reported_as_its_session(cloud, api):
    # GIVEN a session of a role (with a path) allowed to invoke the API and the function
    credentials, role_arn = _session(cloud, "worker", INVOKE_ANY_API, INVOKE_ANY_FUNCTION, path="/jobs/")
    role_id = cloud.client("iam").get_role(RoleName="worker")["Role"]["RoleId"]
    # WHEN it calls the AWS_IAM route with its temporary credentials (and session token)
    status, _, body = _request(api, "POST", "/private/1", b"{}", _signed_as(api, credentials, "POST", "/private/1"))
    # THEN the event names the session: the STS ARN (without the role's path), "ROLEID:session"
    assert status == 201
    identity = json.loads(body)["event"]["requestContext"]["identity"]
    assert role_arn == "arn:aws:iam::123456789012:role/jobs/worker"
    assert identity["userArn"] == "arn:aws:sts::123456789012:assumed-role/worker/worker-7"
    assert identity["caller"] == identity["user"] == f"{role_id}:worker-7"
    assert identity["accessKey"] == credentials.access_key and credentials.access_key.startswith("ASIA")


@pytest.mark.parametrize("token", [None, "not-the-session-token"])
def test_temporary_credentials_without_their_session_token_are_refused(cloud, api, token):
    # GIVEN a role's session, signed without its session token or with another one
    credentials, _ = _session(cloud, "worker", INVOKE_ANY_API, INVOKE_ANY_FUNCTION)
    forged = Credentials(credentials.access_key, credentials.secret_key, token)
    # WHEN it calls the AWS_IAM route
    status, _, body = _request(api, "POST", "/private/1", b"{}", _signed_as(api, forged, "POST", "/private/1"))
    # THEN API Gateway's 403 for an invalid token, and the handler never ran
    assert status == 403
    assert json.loads(body) == {"message": "The security token included in the request is invalid."}
    assert cloud.invocations_of("EchoFunction") == []


def test_a_signature_with_an_access_key_nobody_has_is_refused(cloud, api):
    headers = _signed_as(api, Credentials("AKIAUNKNOWN000000000", "secret"), "POST", "/private/1")
    status, _, body = _request(api, "POST", "/private/1", b"{}", headers)
    assert status == 403
    assert json.loads(body) == {"message": "The security token included in the request is invalid."}


def test_without_a_resource_policy_a_caller_needs_its_own_iam_allow(cloud, api):
    # GIVEN an API with no resource policy, a user allowed nothing and one denied the API
    nothing = _user(cloud, "nobody")
    denied = _user(cloud, "denied", INVOKE_ANY_FUNCTION, {**INVOKE_ANY_API, "Effect": "Deny"})
    resource = f"arn:aws:execute-api:us-east-1:123456789012:{cloud.stack.apis['Api'].id}/test/POST/private/1"
    # WHEN each calls the AWS_IAM route
    answers = {
        name: _request(api, "POST", "/private/1", b"{}", _signed_as(api, credentials, "POST", "/private/1"))
        for name, credentials in (("nobody", nothing), ("denied", denied))
    }
    # THEN both are refused as API Gateway refuses them, and the handler never ran
    assert [status for status, _, _ in answers.values()] == [403, 403]
    assert json.loads(answers["nobody"][2]) == {
        "Message": f"User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: execute-api:Invoke "
        f"on resource: {resource}"
    }
    assert json.loads(answers["denied"][2]) == {
        "Message": f"User: arn:aws:iam::123456789012:user/denied is not authorized to perform: execute-api:Invoke "
        f"on resource: {resource} with an explicit deny"
    }
    assert cloud.invocations_of("EchoFunction") == []


def test_a_route_invoked_with_the_callers_credentials_is_a_500_when_the_caller_may_not_invoke_the_function(cloud, api):
    # GIVEN the AWS_IAM route POST /private/{id}, which sets no InvokeRole (SAM's default: API
    # Gateway calls the function with the caller's credentials), and a user allowed only
    # execute-api:Invoke
    [route] = [e for e in cloud.stack.function("EchoFunction").api_events if e.path == "/private/{id}"]
    assert route.calls_with_caller_credentials
    credentials = _user(cloud, "app-only", INVOKE_ANY_API)
    # WHEN it calls the route, correctly signed
    status, headers, body = _request(
        api, "POST", "/private/1", b"{}", _signed_as(api, credentials, "POST", "/private/1")
    )
    # THEN API Gateway cannot invoke the function: a 500, and the handler never ran
    assert status == 500
    assert json.loads(body) == {"message": "Internal server error"}
    assert headers["x-amzn-errortype"] == ["InternalServerErrorException"]
    assert cloud.invocations_of("EchoFunction") == []


# ------------------------------------------------------------ resource policies
def _fixture_with_policy(*statements: dict) -> Template:
    """The fixture template with a resource policy on its API."""
    template = Template.load(FIXTURE_TEMPLATE)
    body = copy.deepcopy(template.body)
    body["Resources"]["Api"]["Properties"]["Auth"] = {"ResourcePolicy": {"CustomStatements": list(statements)}}
    return Template(body, template.path)


def test_a_resource_policy_saying_what_the_local_api_does_not_evaluate_refuses_every_request(make_cloud, caplog):
    # GIVEN an API whose resource policy has a condition the local API cannot evaluate
    cloud = make_cloud(
        template=_fixture_with_policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            }
        )
    )
    cloud.deploy()
    # WHEN a route is called, THEN it is not let through: a 500 naming what is not evaluated
    _assert_every_request_refused_naming(cloud, caplog, "IpAddress")


def test_a_resource_policy_admits_anonymous_callers_only_where_it_allows_them(make_cloud):
    # GIVEN an API whose resource policy allows anyone GET /items/* and denies /binary
    cloud = make_cloud(
        template=_fixture_with_policy(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*/GET/items/*",
            },
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:*", "Resource": "execute-api:/*/GET/binary"},
        )
    )
    cloud.deploy()
    api = cloud.start_api()
    arn = f"arn:aws:execute-api:us-east-1:123456789012:{cloud.stack.apis['Api'].id}/test"
    # WHEN routes without auth are called
    allowed, not_listed, denied = (
        _request(api, method, path) for method, path in (("GET", "/items/1"), ("POST", "/items/1"), ("GET", "/binary"))
    )
    # THEN what it allows runs; what it does not list is refused; what it denies is refused explicitly
    assert allowed[0] == 200
    assert not_listed[0] == 403 and json.loads(not_listed[2]) == {
        "Message": f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn}/POST/items/1"
    }
    assert denied[0] == 403 and json.loads(denied[2]) == {
        "Message": f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {arn}/GET/binary "
        "with an explicit deny"
    }


ROLE = "arn:aws:iam::123456789012:role/service/app"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/POST/members/m%2F1/keep"


@pytest.mark.parametrize(
    ("statement", "principal_arn", "expected"),
    [
        # Resource: the API's shorthand expanded, wildcards across "/"
        ({"Resource": "execute-api:/*/*/members/*"}, ROLE, "Allow"),
        ({"Resource": "execute-api:/*/GET/members/*"}, ROLE, None),
        ({"Resource": "execute-api:/dev/POST/members/*/keep"}, ROLE, "Allow"),
        ({"Resource": "arn:aws:execute-api:us-east-1:*:abc123/*"}, ROLE, "Allow"),
        ({"Resource": "arn:aws:execute-api:eu-west-1:*:abc123/*"}, ROLE, None),
        # Condition: ArnLike matches the role ARN part by part, with wildcards and paths
        ({"Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/service/*"}}}, ROLE, "Allow"),
        (
            {"Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/other", ROLE]}}},
            ROLE,
            "Allow",
        ),
        ({"Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/app"}}}, ROLE, None),
        ({"Condition": {"ArnLike": {"aws:PrincipalArn": ROLE}}}, None, None),  # anonymous: the key is absent
        ({"Condition": {"ArnNotLike": {"aws:PrincipalArn": [ROLE]}}}, ROLE, None),
        ({"Condition": {"ArnNotLike": {"aws:PrincipalArn": [ROLE]}}}, None, "Allow"),  # absent: negation holds
        ({"Condition": {"StringEquals": {"aws:PrincipalArn": ROLE}}}, ROLE, "Allow"),
        ({"Condition": {"StringLike": {"AWS:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}}, ROLE, "Allow"),
        ({"Condition": {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}}, ROLE, None),
        ({"Effect": "Deny", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}}, ROLE, "Deny"),
        # Principal: a role ARN names that role's sessions only
        ({"Principal": {"AWS": [ROLE]}}, ROLE, "Allow"),
        ({"Principal": {"AWS": ROLE}}, "arn:aws:iam::123456789012:role/service/other", None),
        ({"Principal": {"AWS": ROLE}}, None, None),
    ],
)
def test_resource_policy_statements_are_read_as_api_gateway_reads_them(statement, principal_arn, expected):
    # GIVEN one statement of a resource policy (Allow, Principal "*", execute-api:Invoke unless it says)
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                **statement,
            }
        ]
    }
    facts = RequestFacts(principal_arn, principal_arn and "123456789012")
    caller = principal_arn and Caller("ASIAEXAMPLE", "123456789012", principal_arn, principal_arn, "AROAEXAMPLE:s")
    # WHEN a request POST /members/m%2F1/keep on API abc123, stage dev, is judged
    decision = evaluate(
        document,
        action="execute-api:Invoke",
        resource=METHOD_ARN,
        facts=facts,
        caller=caller or None,
        expand=api_resource_expander("abc123"),
        resource_policy=True,
    )
    # THEN the statement decides as IAM would
    assert decision == expected


@pytest.mark.parametrize(
    "statement",
    [
        {"NotAction": "execute-api:Invoke"},
        {"NotResource": "execute-api:/*"},
        {"Principal": {"Service": "apigateway.amazonaws.com"}},
        {"Principal": {"AWS": "arn:aws:iam::123456789012:root"}},  # an account: left to its IAM policies
        {"Condition": {"ArnLikeIfExists": {"aws:PrincipalArn": ROLE}}},
        {"Condition": {"ForAnyValue:StringLike": {"aws:PrincipalArn": ROLE}}},
        {"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}},
        {"Effect": "Maybe"},
    ],
)
def test_what_the_policy_evaluator_does_not_know_is_an_error_never_an_allow(statement):
    # GIVEN a statement that says something the local API does not evaluate
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                **statement,
            }
        ]
    }
    # WHEN it is checked or evaluated THEN it is an error
    with pytest.raises(PolicyError):
        evaluate(
            document,
            action="execute-api:Invoke",
            resource=METHOD_ARN,
            facts=RequestFacts(ROLE, None),
            expand=api_resource_expander("abc123"),
            resource_policy=True,
        )


def _api_template(api_auth: dict, event_auth: dict) -> Template:
    """The fixture template with ``api_auth`` on its API and ``event_auth`` on the Private route."""
    template = Template.load(FIXTURE_TEMPLATE)
    body = copy.deepcopy(template.body)
    if api_auth:
        body["Resources"]["Api"]["Properties"]["Auth"] = api_auth
    body["Resources"]["EchoFunction"]["Properties"]["Events"]["Private"]["Properties"]["Auth"] = event_auth
    return Template(body, template.path)


@pytest.mark.parametrize(
    ("api_auth", "event_auth", "credentials"),
    [
        ({}, {"Authorizer": "AWS_IAM"}, CALLER_CREDENTIALS),  # SAM's default
        ({}, {"Authorizer": "AWS_IAM", "InvokeRole": "NONE"}, None),
        ({}, {"Authorizer": "AWS_IAM", "InvokeRole": None}, None),  # given empty: SAM writes no credentials
        ({}, {"Authorizer": "AWS_IAM", "InvokeRole": "CALLER_CREDENTIALS"}, CALLER_CREDENTIALS),
        ({"InvokeRole": "NONE"}, {"Authorizer": "AWS_IAM"}, None),  # the API's default
        ({"InvokeRole": "NONE"}, {"Authorizer": "AWS_IAM", "InvokeRole": "CALLER_CREDENTIALS"}, CALLER_CREDENTIALS),
        ({"DefaultAuthorizer": "AWS_IAM"}, {}, CALLER_CREDENTIALS),
        # a route taken out of the API's IAM: SAM writes no credentials
        ({"DefaultAuthorizer": "AWS_IAM"}, {"Authorizer": "NONE", "InvokeRole": "NONE"}, None),
    ],
)
def test_an_iam_routes_invoke_role_is_the_integration_credentials_sam_writes(api_auth, event_auth, credentials):
    # GIVEN an API and a route with these Auth settings
    # WHEN the template SAM translated is read
    [route] = [
        e
        for e in _api_template(api_auth, event_auth).stack().function("EchoFunction").api_events
        if e.path == "/private/{id}"
    ]
    # THEN the route calls the function with the credentials SAM wrote into its integration
    assert route.invoke_role == credentials
    assert route.calls_with_caller_credentials is (credentials == CALLER_CREDENTIALS)
    assert route.authorizer == (None if event_auth.get("Authorizer") == "NONE" else "AWS_IAM")


def test_a_resource_policy_the_local_api_cannot_enforce_refuses_every_request(make_cloud, caplog):
    # GIVEN an API whose resource policy uses SAM's IP range list (SAM writes it as an
    # aws:SourceIp condition, which the local API does not evaluate)
    cloud = make_cloud(
        template=_api_template({"ResourcePolicy": {"IpRangeWhitelist": ["203.0.113.0/24"]}}, {"Authorizer": "AWS_IAM"})
    )
    cloud.deploy()
    # WHEN a route is called, THEN it is not let through: a 500 naming what is not evaluated
    _assert_every_request_refused_naming(cloud, caplog, "IpAddress")
