"""Shared constants and helpers of the local cloud's tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.template import DEFAULT_TEMPLATE, Template

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "template.yaml"
RECORDER_DIR = FIXTURES / "functions" / "recorder"
START = datetime(2025, 1, 31, 0, 0, tzinfo=UTC)  # a Friday, the last day of a month


def delivered_batches(cloud: Any, function: str) -> list[list[str]]:
    """The sort keys of the records each invocation of a stream function received, in order."""
    return [
        [record["dynamodb"]["Keys"]["sk"]["S"] for record in invocation.event["Records"]]
        for invocation in cloud.invocations_of(function)
    ]


def real_template_with_recorders() -> Template:
    """The project's template.yaml as it is (tables, streams, filters, schedules), except that
    every function runs the recorder fixture: tests about the real wiring then do not depend
    on the real handlers, which are written elsewhere."""
    template = Template.load(DEFAULT_TEMPLATE)
    body = copy.deepcopy(template.body)
    for resource in body["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = str(RECORDER_DIR)
            resource["Properties"]["Handler"] = "app.handler"
    return Template(body, template.path)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())
