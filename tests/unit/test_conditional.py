"""One conditional write: applied, refused for its condition, or failed for another reason, in
the two ways DynamoDB's answers arrive here (the plain client's, and PynamoDB's)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, UpdateError

from lifecycle.conditional import conditional_write
from lifecycle.errors import DeliveryFailed


def refusal(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "..."}}, "UpdateItem")


def raising(error: Exception):
    def write():
        raise error

    return write


def test_an_applied_write_gives_its_answer_and_an_answer_of_nothing_is_still_applied():
    assert conditional_write(lambda: {"Attributes": {"pages": {"N": "2"}}}, "moving") == {
        "Attributes": {"pages": {"N": "2"}}
    }
    assert conditional_write(lambda: None, "saving") == {}


@pytest.mark.parametrize(
    "error",
    [
        refusal("ConditionalCheckFailedException"),
        UpdateError("Failed to update item", cause=refusal("ConditionalCheckFailedException")),
        PutError("Failed to put item", cause=refusal("ConditionalCheckFailedException")),
    ],
    ids=["client", "pynamodb update", "pynamodb put"],
)
def test_a_write_refused_for_its_condition_is_none(error):
    assert conditional_write(raising(error), "recording activity") is None


@pytest.mark.parametrize(
    "error",
    [
        refusal("ProvisionedThroughputExceededException"),
        UpdateError("Failed to update item", cause=refusal("ValidationException")),
    ],
    ids=["client", "pynamodb"],
)
def test_any_other_failure_names_what_was_being_done_and_the_code(error):
    with pytest.raises(DeliveryFailed) as failed:
        conditional_write(raising(error), "recording activity")
    assert str(failed.value).startswith("recording activity failed: ")
    assert str(failed.value).endswith(("ProvisionedThroughputExceededException", "ValidationException"))
