"""The inbound events' JSON Schemas as published in ``docs/events/`` are the ones the consumer
validates with (``python -m ops schemas`` writes them), each a valid draft-07 schema that a
second implementation (jsonschema) reads the same way on the sample events."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from lifecycle.inbound import SCHEMAS

ROOT = Path(__file__).parents[2]
PUBLISHED = ROOT / "docs" / "events"


def test_the_published_schemas_are_the_consumers():
    published = {path.name.removesuffix(".schema.json"): json.loads(path.read_text())
                 for path in PUBLISHED.glob("*.schema.json")}
    assert published == SCHEMAS, "docs/events/ is stale: run `python -m ops schemas`"


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_each_schema_is_valid_draft_07(kind):
    jsonschema.Draft7Validator.check_schema(SCHEMAS[kind])


def test_another_validator_reads_the_samples_as_the_consumer_does():
    sample = json.loads((ROOT / "events" / "inbound-batch.json").read_text())
    verdicts = []
    for record in sample["Records"]:
        event = json.loads(record["body"])
        validator = jsonschema.Draft7Validator(SCHEMAS[event["detail-type"]],
                                               format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
        verdicts.append(validator.is_valid(event["detail"]))
    assert verdicts == [True, True, True, False]  # the last one's price has a comma


def test_the_template_s_schema_registry_holds_the_same_schemas():
    from local.template import DEFAULT_TEMPLATE, Template
    from ops.__main__ import TEMPLATE_SCHEMAS_BEGIN, TEMPLATE_SCHEMAS_END, registry_block

    text = DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    block = text[text.index(TEMPLATE_SCHEMAS_BEGIN): text.index(TEMPLATE_SCHEMAS_END) + len(TEMPLATE_SCHEMAS_END)]
    assert block == registry_block(), "template.yaml's schema registry is stale: run `python -m ops schemas`"
    resources = Template.load(DEFAULT_TEMPLATE).resources
    in_registry = {r["Properties"]["SchemaName"]: json.loads(r["Properties"]["Content"])
                   for r in resources.values() if r["Type"] == "AWS::EventSchemas::Schema"}
    assert set(in_registry) == set(SCHEMAS)
    for kind, schema in in_registry.items():
        # a draft-04 schema of the whole event, whose detail is the consumer's schema
        jsonschema.Draft4Validator.check_schema(schema)
        assert {k: v for k, v in schema["properties"]["detail"].items()} == {
            k: v for k, v in SCHEMAS[kind].items() if k not in ("$schema", "$id")}


def test_the_registry_schemas_read_the_sample_events():
    from lifecycle.inbound import registry_schema

    sample = json.loads((ROOT / "events" / "inbound-batch.json").read_text())
    kinds = set()
    for record in sample["Records"]:
        event = json.loads(record["body"])
        if event.get("detail-type") in SCHEMAS:
            kinds.add(event["detail-type"])
            valid = jsonschema.Draft4Validator(registry_schema(event["detail-type"])).is_valid(event)
            assert valid == jsonschema.Draft7Validator(SCHEMAS[event["detail-type"]]).is_valid(event["detail"])
    assert len(kinds) >= 3  # the sample carries several kinds
