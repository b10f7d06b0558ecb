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
