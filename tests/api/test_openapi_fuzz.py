"""The member API's OpenAPI document (``functions/member_api/openapi.json``, served at
``GET /openapi.json``) against the API itself: it is a valid OpenAPI 3.0 document, it describes
exactly the routes template.yaml gives the API (and their auth), the function serves it, and
requests generated from it by Schemathesis - conforming ones and ones that break it - sent over
real HTTP to the stack on the local cloud, never get a server error, and are answered as the
document says (status, content type, headers, body schema). The app routes' requests are signed
with SigV4 as the service's apps sign them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import schemathesis
from api_support import ACTIVE, CANCELLED, KEPT, OPEN, SigV4
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.template import load_yaml

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "functions" / "member_api" / "openapi.json"
TEMPLATE = ROOT / "template.yaml"
DOCUMENT_ROUTE = ("GET", "/openapi.json")

SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
OPERATIONS = {(op.method.upper(), op.path): op for op in (result.ok() for result in SCHEMA.get_all_operations())}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def template_routes() -> dict[tuple[str, str], str | None]:
    """(method, path) -> authorizer, for every ``Api`` event of the template's functions."""
    resources = load_yaml(TEMPLATE.read_text(encoding="utf-8"))["Resources"]
    routes = {}
    for resource in resources.values():
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            if event.get("Type") == "Api":
                properties = event["Properties"]
                authorizer = (properties.get("Auth") or {}).get("Authorizer")
                routes[(properties["Method"].upper(), properties["Path"])] = authorizer
    return routes


ROUTED = template_routes()
# ``ANY`` on a path the document describes: every other method of it reaches the function too,
# which answers it as it answers a method it does not take.
CATCH_ALL = {path for method, path in ROUTED if method == "ANY"}
DECLARED = {route: authorizer for route, authorizer in ROUTED.items() if route[0] != "ANY"}


def takes_input(route: tuple[str, str]) -> bool:
    operation = OPERATIONS[route]
    return bool(list(operation.iter_parameters())) or bool(operation.definition.raw.get("requestBody"))


# Fuzzed over HTTP: what the API routes (``/openapi.json`` once template.yaml declares it), with
# requests that break the document wherever it describes any input.
FUZZED = [
    (route, mode)
    for route in sorted(OPERATIONS)
    if route in DECLARED
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or takes_input(route)
]


def document_request() -> dict:
    """API Gateway's REST proxy event for ``GET /openapi.json``."""
    return {
        "resource": "/openapi.json",
        "path": "/openapi.json",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "multiValueHeaders": {"Accept": ["application/json"], "Host": ["abc123.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/openapi.json",
            "httpMethod": "GET",
            "path": "/test/openapi.json",
            "stage": "test",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


# ------------------------------------------------------------- the document
def test_the_document_is_valid_openapi_3_and_describes_every_route_as_the_template_routes_it():
    # GIVEN the document and the template
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    # WHEN it is validated
    validate(document)
    # THEN it is OpenAPI 3.0, with the SigV4 scheme as an apiKey in the Authorization header
    assert document["openapi"].startswith("3.0.")
    scheme = document["components"]["securitySchemes"]["SigV4"]
    assert (scheme["type"], scheme["name"], scheme["in"]) == ("apiKey", "Authorization", "header")
    assert "Signature Version 4" in scheme["description"]
    # AND it has every route of the template, and no other but its own
    assert set(DECLARED) <= set(OPERATIONS)
    assert set(OPERATIONS) - set(DECLARED) <= {DOCUMENT_ROUTE}
    assert CATCH_ALL.issubset(path for _, path in OPERATIONS)
    # AND a route needs SigV4 exactly when the template puts it behind IAM
    for (method, path), operation in OPERATIONS.items():
        needs_iam = DECLARED.get((method, path)) == "AWS_IAM"
        assert operation.definition.raw["security"] == ([{"SigV4": []}] if needs_iam else []), (method, path)


def test_the_member_api_serves_its_document(campaign):
    # GIVEN the deployed member API function
    # WHEN it is asked for GET /openapi.json, as API Gateway asks it
    answer = campaign.stack.cloud.invoke("MemberApiFunction", document_request())
    # THEN it answers the document, as JSON, that anyone may cache for a while
    assert answer["statusCode"] == 200
    headers = {name.lower(): value for name, value in (answer.get("multiValueHeaders") or {}).items()}
    assert headers["content-type"] == ["application/json"]
    assert headers["cache-control"] == ["public, max-age=300"]
    assert json.loads(answer["body"]) == json.loads(DOCUMENT.read_text(encoding="utf-8"))


# ------------------------------------------------------------ the fuzzing
def real_values(campaign, route: tuple[str, str]) -> list[dict]:
    """Path parameters naming what exists, so generated requests also reach past "not found"."""
    _, path = route
    if "{token}" in path:
        return [{"token": campaign.token(member, choice)} for member in sorted(OPEN) for choice in ("keep", "cancel")]
    if "{member_id}" in path:
        return [{"member_id": member} for member in (ACTIVE, *sorted(KEPT), *sorted(CANCELLED), *sorted(OPEN))]
    return []


@pytest.mark.parametrize(("route", "mode"), FUZZED, ids=[f"{' '.join(route)} {mode}" for route, mode in FUZZED])
def test_requests_generated_from_the_document_are_answered_as_it_says(campaign, route, mode):
    # GIVEN requests generated from the document for one route: with any values, and (when they
    # conform) with the path naming real links and members
    operation = OPERATIONS[route]
    strategies = [operation.as_strategy(generation_mode=mode)]
    if mode is GenerationMode.POSITIVE:
        strategies += [
            operation.as_strategy(generation_mode=mode, path_parameters=values)
            for values in real_values(campaign, route)
        ]
    auth = SigV4() if DECLARED[route] == "AWS_IAM" else None
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @EXAMPLES
    @given(case=st.one_of(strategies))
    def sent(case):
        # WHEN each is sent to the API (signed, for the app routes)
        # THEN no answer is a server error, and each is one the document describes
        case.call_and_validate(base_url=campaign.api_url, checks=checks, auth=auth)

    sent()
