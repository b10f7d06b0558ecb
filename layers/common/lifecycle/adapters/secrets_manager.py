"""LinkKeys and AddressKeys on AWS Secrets Manager, read through Powertools' parameters utility
(cached for five minutes, so a rotated link key reaches every warm function within that)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from lifecycle import aws
from lifecycle.errors import DeliveryFailed

CACHE_SECONDS = 300


class _JsonSecret:
    what = "the secret"

    def __init__(self, secret_id: str):
        self.secret_id = secret_id

    def secret(self) -> object:
        try:
            return aws.secrets().get(self.secret_id, transform="json", max_age=CACHE_SECONDS)
        except (GetParameterError, TransformParameterError) as exc:
            raise DeliveryFailed(f"could not read {self.what}") from exc


class SecretsManagerLinkKeys(_JsonSecret):
    what = "the link-signing secret"


class SecretsManagerAddressKeys(_JsonSecret):
    what = "the address-hash secret"
