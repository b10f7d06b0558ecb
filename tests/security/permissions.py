"""The IAM permissions a handler's AWS calls need, as the least-privilege tests count them.

:func:`record_calls` adds a hook to ``local.aws_calls`` while its block is open, and notes every
call a function's handler makes as the permissions it needs - the action and the resource's
ARN::

    with record_calls() as calls:
        cloud.invoke("SweepFunction", {"job": "nightly-sweep"})
    calls.permissions_of("SweepFunction")
    # {Permission("dynamodb:Scan", "arn:aws:dynamodb:...:table/membership-activity-test"), ...}

A call is noted before it is made: IAM authorizes it whatever its outcome. Calls that need more
than one permission are expanded: a ``TransactWriteItems`` needs ``dynamodb:PutItem``,
``UpdateItem``, ``DeleteItem`` or ``ConditionCheckItem`` on each item's table (there is no
``dynamodb:TransactWriteItems`` action), an SES send needs its action on the sending identity
and on the configuration set when one is named.
"""
from __future__ import annotations

import email
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlparse

from local import aws_calls
from local.aws_calls import HandlerCall
from local.template import ACCOUNT_ID, PARTITION, REGION

# botocore service names whose IAM action prefix is another one
_IAM_PREFIX = {"dynamodbstreams": "dynamodb", "sesv2": "ses"}
# the permission each kind of TransactWriteItems item needs
_TRANSACT_WRITE_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_SES_SENDS = {"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"}
ANY_RESOURCE = "*"  # the call names no resource (IAM then needs Resource "*")


@dataclass(frozen=True, order=True)
class Permission:
    """One IAM permission: an action on a resource ARN."""

    action: str
    resource: str


@dataclass(frozen=True, order=True)
class AwsCall:
    """A permission one function's handler needed, and the API call that needed it."""

    function: str  # the function's logical id
    operation: str  # the API call as made, e.g. "dynamodb:TransactWriteItems"
    permission: Permission


class CallLog:
    """The calls noted while one :func:`record_calls` block was open, with how often each came."""

    def __init__(self) -> None:
        self._counts: Counter[AwsCall] = Counter()
        self._lock = threading.Lock()

    def note(self, call: AwsCall) -> None:
        with self._lock:
            self._counts[call] += 1

    @property
    def calls(self) -> Counter[AwsCall]:
        with self._lock:
            return Counter(self._counts)

    @property
    def functions(self) -> set[str]:
        return {call.function for call in self.calls}

    def permissions_of(self, function: str) -> set[Permission]:
        return {call.permission for call in self.calls if call.function == function}

    def operations_of(self, function: str) -> set[str]:
        return {call.operation for call in self.calls if call.function == function}


# ---------------------------------------------------------------------------- IAM terms


@dataclass(frozen=True)
class ArnBuilder:
    """ARNs of the resources calls name, in one partition, region and account."""

    partition: str = PARTITION
    region: str = REGION
    account: str = ACCOUNT_ID

    def _arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        where = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{where}:{self.account}:{resource}"

    def table(self, name_or_arn: str, index: str | None = None) -> str:
        arn = name_or_arn if name_or_arn.startswith("arn:") else self._arn("dynamodb", f"table/{name_or_arn}")
        return f"{arn}/index/{index}" if index else arn

    def event_bus(self, name_or_arn: str | None) -> str:
        name_or_arn = name_or_arn or "default"
        return name_or_arn if name_or_arn.startswith("arn:") else self._arn("events", f"event-bus/{name_or_arn}")

    def secret(self, id_or_arn: str) -> str:
        # a name cannot give the full ARN (AWS appends a random suffix): callers here pass the ARN
        return id_or_arn if id_or_arn.startswith("arn:") else self._arn("secretsmanager", f"secret:{id_or_arn}")

    def ses_identity(self, identity_or_arn: str) -> str:
        if identity_or_arn.startswith("arn:"):
            return identity_or_arn
        return self._arn("ses", f"identity/{parseaddr(identity_or_arn)[1] or identity_or_arn}")

    def ses_configuration_set(self, name: str) -> str:
        return self._arn("ses", f"configuration-set/{name}")

    def ssm_parameter(self, name: str) -> str:
        # a name with a leading slash follows "parameter" directly; one without gets a slash
        return name if name.startswith("arn:") else self._arn("ssm", f"parameter/{name.lstrip('/')}")

    def queue(self, url: str) -> str:
        account, _, name = urlparse(url).path.strip("/").partition("/")
        return f"arn:{self.partition}:sqs:{self.region}:{account or self.account}:{name}"


def permissions_needed(service: str, operation: str, params: Mapping[str, Any],
                       arns: ArnBuilder | None = None) -> list[Permission]:
    """The IAM permissions an API call needs: ``service`` is botocore's service name
    (``"dynamodb"``), ``operation`` the API operation (``"TransactWriteItems"``), ``params`` its
    request. Calls of services or shapes not modelled here need ``<prefix>:<operation>`` on the
    resource named by a ``TableName``, ``TopicArn``, ``QueueUrl`` ..., else on ``"*"``."""
    arns = arns or ArnBuilder()
    prefix = _IAM_PREFIX.get(service, service)
    if service == "dynamodb":
        return _dynamodb(operation, params, arns)
    if prefix == "ses" and operation in _SES_SENDS:
        return _ses_send(prefix, operation, params, arns)
    action = f"{prefix}:{operation}"
    if service == "events" and operation == "PutEvents":
        buses = dict.fromkeys(arns.event_bus(entry.get("EventBusName")) for entry in params.get("Entries", []))
        return [Permission(action, bus) for bus in buses]
    if service == "secretsmanager" and "SecretId" in params:
        return [Permission(action, arns.secret(params["SecretId"]))]
    if service == "ssm" and "Name" in params:
        return [Permission(action, arns.ssm_parameter(params["Name"]))]
    if service == "sqs" and "QueueUrl" in params:
        # a batch call is allowed by its single-message action (IAM has no SendMessageBatch)
        return [Permission(action.removesuffix("Batch"), arns.queue(params["QueueUrl"]))]
    for name in ("TopicArn", "StreamArn", "ResourceArn"):
        if isinstance(params.get(name), str):
            return [Permission(action, params[name])]
    return [Permission(action, ANY_RESOURCE)]


def _dynamodb(operation: str, params: Mapping[str, Any], arns: ArnBuilder) -> list[Permission]:
    if operation == "TransactWriteItems":
        needed = []
        for item in params.get("TransactItems", []):
            for kind, request in item.items():
                action = _TRANSACT_WRITE_ACTIONS.get(kind, f"dynamodb:{kind}")
                needed.append(Permission(action, arns.table(request["TableName"])))
        return list(dict.fromkeys(needed))
    if operation == "TransactGetItems":
        tables = dict.fromkeys(arns.table(item["Get"]["TableName"]) for item in params.get("TransactItems", []))
        return [Permission("dynamodb:GetItem", table) for table in tables]
    action = f"dynamodb:{operation}"
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Permission(action, arns.table(table)) for table in params.get("RequestItems", {})]
    if "TableName" in params:
        return [Permission(action, arns.table(params["TableName"], params.get("IndexName")))]
    return [Permission(action, ANY_RESOURCE)]


def _ses_send(prefix: str, operation: str, params: Mapping[str, Any], arns: ArnBuilder) -> list[Permission]:
    action = f"{prefix}:{operation}"
    identity = params.get("SourceArn") or params.get("FromArn") or params.get("Source")
    if identity is None and operation == "SendRawEmail":  # the message's From header names the sender
        raw = params.get("RawMessage", {}).get("Data", b"")
        message = email.message_from_bytes(raw) if isinstance(raw, bytes) else email.message_from_string(raw)
        identity = message.get("From")
    needed = [Permission(action, arns.ses_identity(identity) if identity else ANY_RESOURCE)]
    if params.get("ConfigurationSetName"):
        needed.append(Permission(action, arns.ses_configuration_set(params["ConfigurationSetName"])))
    return needed


@contextmanager
def record_calls() -> Iterator[CallLog]:
    """Notes, in the log it yields, the permissions each function's calls need while the block is open."""
    log = CallLog()

    def note(call: Callable[[], Any], what: HandlerCall) -> Any:
        arns = ArnBuilder(partition=what.partition, region=what.region or REGION)
        for permission in permissions_needed(what.service, what.operation, what.params, arns):
            log.note(AwsCall(what.function, f"{what.service}:{what.operation}", permission))
        return call()

    aws_calls.add_call_hook(note)
    try:
        yield log
    finally:
        aws_calls.remove_call_hook(note)
