"""Scheduled sweep of the activity table: notices, reminders, overdue notices, expired retention."""

from lifecycle import clock
from lifecycle.campaign import sweep
from lifecycle.errors import InvalidRequest
from lifecycle.observability import logger, metrics, tracer
from lifecycle.repository import MembershipStore
from lifecycle.settings import Settings


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    if not isinstance(event, dict):
        raise InvalidRequest("expected the schedule's JSON object as the event")
    settings = Settings.from_env()
    report = sweep(MembershipStore(settings), clock.now(), settings)
    metrics.add_metric(name="MembersScanned", unit="Count", value=report.scanned)
    metrics.add_metric(name="NoticeGuardTripped", unit="Count", value=int(report.guard_tripped))
    metrics.add_metric(name="NoticesDeferred", unit="Count", value=report.deferred)
    for action, count in report.actions.items():
        metrics.add_metric(name=f"Sweep_{action}", unit="Count", value=count)
    logger.info("sweep finished", extra=report.as_dict())
    return report.as_dict()
