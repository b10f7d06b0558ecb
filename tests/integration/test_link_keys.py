"""An operator's mistake in the link-signing secret's previous key never breaks the links signed
with the current one: the previous key is left out (and the mistake logged), every current link
still opens its page."""

from __future__ import annotations

import json

import pytest
import requests

from tests.stack import FIRST_SWEEP


def rotate_secret(stack, **previous) -> None:
    cloud = stack.cloud
    secret_id = cloud.resource("LinkSigningSecret")
    current = json.loads(cloud.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    cloud.client("secretsmanager").put_secret_value(
        SecretId=secret_id, SecretString=json.dumps({"current": current["current"], **previous})
    )


@pytest.mark.parametrize(
    "previous",
    [
        {"previous": "p" * 48, "previous_valid_until": "in two weeks"},  # an end date nobody can read
        {"previous": "p" * 48, "previous_valid_until": "2026-07-01"},  # no zone: which midnight?
        {"previous": "p" * 48},  # no end date at all
        {"previous": "short", "previous_valid_until": "2026-07-01T00:00:00Z"},  # a guessable key
    ],
)
def test_a_previous_key_that_cannot_be_used_leaves_every_current_link_working(stack, previous, caplog):
    # GIVEN a member with a notice and its link
    stack.add_inactive_member("m-keys", locale="de-DE")
    stack.run_until(FIRST_SWEEP)
    link = stack.link("m-keys", "keep")
    # WHEN an operator writes a previous key the product cannot trust into the secret
    rotate_secret(stack, **previous)
    # THEN the link still opens its page, and keeping through it works
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and 'value="keep"' in page.text
    kept = requests.post(link.split("?")[0], data={"choice": "keep"}, timeout=30)
    assert kept.status_code == 200
    assert stack.member("m-keys")["notice_outcome"] == "kept"
    # AND the mistake is in the logs, where an operator looks
    assert any("link-signing secret" in record.getMessage() for record in caplog.records)
