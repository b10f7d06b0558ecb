"""Lifecycle stream (INSERT, reminder MODIFY) -> notice, reminder and cancellation emails, billing event."""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock
from lifecycle.membership import LifecycleChange, SendLease
from lifecycle.notifications import announce
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.stream_batches import process_lifecycle_changes
from lifecycle.tracing import tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = Settings.from_env()
    store = Store.on_aws(settings)
    now, seconds_left = clock.now(), context.get_remaining_time_in_millis() / 1000

    def on_change(change: LifecycleChange) -> None:
        # the lease lasts as long as this invocation can: a retry of the same record takes it back
        lease = SendLease.for_delivery(f"stream:{change.event_id}", now, seconds_left)
        for sent in announce(store, change, now, settings, lease):
            metrics.add_metric(name=f"Sent_{sent}", unit="Count", value=1)

    return process_lifecycle_changes(event, context, on_change)
