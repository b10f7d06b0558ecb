"""AWS clients, created lazily and once per process (a warm Lambda reuses them).

Nothing connects at import time; ``AWS_ENDPOINT_URL`` (set by the local cloud) points every
client, PynamoDB's included, at the local moto server.
"""

from __future__ import annotations

from functools import cache

import boto3


@cache
def client(service: str):
    return boto3.session.Session().client(service)


@cache
def secrets():
    """Powertools' secrets provider on our client: it caches values for ``max_age`` seconds."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


def forget_clients() -> None:
    """Drop cached clients (the local cloud calls this when its endpoint changes)."""
    client.cache_clear()
    secrets.cache_clear()
