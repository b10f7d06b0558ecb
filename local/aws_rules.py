"""AWS rules that moto (5.2) does not enforce, enforced on the local cloud's moto server.

moto accepts calls AWS refuses: SES message tags and destination addresses of any shape, items
measured its own way, EventBridge entries of any size, SQS bodies measured in characters, and
it ignores a TransactWriteItems ``ClientRequestToken``. Code that passes locally would then fail
in AWS. This module owns those rules: each one wraps the moto *response* handler of the call
(the code behind the moto server's HTTP endpoint), so every client of the local cloud - boto3
or PynamoDB, in any thread - meets it, and it refuses with one of moto's own exception classes
(or a small subclass), which moto's server serializes for the service's protocol: the error
code, HTTP status and a message like AWS's.

- SES ``SendRawEmail`` (the only send the template's roles allow): message tag characters and
  length, 7-bit ASCII destination addresses of SES's syntax, the 10 MB message size of the v1 API.
- DynamoDB ``PutItem`` and ``TransactWriteItems``: the 400 KB item size counted the DynamoDB
  way, the 4 MB aggregate of a transaction, and ``ClientRequestToken`` idempotency: 36
  characters at most, a replay within 10 minutes changes nothing, the same token on another
  request is ``IdempotentParameterMismatchException``. The window runs on the clock given to
  :func:`install` (the local cloud's virtual clock).
- EventBridge ``PutEvents``: the 256 KB entry size, counted as EventBridge counts it.
- SQS ``SendMessage`` / ``SendMessageBatch``: the queue's ``MaximumMessageSize`` in UTF-8 bytes,
  message attributes included, and the 1 MiB batch.

Each rule cites the AWS page it comes from; a message whose exact AWS wording could not be
confirmed says so. :func:`install` and :func:`uninstall` are called by ``LocalCloud.start`` /
``stop``. Already enforced by moto and not repeated here: 50 SES recipients, 100 transaction
actions, 10 PutEvents entries, 10 batch entries.
"""

from __future__ import annotations

import base64
import binascii
import email
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses, parseaddr
from typing import Any

from moto.dynamodb.exceptions import (
    DynamodbException,
    ItemSizeTooLarge,
    MockValidationException,
    TransactionCanceledException,
)
from moto.dynamodb.responses import DynamoHandler
from moto.events.exceptions import ValidationException as EventsValidationException
from moto.events.responses import EventsHandler
from moto.ses.exceptions import InvalidParameterValue as SesInvalidParameterValue
from moto.ses.responses import EmailResponse
from moto.sqs.exceptions import BatchRequestTooLong
from moto.sqs.exceptions import InvalidParameterValue as SqsInvalidParameterValue
from moto.sqs.responses import SQSResponse

from local.dynamodb_sizes import item_bytes

# ============================================================================ SES

# "Service quotas in Amazon SES" (https://docs.aws.amazon.com/ses/latest/dg/quotas.html):
# "Using the SES v1 API - Maximum message size (including attachments): 10 MB per message (after
# base64 encoding)". For SendRawEmail the message arrives MIME-encoded (attachments already in
# base64), and AWS re:Post ("ses-sending-rate-quota-exceeded") says the v1 limit applies after
# MIME encoding: the raw message's length is what is measured, not the request's base64 of it.
SES_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# API Reference "MessageTag" (https://docs.aws.amazon.com/ses/latest/APIReference/API_MessageTag.html):
# Name and Value "Contain only ASCII letters (a-z, A-Z), numbers (0-9), underscores (_), or dashes
# (-)" and "Contain 256 characters or fewer". (An empty value is not forbidden by the page.)
SES_MAX_TAG_LENGTH = 256
_TAG_CHARACTERS = re.compile(r"[A-Za-z0-9_-]*")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# JavaMail's InternetAddress specials, less the dot: SES's address messages are JavaMail's
_SPECIALS_NO_DOT = '()<>,;:\\"[]@'
_DNS_LABEL_MAX = 63
_WSP = " \t\r\n"  # only ASCII whitespace is folding: any other character is part of the address


class SesRefused(SesInvalidParameterValue):
    """SES's ``InvalidParameterValue`` (HTTP 400, query protocol)."""


def check_message_tags(tags: list[Mapping[str, Any]] | None) -> None:
    """Refuses tags SES refuses (API Reference "MessageTag")."""
    for tag in tags or []:
        for part in ("Name", "Value"):
            text = tag.get(part)
            if not isinstance(text, str):
                continue
            # the wording is modelled on SES's answer to a bad tag; its exact text is unconfirmed
            if not _TAG_CHARACTERS.fullmatch(text):
                raise SesRefused(f"Invalid tag {part.lower()} {_xml_safe(text)}: only alphanumeric ASCII "
                                 "characters, '_', and '-' are allowed.")
            if len(text) > SES_MAX_TAG_LENGTH:
                raise SesRefused(f"Invalid tag {part.lower()} {text}: it must be {SES_MAX_TAG_LENGTH} characters "
                                 "or fewer.")


def _xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry (the answer is XML) written as ``\\uXXXX``."""
    return _NOT_XML.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def address_problem(address: str) -> str | None:
    """Why SES refuses ``address`` (one mailbox: ``a@b.example`` or ``Name <a@b.example>``), or
    None when it accepts it.

    API Reference "Destination" (https://docs.aws.amazon.com/ses/latest/APIReference/API_Destination.html):
    "Amazon SES does not support the SMTPUTF8 extension, as described in RFC6531. For this reason,
    the email address string must be 7-bit ASCII. If you want to send to or from email addresses
    that contain Unicode characters in the domain part of an address, you must encode the domain
    using Punycode." The syntax checks and their messages are those of JavaMail's
    ``InternetAddress`` (strict), which is what SES's answers quote ("Missing final '@domain'",
    "Missing local name", "Local address contains illegal character", "Domain contains illegal
    character", "Local address contains control or whitespace" were all seen from SES); on top
    of them the address must be ASCII and the domain dot-separated DNS labels. The messages for
    non-ASCII characters and for bad labels are ours (unconfirmed)."""
    spec = _addr_spec(address)
    problem, at = _javamail_check(spec)
    if problem:
        return problem
    local, domain = spec[:at], spec[at + 1 :]
    if not local.isascii():
        return "Local address contains illegal character"
    if not domain.isascii():
        return "Domain contains illegal character"
    for label in domain.split("."):
        if len(label) > _DNS_LABEL_MAX:
            return f"Domain label {label} is longer than {_DNS_LABEL_MAX} characters"
        if label.startswith("-") or label.endswith("-"):
            return f"Domain label {label} starts or ends with a hyphen"
    return None


def check_destinations(addresses: list[str]) -> None:
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise SesRefused(problem)


def header_addresses(value: str) -> list[str]:
    """The addresses of a To/Cc/Bcc header value (quotes, comments and groups read by the
    standard library's RFC 5322 parser); a mailbox it cannot read comes back empty."""
    return [address for _, address in getaddresses([value])]


def _addr_spec(mailbox: str) -> str:
    """The address of one mailbox (``a@b.example`` or ``Name <a@b.example>``)."""
    return parseaddr(mailbox)[1] if "<" in mailbox or "(" in mailbox else mailbox.strip(_WSP)


def _javamail_check(address: str) -> tuple[str | None, int]:
    """JavaMail's ``InternetAddress.checkAddress(address, routeAddr=true, validate=true)``, minus
    domain literals (SES wants labels): what is wrong, else None and where the domain's @ is."""
    problem, at = _javamail_local_part(address)
    if problem:
        return problem, at
    domain = address[at + 1 :]
    if not domain:
        return "Missing domain", at
    if domain.startswith("."):
        return "Domain starts with dot", at
    last = ""
    for char in domain:
        if char <= " " or char == "\x7f":
            return "Domain contains control or whitespace", at
        if not (char.isalnum() or char in "-."):
            return "Domain contains illegal character", at
        if char == "." and last == ".":
            return "Domain contains dot-dot", at
        last = char
    if last == ".":
        return "Domain ends with dot", at
    return None, at


def _javamail_local_part(address: str) -> tuple[str | None, int]:
    """The local part's checks of ``checkAddress``: what is wrong, and where the @ after it is."""
    if not address:
        return "Empty address", -1
    in_quote, char = False, ""
    for index, current in enumerate(address):
        last, char = char, current
        if char == "\\" or last == "\\":
            continue
        problem = None
        if char == '"':
            if in_quote and index + 1 < len(address) and address[index + 1] != "@":
                problem = "Quote not at end of local address"
            elif not in_quote and index != 0:
                problem = "Quote not at start of local address"
            in_quote = not in_quote
        elif char == "\r" and index + 1 < len(address) and address[index + 1] != "\n":
            problem = "Quoted local address contains CR without LF"
        elif char == "\n" and index + 1 < len(address) and address[index + 1] not in " \t":
            problem = "Quoted local address contains newline without whitespace"
        elif in_quote:
            continue
        elif char == "." and index == 0:
            problem = "Local address starts with dot"
        elif char == "." and last == ".":
            problem = "Local address contains dot-dot"
        elif char == "@":
            if index == 0:
                return "Missing local name", index
            if last == ".":
                return "Local address ends with dot", index
            return None, index
        elif char <= " " or char == "\x7f":
            problem = "Local address contains control or whitespace"
        elif char in _SPECIALS_NO_DOT:
            problem = "Local address contains illegal character"
        if problem:
            return problem, -1
    return ("Unterminated quote" if in_quote else "Missing final '@domain'"), -1


def _send_raw_email(self: EmailResponse) -> Any:
    raw = self._get_param("RawMessage.Data") or b""
    raw_bytes = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    if len(raw_bytes) > SES_MAX_MESSAGE_BYTES:
        # SES's own answer, as seen from SES (quotas page above for the limit)
        raise SesRefused(f"Message length is more than {SES_MAX_MESSAGE_BYTES} bytes long: '{len(raw_bytes)}'.")
    check_message_tags(self._get_param("Tags", []))
    destinations = list(self._get_param("Destinations", []) or [])
    # the raw message's recipients, read the way moto reads them (compat32 parsing of the text)
    message = email.message_from_string(raw_bytes.decode("utf-8", "surrogateescape"))
    for header in ("To", "Cc", "Bcc"):
        for value in message.get_all(header, []):
            destinations += header_addresses(str(value))
    check_destinations(destinations)
    return _ORIGINALS["ses_send_raw_email"](self)


# ============================================================================ DynamoDB

# "DynamoDB item sizes and formats"
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)
# and "Service, account, and table quotas": "The maximum item size in DynamoDB is 400 KB".
# moto checks 405,000 bytes of its own counting (numbers as their text, no list or map overhead,
# binary as its base64 text): it lets through items AWS refuses (refused here), and it still
# refuses a few AWS accepts - plain strings between 405,000 and 409,600 bytes, binary values over
# about 300 KB - because its model-level check is left as it is.
DYNAMODB_MAX_ITEM_BYTES = 400 * 1024
# API Reference "TransactWriteItems": "The aggregate size of the items in the transaction cannot
# exceed 4 MB." Counted here over the Put items (the items a transaction writes whole).
DYNAMODB_MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
# API Reference "TransactWriteItems", ClientRequestToken: "Length Constraints: Minimum length of 1.
# Maximum length of 36."; Developer Guide "Amazon DynamoDB Transactions: How it works",
# Idempotency: "A client request token is valid for 10 minutes after the first request that uses
# it is completed."
CLIENT_REQUEST_TOKEN_MAX = 36
IDEMPOTENCY_WINDOW = timedelta(minutes=10)
_TOKENS_ATTRIBUTE = "_local_aws_rules_client_request_tokens"  # on moto's backend: reset wipes it


class IdempotentParameterMismatchException(DynamodbException):
    """The botocore shape name, so ``ClientError.response["Error"]["Code"]`` is AWS's."""

    error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

    def __init__(self) -> None:
        # the wording of AWS's answer is unconfirmed: this is the error's description in the API model
        super().__init__(self.error_type, "DynamoDB rejected the request because you retried a request with a "
                         "different payload but with an idempotent token that was already used.")


@dataclass(frozen=True)
class _TokenUse:
    request: str  # the request without its token, canonical JSON
    completed_at: datetime
    result: Any  # moto's answer to it, given again to an identical replay


def _put_item(self: DynamoHandler) -> Any:
    item = self.body.get("Item") if isinstance(self.body, dict) else None
    if isinstance(item, dict) and _safe_item_size(item) > DYNAMODB_MAX_ITEM_BYTES:
        raise ItemSizeTooLarge()  # AWS: ValidationException "Item size has exceeded the maximum allowed size"
    return _ORIGINALS["dynamodb_put_item"](self)


def _safe_item_size(item: Mapping[str, Any]) -> int:
    try:
        return item_bytes(item)
    except (AttributeError, TypeError, ValueError):  # malformed: moto's own validation answers it
        return 0


def _transact_write_items(self: DynamoHandler) -> Any:
    body = self.body
    token = body.get("ClientRequestToken")
    if isinstance(token, str) and not 1 <= len(token) <= CLIENT_REQUEST_TOKEN_MAX:
        raise MockValidationException(
            f"1 validation error detected: Value '{token}' at 'clientRequestToken' failed to satisfy constraint: "
            f"Member must have length {'less' if token else 'greater'} than or equal to "
            f"{CLIENT_REQUEST_TOKEN_MAX if token else 1}")
    # one transaction at a time: the token's check-then-record must be atomic, and moto's
    # transaction (copy the tables, swap the copies back on failure) is not safe against another
    with _transaction_lock:
        uses: dict[str, _TokenUse] = self.dynamodb_backend.__dict__.setdefault(_TOKENS_ATTRIBUTE, {})
        now = _now()
        for expired in [t for t, use in uses.items() if now - use.completed_at >= IDEMPOTENCY_WINDOW]:
            del uses[expired]
        request = json.dumps({k: v for k, v in body.items() if k != "ClientRequestToken"}, sort_keys=True)
        if token and token in uses:
            # Developer Guide, Idempotency: "If the original TransactWriteItems call was successful,
            # the subsequent TransactWriteItems calls with the same client token return
            # successfully without making any changes." ... "If any of the other parameters is
            # changed within the 10-minute window, DynamoDB returns an IdempotentParameterMismatch
            # exception."
            if uses[token].request == request:
                return uses[token].result
            raise IdempotentParameterMismatchException()
        _check_transaction_sizes(body.get("TransactItems") or [])
        result = _ORIGINALS["dynamodb_transact_write_items"](self)
        if token:
            # only a successful request records its token: AWS documents what a token does after
            # a success, not after a failure, so a failed request may be tried again with it
            uses[token] = _TokenUse(request, _now(), result)
        return result


def _check_transaction_sizes(actions: list[Mapping[str, Any]]) -> None:
    if len(actions) > 100:
        return  # moto's own check answers: "... Member must have length less than or equal to 100."
    sizes = [_safe_item_size(action["Put"].get("Item") or {}) if isinstance(action.get("Put"), dict) else 0
             for action in actions]
    if sum(sizes) > DYNAMODB_MAX_TRANSACTION_BYTES:
        # a ValidationException as AWS documents; the exact wording of AWS's message is unconfirmed
        raise MockValidationException("Transaction request size exceeds the maximum allowed size of 4 MB: "
                                      "the aggregate size of the items in the transaction cannot exceed 4 MB")
    if any(size > DYNAMODB_MAX_ITEM_BYTES for size in sizes):
        # the transaction is cancelled, the oversized item's reason a ValidationError and every
        # other action's "None", built as moto builds CancellationReasons
        raise TransactionCanceledException([
            ("ValidationError", ItemSizeTooLarge.item_size_too_large_msg, None) if size > DYNAMODB_MAX_ITEM_BYTES
            else (None, None, None) for size in sizes])


# ============================================================================ EventBridge

# "Calculating Amazon EventBridge PutEvents event entry size"
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/calculate-putevents-entry-size.html):
# 14 bytes for a Time, plus the UTF-8 bytes of Source, DetailType, Detail and each Resources
# entry; "The total entry size must be less than 256KB." AWS announced payloads up to 1 MB in
# January 2026 ("More room to build: serverless services now support payloads up to 1 MB"), but
# that page still says 256 KB: the stricter rule is the safe one to develop against.
EVENTS_MAX_REQUEST_BYTES = 256 * 1024


def event_entry_size(entry: Mapping[str, Any]) -> int:
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        if isinstance(entry.get(name), str):
            size += len(entry[name].encode("utf-8"))
    resources = entry.get("Resources") or []
    return size + sum(len(resource.encode("utf-8")) for resource in resources if isinstance(resource, str))


def _put_events(self: EventsHandler) -> Any:
    entries = self._get_param("Entries") or []
    if sum(event_entry_size(entry) for entry in entries if isinstance(entry, dict)) >= EVENTS_MAX_REQUEST_BYTES:
        raise EventsValidationException("Total size of the entries in the request is over the limit.")
    return _ORIGINALS["events_put_events"](self)


# ============================================================================ SQS

# API Reference "MessageAttributeValue" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html):
# "All parts of the message attribute, including Name, Type, and Value, are part of the message
# size restriction (1 MiB or 1,048,576 bytes)"; "Strings are Unicode with UTF-8 binary encoding".
# CreateQueue MaximumMessageSize: "The limit of how many bytes a message can contain before Amazon
# SQS rejects it", default 1 MiB (since August 2025). moto compares the body's length in characters.
# SendMessageBatch: "The maximum allowed individual message size and the maximum total payload
# size (the sum of the individual lengths of all of the batched messages) are both 1 MiB".
SQS_MAX_BATCH_BYTES = 1024 * 1024


def sqs_message_size(body: Any, attributes: Mapping[str, Any] | None) -> int:
    size = len(body.encode("utf-8")) if isinstance(body, str) else 0
    for name, attribute in (attributes or {}).items():
        size += len(name.encode("utf-8")) + len(str(attribute.get("DataType", "")).encode("utf-8"))
        if isinstance(attribute.get("StringValue"), str):
            size += len(attribute["StringValue"].encode("utf-8"))
        if attribute.get("BinaryValue") is not None:
            size += _sqs_binary_size(attribute["BinaryValue"])
    return size


def _sqs_binary_size(data: Any) -> int:
    if isinstance(data, bytes | bytearray):
        return len(data)
    try:  # the JSON protocol carries binary as base64 text
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return len(str(data).encode("utf-8"))


def _too_long(size: int, limit: int) -> None:
    if size > limit:
        raise SqsInvalidParameterValue(f"One or more parameters are invalid. Reason: Message must be shorter than "
                                       f"{limit} bytes.")


def _send_message(self: SQSResponse) -> Any:
    queue = self.sqs_backend.get_queue(self._get_queue_name())
    size = sqs_message_size(self._get_param("MessageBody"), self._get_param("MessageAttributes", {}))
    _too_long(size, int(queue.maximum_message_size))
    return _ORIGINALS["sqs_send_message"](self)


def _send_message_batch(self: SQSResponse) -> Any:
    queue = self.sqs_backend.get_queue(self._get_queue_name())
    entries = [entry for entry in self._get_param("Entries", []) or [] if isinstance(entry, dict)]
    sizes = [sqs_message_size(entry.get("MessageBody"), entry.get("MessageAttributes")) for entry in entries]
    if sum(sizes) > SQS_MAX_BATCH_BYTES:
        raise BatchRequestTooLong(sum(sizes))
    for size in sizes:
        # the whole request is refused, as moto refuses it for its own per-message checks (whether
        # AWS fails only the entry instead is unconfirmed)
        _too_long(size, int(queue.maximum_message_size))
    return _ORIGINALS["sqs_send_message_batch"](self)


# ============================================================================ install

_PATCHES: dict[str, tuple[type, str, Callable[..., Any]]] = {
    "ses_send_raw_email": (EmailResponse, "send_raw_email", _send_raw_email),
    "dynamodb_put_item": (DynamoHandler, "put_item", _put_item),
    "dynamodb_transact_write_items": (DynamoHandler, "transact_write_items", _transact_write_items),
    "events_put_events": (EventsHandler, "put_events", _put_events),
    "sqs_send_message": (SQSResponse, "send_message", _send_message),
    "sqs_send_message_batch": (SQSResponse, "send_message_batch", _send_message_batch),
}
_ORIGINALS: dict[str, Callable[..., Any]] = {key: getattr(cls, name) for key, (cls, name, _) in _PATCHES.items()}
_transaction_lock = threading.Lock()
_clock: list[Callable[[], datetime]] = []


def _now() -> datetime:
    if not _clock:
        raise RuntimeError("local.aws_rules is not installed")
    return _clock[0]()


def install(now: Callable[[], datetime]) -> None:
    """Makes moto's handlers enforce the rules; ``now`` is the clock of the idempotency window."""
    _clock[:] = [now]
    for cls, name, rule in _PATCHES.values():
        setattr(cls, name, rule)


def uninstall() -> None:
    """Gives moto its own handlers back."""
    for key, (cls, name, _) in _PATCHES.items():
        setattr(cls, name, _ORIGINALS[key])
    _clock.clear()


__all__ = ["IdempotentParameterMismatchException", "address_problem", "check_message_tags", "event_entry_size",
           "header_addresses", "install", "item_bytes", "sqs_message_size", "uninstall"]
