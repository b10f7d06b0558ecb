"""Running a template's Python handlers in this process the way the Lambda runtime would.

Owns the warm "containers": each function's handler module is imported once from
``<CodeUri>/<module>.py`` under a name unique to the function and reused, with the
function's environment set in ``os.environ`` for the import and for every call, and a
``LambdaContext``-like object. In AWS every function runs in its own process; here they
share one, so each function also gets its own copy of the project's modules (the layer's
``lifecycle`` package and its function directory): per-process caches such as
``lru_cache``d settings or clients then stay per function, as they are in AWS. The one
deliberate exception is ``lifecycle.clock``, which every function shares so the local cloud
can move time for all of them.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, redirect_stdout, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from local.template import FunctionSpec

log = logging.getLogger("local.lambda")


class HandlerNotFound(RuntimeError):
    """The function's Handler does not name a callable in its CodeUri."""


class ResponseNotSerializable(TypeError):
    """The handler returned something Lambda could not turn into JSON (Runtime.MarshalError)."""


@dataclass
class LambdaContext:
    """The context object the Python runtime passes to a handler."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_monotonic: float
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


def make_context(spec: FunctionSpec, started: datetime) -> LambdaContext:
    request_id = str(uuid.uuid4())
    return LambdaContext(
        function_name=spec.name,
        function_version="$LATEST",
        invoked_function_arn=spec.arn,
        memory_limit_in_mb=spec.memory_size,
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{spec.name}",
        log_stream_name=f"{started:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        deadline_monotonic=time.monotonic() + spec.timeout,
    )


def runtime_environment(spec: FunctionSpec) -> dict[str, str]:
    """The variables Lambda itself sets (as ``sam local`` does, with AWS_SAM_LOCAL so that
    Powertools' tracer knows there is no X-Ray daemon), then the template's."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_SAM_LOCAL": "true",
        "_HANDLER": spec.handler,
        **spec.environment,
    }


def set_environ(variables: Mapping[str, str | None]) -> None:
    """Sets each of ``variables`` in ``os.environ`` (None: unsets it)."""
    for name, value in variables.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def environment(variables: Mapping[str, str | None]) -> Iterator[None]:
    """``os.environ`` with ``variables`` set (None: unset), restored afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    set_environ(variables)
    try:
        yield
    finally:
        set_environ(saved)


def module_name_for(spec: FunctionSpec, project_root: Path) -> str:
    """A module name unique to the function's code, e.g. ``functions_sweep_app``."""
    module_path, _, _ = spec.handler.rpartition(".")
    try:
        where = spec.code_uri.relative_to(project_root)
    except ValueError:
        where = Path(spec.code_uri.name)
    return re.sub(r"\W", "_", f"{where.as_posix()}/{module_path}".strip("/").replace("/", "_"))


_CLASSIFIED: dict[frozenset[str], tuple[set[str], set[str]]] = {}  # roots -> (the project's names, names seen)


class FunctionLog:
    """One function's log, as its CloudWatch log group would hold it, in a JSONL file: every
    line the handler prints (Powertools' log lines, its metric blobs) with the virtual time of
    the print first, since the line's own timestamp is the wall clock's."""

    def __init__(self, path: Path, now: Callable[[], datetime]):
        self.path, self._now = path, now
        self._file: TextIO | None = None
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in filter(None, lines):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                record = {"message": line}
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("w", encoding="utf-8")  # a new cloud, a new log
            self._file.write(json.dumps({"virtual_time": f"{self._now():%Y-%m-%dT%H:%M:%SZ}", **record}) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class WarmFunction:
    """One function's warm container: its handler and its own copy of the project's modules."""

    def __init__(self, spec: FunctionSpec, *, project_root: Path, isolated_roots: Sequence[Path],
                 shared_modules: Mapping[str, ModuleType], log_file: FunctionLog | None = None):
        self.spec = spec
        self._log_file = log_file  # where its prints go; None: this process's stdout
        self._project_root = project_root
        self._roots = tuple(str(root) + os.sep for root in {*isolated_roots, spec.code_uri})
        self._shared = dict(shared_modules)
        self._modules: dict[str, ModuleType] = {}
        # Powertools' logger lives in the logging module, which every function shares here: each
        # function keeps its own, as its own Lambda process would (its appended keys, its handler)
        self._logger_name = spec.environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
        self._logger: logging.Logger | None = None
        self._handler: Any = None
        # which module names are the project's (under the roots) is the same for every copy:
        # decided once per name for all functions of the stack, not per module at every call
        self._isolated_names, self._classified = _CLASSIFIED.setdefault(frozenset(self._roots), (set(), set()))

    def call(self, event: Any, context: LambdaContext) -> Any:
        """Runs the handler (importing it first on a cold start). Not thread-safe: the caller
        serializes calls, since os.environ, sys.modules and the logging module are process-wide."""
        printed = redirect_stdout(self._log_file) if self._log_file else nullcontext()  # type: ignore[type-var]
        with environment(runtime_environment(self.spec)), self._namespace(), self._own_logger(), printed:
            if self._handler is None:
                self._handler = self._load_handler()
            return self._handler(event, context)

    # -- modules

    def _isolated_in_sys_modules(self) -> list[str]:
        for name in sys.modules.keys() - self._classified:
            module = sys.modules[name]
            if module is None:
                continue  # a placeholder: decided once a module is there
            location = getattr(module, "__file__", None)
            paths = [location] if location else [str(p) + os.sep for p in getattr(module, "__path__", None) or []]
            if any(path.startswith(self._roots) for path in paths):  # a namespace package has only paths
                self._isolated_names.add(name)
            self._classified.add(name)
        return [name for name in self._isolated_names & sys.modules.keys() if name not in self._shared]

    @contextmanager
    def _namespace(self) -> Iterator[None]:
        code_dir = str(self.spec.code_uri)
        sys.path.insert(0, code_dir)  # Lambda's task root is on the path
        host = {name: sys.modules.pop(name) for name in self._isolated_in_sys_modules()}
        sys.modules.update(self._modules)
        self._link_shared_modules()
        try:
            yield
        finally:
            self._modules = {name: sys.modules.pop(name) for name in self._isolated_in_sys_modules()}
            sys.modules.update(host)
            with suppress(ValueError):
                sys.path.remove(code_dir)

    @contextmanager
    def _own_logger(self) -> Iterator[None]:
        loggers = logging.Logger.manager.loggerDict
        host = loggers.pop(self._logger_name, None)
        if self._logger is not None:
            loggers[self._logger_name] = self._logger
        try:
            yield
        finally:
            mine = loggers.pop(self._logger_name, None)
            self._logger = mine if isinstance(mine, logging.Logger) else None
            if host is not None:
                loggers[self._logger_name] = host

    def _link_shared_modules(self) -> None:
        # `import lifecycle.clock` finds the shared module in sys.modules and never binds it
        # on this function's own `lifecycle` package: bind it, so attribute access works
        for name, module in self._shared.items():
            sys.modules[name] = module
            parent_name, _, child = name.rpartition(".")
            if parent_name:
                parent = sys.modules.get(parent_name) or importlib.import_module(parent_name)
                if getattr(parent, child, None) is not module:
                    setattr(parent, child, module)

    def _load_handler(self) -> Any:
        module_path, _, attribute = self.spec.handler.rpartition(".")
        if not module_path:
            raise HandlerNotFound(f"{self.spec.logical_id}: Handler {self.spec.handler!r} must be module.function")
        file = self.spec.code_uri / (module_path.replace(".", "/") + ".py")
        if not file.is_file():
            raise HandlerNotFound(f"{self.spec.logical_id}: no {file} for Handler {self.spec.handler!r}")
        name = module_name_for(self.spec, self._project_root)
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, file)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise HandlerNotFound(f"{self.spec.logical_id}: {file} has no callable {attribute!r}")
        return handler


def as_json(value: Any, what: str) -> Any:
    """The value as Lambda carries it: through JSON (a copy; non-JSON values are errors)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise ResponseNotSerializable(f"{what} is not JSON serializable: {exc}") from exc


def log_timeout(spec: FunctionSpec, elapsed: float) -> None:
    if elapsed > spec.timeout:
        log.warning("%s ran %.1fs, over its Timeout of %ss: AWS would have stopped it", spec.logical_id, elapsed,
                    spec.timeout)
