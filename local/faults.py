"""Faults the local cloud can inject, so a rehearsal shows that no outcome depends on luck.

``--fault NAME[:RATE]`` (repeatable) on ``python -m ops rehearse``:

* ``duplicate-delivery`` - every stream batch, queue batch, schedule event and API request
  arrives twice;
* ``ses-throttle:R`` - a share R of SES sends fail with a throttling error;
* ``lost-stream:R`` - a share R of stream records is never delivered, to any function (as if
  it had aged past the stream's 24-hour retention);
* ``crash:R`` - a share R of handler invocations fails right after its first write (the first
  AWS call that changes something) and is retried as Lambda would retry it: stream batches by
  their event source mapping, queue messages by their queue (received again, up to the
  dead-letter queue), schedules by asynchronous retries, API requests by the person who
  clicked (a rehearsal's member clicks again once).

Every draw comes from one seeded generator, so a rehearsal with faults is reproducible.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local import aws_calls

KINDS = ("duplicate-delivery", "ses-throttle", "lost-stream", "crash")
RATED = {"ses-throttle", "lost-stream", "crash"}
# operations that change something: "after its first write" is after the first of these
WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
    "SendRawEmail",
    "SendEmail",
    "PutEvents",
}


class SimulatedCrash(BaseException):
    """The handler's process died (injected). A BaseException, so that nothing in the handler
    (Powertools' batch processor catches every Exception) can carry on as if it had not."""


class FunctionCrashed(RuntimeError):
    """What the caller of a crashed invocation sees: the invocation failed."""


@dataclass
class Faults:
    duplicate_delivery: bool = False
    ses_throttle: float = 0.0
    lost_stream: float = 0.0
    crash: float = 0.0
    seed: int = 0
    injected: Counter = field(default_factory=Counter)

    @classmethod
    def parse(cls, specs: Iterable[str], seed: int | None = None) -> Faults:
        """``["crash:0.1", "duplicate-delivery"]`` -> Faults; ValueError names a bad spec."""
        faults = cls(seed=seed or 0)
        for spec in specs:
            name, _, rate = spec.partition(":")
            if name not in KINDS:
                raise ValueError(f"--fault {spec!r}: unknown fault (known: {', '.join(KINDS)})")
            if name == "duplicate-delivery":
                if rate:
                    raise ValueError(f"--fault {spec!r}: duplicate-delivery takes no rate")
                faults.duplicate_delivery = True
                continue
            try:
                share = float(rate) if rate else 0.1
            except ValueError:
                raise ValueError(f"--fault {spec!r}: the rate must be a number between 0 and 1") from None
            if not 0 < share < 1:
                raise ValueError(f"--fault {spec!r}: the rate must be above 0 and below 1")
            setattr(faults, name.replace("-", "_"), share)
        return faults

    @property
    def any(self) -> bool:
        return self.duplicate_delivery or bool(self.ses_throttle or self.lost_stream or self.crash)

    def describe(self) -> list[str]:
        rated = [f"{kind}:{rate}" for kind in sorted(RATED) if (rate := getattr(self, kind.replace("-", "_")))]
        return (["duplicate-delivery"] if self.duplicate_delivery else []) + rated


class FaultInjector:
    """Wires a ``Faults`` plan into a running LocalCloud through its hooks (and takes it out
    again): around every invocation, around every AWS call a handler makes, and on the records
    the stream pump reads."""

    def __init__(self, cloud: Any, faults: Faults):
        self.cloud = cloud
        self.faults = faults
        self._rng = random.Random(f"faults-{faults.seed}")
        self._lock = threading.RLock()
        self._armed = False  # the current invocation dies after its first write

    def _draw(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._rng.random() < rate

    # -------------------------------------------------------------- wiring
    def install(self) -> FaultInjector:
        if not self.faults.any:
            return self
        # the API server, the pumps and the schedules all invoke through the cloud's invoke
        self.cloud.invoke_hooks.append(self._invoke)
        aws_calls.add_call_hook(self._api_call)
        if self.faults.lost_stream:
            self.cloud.stream_record_hooks.append(self._lose)
        return self

    def uninstall(self) -> None:
        for hooks, hook in ((self.cloud.invoke_hooks, self._invoke), (self.cloud.stream_record_hooks, self._lose)):
            if hook in hooks:
                hooks.remove(hook)
        aws_calls.remove_call_hook(self._api_call)

    # ------------------------------------------------------------ the faults
    def _invoke(self, invocation: Callable[[], Any], logical_id: str) -> Any:
        if self.faults.duplicate_delivery:
            self.faults.injected["duplicate-delivery"] += 1
            self._invoke_once(invocation, logical_id)
        return self._invoke_once(invocation, logical_id)

    def _invoke_once(self, invocation: Callable[[], Any], logical_id: str) -> Any:
        with self._lock:
            self._armed = self._draw(self.faults.crash)
        try:
            return invocation()
        except SimulatedCrash as crash:
            raise FunctionCrashed(f"{logical_id} crashed: {crash}") from None
        finally:
            with self._lock:
                self._armed = False

    def _api_call(self, call: Callable[[], Any], what: aws_calls.HandlerCall) -> Any:
        # only a handler's calls come here: the cloud's own (deploy, pump, reaper, reports) never do
        operation = what.operation
        if operation in ("SendRawEmail", "SendEmail") and self._draw(self.faults.ses_throttle):
            self.faults.injected["ses-throttle"] += 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."}}, operation)
        result = call()
        if operation in WRITES and self._armed:
            self._armed = False
            self.faults.injected["crash"] += 1
            raise SimulatedCrash(f"injected crash after {operation}")
        return result

    def _lose(self, records: list[Any]) -> list[Any]:
        kept = [record for record in records if not self._draw(self.faults.lost_stream)]
        self.faults.injected["lost-stream"] += len(records) - len(kept)
        return kept
