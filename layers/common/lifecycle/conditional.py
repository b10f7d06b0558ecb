"""One conditional write to DynamoDB, the way every write here is made: applied, or refused
because its condition no longer holds (the state moved on; the caller says what that means),
or failed for another reason (a ``DeliveryFailed`` naming what was being done, so the event
is retried). PynamoDB and the plain client report a failed condition differently; this is the
one place that knows both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PynamoDBException

from lifecycle.errors import DeliveryFailed

CONDITION_FAILED = "ConditionalCheckFailedException"


def conditional_write(write: Callable[[], Any], doing: str) -> dict[str, Any] | None:
    """``write()``'s answer (an empty one when it returns nothing), or None when DynamoDB refused
    it for its condition. ``doing`` completes "… failed", e.g. "recording activity"."""
    try:
        return write() or {}
    except PynamoDBException as exc:
        code = exc.cause_response_code
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
    if code == CONDITION_FAILED:
        return None
    raise DeliveryFailed(f"{doing} failed: {code}")
