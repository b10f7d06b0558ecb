"""Starts the nightly sweep: sizes the activity table, records the run, queues one task per
scan segment for the segment workers (functions/sweep_segment)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock
from lifecycle.errors import InvalidRequest
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.sweep.progress import SweepProgress, run_id_for
from lifecycle.sweep.segments import start_sweep
from lifecycle.tracing import tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise InvalidRequest("expected the schedule's JSON object as the event")
    settings = Settings.from_env()
    now = clock.now()
    run_id = run_id_for(event.get("scheduled_time"), now)
    started = start_sweep(Store.on_aws(settings), SweepProgress(settings.sweep), run_id, now, settings)
    metrics.add_metric(name="SweepSegmentsQueued", unit="Count", value=started["segments"])
    # every night the guard holds, so its alarm stays raised until an operator releases it
    metrics.add_metric(name="NoticeGuardTripped", unit="Count", value=int(started["guard_held"]))
    metrics.add_metric(name="NoticesPaused", unit="Count", value=int(started["notices_paused"]))
    return started
