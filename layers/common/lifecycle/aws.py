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


def forget_clients() -> None:
    """Drop cached clients (the local cloud calls this when its endpoint changes)."""
    client.cache_clear()
