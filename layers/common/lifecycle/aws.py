"""AWS clients, created lazily and once per process (a warm Lambda reuses them).

Nothing connects at import time; ``AWS_ENDPOINT_URL`` (set by the local cloud) points every
client, PynamoDB's included, at the local moto server.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import boto3

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

# The services the product calls: boto3-stubs types ``client`` for literal service names only.
Service = Literal["dynamodb", "events", "secretsmanager", "ses", "sqs", "ssm"]


@cache
def client(service: Service) -> Any:  # Any: no mypy-boto3 service package is installed to type it
    return boto3.session.Session().client(service)


@cache
def secrets() -> SecretsProvider:
    """Powertools' secrets provider on our client: it caches values for ``max_age`` seconds."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


@cache
def parameters() -> SSMProvider:
    """Powertools' SSM Parameter Store provider on our client (values cached for ``max_age``)."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=client("ssm"))


def forget_clients() -> None:
    """Drop cached clients, PynamoDB's included (a process that moves to another endpoint,
    such as a test that starts a new local cloud, calls this)."""
    from lifecycle.models import LifecycleRecord, LinkRecord, MemberDataRecord, MemberRecord

    client.cache_clear()
    secrets.cache_clear()
    parameters.cache_clear()
    for model in (MemberRecord, LifecycleRecord, MemberDataRecord, LinkRecord):
        model._connection = None
