"""Reading SAM templates: short-form tags, intrinsic functions, parameters, the typed model."""

from __future__ import annotations

import base64

import pytest
from local_cloud_support import FIXTURE_TEMPLATE

from local.template import DEFAULT_TEMPLATE, Template, TemplateError, load_yaml

SNIPPET = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedPattern: "^[a-z]+$"}
  Size: {Type: Number, Default: 5, MinValue: 1, MaxValue: 10}
  Level: {Type: String, Default: INFO, AllowedValues: [INFO, DEBUG]}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Regions:
    us-east-1: {Short: use1}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsBig: !Not [!Equals [!Ref Size, "5"]]
  DevAndSmall: !And [!Condition IsDev, !Not [!Condition IsBig]]
  DevOrBig: !Or [!Condition IsDev, !Condition IsBig]
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
      ArnLong: !GetAtt [Queue, Arn]
      QueueName: !GetAtt Queue.QueueName
      Stream: !GetAtt Table.StreamArn
      WithVars: !Sub ["${A}-${Table}", {A: !Ref Size}]
      Size: !If [IsBig, big, small]
      Gone: !If [IsBig, big, !Ref AWS::NoValue]
      Both: !If [DevAndSmall, yes-both, "no"]
      Either: !If [DevOrBig, yes-either, "no"]
      Joined: !Join ["-", [!Ref Stage, !Select [1, !Ref Names]]]
      Parts: !Split [",", "x,y"]
      Short: !FindInMap [Regions, !Ref "AWS::Region", Short]
      Encoded: !Base64 hello
      Where: !Sub "${AWS::Region}/${AWS::AccountId}/${AWS::URLSuffix}/${AWS::Partition}"
      List: [!Ref Stage, !Ref AWS::NoValue]
"""


def _thing(overrides: dict | None = None) -> dict:
    template = Template(load_yaml(SNIPPET))
    resolver = template.resolver(overrides, stack_name="stk")
    return template.properties("Thing", resolver)


def test_short_form_tags_become_long_forms():
    # GIVEN YAML with every CloudFormation short-form tag
    text = """
    A: !Ref X
    B: !Sub "a-${X}"
    C: !GetAtt Res.Attr.Deep
    D: !GetAtt [Res, Attr]
    E: !If [Cond, 1, 2]
    F: !Not [!Equals [a, b]]
    G: !Join [",", [a, b]]
    H: !Select [0, !Split [",", "a,b"]]
    I: !And [!Condition C1, !Or [!Condition C2, !Condition C3]]
    J: !FindInMap [M, K1, K2]
    K: !Base64 text
    L: !ImportValue other-export
    """
    # WHEN it is loaded
    body = load_yaml(text)
    # THEN each tag is the long form CloudFormation documents
    assert body["A"] == {"Ref": "X"}
    assert body["B"] == {"Fn::Sub": "a-${X}"}
    assert body["C"] == {"Fn::GetAtt": ["Res", "Attr.Deep"]}
    assert body["D"] == {"Fn::GetAtt": ["Res", "Attr"]}
    assert body["E"] == {"Fn::If": ["Cond", 1, 2]}
    assert body["F"] == {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}
    assert body["G"] == {"Fn::Join": [",", ["a", "b"]]}
    assert body["H"] == {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
    assert body["I"] == {"Fn::And": [{"Condition": "C1"}, {"Fn::Or": [{"Condition": "C2"}, {"Condition": "C3"}]}]}
    assert body["J"] == {"Fn::FindInMap": ["M", "K1", "K2"]}
    assert body["K"] == {"Fn::Base64": "text"}
    assert body["L"] == {"Fn::ImportValue": "other-export"}


def test_intrinsic_functions_resolve_with_defaults():
    # GIVEN the snippet's parameters at their defaults
    # WHEN the resource's properties are resolved
    thing = _thing()
    # THEN every intrinsic has its CloudFormation value
    assert thing["Name"] == "stk-dev-${Literal}"
    assert thing["Arn"] == thing["ArnLong"] == "arn:aws:sqs:us-east-1:123456789012:q"
    assert thing["QueueName"] == "q"
    assert thing["Stream"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/t-dev/stream/")
    assert thing["WithVars"] == "5-t-dev"
    assert thing["Size"] == "small"
    assert "Gone" not in thing  # AWS::NoValue removes the property
    assert thing["Both"] == "yes-both"
    assert thing["Either"] == "yes-either"
    assert thing["Joined"] == "dev-b"
    assert thing["Parts"] == ["x", "y"]
    assert thing["Short"] == "use1"
    assert base64.b64decode(thing["Encoded"]) == b"hello"
    assert thing["Where"] == "us-east-1/123456789012/amazonaws.com/aws"
    assert thing["List"] == ["dev"]


def test_overrides_change_conditions():
    # GIVEN overrides that make the conditions flip
    # WHEN resolved
    thing = _thing({"Stage": "prod", "Size": 7})
    # THEN the branches follow
    assert thing["Size"] == "big"
    assert thing["Gone"] == "big"
    assert thing["Both"] == "no"
    assert thing["Either"] == "yes-either"
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


def test_import_value_needs_an_export():
    template = Template(load_yaml("Resources: {}\nOutputs:\n  X:\n    Value: !ImportValue shared-thing\n"))
    # GIVEN no export WHEN resolving THEN it is an error naming the export
    with pytest.raises(TemplateError, match="shared-thing"):
        template.stack()
    # GIVEN the export WHEN resolving THEN its value is used
    assert template.stack(imports={"shared-thing": "v"}).outputs["X"] == "v"


def test_real_template_functions_get_globals_merged_with_their_own_environment():
    # GIVEN the project's template.yaml
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
    assert sweep.layer_dirs and sweep.layer_dirs[0].name == "common"


def test_real_template_public_base_url_condition():
    # GIVEN a PublicBaseUrl WHEN resolved THEN the notify function links to it
    stack = Template.load(DEFAULT_TEMPLATE).stack({"PublicBaseUrl": "https://members.example.com"})
    assert stack.function("NotifyFunction").environment["PUBLIC_BASE_URL"] == "https://members.example.com"


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
    assert schedules["Weekdays"].expression == "cron(30 6 ? * MON-FRI *)"
    assert schedules["ParisMorning"].timezone == "Europe/Paris"
    assert schedules["Failing"].enabled is False
    routes = {(e.method, e.path): e for e in stack.function("EchoFunction").api_events}
    assert routes[("POST", "/private/{id}")].authorizer == "AWS_IAM"
    assert routes[("GET", "/items/{id}")].authorizer is None
    assert stack.apis["Api"].stage_name == "test"
    assert stack.function("EchoTwinFunction").environment["TWIN"] == "yes"
    assert stack.function("EchoTwinFunction").timeout == 10
