"""SES bounce and complaint events (through EventBridge) -> no more email to that address."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lifecycle.email_feedback import feedback_from_ses_event, record_email_feedback
from lifecycle.observability import logger, metrics
from lifecycle.settings import Settings
from lifecycle.store import Store
from lifecycle.tracing import tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    feedback = feedback_from_ses_event(event)
    if feedback is None:
        return {"recorded": False, "why": "transient bounce"}
    recorded = record_email_feedback(Store.on_aws(Settings.from_env()), feedback)
    metrics.add_metric(name=f"Email_{feedback.status}", unit="Count", value=1)
    logger.info(
        "email feedback recorded",
        extra={"member_id": feedback.member_id, "status": feedback.status, "known_member": recorded},
    )
    return {"recorded": recorded, "member_id": feedback.member_id, "status": feedback.status}
