"""The local API server: HTTP requests become API Gateway REST proxy events and back."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


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
    assert event["pathParameters"] == {"path": "a/b/c/d.txt"}


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
