"""The template as SAM deploys it: template.yaml run through aws-sam-translator (the version
aws-sam-cli pins, offline), and the CloudFormation it produces read back.

* The member API's AWS_IAM routes call the function with API Gateway's own permission (their
  integration carries no ``credentials``; SAM's ``AWS::Lambda::Permission`` for
  apigateway.amazonaws.com, scoped to the route, lets it in), not with the caller's
  credentials, SAM's default (``arn:aws:iam::*:user/*``): an app allowed only
  ``execute-api:Invoke`` would get 500s. The same check, run on the template with its
  ``InvokeRole`` removed, finds the caller's credentials: it would catch that default.
* The API's resource policy (``x-amazon-apigateway-policy``, resolved as CloudFormation would
  for the parameters) lets anyone open the links and the document, and admits to ``/members/*``
  exactly the principals ``AppPrincipalArns`` names (nobody when it is empty), refusing every
  other identity with an explicit Deny.
* Every function's generated role holds exactly the template's own statements, the statement
  SAM adds for a stream's ``OnFailure`` queue, and the AWS managed policies SAM attaches (named
  below); no statement of a role allows an action by wildcard.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from local.api_server import RequestFacts, api_resource_expander, evaluate
from local.template import CALLER_CREDENTIALS, DEFAULT_TEMPLATE, SAM_MANAGED_POLICIES, Template, resolver_for, translate

REGION = "us-east-1"
ACCOUNT = "123456789012"

# the AWS managed policies SAM attaches to a function's role by itself
BASIC_EXECUTION = SAM_MANAGED_POLICIES["AWSLambdaBasicExecutionRole"]  # CloudWatch Logs
XRAY_WRITE = SAM_MANAGED_POLICIES["AWSXrayWriteOnlyAccess"]  # Tracing: Active
DYNAMODB_STREAM_READ = SAM_MANAGED_POLICIES["AWSLambdaDynamoDBExecutionRole"]  # a DynamoDB event
SQS_POLLER = SAM_MANAGED_POLICIES["AWSLambdaSQSQueueExecutionRole"]  # an SQS event

APP = f"arn:aws:iam::{ACCOUNT}:role/service/streaming-app"
BACK_ENDS = f"arn:aws:iam::{ACCOUNT}:role/streaming-backend-*"
STRAY_USER = f"arn:aws:iam::{ACCOUNT}:user/stray"
STRAY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service/other-app"


def deployed(body: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM's transform makes of ``body``, as the local cloud makes it."""
    return translate(body, parameters).template


def sam_template() -> dict[str, Any]:
    return copy.deepcopy(Template.load(DEFAULT_TEMPLATE).body)


def iam_routes(body: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Api event id -> (method, path) of the member API's AWS_IAM routes, from template.yaml."""
    events = body["Resources"]["MemberApiFunction"]["Properties"]["Events"]
    return {
        event_id: (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for event_id, event in events.items()
        if event["Type"] == "Api" and (event["Properties"].get("Auth") or {}).get("Authorizer") == "AWS_IAM"
    }


def integration(cfn: Mapping[str, Any], method: str, path: str) -> dict[str, Any]:
    return cfn["Resources"]["MemberApi"]["Properties"]["Body"]["paths"][path][method]


# ------------------------------------------------------------------ the app routes' integration


def test_every_app_route_invokes_the_function_with_api_gateways_own_permission():
    # GIVEN template.yaml, with its four app routes behind IAM
    body = sam_template()
    routes = iam_routes(body)
    assert sorted(routes) == ["AppActivity", "AppKeep", "AppNotice", "AppRejoin"]
    # WHEN SAM transforms it
    cfn = deployed(body)
    for event_id, (method, path) in routes.items():
        operation = integration(cfn, method, path)
        # THEN each route is IAM-authorized, and its Lambda proxy integration names no
        # credentials: API Gateway invokes the function itself, not as the caller
        assert operation["security"] == [{"AWS_IAM": []}], event_id
        proxy = operation["x-amazon-apigateway-integration"]
        assert proxy["type"] == "aws_proxy" and "${MemberApiFunction.Arn}" in proxy["uri"]["Fn::Sub"]
        assert "credentials" not in proxy, (event_id, proxy)
        # AND SAM's resource-based permission lets API Gateway invoke it, for this method and path only
        permission = cfn["Resources"][f"MemberApiFunction{event_id}PermissionStage"]
        assert permission["Type"] == "AWS::Lambda::Permission"
        scoped = path.replace("{member_id}", "*")
        assert permission["Properties"] == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": "MemberApiFunction"},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {
                "Fn::Sub": [
                    f"arn:aws:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{__ApiId__}}/${{__Stage__}}/"
                    f"{method.upper()}{scoped}",
                    {"__ApiId__": {"Ref": "MemberApi"}, "__Stage__": "*"},
                ]
            },
        }


def test_without_invoke_role_sam_would_invoke_with_the_callers_credentials():
    # GIVEN template.yaml with InvokeRole taken off its app routes (as it was before the fix)
    body = sam_template()
    routes = iam_routes(body)
    for event_id in routes:
        del body["Resources"]["MemberApiFunction"]["Properties"]["Events"][event_id]["Properties"]["Auth"]["InvokeRole"]
    # WHEN SAM transforms it
    cfn = deployed(body)
    # THEN every app route's integration calls the function with the caller's credentials: the
    # check above would fail on it
    for method, path in routes.values():
        assert integration(cfn, method, path)["x-amazon-apigateway-integration"]["credentials"] == CALLER_CREDENTIALS


# ------------------------------------------------------------------ the API's resource policy


def resource_policy(cfn: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The API's policy as CloudFormation creates it for these parameters: SAM leaves Fn::If
    in it, which CloudFormation evaluates with the template's Conditions."""
    policy = cfn["Resources"]["MemberApi"]["Properties"]["Body"]["x-amazon-apigateway-policy"]
    return resolver_for(cfn, Template.load(DEFAULT_TEMPLATE).parameter_values(parameters)).resolve(policy)


def decision(policy: Mapping[str, Any], method: str, path: str, principal_arn: str | None) -> str | None:
    """What the policy says of a request: "Allow", "Deny" or None (it says nothing)."""
    resource = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:api1234567/dev/{method}{path}"
    facts = RequestFacts(principal_arn, principal_arn and ACCOUNT)
    return evaluate(
        policy,
        action="execute-api:Invoke",
        resource=resource,
        facts=facts,
        expand=api_resource_expander("api1234567"),
        resource_policy=True,
    )


def statement(policy: Mapping[str, Any], sid: str) -> dict[str, Any] | None:
    return next((s for s in policy["Statement"] if s.get("Sid") == sid), None)


ANYONE = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "execute-api:Invoke",
    "Resource": ["execute-api:/*/*/n/*", "execute-api:/*/GET/openapi.json"],
}


@pytest.mark.parametrize(
    "admitted",
    [[], [APP, BACK_ENDS]],
    ids=["AppPrincipalArns empty (the default)", "AppPrincipalArns naming two principals"],
)
def test_the_resource_policy_opens_the_links_to_anyone_and_the_app_routes_only_to_the_named_principals(admitted):
    # GIVEN the stack's parameters: AppPrincipalArns left empty, or naming an app role and a
    # wildcard for the back ends' roles
    parameters = {"AppPrincipalArns": admitted} if admitted else {}
    # WHEN SAM transforms the template and CloudFormation resolves the policy
    cfn = deployed(sam_template(), parameters)
    policy = resource_policy(cfn, parameters)
    # THEN anyone may open the links (every method the template routes there) and the document
    assert {k: v for k, v in statement(policy, "AnyoneOpensLinksAndTheDocument").items() if k != "Sid"} == ANYONE
    # AND /members/* admits exactly the named principals, and refuses everyone else explicitly
    admit, refuse = statement(policy, "AdmitTheServicesApps"), statement(policy, "RefuseEveryoneElseTheAppRoutes")
    members = "execute-api:/*/*/members/*"
    if admitted:
        assert admit == {
            "Sid": "AdmitTheServicesApps",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": members,
            "Condition": {"ArnLike": {"aws:PrincipalArn": admitted}},
        }
        assert refuse["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": admitted}}
    else:
        assert admit is None
        assert "Condition" not in refuse
    assert {k: refuse[k] for k in ("Effect", "Principal", "Action", "Resource")} == {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": members,
    }
    assert len(policy["Statement"]) == (3 if admitted else 2)
    # AND read as API Gateway reads it: the pages and the document are open to anonymous callers
    for method, path in [("GET", "/n/tok.sig"), ("POST", "/n/tok.sig"), ("DELETE", "/n/tok.sig")]:
        assert decision(policy, method, path, None) == "Allow", (method, path)
    assert decision(policy, "GET", "/openapi.json", None) == "Allow"
    # AND on every app route, the named principals are allowed and any other identity is denied
    backend = f"arn:aws:iam::{ACCOUNT}:role/streaming-backend-billing"
    for method, path in [("GET", "/members/m%2F1/notice"), ("POST", "/members/auth0%7C5f7c/keep")]:
        for principal in (APP, backend):
            assert decision(policy, method, path, principal) == ("Allow" if admitted else "Deny"), (path, principal)
        for principal in (STRAY_USER, STRAY_ROLE, f"arn:aws:iam::{ACCOUNT}:root", None):
            assert decision(policy, method, path, principal) == "Deny", (path, principal)


def test_every_route_the_template_declares_is_covered_by_the_resource_policy():
    # GIVEN the policy for two named principals, and every Api event of the template
    parameters = {"AppPrincipalArns": [APP, BACK_ENDS]}
    policy = resource_policy(deployed(sam_template(), parameters), parameters)
    events = sam_template()["Resources"]["MemberApiFunction"]["Properties"]["Events"]
    for event_id, event in events.items():
        method, path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
        concrete = path.replace("{token}", "tok.sig").replace("{member_id}", "m-1")
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] if method == "ANY" else [method]
        for verb in methods:
            # WHEN its requests are judged
            if (event["Properties"].get("Auth") or {}).get("Authorizer") == "AWS_IAM":
                # THEN an IAM route lets in the named principals only
                assert decision(policy, verb, concrete, APP) == "Allow", event_id
                assert decision(policy, verb, concrete, STRAY_ROLE) == "Deny", event_id
            else:
                # THEN a route without auth is open to anyone (a resource policy must say so)
                assert decision(policy, verb, concrete, None) == "Allow", (event_id, verb)


def test_the_apis_own_tracing_is_off_and_every_function_traces():
    # GIVEN the template as SAM deploys it
    cfn = deployed(sam_template())
    resources = cfn["Resources"]
    # THEN API Gateway records no X-Ray segment (it holds the full URL: a link's path is its token)
    assert resources["MemberApiStage"]["Properties"]["TracingEnabled"] is False
    # AND Lambda's active tracing still traces every function
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions and all(f["Properties"]["TracingConfig"] == {"Mode": "Active"} for f in functions)


# ------------------------------------------------------------------ the functions' roles


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def expected_sam_additions(function: Mapping[str, Any], function_id: str) -> tuple[set[str], dict[str, Any]]:
    """The managed policies SAM attaches to a function's role, and the inline policies it adds,
    for the function's events."""
    events = (function["Properties"].get("Events") or {}).items()
    managed = {BASIC_EXECUTION, XRAY_WRITE}  # every function: Globals has Tracing: Active
    inline = {}
    for event_id, event in events:
        if event["Type"] == "DynamoDB":
            managed.add(DYNAMODB_STREAM_READ)
            destination = ((event["Properties"].get("DestinationConfig") or {}).get("OnFailure")) or {}
            if destination.get("Type") == "SQS":
                inline[f"{function_id}{event_id}SQSPolicy"] = {
                    "Statement": [
                        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": destination["Destination"]}
                    ]
                }
        elif event["Type"] == "SQS":
            managed.add(SQS_POLLER)
    return managed, inline


def test_every_functions_role_holds_exactly_the_templates_statements_and_what_sam_adds():
    # GIVEN template.yaml's functions and their Policies
    body = sam_template()
    functions = {k: v for k, v in body["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    # WHEN SAM transforms it
    cfn = deployed(body)
    roles = {k: v for k, v in cfn["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    for function_id, function in functions.items():
        role = roles.pop(f"{function_id}Role")["Properties"]
        # THEN each function runs with its own role, which only Lambda may assume
        assert cfn["Resources"][function_id]["Properties"]["Role"] == {"Fn::GetAtt": [f"{function_id}Role", "Arn"]}
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}}
        ]
        # AND it holds the template's statements as written, and what SAM adds for the events
        managed, added = expected_sam_additions(function, function_id)
        [own] = function["Properties"]["Policies"]
        inline = {policy["PolicyName"]: policy["PolicyDocument"] for policy in role["Policies"]}
        assert inline == {f"{function_id}RolePolicy0": own, **added}, function_id
        assert set(role["ManagedPolicyArns"]) == managed, function_id
        assert len(role["ManagedPolicyArns"]) == len(managed)
        # AND no statement of it allows an action by wildcard
        for document in inline.values():
            for granted in _as_list(document["Statement"]):
                assert granted["Effect"] == "Allow" and "NotAction" not in granted
                assert all("*" not in action for action in _as_list(granted["Action"])), (function_id, granted)
    # AND the only other role is the nightly schedule's, which may invoke the sweep and nothing else
    assert list(roles) == ["SweepFunctionNightlyRole"]
    schedule = roles["SweepFunctionNightlyRole"]["Properties"]
    assert schedule["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["scheduler.amazonaws.com"]}
    assert [p["PolicyDocument"]["Statement"] for p in schedule["Policies"]] == [
        [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": ["SweepFunction", "Arn"]}}]
    ]
    assert "ManagedPolicyArns" not in schedule


def test_the_lifecycle_stream_has_at_most_two_readers_each_with_every_guarantee():
    # DynamoDB Streams throttles a shard read by more than two consumers at once
    cfn = deployed(sam_template())
    readers = [
        resource["Properties"]
        for resource in cfn["Resources"].values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        and resource["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["LifecycleTable", "StreamArn"]}
    ]
    assert len(readers) == 2
    for reader in readers:
        assert reader["BisectBatchOnFunctionError"] is True
        assert reader["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert reader["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}
        assert reader["FilterCriteria"]["Filters"]
