"""A deployed stack as an operator's command reaches it: its outputs (the names ``sam deploy``
gave its tables and queues), through CloudFormation, on AWS or on another endpoint such as the
local cloud's moto."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError


class StackUnreadable(RuntimeError):
    """The stack cannot be read, or lacks an output a command needs (the message says which)."""


def stack_outputs(stack_name: str, endpoint_url: str | None = None) -> dict[str, str]:
    try:
        stack = boto3.client("cloudformation", endpoint_url=endpoint_url).describe_stacks(
            StackName=stack_name)["Stacks"][0]
    except (BotoCoreError, ClientError) as problem:
        raise StackUnreadable(f"cannot read the stack {stack_name}: {problem}") from problem
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def output(outputs: dict[str, str], name: str, stack_name: str) -> str:
    if not outputs.get(name):
        raise StackUnreadable(f"the stack {stack_name} has no {name} output (deployed from an older template?)")
    return outputs[name]


def use_endpoint(endpoint_url: str | None) -> None:
    """Point the layer's own clients (which read ``AWS_ENDPOINT_URL``) where the command points."""
    from lifecycle.aws import forget_clients

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    forget_clients()


def endpoint_argument(parser: Any) -> None:
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="another AWS endpoint, e.g. the local cloud's moto (default: $AWS_ENDPOINT_URL)")
