"""The real template.yaml deployed on moto: what exists is what the template says."""

from __future__ import annotations

import json
import re

from local.template import DEFAULT_TEMPLATE, Template


def test_tables_are_created_from_the_template(make_cloud):
    # GIVEN the project's template.yaml
    template = Template.load(DEFAULT_TEMPLATE)
    cloud = make_cloud(template=template)
    # WHEN it is deployed on the local cloud
    stack = cloud.deploy({"Stage": "it"})
    dynamodb = cloud.client("dynamodb")
    tables = template.resources_of_type("AWS::DynamoDB::Table")
    assert tables, "the template has tables"
    for logical_id, resource in tables.items():
        declared = resource["Properties"]
        name = stack.table(logical_id).name
        # THEN moto has each table with the template's keys and attribute types
        described = dynamodb.describe_table(TableName=name)["Table"]
        assert name.endswith("-it")
        assert described["KeySchema"] == declared["KeySchema"]
        assert sorted(described["AttributeDefinitions"], key=lambda d: d["AttributeName"]) == sorted(
            declared["AttributeDefinitions"], key=lambda d: d["AttributeName"]
        )
        # AND TTL on the template's attribute, where the template asks for it
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in declared:
            assert ttl == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": declared["TimeToLiveSpecification"]["AttributeName"],
            }
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"
        # AND the stream with the template's view type, where it has one
        if "StreamSpecification" in declared:
            assert described["StreamSpecification"] == {
                "StreamEnabled": True,
                "StreamViewType": declared["StreamSpecification"]["StreamViewType"],
            }
            assert described["LatestStreamArn"] == stack.table(logical_id).stream_arn
        else:
            assert "StreamSpecification" not in described
    lifecycle = dynamodb.describe_table(TableName="membership-lifecycle-it")["Table"]
    assert lifecycle["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert (
        dynamodb.describe_time_to_live(TableName="membership-lifecycle-it")["TimeToLiveDescription"]["AttributeName"]
        == "expires_at"
    )


def test_a_generated_secret_is_the_same_for_the_same_seed_and_differs_for_another(make_cloud):
    # GIVEN the real template, whose link key is a GenerateSecretString
    def link_key(seed: int) -> str:
        cloud = make_cloud(template=DEFAULT_TEMPLATE, seed=seed)
        try:
            arn = cloud.deploy({"Stage": "it"}).outputs["LinkSigningSecretArn"]
            return json.loads(cloud.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])["current"]
        finally:
            cloud.stop()

    # WHEN it is deployed twice with one seed and once with another
    first, again, other = link_key(7), link_key(7), link_key(8)
    # THEN a rehearsal's links are the same from run to run of one seed, and only of that seed
    assert first == again
    assert other != first
    assert re.fullmatch(r"[A-Za-z0-9]{64}", other)


def test_the_rest_of_the_stack_exists_with_the_values_moto_gave(make_cloud):
    # GIVEN the real template deployed
    cloud = make_cloud(template=DEFAULT_TEMPLATE)
    stack = cloud.deploy({"SenderAddress": "notices@example.org"})
    outputs = stack.outputs
    # THEN the secret holds a JSON made like GenerateSecretString makes it
    secret = cloud.client("secretsmanager").get_secret_value(SecretId=outputs["LinkSigningSecretArn"])
    document = json.loads(secret["SecretString"])
    assert document["key_id"] == "k1"
    assert re.fullmatch(r"[A-Za-z0-9]{64}", document["current"])  # ExcludePunctuation, PasswordLength 64
    # AND the functions' environment points at it by its real ARN
    assert stack.function("NotifyFunction").environment["LINK_SECRET_ID"] == secret["ARN"]
    # AND the failure queue exists with the template's attributes
    sqs = cloud.client("sqs")
    url = sqs.get_queue_url(QueueName="membership-lifecycle-stream-failures-dev")["QueueUrl"]
    assert outputs["StreamFailureQueueUrl"] == url
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"] == {
        "MessageRetentionPeriod": "1209600"
    }
    # AND the event bus
    buses = [b["Name"] for b in cloud.client("events").list_event_buses()["EventBuses"]]
    assert outputs["BillingEventBusName"] in buses
    # AND the sender address is a verified SES identity
    verification = cloud.client("ses").get_identity_verification_attributes(Identities=["notices@example.org"])
    assert verification["VerificationAttributes"]["notices@example.org"]["VerificationStatus"] == "Success"
    # AND the stream ARN output is the one moto made
    assert outputs["LifecycleTableStreamArn"] == cloud.resource("LifecycleTable", "StreamArn")


def test_same_seed_same_secret(make_cloud):
    # GIVEN a seed WHEN the stack is deployed twice THEN the generated secret is the same
    cloud = make_cloud(template=DEFAULT_TEMPLATE, seed=42)
    first = cloud.deploy()
    one = cloud.client("secretsmanager").get_secret_value(SecretId=first.outputs["LinkSigningSecretArn"])
    again = cloud.reset()
    two = cloud.client("secretsmanager").get_secret_value(SecretId=again.outputs["LinkSigningSecretArn"])
    assert one["SecretString"] == two["SecretString"]
