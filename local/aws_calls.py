"""The AWS calls each function's handler makes on the local cloud, and hooks around them.

:meth:`LocalCloud.invoke <local.cloud.LocalCloud.invoke>` runs every handler inside
:func:`attributed_to`, naming the function. Every botocore API call made by that handler
(boto3 clients and PynamoDB's alike: both end in ``BaseClient._make_api_call``) goes through
the hooks given to :func:`add_call_hook`, each seeing a :class:`HandlerCall` (which function,
which service and operation, with what request) and deciding when, or whether, the call is
made: ``local.faults`` throttles SES and crashes handlers there, and the least-privilege tests
note the IAM permissions each call needs.

The attribution is per thread: the local cloud's own calls (deploying, pumping streams, the TTL
reaper, test helpers reading tables), made outside a handler or in another thread, belong to no
function and never go through a hook. The patch on botocore is installed once, when this module
is first imported; without a hook it only passes the call on.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.client import BaseClient


@dataclass(frozen=True)
class HandlerCall:
    """One API call a function's handler makes."""

    function: str  # the function's logical id
    service: str  # botocore's service name, e.g. "dynamodb"
    operation: str  # e.g. "TransactWriteItems"
    params: Mapping[str, Any]  # the request, as the handler gave it
    partition: str
    region: str


CallHook = Callable[[Callable[[], Any], HandlerCall], Any]
"""(make the call, what the call is) -> what the call returns: wraps a handler's AWS call."""

_invocation = threading.local()  # .function: the logical id whose handler this thread is running
_call_hooks: list[CallHook] = []
_state_lock = threading.Lock()
_installed = False


@contextmanager
def attributed_to(function: str) -> Iterator[None]:
    """AWS calls this thread makes inside the block are the handler of ``function`` calling."""
    previous = getattr(_invocation, "function", None)
    _invocation.function = function
    try:
        yield
    finally:
        _invocation.function = previous


def add_call_hook(hook: CallHook) -> None:
    """Every AWS call a handler makes goes through ``hook`` from now on (the first added outermost)."""
    with _state_lock:
        _call_hooks.append(hook)


def remove_call_hook(hook: CallHook) -> None:
    with _state_lock:
        if hook in _call_hooks:
            _call_hooks.remove(hook)


def install() -> None:
    """Patches ``BaseClient._make_api_call`` once, for the life of the process (on import)."""
    global _installed
    with _state_lock:
        if _installed:
            return
        original = BaseClient._make_api_call

        def make_api_call(client: BaseClient, operation_name: str, api_params: dict) -> Any:
            function = getattr(_invocation, "function", None)
            with _state_lock:
                hooks = list(_call_hooks)
            if function is None or not hooks:
                return original(client, operation_name, api_params)
            meta = client.meta
            what = HandlerCall(function, meta.service_model.service_name, operation_name, api_params,
                               meta.partition, meta.region_name or "")
            call = partial(original, client, operation_name, api_params)
            for hook in reversed(hooks):
                call = partial(hook, call, what)
            return call()

        BaseClient._make_api_call = make_api_call
        _installed = True


install()

__all__ = ["CallHook", "HandlerCall", "add_call_hook", "attributed_to", "install", "remove_call_hook"]
