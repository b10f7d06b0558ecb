"""LinkKeys on AWS Secrets Manager, read through Powertools' parameters utility (cached for five
minutes, so a rotated key reaches every warm function within that)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from lifecycle import aws
from lifecycle.errors import DeliveryFailed

CACHE_SECONDS = 300


class SecretsManagerLinkKeys:
    def __init__(self, secret_id: str):
        self.secret_id = secret_id

    def secret(self) -> object:
        try:
            return aws.secrets().get(self.secret_id, transform="json", max_age=CACHE_SECONDS)
        except (GetParameterError, TransformParameterError) as exc:
            raise DeliveryFailed("could not read the link-signing secret") from exc
