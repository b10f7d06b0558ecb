"""API Gateway (REST API, v1 proxy integration) in front of the local cloud's handlers.

Owns a real HTTP server on 127.0.0.1 (werkzeug, threaded, in a background thread) that
turns each request into the proxy event API Gateway gives the function owning the route
(routes from the template's ``Api`` events), invokes it through :meth:`LocalCloud.invoke`,
and writes the proxy response back. Like API Gateway:

* an unknown path, or a known path with a method the template does not declare, is
  ``403 {"message": "Missing Authentication Token"}``. That includes ``HEAD`` on a ``GET``
  route and ``OPTIONS``: a REST API treats every method separately, so they are served only
  when the template declares them (or ``ANY``);
* ``Auth: Authorizer: AWS_IAM`` routes need a SigV4 signature (service ``execute-api``) made
  with the local credentials, recomputed here with botocore's ``SigV4Auth``; unsigned and
  badly signed requests get API Gateway's 403 messages; a good signature fills
  ``requestContext.identity`` (accessKey, caller, user, userArn);
* a handler that raises, or answers something that is not a proxy response, is a
  ``502 {"message": "Internal server error"}``.

The base URL has no stage prefix (like ``sam local start-api``); events still carry the
stage in ``requestContext``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.template import ACCOUNT_ID, REGION, ApiEvent, StackModel

if TYPE_CHECKING:
    from local.cloud import LocalCloud

log = logging.getLogger("local.api")

MISSING_TOKEN = "Missing Authentication Token"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Route:
    function_id: str
    event: ApiEvent
    stage: str
    api_id: str
    segments: tuple[str, ...]

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """Path parameters when ``parts`` (decoded path segments) fit this route's template."""
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = parts[index:]
                if not rest or any(p == "" for p in rest):
                    return None
                params[segment[1:-2]] = "/".join(rest)
                return params
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if parts[index] == "":
                    return None
                params[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return params if len(parts) == len(self.segments) else None


def _segments(path: str) -> list[str]:
    path = path.strip("/")
    return path.split("/") if path else []


def routes_of(stack: StackModel) -> list[Route]:
    routes = []
    for function in stack.functions.values():
        for event in function.api_events:
            api = stack.apis.get(event.api_logical_id)
            stage = api.stage_name if api else "Prod"
            api_id = api.id if api else event.api_logical_id
            routes.append(Route(function.logical_id, event, stage, api_id, tuple(_segments(event.path))))
    # API Gateway prefers the most specific resource: literal segments over parameters
    return sorted(routes, key=lambda r: (-r.literal_count, -len(r.segments)))


def _json_response(status: int, message: str, error_type: str | None = None) -> Response:
    response = Response(json.dumps({"message": message}), status=status, content_type="application/json")
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


class _Unauthorized(Exception):
    def __init__(self, message: str, error_type: str):
        super().__init__(message)
        self.message = message
        self.error_type = error_type


class _SignedHeadersAuth(SigV4Auth):
    """SigV4 over exactly the headers the client says it signed."""

    def __init__(self, credentials: Credentials, signed: list[str]):
        super().__init__(credentials, "execute-api", REGION)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            value = request.headers.get(name)
            if value is not None:
                headers[name] = value
        return headers


_AUTH = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$")


class SigV4Verifier:
    """Checks a request's SigV4 signature the way API Gateway's AWS_IAM authorization does."""

    def __init__(self, credentials: Mapping[str, str], identity: Mapping[str, str]):
        self._credentials = dict(credentials)  # access key -> secret key
        self._identity = dict(identity)

    def verify(self, request: Request, raw_path: str, raw_query: str, body: bytes) -> dict[str, Any]:
        header = request.headers.get("Authorization")
        if not header:
            raise _Unauthorized(MISSING_TOKEN, "MissingAuthenticationTokenException")
        match = _AUTH.match(header.strip())
        if not match:
            raise _Unauthorized(f"Authorization header requires 'Credential' parameter. Authorization header "
                                f"requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
                                f"parameter. Authorization={header}", "IncompleteSignatureException")
        fields = dict(part.strip().split("=", 1) for part in match.group(1).split(",") if "=" in part)
        missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in fields]
        if missing:
            raise _Unauthorized(" ".join(f"Authorization header requires '{m}' parameter." for m in missing),
                                "IncompleteSignatureException")
        scope = fields["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise _Unauthorized("Credential should be scoped to a valid region. ", "IncompleteSignatureException")
        access_key, day, region, service, _ = scope
        if region != REGION:
            raise _Unauthorized(f"Credential should be scoped to a valid region, not '{region}'. ",
                                "InvalidSignatureException")
        if service != "execute-api":
            raise _Unauthorized("Credential should be scoped to correct service: 'execute-api'. ",
                                "InvalidSignatureException")
        secret = self._credentials.get(access_key)
        if secret is None:
            raise _Unauthorized(INVALID_TOKEN, "UnrecognizedClientException")
        amz_date = request.headers.get("X-Amz-Date")
        if not amz_date:
            raise _Unauthorized("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                                "header.", "IncompleteSignatureException")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _Unauthorized(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.",
                                "IncompleteSignatureException") from None
        # clients sign with the machine's real clock, not the cloud's virtual one
        real_now = datetime.now(UTC)
        if abs(real_now - signed_at) > MAX_CLOCK_SKEW:
            raise _Unauthorized(f"Signature expired: {amz_date} is now earlier than "
                                f"{(real_now - MAX_CLOCK_SKEW):%Y%m%dT%H%M%SZ} ({real_now:%Y%m%dT%H%M%SZ} - 5 min.)",
                                "InvalidSignatureException")
        signed_headers = fields["SignedHeaders"].split(";")
        url = f"http://{request.host}{raw_path}" + (f"?{raw_query}" if raw_query else "")
        copy = AWSRequest(method=request.method, url=url, data=body,
                          headers={k: v for k, v in request.headers.items() if k.lower() in signed_headers})
        copy.context["timestamp"] = amz_date
        auth = _SignedHeadersAuth(Credentials(access_key, secret, request.headers.get("X-Amz-Security-Token")),
                                  signed_headers)
        canonical = auth.canonical_request(copy)
        string_to_sign = auth.string_to_sign(copy, canonical)
        if day != amz_date[:8] or auth.signature(string_to_sign, copy) != fields["Signature"]:
            raise _Unauthorized(
                f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{string_to_sign}'\n", "InvalidSignatureException")
        return {"accessKey": access_key, **self._identity}


class ApiGateway:
    """The WSGI application: request -> proxy event -> handler -> response."""

    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self._routes: list[Route] = []
        self._routes_for: int | None = None
        self._verifier: SigV4Verifier | None = None

    def routes(self) -> list[Route]:
        stack = self.cloud.stack
        if stack is None:
            return []
        if self._routes_for != id(stack):  # redeployed: read the routes again
            self._routes = routes_of(stack)
            self._routes_for = id(stack)
        return self._routes

    def verifier(self) -> SigV4Verifier:
        if self._verifier is None:
            from local.cloud import CREDENTIALS

            # the caller is whoever moto's STS says these credentials are
            caller = self.cloud.client("sts").get_caller_identity()
            self._verifier = SigV4Verifier(
                {CREDENTIALS["AWS_ACCESS_KEY_ID"]: CREDENTIALS["AWS_SECRET_ACCESS_KEY"]},
                {"caller": caller["UserId"], "user": caller["UserId"], "userArn": caller["Arn"],
                 "accountId": caller["Account"]},
            )
        return self._verifier

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        log.info("%s %s -> %s", request.method, request.full_path.rstrip("?"), response.status_code)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        raw_uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.full_path
        raw_path, _, raw_query = raw_uri.partition("?")
        parts = [unquote(p) for p in _segments(raw_path)]
        matched = [(route, params) for route in self.routes()
                   if (params := route.match(parts)) is not None]
        method = request.method.upper()
        chosen = next(((r, p) for r, p in matched if r.event.method == method), None) or next(
            ((r, p) for r, p in matched if r.event.method == "ANY"), None)
        if chosen is None:
            return _json_response(403, MISSING_TOKEN, "MissingAuthenticationTokenException")
        route, params = chosen
        body = request.get_data(cache=True)
        identity: dict[str, Any] = {}
        if route.event.authorizer == "AWS_IAM":
            try:
                identity = self.verifier().verify(request, raw_path, raw_query, body)
            except _Unauthorized as denied:
                return _json_response(403, denied.message, denied.error_type)
        elif route.event.authorizer is not None:
            return _json_response(500, f"local API: authorizer {route.event.authorizer!r} is not supported")
        event = self.proxy_event(request, route, params, raw_path, raw_query, body, identity)
        try:
            result = self.cloud.invoke(route.function_id, event, trigger=f"api {method} {route.event.path}")
        except Exception:
            log.exception("%s failed on %s %s", route.function_id, method, raw_path)
            return _json_response(502, "Internal server error")
        return self.proxy_response(route, result)

    def proxy_event(self, request: Request, route: Route, params: Mapping[str, str], raw_path: str, raw_query: str,
                    body: bytes, identity: Mapping[str, Any]) -> dict[str, Any]:
        now = self.cloud.now
        request_id = str(uuid.uuid4())
        source_ip = request.remote_addr or "127.0.0.1"
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers[name] = value  # the last one wins, as in API Gateway
            multi_headers.setdefault(name, []).append(value)
        for name, value in (("X-Forwarded-For", source_ip),
                            ("X-Forwarded-Port", str(request.environ.get("SERVER_PORT", ""))),
                            ("X-Forwarded-Proto", request.scheme),
                            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")):
            headers.setdefault(name, value)
            multi_headers.setdefault(name, [value])
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        try:
            text: str | None = body.decode("utf-8") if body else None
            is_base64 = False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
        domain = request.host
        return {
            "resource": route.event.path,
            "path": raw_path and unquote(raw_path),
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(params) or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": hashlib.sha256(route.event.path.encode()).hexdigest()[:6],
                "resourcePath": route.event.path,
                "httpMethod": request.method.upper(),
                "extendedRequestId": base64.b64encode(uuid.uuid4().bytes).decode()[:16],
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{route.stage}{unquote(raw_path)}",
                "accountId": ACCOUNT_ID,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": route.stage,
                "domainPrefix": domain.split(".")[0].split(":")[0],
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": identity.get("accountId"),
                    "cognitoIdentityId": None,
                    "caller": identity.get("caller"),
                    "sourceIp": source_ip,
                    "principalOrgId": None,
                    "accessKey": identity.get("accessKey"),
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": identity.get("userArn"),
                    "userAgent": request.headers.get("User-Agent"),
                    "user": identity.get("user"),
                },
                "domainName": domain,
                "apiId": route.api_id,
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

    def proxy_response(self, route: Route, result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            log.error("%s answered %r, which is not a proxy response", route.function_id, result)
            return _json_response(502, "Internal server error")
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return _json_response(502, "Internal server error")
        body = result.get("body")
        if body is None:
            payload = b""
        elif result.get("isBase64Encoded"):
            payload = base64.b64decode(body)
        else:
            payload = str(body).encode("utf-8")
        response = Response(payload, status=status)
        response.headers.clear()
        single = {k: v for k, v in (result.get("headers") or {}).items() if v is not None}
        multi = {k: v for k, v in (result.get("multiValueHeaders") or {}).items() if v is not None}
        # both given: multiValueHeaders win for a name they both have
        for name, value in single.items():
            if name.lower() not in {m.lower() for m in multi}:
                response.headers.add(name, str(value))
        for name, values in multi.items():
            for value in values:
                response.headers.add(name, str(value))
        if response.headers.get("Content-Type") is None:  # werkzeug's Headers ignore case
            response.headers["Content-Type"] = "application/json"  # API Gateway's default
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response


class ApiServer:
    """The HTTP server, in a background thread."""

    def __init__(self, cloud: LocalCloud, host: str = "127.0.0.1", port: int = 0):
        self.app = ApiGateway(cloud)
        self._server = make_server(host, port, self.app, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
