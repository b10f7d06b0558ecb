"""What DynamoDB TTL ended, read from the lifecycle table's stream: a notice whose deadline passed,
or a retention hold whose time is over (``campaign.settle_what_ttl_ended``). One function reads
both, so the stream has two readers (this and notify): DynamoDB Streams throttles a shard read
by more than two."""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock
from lifecycle.campaign import settle_what_ttl_ended
from lifecycle.membership import LifecycleChange
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.stream_batches import process_lifecycle_changes
from lifecycle.switch import notices_paused
from lifecycle.tracing import tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = Settings.from_env()
    store = Store.on_aws(settings)

    def on_change(change: LifecycleChange) -> None:
        done = settle_what_ttl_ended(store, change, clock.now(), settings.policy, notices_paused(settings))
        if done is not None:
            metrics.add_metric(name=done, unit="Count", value=1)

    return process_lifecycle_changes(event, context, on_change)
