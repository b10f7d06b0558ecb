"""A deployed stack as an operator's command reaches it: its outputs (the names ``sam deploy``
gave its tables and queues) and parameters, through CloudFormation, on AWS or on another
endpoint such as the local cloud's moto."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

NO_CREDENTIALS = "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"


class StackUnreadable(RuntimeError):
    """The stack cannot be read, or lacks what a command needs; the message says which, in one line."""


@dataclass(frozen=True)
class DeployedStack:
    name: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]

    def output(self, *names: str) -> list[str]:
        """The values of these outputs; ``StackUnreadable`` naming every one that is missing."""
        missing = [name for name in names if not self.outputs.get(name)]
        if missing:
            raise StackUnreadable(f"the stack {self.name} has no {', '.join(missing)} output "
                                  "(deployed from another template?)")
        return [self.outputs[name] for name in names]


def describe(stack_name: str, endpoint_url: str | None = None) -> DeployedStack:
    try:
        stack = boto3.client("cloudformation", endpoint_url=endpoint_url).describe_stacks(
            StackName=stack_name)["Stacks"][0]
    except NoCredentialsError:
        raise StackUnreadable(NO_CREDENTIALS) from None
    except ClientError as problem:
        raise StackUnreadable(f"cannot read the stack {stack_name}: {error_message(problem)}") from None
    except BotoCoreError as problem:
        raise StackUnreadable(f"cannot read the stack {stack_name}: {problem}") from None
    return DeployedStack(
        stack_name,
        {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs") or ()},
        {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters") or ()
         if "ParameterKey" in item},
    )


def error_message(problem: ClientError) -> str:
    error: Mapping[str, Any] = problem.response.get("Error", {})
    return str(error.get("Message") or error.get("Code") or problem)


def use_endpoint(endpoint_url: str | None) -> None:
    """Point the layer's own clients (which read ``AWS_ENDPOINT_URL``) where the command points."""
    from lifecycle.aws import forget_clients

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    forget_clients()


def endpoint_argument(parser: Any) -> None:
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="another AWS endpoint, e.g. the local cloud's moto (default: $AWS_ENDPOINT_URL)")
