"""Applies the business's events from the inbound queue (``lifecycle.inbound``), the batch read
whole first. An event that breaks its schema is parked on the dead-letter queue with the
reason and changes nothing; one that fails for a reason a retry may cure (a change for a member
whose join is still on its way) is retried, and parked by SQS after five tries."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock, inbound
from lifecycle.adapters.sqs import SqsParking
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.tracing import tracer

processor = BatchProcessor(event_type=EventType.SQS)
METRIC_OF = {inbound.PARKED: "InboundEventsRejected", inbound.COALESCED: "InboundViewingsCoalesced",
             inbound.UNCHANGED: "InboundViewingsAlreadyRecorded"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = Settings.from_env()
    store, parking, now = Store.on_aws(settings), SqsParking(settings.inbound_dead_letter_queue_url), clock.now()
    batch = inbound.Batch({record["messageId"]: record["body"] for record in event.get("Records") or []})

    def apply(record: SQSRecord) -> str:
        outcome = batch.apply(store, parking, record.message_id, record.body, now, settings.policy)
        found = batch.events[record.message_id]
        name = METRIC_OF.get(outcome) or f"Inbound_{getattr(found, 'kind', 'event')}"
        metrics.add_metric(name=name, unit="Count", value=1)
        return outcome

    return process_partial_response(event=event, record_handler=apply, processor=processor, context=context)
