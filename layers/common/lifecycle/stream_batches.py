"""How every stream function walks its batch: records one by one with Powertools'
``BatchProcessor``, reporting only the failed ones (``ReportBatchItemFailures``), so one bad
record is retried (and, past the template's retry limit, parked on the failure queue) without
holding back the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle.adapters.dynamodb import lifecycle_change
from lifecycle.errors import InvalidRequest
from lifecycle.membership import LifecycleChange
from lifecycle.observability import logger


def process_lifecycle_changes(
    event: Any, context: LambdaContext, on_change: Callable[[LifecycleChange], Any]
) -> PartialItemFailureResponse:
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise InvalidRequest("expected a DynamoDB stream event: an object with a 'Records' list")

    def handle(record: DynamoDBRecord) -> Any:
        try:
            change = lifecycle_change(record.raw_event)
        except InvalidRequest as problem:
            # it will fail on every retry too: say why once here, where operators look first
            logger.error("malformed stream record", extra={"problem": str(problem), "event_id": record.event_id})
            raise
        return on_change(change)

    return process_partial_response(
        event=event,
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
        context=context,
    )
