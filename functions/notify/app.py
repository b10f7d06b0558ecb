"""Lifecycle stream (INSERT, reminder MODIFY) -> notice, reminder and cancellation emails, billing event."""

from lifecycle import clock
from lifecycle.notifications import announce
from lifecycle.observability import logger, metrics
from lifecycle.repository import MembershipStore, SendLease
from lifecycle.settings import Settings
from lifecycle.stream_batches import process_lifecycle_changes
from lifecycle.tracing import tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    settings = Settings.from_env()
    store = MembershipStore(settings)
    now, seconds_left = clock.now(), context.get_remaining_time_in_millis() / 1000

    def on_change(change):
        # the lease lasts as long as this invocation can: a retry of the same record takes it back
        lease = SendLease.for_delivery(f"stream:{change.event_id}", now, seconds_left)
        for sent in announce(store, change, now, settings, lease):
            metrics.add_metric(name=f"Sent_{sent}", unit="Count", value=1)

    return process_lifecycle_changes(event, context, on_change)
