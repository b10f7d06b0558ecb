"""Reading templates: SAM's own transform first, then intrinsic functions, parameters and the
typed model read from the CloudFormation it makes."""

from __future__ import annotations

import copy

import pytest
from local_cloud_support import FIXTURE_TEMPLATE

from local.template import (
    DEFAULT_TEMPLATE,
    PROJECT_ROOT,
    SAM_MANAGED_POLICIES,
    Template,
    TemplateError,
    load_yaml,
    resolver_for,
    translate,
)

SNIPPET = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedPattern: "^[a-z]+$"}
  Size: {Type: Number, Default: 5, MinValue: 1, MaxValue: 10}
  Level: {Type: String, Default: INFO, AllowedValues: [INFO, DEBUG]}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsBig: !Not [!Equals [!Ref Size, "5"]]
  HasNames: !Not [!Equals [!Join ["", !Ref Names], ""]]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "t-${Stage}"
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: q
  Thing:
    Type: Custom::Thing
    Properties:
      Name: !Sub "${AWS::StackName}-${Stage}-${!Literal}"
      Arn: !GetAtt Queue.Arn
      QueueName: !GetAtt Queue.QueueName
      Stream: !GetAtt Table.StreamArn
      WithVars: !Sub ["${A}-${Table}-${Queue.QueueName}", {A: !Ref Size}]
      Size: !If [IsBig, big, small]
      Gone: !If [IsBig, big, !Ref AWS::NoValue]
      Dev: !If [IsDev, yes-dev, "no"]
      Named: !If [HasNames, !Join ["-", !Ref Names], none]
      Where: !Sub "${AWS::Region}/${AWS::AccountId}/${AWS::URLSuffix}/${AWS::Partition}"
      List: [!Ref Stage, !Ref AWS::NoValue]
"""


def _thing(overrides: dict | None = None) -> dict:
    body = load_yaml(SNIPPET)
    resolver = resolver_for(body, Template(body).parameter_values(overrides), stack_name="stk")
    return resolver.resolve(body["Resources"]["Thing"]["Properties"])


def test_intrinsic_functions_resolve_with_defaults():
    # GIVEN the snippet's parameters at their defaults
    # WHEN the resource's properties are resolved
    thing = _thing()
    # THEN every intrinsic has its CloudFormation value
    assert thing["Name"] == "stk-dev-${Literal}"
    assert thing["Arn"] == "arn:aws:sqs:us-east-1:123456789012:q"
    assert thing["QueueName"] == "q"
    assert thing["Stream"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/t-dev/stream/")
    assert thing["WithVars"] == "5-t-dev-q"
    assert thing["Size"] == "small"
    assert "Gone" not in thing  # AWS::NoValue removes the property
    assert thing["Dev"] == "yes-dev"
    assert thing["Named"] == "a-b-c"
    assert thing["Where"] == "us-east-1/123456789012/amazonaws.com/aws"
    assert thing["List"] == ["dev"]


def test_overrides_change_conditions():
    # GIVEN overrides that make the conditions flip
    # WHEN resolved
    thing = _thing({"Stage": "prod", "Size": 7, "Names": ""})
    # THEN the branches follow
    assert thing["Size"] == "big"
    assert thing["Gone"] == "big"
    assert thing["Dev"] == "no"
    assert thing["Named"] == "none"
    assert thing["Name"] == "stk-prod-${Literal}"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"Nope": "x"}, "Nope"),
        ({"Stage": "Bad_Stage"}, "Stage"),
        ({"Size": 11}, "Size"),
        ({"Size": 0}, "Size"),
        ({"Size": "many"}, "Size"),
        ({"Level": "TRACE"}, "Level"),
    ],
)
def test_bad_parameter_values_are_errors_naming_the_parameter(overrides, named):
    # GIVEN a value CloudFormation would refuse (or a parameter the template lacks)
    template = Template(load_yaml(SNIPPET))
    # WHEN the parameters are validated THEN the error names the parameter
    with pytest.raises(TemplateError, match=named):
        template.parameter_values(overrides)


def test_real_template_functions_get_globals_merged_with_their_own_environment():
    # GIVEN the project's template.yaml, as SAM translates it
    stack = Template.load(DEFAULT_TEMPLATE).stack({"Stage": "qa"})
    notify, sweep, expire = (stack.function(f) for f in ("NotifyFunction", "SweepFunction", "ExpireFunction"))
    # THEN every function has the Globals variables, resolved
    assert sweep.environment["LIFECYCLE_TABLE"] == "membership-lifecycle-qa"
    assert sweep.environment["ACTIVITY_TABLE"] == "membership-activity-qa"
    assert sweep.environment["EVENT_BUS_NAME"] == "membership-billing-qa"
    assert notify.environment["LIFECYCLE_TABLE"] == "membership-lifecycle-qa"
    # AND only the function that declares its own variable has it
    assert notify.environment["PUBLIC_BASE_URL"].endswith(".execute-api.us-east-1.amazonaws.com/qa")
    assert "PUBLIC_BASE_URL" not in expire.environment
    # AND its own properties win over Globals
    assert stack.function("SweepSegmentFunction").timeout == 900
    assert stack.function("ExpireFunction").timeout == 60
    # AND the code and the layer run from the folders SAM was handed as CodeUri and ContentUri
    assert sweep.code_uri == PROJECT_ROOT / "functions" / "sweep"
    assert sweep.layer_dirs == (PROJECT_ROOT / "layers" / "common",)


def test_real_template_public_base_url_condition():
    # GIVEN a PublicBaseUrl WHEN resolved THEN the notify function links to it
    stack = Template.load(DEFAULT_TEMPLATE).stack({"PublicBaseUrl": "https://members.example.com"})
    assert stack.function("NotifyFunction").environment["PUBLIC_BASE_URL"] == "https://members.example.com"


def test_stacks_that_differ_only_in_values_sam_never_reads_share_one_translation_equal_to_sams_own():
    # GIVEN the project's template, translated for one stack (SAM reads its Stage, never its URL)
    template = Template.load(DEFAULT_TEMPLATE)
    first = template.parameter_values({"Stage": "pr17", "PublicBaseUrl": "http://127.0.0.1:40001"})
    read: set[str] = set()
    translate(template.body, first, template.directory, read)
    assert "Stage" in read and "PublicBaseUrl" not in read
    template.translated(first)
    # WHEN another stack differs only in its URL, or also in its Stage
    for overrides in ({"PublicBaseUrl": "http://127.0.0.1:40002"}, {"Stage": "pr18"}):
        values = {**first, **overrides}
        # THEN its translation is what SAM itself makes for its own values
        assert template.translated(values).template == translate(template.body, values, template.directory).template
    assert template.translated({**first, "Stage": "pr18"}).template["Resources"] != template.translated(
        first).template["Resources"]


def test_each_function_runs_with_the_role_sam_generates_for_it():
    # GIVEN the project's template.yaml, as SAM translates it
    stack = Template.load(DEFAULT_TEMPLATE).stack()
    notify = stack.function("NotifyFunction")
    # THEN the function's role is SAM's, with the template's statements, what SAM adds for the
    # stream's OnFailure queue, and the managed policies SAM attaches
    role = stack.roles[notify.role_id]
    assert role.logical_id == "NotifyFunctionRole"
    failures = stack.queues["StreamFailureQueue"].arn
    assert {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": failures} in role.statements
    assert set(role.managed_policy_arns) == {
        SAM_MANAGED_POLICIES[name]
        for name in ("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaDynamoDBExecutionRole")
    }


def test_a_function_whose_code_is_not_a_local_folder_is_an_error():
    # GIVEN the fixture template with a function's code already in S3
    template = Template.load(FIXTURE_TEMPLATE)
    body = copy.deepcopy(template.body)
    body["Resources"]["TickFunction"]["Properties"]["CodeUri"] = {"Bucket": "elsewhere", "Key": "tick.zip"}
    # WHEN it is read THEN the error names the function
    with pytest.raises(TemplateError, match="TickFunction: its code must be a local folder"):
        Template(body, template.path).stack()


def test_a_template_sam_refuses_is_an_error():
    # GIVEN an Api event missing its Method
    template = Template.load(FIXTURE_TEMPLATE)
    body = copy.deepcopy(template.body)
    del body["Resources"]["EchoFunction"]["Properties"]["Events"]["GetItem"]["Properties"]["Method"]
    # WHEN it is read THEN SAM's own message names the function
    with pytest.raises(TemplateError, match="EchoFunction"):
        Template(body, template.path).stack()


def test_fixture_template_model():
    # GIVEN the fixture template
    stack = Template.load(FIXTURE_TEMPLATE).stack({"BatchSize": 4})
    # THEN stream, schedule and API events are modelled from it
    (source,) = stack.function("RecorderFunction").stream_sources
    assert source.batch_size == 4
    assert source.maximum_retry_attempts == 2
    assert source.bisect_batch_on_function_error and source.report_batch_item_failures
    assert source.on_failure_destination == "arn:aws:sqs:us-east-1:123456789012:local-failures-test"
    assert source.stream_arn == stack.table("ItemsTable").stream_arn
    schedules = {s.event_id: s for s in stack.function("TickFunction").schedules}
    assert list(schedules) == ["Weekdays", "EverySixHours", "ParisMorning", "Failing"]  # as the template lists them
    assert schedules["Weekdays"].expression == "cron(30 6 ? * MON-FRI *)"
    assert schedules["ParisMorning"].timezone == "Europe/Paris"
    assert schedules["Failing"].enabled is False
    routes = {(e.method, e.path): e for e in stack.function("EchoFunction").api_events}
    assert routes[("POST", "/private/{id}")].authorizer == "AWS_IAM"
    assert routes[("GET", "/items/{id}")].authorizer is None
    assert routes[("ANY", "/files/{path+}")].authorizer is None
    assert stack.apis["Api"].stage_name == "test"
    assert stack.function("EchoTwinFunction").environment["TWIN"] == "yes"
    assert stack.function("EchoTwinFunction").timeout == 10
