"""Applies the business's events from the inbound queue (``lifecycle.inbound``), each batch at
most once per member's viewing. An event that breaks its schema is parked on the dead-letter
queue with the reason and changes nothing; one that fails for a reason a retry may cure (a
change for a member whose join is still on its way) is retried, and parked after five tries."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock, inbound
from lifecycle.adapters.sqs import SqsParking
from lifecycle.errors import InvalidRequest
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.tracing import tracer

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = Settings.from_env()
    store, parking, now = Store.on_aws(settings), SqsParking(settings.inbound_dead_letter_queue_url), clock.now()
    parsed: dict[str, inbound.InboundEvent | inbound.InvalidEvent] = {}
    for record in event.get("Records") or []:
        try:
            parsed[record["messageId"]] = inbound.parse(record["body"])
        except inbound.InvalidEvent as exc:
            parsed[record["messageId"]] = exc
    latest = inbound.latest_viewings((mid, e) for mid, e in parsed.items() if isinstance(e, inbound.InboundEvent))

    def apply(record: SQSRecord) -> str:
        found = parsed[record.message_id]
        if isinstance(found, inbound.InboundEvent) and found.kind == "ViewingRecorded" \
                and record.message_id not in latest:
            metrics.add_metric(name="InboundViewingsCoalesced", unit="Count", value=1)
            return "a later viewing of the member in this batch says it"
        try:
            if isinstance(found, inbound.InvalidEvent):
                raise found
            done = inbound.apply(store, found, now, settings.policy)
        except InvalidRequest as invalid:  # it broke its schema, or says what cannot be
            kind = found.kind if isinstance(found, inbound.InboundEvent) else None
            parking.park(record.body, str(invalid), kind)
            metrics.add_metric(name="InboundEventsRejected", unit="Count", value=1)
            logger.warning("inbound event parked", extra={"reason": str(invalid), "message_id": record.message_id})
            return "parked"
        metrics.add_metric(name=f"Inbound_{found.kind}", unit="Count", value=1)
        return done

    return process_partial_response(event=event, record_handler=apply, processor=processor, context=context)
