"""API Gateway (REST API, v1 proxy integration) in front of the local cloud's handlers.

Owns a real HTTP server on 127.0.0.1 (werkzeug, threaded, in a background thread) that
turns each request into the proxy event API Gateway gives the function owning the route
(routes from the template's ``Api`` events), invokes it through the cloud's ``invoke``
(handed in: ``GatewayWiring``), and writes the proxy response back. Like API Gateway:

* an unknown path, or a known path with a method the template does not declare, is
  ``403 {"message": "Missing Authentication Token"}``. That includes ``HEAD`` on a ``GET``
  route and ``OPTIONS``: a REST API treats every method separately, so they are served only
  when the template declares them (or ``ANY``);
* ``Auth: Authorizer: AWS_IAM`` routes need a SigV4 signature (service ``execute-api``) made
  with credentials moto knows: an IAM user's access key, an STS session (AssumeRole, with its
  session token), or the local default credentials; the signature is recomputed here with
  botocore's ``SigV4Auth``; unsigned and badly signed requests get API Gateway's 403 messages;
  a good signature fills ``requestContext.identity`` as API Gateway does (accessKey,
  accountId, caller, user, userArn);
* the API's resource policy (SAM's ``Auth.ResourcePolicy.CustomStatements``) and the
  caller's own IAM policies decide, as API Gateway's authorization workflow does: an explicit
  Deny in either wins (403 ``... with an explicit deny``); otherwise a caller of the API's
  account is let in when either allows, a caller of another account when both do, and a
  request to a route without auth when the resource policy allows anonymous callers (when
  there is one);
* an ``AWS_IAM`` route whose integration calls the function with the caller's credentials
  (SAM's default: no ``InvokeRole``, or ``CALLER_CREDENTIALS``) answers
  ``500 {"message": "Internal server error"}`` when the caller's own IAM policies do not allow
  ``lambda:InvokeFunction`` on the function (API Gateway then fails to invoke it);
  ``InvokeRole: NONE`` uses API Gateway's own permission (SAM's ``AWS::Lambda::Permission``);
  an InvokeRole that names a role (no template here has one) is a 500 naming it unsupported;
* the event's ``path``, ``pathParameters`` and ``requestContext.path`` are the path as sent,
  still percent-encoded (an encoded ``/`` stays ``%2F`` and is part of its segment); only the
  query string is decoded;
* a handler that raises, or answers something that is not a proxy response, is a
  ``502 {"message": "Internal server error"}``.

Policies are evaluated for what templates and tests use: ``Effect``, ``Principal`` (``*``, or
``AWS`` with role and user ARNs), ``Action`` and ``Resource`` with wildcards (``execute-api:/...`` expanded to the API's
ARN), and ``Condition`` with the String and Arn operators (Equals, NotEquals, Like, NotLike) on
``aws:PrincipalArn`` and ``aws:PrincipalAccount``. Anything else in a policy is an error
answered as a 500 and logged, never allowed by default. A session policy given to AssumeRole
limits what the session's role policies allow.

The server's log names each request by its route, with every ``{token}`` path parameter left
out (``GET /n/… -> 200``): link tokens are never logged.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.template import ACCOUNT_ID, PARTITION, REGION, ApiEvent, StackModel

log = logging.getLogger("local.api")

MISSING_TOKEN = "Missing Authentication Token"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
INTERNAL_ERROR = "Internal server error"
MAX_CLOCK_SKEW = timedelta(minutes=5)
INVOKE = "execute-api:Invoke"
# requestContext.identity's keys, in API Gateway's order
_IDENTITY_KEYS = ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "sourceIp", "principalOrgId",
                  "accessKey", "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "userAgent",
                  "user")
REDACTED = "…"


# ------------------------------------------------------------------------------ routes


@dataclass(frozen=True)
class Route:
    function_id: str
    function_arn: str
    event: ApiEvent
    stage: str
    api_id: str
    segments: tuple[str, ...]
    resource_policy: Mapping[str, Any] | None = None

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """Path parameters when ``parts`` (path segments as sent, still percent-encoded) fit
        this route's template."""
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

    def method_arn(self, method: str, raw_path: str) -> str:
        """The resource a request invokes, as policies name it (API Gateway's method ARN)."""
        return f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/{method}{raw_path}"


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
            policy = api.resource_policy if api else None
            routes.append(Route(function.logical_id, function.arn, event, stage, api_id,
                                tuple(_segments(event.path)), policy))
    # API Gateway prefers the most specific resource: literal segments over parameters
    return sorted(routes, key=lambda r: (-r.literal_count, -len(r.segments)))


def _is_secret_parameter(name: str) -> bool:
    return name == "token" or name.endswith("_token")


def loggable_path(route: Route | None, params: Mapping[str, str] | None, raw_path: str) -> str:
    """The request's path as the log may show it: the route's, with each ``{token}`` path
    parameter left out; a path no route has shows only its first segment (a mistyped link
    still carries its token)."""
    if route is None or params is None:
        parts = _segments(raw_path)
        return "/" + (parts[0] + ("/" + REDACTED if len(parts) > 1 else "") if parts else "")
    shown = []
    for segment in route.segments:
        name = segment.strip("{}").rstrip("+")
        if not segment.startswith("{"):
            shown.append(segment)
        elif _is_secret_parameter(name):
            shown.append(REDACTED)
        else:
            shown.append(params.get(name, segment))
    return "/" + "/".join(shown)


def _as_sent(raw_path: str) -> str:
    """The path as a client puts it on the wire: bytes outside printable ASCII (a client that
    sent them raw) percent-encoded, the rest (and existing escapes) untouched."""
    return re.sub(r"[^\x21-\x7e]", lambda m: "".join(f"%{b:02X}" for b in m.group().encode("latin-1")), raw_path)


# ------------------------------------------------------------------------------ answers


def _json_response(status: int, message: str, error_type: str | None = None, *, key: str = "message") -> Response:
    response = Response(json.dumps({key: message}), status=status, content_type="application/json")
    if error_type:
        response.headers["x-amzn-ErrorType"] = error_type
    response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response


class _Unauthorized(Exception):
    """API Gateway's 403 for a request it cannot authenticate: (message, error type)."""


# ------------------------------------------------------------------------------ policies


class PolicyError(ValueError):
    """A policy says something the local API does not evaluate. Never taken as allowed: the
    request is answered with a 500 naming the problem."""


@dataclass(frozen=True)
class RequestFacts:
    """What a policy's conditions can ask about a request (None: the key is absent, as for an
    anonymous caller)."""

    principal_arn: str | None
    principal_account: str | None


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """IAM's ArnLike (and a Resource element): each of the six colon-separated parts of the
    ARN matched on its own, with ``*`` and ``?`` wildcards; ``*`` alone matches every ARN."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(_like(w, a) for w, a in zip(wanted, actual, strict=True))


# operator -> (does one policy value match the request's value, is the operator negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda wanted, value: wanted == value, False),
    "StringNotEquals": (lambda wanted, value: wanted == value, True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (_arn_like, False),  # IAM treats ArnEquals like ArnLike
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}
_CONDITION_KEYS: dict[str, Callable[[RequestFacts], str | None]] = {  # lower-case: IAM keys ignore case
    "aws:principalarn": lambda facts: facts.principal_arn,
    "aws:principalaccount": lambda facts: facts.principal_account,
}
_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}


def _strings(value: Any, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str | int | float | bool) for v in values):
        raise PolicyError(f"{where}: {value!r} is not a string or a list of strings")
    return ["true" if v is True else "false" if v is False else str(v) for v in values]


def _statements(document: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise PolicyError(f"{what}: {document!r} is not a policy document")
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyError(f"{what}: statement {statement!r} is not a map")
    return statements


def check_policy(document: Mapping[str, Any], what: str, *, resource_policy: bool) -> None:
    """Raises :class:`PolicyError` for anything in ``document`` the evaluator does not know,
    before any request depends on it."""
    for statement in _statements(document, what):
        where = f"{what}, statement {statement.get('Sid') or '(no Sid)'}"
        unknown = sorted(set(statement) - _STATEMENT_KEYS)
        if unknown:
            raise PolicyError(f"{where}: {', '.join(unknown)} is not evaluated by the local API")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{where}: Effect must be Allow or Deny, got {statement.get('Effect')!r}")
        for key in ("Action", "Resource"):
            if key not in statement:
                raise PolicyError(f"{where}: no {key}")
            _strings(statement[key], f"{where}, {key}")
        if resource_policy:
            if "Principal" not in statement:
                raise PolicyError(f"{where}: a resource policy statement needs a Principal")
            _principals(statement["Principal"], where)
        elif "Principal" in statement:
            raise PolicyError(f"{where}: an identity-based policy has no Principal")
        for operator, keys in (statement.get("Condition") or {}).items():
            if operator not in _OPERATORS:
                raise PolicyError(f"{where}: condition operator {operator!r} is not evaluated by the local API "
                                  f"(it knows {', '.join(sorted(_OPERATORS))})")
            if not isinstance(keys, Mapping):
                raise PolicyError(f"{where}: {operator} must map condition keys to values")
            for key, values in keys.items():
                if key.lower() not in _CONDITION_KEYS:
                    raise PolicyError(f"{where}: condition key {key!r} is not evaluated by the local API "
                                      "(it knows aws:PrincipalArn and aws:PrincipalAccount)")
                _strings(values, f"{where}, {operator} {key}")


def _principals(principal: Any, where: str) -> list[str] | None:
    """The AWS principals a statement names; None for everyone (``*``)."""
    if principal == "*":
        return None
    if isinstance(principal, Mapping) and set(principal) == {"AWS"}:
        names = _strings(principal["AWS"], f"{where}, Principal")
        for name in names:
            # an account as principal hands the decision to the account's IAM policies: not modelled
            if re.fullmatch(r"\d{12}", name) or name.endswith(":root"):
                raise PolicyError(f"{where}: the account principal {name!r} is not evaluated by the local API "
                                  "(name the roles or users, or \"*\" with a condition)")
        return None if "*" in names else names
    raise PolicyError(f"{where}: Principal {principal!r} is not evaluated by the local API (only \"*\" and AWS)")


def _names_caller(names: list[str] | None, caller: Caller | None) -> bool:
    if names is None:
        return True
    if caller is None:  # an anonymous caller is only ever "*"
        return False
    return any(name in (caller.principal_arn, caller.arn) for name in names)


def _conditions_hold(conditions: Mapping[str, Any], facts: RequestFacts) -> bool:
    for operator, keys in conditions.items():
        matches, negated = _OPERATORS[operator]
        for key, values in keys.items():
            value = _CONDITION_KEYS[key.lower()](facts)
            wanted = _strings(values, operator)
            if value is None:  # an absent key matches no value: a negated operator then holds
                if not negated:
                    return False
                continue
            found = any(matches(w, value) for w in wanted)
            if found == negated:
                return False
    return True


def evaluate(document: Mapping[str, Any], *, action: str, resource: str, facts: RequestFacts,
             caller: Caller | None = None, expand: Callable[[str], str] | None = None,
             resource_policy: bool = False, what: str = "policy") -> str | None:
    """"Deny" when a statement denies, else "Allow" when one allows, else None (not allowed)."""
    check_policy(document, what, resource_policy=resource_policy)
    decision = None
    for statement in _statements(document, what):
        if resource_policy and not _names_caller(_principals(statement["Principal"], what), caller):
            continue
        if not any(_like(a, action, ignore_case=True) for a in _strings(statement["Action"], what)):
            continue
        patterns = _strings(statement["Resource"], what)
        if not any(_arn_like(expand(p) if expand else p, resource) for p in patterns):
            continue
        if not _conditions_hold(statement.get("Condition") or {}, facts):
            continue
        if statement["Effect"] == "Deny":
            return "Deny"
        decision = "Allow"
    return decision


def api_resource_expander(api_id: str) -> Callable[[str], str]:
    """API Gateway's shorthand in resource policies: ``execute-api:/STAGE/METHOD/PATH`` is this
    API's method ARN."""
    prefix = f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/"

    def expand(resource: str) -> str:
        return prefix + resource[len("execute-api:/"):] if resource.startswith("execute-api:/") else resource

    return expand


# ------------------------------------------------------------------------------ identities


@dataclass(frozen=True)
class Caller:
    """Who signed a request, as API Gateway's IAM authorization knows them."""

    access_key: str
    account_id: str
    arn: str  # userArn: an IAM user's ARN, or an assumed-role session's STS ARN
    principal_arn: str  # aws:PrincipalArn: the user's ARN, or the session's role ARN (with its path)
    user_id: str  # caller and user: the user's id, or "ROLEID:session"
    policies: tuple[Mapping[str, Any], ...] = ()  # its identity-based policies
    session_policy: Mapping[str, Any] | None = None
    administrator: bool = False  # the local default credentials: IAM allows them everything

    @property
    def facts(self) -> RequestFacts:
        return RequestFacts(self.principal_arn, self.account_id)

    def identity(self) -> dict[str, str]:
        return {"accessKey": self.access_key, "accountId": self.account_id, "caller": self.user_id,
                "user": self.user_id, "userArn": self.arn}

    def allowed_by_iam(self, action: str, resource: str) -> str | None:
        """What the caller's own IAM policies say: "Deny", "Allow" or None."""
        if self.administrator:
            return "Allow"
        decisions = [evaluate(p, action=action, resource=resource, facts=self.facts, what=f"a policy of {self.arn}")
                     for p in self.policies]
        if "Deny" in decisions:
            return "Deny"
        decision = "Allow" if "Allow" in decisions else None
        if self.session_policy is not None:
            limit = evaluate(self.session_policy, action=action, resource=resource, facts=self.facts,
                             what=f"the session policy of {self.arn}")
            if limit == "Deny":
                return "Deny"
            if limit != "Allow":
                return None
        return decision


@dataclass(frozen=True)
class SigningKey:
    """An access key's secret and what comes with it."""

    secret: str
    caller: Caller
    session_token: str | None = None  # temporary credentials must send it
    expires_at: datetime | None = None  # real time, as STS gave it
    active: bool = True


def _document(text: Any) -> Mapping[str, Any]:
    if isinstance(text, Mapping):
        return text
    try:
        return json.loads(text)  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return json.loads(unquote(str(text)))  # type: ignore[no-any-return]


def _policies(*holders: Any) -> tuple[Mapping[str, Any], ...]:
    """The inline policies of IAM users, groups or roles, and the default versions of their managed ones."""
    found: list[Any] = []
    for holder in holders:
        found += holder.policies.values()
        found += [v.document for p in holder.managed_policies.values() for v in p.versions
                  if v.version_id == p.default_version_id]
    return tuple(map(_document, found))


def _role_policies(iam: Any, role_arn: str) -> tuple[str, tuple[Mapping[str, Any], ...]] | None:
    """The role's ARN as IAM has it (with its path) and its policies; None when there is no such role."""
    for role in list(iam.roles.values()):
        if role.arn == role_arn or f"arn:{PARTITION}:iam::{role.account_id}:role/{role.name}" == role_arn:
            return role.arn, _policies(role)
    return None


def moto_signing_key(access_key: str) -> SigningKey | None:
    """The access key as moto's IAM and STS know it (read in-process: the moto server runs in
    this process): an IAM user's key, or an AssumeRole session's."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account_id, account in list(iam_backends.items()):
        iam = account[PARTITION]
        key = iam.access_keys.get(access_key)
        if key is None:
            continue
        if key.role_arn:
            session = sts_backends[account_id][PARTITION].get_assumed_role_from_access_key(access_key)
            if session is None:
                return None
            found = _role_policies(iam, session.role_arn)
            role_arn, policies = found if found else (session.role_arn, ())
            expires = session.expiration
            caller = Caller(access_key, account_id, session.arn, role_arn, session.user_id, policies,
                            _document(session.policy) if session.policy else None)
            return SigningKey(session.secret_access_key, caller, session.session_token,
                              expires if expires.tzinfo else expires.replace(tzinfo=UTC))
        user = iam.users.get(key.user_name or "")
        if user is None:
            return None
        caller = Caller(access_key, account_id, user.arn, user.arn, user.id,
                        _policies(user, *iam.get_groups_for_user(user.name)))
        return SigningKey(key.secret_access_key, caller, active=key.status == "Active")
    return None


# ------------------------------------------------------------------------------ SigV4


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
    """Checks a request's SigV4 signature the way API Gateway's AWS_IAM authorization does, and
    says who signed it."""

    def __init__(self, keys: Callable[[str], SigningKey | None]):
        self._keys = keys  # access key -> its secret and caller, or None

    def verify(self, request: Request, raw_path: str, raw_query: str, body: bytes) -> Caller:
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
        key = self._keys(access_key)
        token = request.headers.get("X-Amz-Security-Token")
        if key is None or not key.active or token != key.session_token:
            raise _Unauthorized(INVALID_TOKEN, "UnrecognizedClientException")
        # clients sign with the machine's real clock, not the cloud's virtual one; STS too
        real_now = datetime.now(UTC)
        if key.expires_at is not None and key.expires_at <= real_now:
            raise _Unauthorized(EXPIRED_TOKEN, "ExpiredTokenException")
        amz_date = request.headers.get("X-Amz-Date")
        if not amz_date:
            raise _Unauthorized("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                                "header.", "IncompleteSignatureException")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _Unauthorized(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.",
                                "IncompleteSignatureException") from None
        if abs(real_now - signed_at) > MAX_CLOCK_SKEW:
            raise _Unauthorized(f"Signature expired: {amz_date} is now earlier than "
                                f"{(real_now - MAX_CLOCK_SKEW):%Y%m%dT%H%M%SZ} ({real_now:%Y%m%dT%H%M%SZ} - 5 min.)",
                                "InvalidSignatureException")
        signed_headers = fields["SignedHeaders"].split(";")
        url = f"http://{request.host}{raw_path}" + (f"?{raw_query}" if raw_query else "")
        copy = AWSRequest(method=request.method, url=url, data=body,
                          headers={k: v for k, v in request.headers.items() if k.lower() in signed_headers})
        copy.context["timestamp"] = amz_date
        auth = _SignedHeadersAuth(Credentials(access_key, key.secret, token), signed_headers)
        canonical = auth.canonical_request(copy)
        string_to_sign = auth.string_to_sign(copy, canonical)
        if day != amz_date[:8] or auth.signature(string_to_sign, copy) != fields["Signature"]:
            raise _Unauthorized(
                f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{string_to_sign}'\n", "InvalidSignatureException")
        return key.caller


# ------------------------------------------------------------------------------ the gateway


@dataclass
class _Deployment:
    """What the gateway read from one deployed stack."""

    stack_id: int
    routes: list[Route] = field(default_factory=list)
    policy_error: str | None = None


@dataclass(frozen=True)
class GatewayWiring:
    """What the gateway needs of the cloud it fronts, handed in (as the stream and queue pumps
    are handed ``invoke``), so this module never imports the cloud."""

    stack: Callable[[], StackModel | None]  # the stack deployed now (None before a deploy)
    invoke: Callable[..., Any]  # invoke(function_id, event, trigger=...) -> the handler's result
    now: Callable[[], datetime]  # the cloud's virtual clock
    caller_identity: Callable[[], Mapping[str, str]]  # STS GetCallerIdentity of the default credentials
    default_credentials: Mapping[str, str]  # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY the cloud runs with


class ApiGateway:
    """The WSGI application: request -> proxy event -> handler -> response."""

    def __init__(self, wiring: GatewayWiring):
        self.wiring = wiring
        self._deployment: _Deployment | None = None
        self._verifier = SigV4Verifier(self._signing_key)
        self._default_key: tuple[str, SigningKey] | None = None

    def _read(self) -> _Deployment | None:
        stack = self.wiring.stack()
        if stack is None:
            return None
        if self._deployment is None or self._deployment.stack_id != id(stack):  # redeployed: read it again
            deployment = _Deployment(id(stack), routes_of(stack))
            for api in stack.apis.values():
                if api.resource_policy is not None:
                    try:
                        check_policy(api.resource_policy, f"the resource policy of {api.logical_id}",
                                     resource_policy=True)
                    except PolicyError as error:
                        log.error("local API: %s; every request is refused until the template is fixed", error)
                        deployment.policy_error = str(error)
            self._deployment = deployment
        return self._deployment

    def routes(self) -> list[Route]:
        deployment = self._read()
        return deployment.routes if deployment else []

    def _signing_key(self, access_key: str) -> SigningKey | None:
        credentials = self.wiring.default_credentials
        if access_key == credentials["AWS_ACCESS_KEY_ID"]:
            if self._default_key is None:
                # the local default credentials are whoever moto's STS says they are; locally they
                # are the account's administrator (they deploy and run everything)
                found = self.wiring.caller_identity()
                caller = Caller(access_key, found["Account"], found["Arn"],
                                found["Arn"].replace(":sts::", ":iam::", 1), found["UserId"], administrator=True)
                self._default_key = (access_key, SigningKey(credentials["AWS_SECRET_ACCESS_KEY"], caller))
            return self._default_key[1]
        return moto_signing_key(access_key)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response, shown = self.handle(request)
        log.info("%s %s -> %s", request.method, shown, response.status_code)
        return response(environ, start_response)

    def handle(self, request: Request) -> tuple[Response, str]:
        """The response, and the request's path as the log may show it."""
        raw_uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.full_path
        raw_path, _, raw_query = raw_uri.partition("?")
        raw_path = _as_sent(raw_path)
        matched = [(route, params) for route in self.routes()
                   if (params := route.match(_segments(raw_path))) is not None]
        method = request.method.upper()
        chosen = next(((r, p) for r, p in matched if r.event.method == method), None) or next(
            ((r, p) for r, p in matched if r.event.method == "ANY"), None)
        if chosen is None:
            return _json_response(403, MISSING_TOKEN, "MissingAuthenticationTokenException"), loggable_path(
                None, None, raw_path)
        route, params = chosen
        shown = loggable_path(route, params, raw_path)
        body = request.get_data(cache=True)
        caller: Caller | None = None
        if route.event.authorizer == "AWS_IAM":
            try:
                caller = self._verifier.verify(request, raw_path, raw_query, body)
            except _Unauthorized as denied:
                return _json_response(403, *denied.args), shown
        elif route.event.authorizer is not None:
            return _json_response(500, f"local API: authorizer {route.event.authorizer!r} is not supported"), shown
        try:
            refused = self.authorize(route, method, raw_path, caller)
            if refused is None:
                refused = self.check_integration(route, caller, shown)
        except PolicyError as error:
            log.error("local API: %s (%s %s)", error, method, shown)
            return _json_response(500, f"local API: {error}"), shown
        if refused is not None:
            return refused, shown
        event = self.proxy_event(request, route, params, raw_path, raw_query, body, caller)
        try:
            result = self.wiring.invoke(route.function_id, event, trigger=f"api {method} {route.event.path}")
        except Exception:
            log.exception("%s failed on %s %s", route.function_id, method, shown)
            return _json_response(502, INTERNAL_ERROR), shown
        return self.proxy_response(route, result), shown

    def authorize(self, route: Route, method: str, raw_path: str, caller: Caller | None) -> Response | None:
        """API Gateway's decision ("How API Gateway resource policies affect authorization
        workflow"): a 403 response, or None to go on."""
        deployment = self._read()
        if deployment is not None and deployment.policy_error:
            raise PolicyError(deployment.policy_error)
        resource = route.method_arn(method, raw_path)
        by_policy = None
        if route.resource_policy is not None:
            facts = caller.facts if caller else RequestFacts(None, None)
            by_policy = evaluate(route.resource_policy, action=INVOKE, resource=resource, facts=facts, caller=caller,
                                 expand=api_resource_expander(route.api_id), resource_policy=True,
                                 what="the API's resource policy")
        user = caller.arn if caller else "anonymous"
        denied = f"User: {user} is not authorized to perform: {INVOKE} on resource: {resource}"
        if caller is None:  # a route without auth
            if by_policy == "Deny":
                return _json_response(403, f"{denied} with an explicit deny", "AccessDeniedException", key="Message")
            if route.resource_policy is not None and by_policy != "Allow":
                return _json_response(403, denied, "AccessDeniedException", key="Message")
            return None
        by_iam = caller.allowed_by_iam(INVOKE, resource)
        if "Deny" in (by_policy, by_iam):
            return _json_response(403, f"{denied} with an explicit deny", "AccessDeniedException", key="Message")
        if route.resource_policy is None:
            allowed = by_iam == "Allow" and caller.account_id == ACCOUNT_ID
        elif caller.account_id == ACCOUNT_ID:
            allowed = "Allow" in (by_policy, by_iam)
        else:  # another account: both must allow
            allowed = by_policy == "Allow" and by_iam == "Allow"
        return None if allowed else _json_response(403, denied, "AccessDeniedException", key="Message")

    def check_integration(self, route: Route, caller: Caller | None, shown: str) -> Response | None:
        """Whether API Gateway can invoke the function: with the caller's credentials (SAM's
        default on AWS_IAM routes) only when the caller may call lambda:InvokeFunction; with NONE
        through the function's resource-based permission, which SAM always adds."""
        role = route.event.invoke_role
        if role is None or caller is None:
            return None
        if route.event.calls_with_caller_credentials:
            if caller.allowed_by_iam("lambda:InvokeFunction", route.function_arn) == "Allow":
                return None
            log.warning("%s %s: the integration invokes %s with the caller's credentials (InvokeRole unset), and "
                        "%s may not call lambda:InvokeFunction: 500", route.event.method, shown, route.function_id,
                        caller.arn)
            return _json_response(500, INTERNAL_ERROR, "InternalServerErrorException")
        return _json_response(500, f"local API: InvokeRole {role} is not supported (only NONE or unset)")

    def proxy_event(self, request: Request, route: Route, params: Mapping[str, str], raw_path: str, raw_query: str,
                    body: bytes, caller: Caller | None) -> dict[str, Any]:
        now = self.wiring.now()
        request_id = str(uuid.uuid4())
        source_ip = request.remote_addr or "127.0.0.1"
        identity = {"sourceIp": source_ip, "userAgent": request.headers.get("User-Agent"),
                    **(caller.identity() if caller else {})}
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
        for name, value in parse_qsl(raw_query, keep_blank_values=True):  # query strings arrive decoded
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
            "path": raw_path,  # as sent: API Gateway (REST) does not decode the path
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": dict(params) or None,  # still percent-encoded, like the path
            "stageVariables": None,
            "requestContext": {
                "resourceId": hashlib.sha256(route.event.path.encode()).hexdigest()[:6],
                "resourcePath": route.event.path,
                "httpMethod": request.method.upper(),
                "extendedRequestId": base64.b64encode(uuid.uuid4().bytes).decode()[:16],
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{route.stage}{raw_path}",
                "accountId": ACCOUNT_ID,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": route.stage,
                "domainPrefix": domain.split(".")[0].split(":")[0],
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {key: identity.get(key) for key in _IDENTITY_KEYS},  # None: what nobody gave
                "domainName": domain,
                "apiId": route.api_id,
            },
            "body": text,
            "isBase64Encoded": is_base64,
        }

    def proxy_response(self, route: Route, result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            log.error("%s answered %r, which is not a proxy response", route.function_id, result)
            return _json_response(502, INTERNAL_ERROR)
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return _json_response(502, INTERNAL_ERROR)
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


class _QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler without its per-request log line, which would carry the full
    path (a link's token); the gateway logs each request itself, tokens left out."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ApiServer:
    """The HTTP server, in a background thread."""

    def __init__(self, wiring: GatewayWiring, host: str = "127.0.0.1", port: int = 0):
        self.app = ApiGateway(wiring)
        self._server = make_server(host, port, self.app, threaded=True, request_handler=_QuietRequestHandler)
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
