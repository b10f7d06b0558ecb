"""Sweeps one scan segment of a nightly run from its checkpoint, and hands it on through the
queue before its time runs out. One task per SQS message; a failed task is retried from the
segment's checkpoint."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle import clock
from lifecycle.errors import InvalidRequest
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.sweep.progress import SegmentTask, SweepProgress
from lifecycle.sweep.segments import run_report, sweep_segment
from lifecycle.tracing import tracer

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def sweep_task(record: SQSRecord) -> dict[str, Any]:
        settings = Settings.from_env()
        progress = SweepProgress(settings.sweep)
        try:
            task = SegmentTask.from_message(record.body)
            report = sweep_segment(
                Store.on_aws(settings),
                progress,
                task,
                clock.now(),
                settings,
                seconds_left=lambda: context.get_remaining_time_in_millis() / 1000,
            )
        except InvalidRequest as exc:  # the message fails; after five tries it parks on the dead-letter queue
            logger.error("sweep task refused", extra={"problem": str(exc), "message_id": record.message_id})
            raise
        metrics.add_metric(name="MembersScanned", unit="Count", value=report.scanned)
        metrics.add_metric(name="SweepReadUnits", unit="Count", value=report.read_units)
        metrics.add_metric(name="NoticesDeferred", unit="Count", value=report.deferred)
        metrics.add_metric(name="NoticeGuardTripped", unit="Count", value=int(report.tripped_guard))
        metrics.add_metric(name="NoticesPaused", unit="Count", value=int(report.notices_paused))
        for action, count in report.actions.items():
            metrics.add_metric(name=f"Sweep_{action}", unit="Count", value=count)
        logger.info("sweep segment turn ended", extra=report.as_dict())
        if report.run is not None:
            logger.info("sweep finished", extra=run_report(task.run_id, report.run))
        return report.as_dict()

    return process_partial_response(event=event, record_handler=sweep_task, processor=processor, context=context)
