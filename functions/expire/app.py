"""What DynamoDB TTL ended, read from the lifecycle table's stream: a notice whose deadline passed
(keep the member if they watched, else cancel), or a retention hold whose time is over (delete
the member's kept data for good). One function reads both, so the stream has two readers (this
and notify): DynamoDB Streams throttles a shard read by more than two."""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock
from lifecycle.campaign import purge_retained_data, settle_notice
from lifecycle.errors import InvalidRequest
from lifecycle.models import NOTICE
from lifecycle.notifications import LifecycleChange
from lifecycle.observability import logger, metrics
from lifecycle.repository import MembershipStore
from lifecycle.settings import Settings
from lifecycle.stream_batches import process_lifecycle_changes
from lifecycle.tracing import tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    settings = Settings.from_env()
    store = MembershipStore(settings)

    def on_change(change: LifecycleChange) -> None:
        if change.record == NOTICE:
            if change.old is None or change.old.notice_id is None:
                raise InvalidRequest("an expired notice record needs an OldImage with notice_id")
            outcome = settle_notice(store, change.member_id, change.old.notice_id, clock.now(), settings.policy)
            if outcome is not None:
                metrics.add_metric(name=f"Settled_{outcome.value}", unit="Count", value=1)
            return
        if change.old is None or change.old.cancelled_at is None:
            raise InvalidRequest("an expired retention hold record needs an OldImage with cancelled_at")
        if purge_retained_data(store, change.member_id, change.old.cancelled_at, clock.now()):
            metrics.add_metric(name="Purged", unit="Count", value=1)

    return process_lifecycle_changes(event, context, on_change)
