"""The stack of template.yaml running on this machine: moto server, handlers, virtual time.

:class:`LocalCloud` owns the whole local stack: it starts a moto server, points every boto3
and PynamoDB client of the process at it, creates the template's resources there (tables
with keys, TTL and streams; secrets; event buses; queues; the SES sender identity),
runs the template's handlers in-process as Lambda would (see :mod:`local.lambda_runtime`),
and moves a virtual clock: :meth:`LocalCloud.advance_to` fires the schedules that fall due,
lets DynamoDB TTL delete expired items (late, as AWS does) and pumps the streams and queues
into the functions subscribed to them (:mod:`local.streams`, :mod:`local.queues`), in time
order. Nothing about the stack is written here: all of it is read from the template.

moto's backends are process-wide, so only one LocalCloud runs in a process at a time.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.credentials import Credentials
from moto.dynamodb.models import dynamodb_backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs.models import sqs_backends
from werkzeug.serving import make_server

from local import aws_calls, aws_rules, moto_speedups
from local.api_server import ApiServer, GatewayWiring, moto_signing_key
from local.lambda_runtime import FunctionLog, WarmFunction, as_json, log_timeout, make_context, set_environ
from local.outbox import BusEvent, BusTap, SentEmail, read_sent_emails_in_process
from local.queues import QueueEventSource, QueueMessage, QueuePump, QueuesDidNotSettle
from local.schedules import Schedule
from local.streams import EventSourceMapping, RecordHook, StreamPump, StreamReader
from local.template import (
    ACCOUNT_ID,
    DEFAULT_TEMPLATE,
    PROJECT_ROOT,
    REGION,
    SecretSpec,
    StackModel,
    TableSpec,
    Template,
    TemplateError,
)
from local.ttl import TtlReaper

log = logging.getLogger("local.cloud")

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# the role the service's apps run with on the local cloud; the template's parameter naming the
# principals its API admits to the app routes is given this role unless told otherwise
APP_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/service/local-app"
APP_PRINCIPALS_PARAMETER = "AppPrincipalArns"
SENDER_PARAMETER = "SenderAddress"  # the SES identity verified at deploy
APP_SESSION_SECONDS = 43_200  # 12 hours, the longest STS session a role can allow
SHARED_MODULES = ("lifecycle.clock",)  # one clock for every function, so the cloud can move it
# what GenerateSecretString passes on to GetRandomPassword
_RANDOM_PASSWORD_OPTIONS = ("PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation",
                            "ExcludeUppercase", "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType")


# moto's state read in-process (its server runs in this process): no HTTP round trip for what
# the event sources ask at every step of the clock


def _moto_stream_length(table_name: str) -> int:
    """How many records the table's stream ever had."""
    shard = dynamodb_backends[ACCOUNT_ID][REGION].tables[table_name].stream_shard
    return len(shard.items) if shard is not None else 0


def _moto_ttl_items(table: TableSpec) -> list[dict[str, Any]]:
    """The key and TTL attributes of every item of a table."""
    wanted = (*table.key_names, table.ttl_attribute)
    items = dynamodb_backends[ACCOUNT_ID][REGION].tables[table.name].all_items()
    return [{name: item.attrs[name].to_json() for name in wanted if name in item.attrs} for item in items]


def _moto_queue_has_messages(queue_name: str) -> bool:
    """Whether ReceiveMessage on a queue would return a message now."""
    queue = sqs_backends[ACCOUNT_ID][REGION].get_queue(queue_name)
    return any(message.visible and not message.delayed for message in queue._messages)


def _forget_dashboard_copies() -> None:
    """moto keeps every model instance it ever made for its dashboard (``/moto-api/data.json``):
    every version of every DynamoDB item, stream record and shard iterator. Over a long
    rehearsal that is memory for nothing, and it makes data.json (read for the sent mail) slow
    to build: the local cloud drops those after each stream pump."""
    try:
        from moto.core.model_instances import model_data

        for service in ("dynamodb", "dynamodbstreams"):
            for model in model_data.get(service, {}).values():
                model.instances_tracked = []  # type: ignore[attr-defined]
    except Exception:  # an optimisation only
        pass


def _ensure_import_paths(*paths: Path) -> None:
    for path in reversed(paths):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


InvokeHook = Callable[[Callable[[], Any], str], Any]
"""(run the invocation, the function's logical id) -> what it returns: wraps an invocation."""


@dataclass(frozen=True)
class Invocation:
    """One call of a handler, for tests and reports to look back on."""

    function: str
    trigger: str
    at: datetime
    request_id: str
    event: Any
    result: Any = None
    error: str | None = None


@dataclass(order=True)
class _AsyncRetry:
    due: datetime
    order: int
    function_id: str = ""
    event: Any = None
    trigger: str = ""
    attempt: int = 1


class _MotoServer(ThreadedMotoServer):
    """moto's threaded server, checking for shutdown every 50 ms instead of every 500: a cloud
    stops at once (a test suite stops hundreds)."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.05)


_shared_servers: dict[str, _MotoServer] = {}  # host -> moto's server on a port of its choosing
_shared_clients: dict[tuple[str, str], Any] = {}  # (endpoint, service) -> a boto3 client


def _moto_server(host: str, port: int) -> _MotoServer:
    """moto's server on ``host``: on a port of its choosing, one server for the process, kept
    (a test suite starts hundreds of clouds, one after another, each from a reset account, so
    none can tell; its clients are kept too); on a given port, a new one, stopped with its cloud."""
    server = _shared_servers.get(host) if port == 0 else None
    if server is None:
        server = _MotoServer(host, port, verbose=False)
        server.start()
        if port == 0:
            _shared_servers[host] = server
    return server


@functools.cache
def _in_process_app() -> DomainDispatcherApplication:
    """moto's application for this process's own calls, made once: it builds a Flask app for each
    service it is asked of (about 20 ms each), and the backends it answers from are process-wide."""
    return DomainDispatcherApplication(create_backend_app)


class LocalCloud:
    """The template's stack on a local moto server, with virtual time.

    >>> with LocalCloud(datetime(2025, 1, 1, tzinfo=UTC)) as cloud:
    ...     cloud.deploy({"Stage": "test"})
    ...     cloud.advance_to(datetime(2025, 2, 1, tzinfo=UTC))
    """

    _running: ClassVar[LocalCloud | None] = None

    def __init__(
        self,
        start: datetime | None = None,
        *,
        template: str | Path | Template = DEFAULT_TEMPLATE,
        stack_name: str = "local",
        seed: int | None = None,
        max_ttl_delay: timedelta = timedelta(hours=48),
        host: str = "127.0.0.1",
        port: int = 0,
        function_logs: Path | None = None,
    ):
        self.template = template if isinstance(template, Template) else Template.load(template)
        start = start or datetime.now(UTC).replace(microsecond=0)
        if start.tzinfo is None:
            raise ValueError("LocalCloud needs an aware start time (e.g. tzinfo=UTC)")
        self.stack_name = stack_name
        self.seed = seed
        self.max_ttl_delay = max_ttl_delay
        self._host, self._port = host, port

        _ensure_import_paths(PROJECT_ROOT, PROJECT_ROOT / "layers" / "common", self.template.directory)
        from lifecycle import clock as lifecycle_clock  # the layer's clock, importable once paths are set

        self._clock_module = lifecycle_clock
        self.clock = lifecycle_clock.FrozenClock(start.astimezone(UTC))
        self._previous_clock: Any = None

        self._server: Any = None
        self.endpoint_url = ""
        self._saved_env: dict[str, str | None] = {}
        self._saved_werkzeug_level: int | None = None
        self._clients: dict[str, Any] = {}

        self._cloud_lock = threading.RLock()  # deploy, advance, pump: one at a time
        # one invocation at a time: os.environ and sys.modules are process-wide
        self._invoke_lock = threading.RLock()
        self._overrides: dict[str, Any] = {}
        self._deployed: dict[str, dict[str, Any]] = {}
        self.stack: StackModel | None = None
        self._warm: dict[str, WarmFunction] = {}
        # a folder: each function's prints go to <logical id>.jsonl there; None: to stdout
        self.function_logs = function_logs
        self._log_files: dict[str, FunctionLog] = {}
        self._mappings: list[EventSourceMapping] = []
        self._pump: StreamPump | None = None
        self._queue_sources: list[QueueEventSource] = []
        self._queue_pump: QueuePump | None = None
        self._reaper: TtlReaper | None = None
        self._schedules: list[Schedule] = []
        self._schedules_done_until = self.clock.now()
        self._retries: list[_AsyncRetry] = []
        self._retry_order = itertools.count()
        self._taps: dict[str, BusTap] = {}
        self.invocations: deque[Invocation] = deque(maxlen=10_000)
        # where faults are injected: around every invocation, and on what the streams carry
        self.invoke_hooks: list[InvokeHook] = []
        self.stream_record_hooks: list[RecordHook] = []
        self._api: Any = None
        self._parsed_emails: dict[int, list[SentEmail]] = {}  # moto message (by identity) -> parsed
        self._identities: dict[str, Credentials] = {}  # role ARN -> the session last made
        self._identities_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalCloud:
        """Starts the moto server and points this process's AWS clients at it."""
        if self._server is not None:
            return self
        if LocalCloud._running is not None:
            raise RuntimeError("another LocalCloud is running in this process (moto's state is process-wide)")
        werkzeug_logger = logging.getLogger("werkzeug")
        self._saved_werkzeug_level = werkzeug_logger.level
        werkzeug_logger.setLevel(logging.WARNING)  # moto's per-request lines drown everything else
        moto_speedups.install()  # moto's answers and botocore's models, a fraction of the time
        aws_rules.install(self.clock.now)  # refuse what AWS refuses; token windows in virtual time
        # moto's own server for other processes (an operator's tools on `make serve`); this
        # process's clients are answered by moto's application in-process (see moto_speedups)
        self._server = _moto_server(self._host, self._port)
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        moto_speedups.serve_in_process(self.endpoint_url, _in_process_app())
        self._set_environment()
        self._previous_clock = self._clock_module.use(self.clock)
        LocalCloud._running = self
        self._moto_reset()  # moto's backends are process-wide: start from an empty account
        return self

    def stop(self) -> None:
        """Stops the API server and moto, and gives the process its environment and clock back."""
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._server is not None:
            if self._server not in _shared_servers.values():
                self._server.stop()
            self._server = None
            aws_rules.uninstall()
            moto_speedups.uninstall()
        set_environ(self._saved_env)
        self._saved_env = {}
        if self._previous_clock is not None:
            self._clock_module.use(self._previous_clock)
            self._previous_clock = None
        if self._saved_werkzeug_level is not None:
            logging.getLogger("werkzeug").setLevel(self._saved_werkzeug_level)
        self._clients.clear()
        for log_file in self._log_files.values():
            log_file.close()
        if LocalCloud._running is self:
            LocalCloud._running = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_environment(self) -> None:
        variables = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            # moto 5 with current botocore: account-based endpoints make DynamoDB Streams 404
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
        removed = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE")
        for name in [*variables, *removed]:
            self._saved_env.setdefault(name, os.environ.get(name))
        set_environ({**dict.fromkeys(removed), **variables})

    def _moto_reset(self) -> None:
        """POSTs to moto's own API, answered in-process as this process's AWS calls are."""
        moto_speedups.post_in_process(f"{self.endpoint_url}/moto-api/reset")
        if self.seed is not None:  # moto's ids and random passwords, the same for the same seed
            moto_speedups.post_in_process(f"{self.endpoint_url}/moto-api/seed?a={self.seed}")

    def client(self, service: str) -> Any:
        """A boto3 client for the local cloud."""
        self._require_started()
        if service not in self._clients:
            shared = (self.endpoint_url, service)
            if shared not in _shared_clients:
                _shared_clients[shared] = boto3.client(
                    service, region_name=REGION, endpoint_url=self.endpoint_url,
                    config=Config(retries={"max_attempts": 2, "mode": "standard"}),
                )
            self._clients[service] = _shared_clients[shared]
        return self._clients[service]

    def _require_started(self) -> None:
        if self._server is None:
            raise RuntimeError("the LocalCloud is not started (use `with LocalCloud(...)` or .start())")

    def _require_stack(self) -> StackModel:
        if self.stack is None:
            raise RuntimeError("nothing is deployed yet: call deploy() first")
        return self.stack

    # ------------------------------------------------------------------ deployment

    def deploy(self, parameter_overrides: Mapping[str, Any] | None = None) -> StackModel:
        """Creates the template's stack from scratch (an empty account) with these parameters."""
        with self._cloud_lock:
            if self._server is None:
                self.start()
            self._overrides = dict(parameter_overrides or {})
            planned = self.template.stack(self._overrides, stack_name=self.stack_name)
            self._moto_reset()
            self._deployed = {}
            self._warm.clear()  # a new environment means cold starts
            self._taps.clear()
            self._parsed_emails.clear()
            redriven = [q.logical_id for q in planned.queues.values() if "RedrivePolicy" in q.attributes]
            for queue in planned.queues.values():
                if queue.logical_id not in redriven:
                    self._create_queue(queue.logical_id, queue.name, queue.attributes)
            if redriven:  # resolved again, so that RedrivePolicy names the dead-letter queues moto made
                queues = self.template.stack(self._overrides, deployed=self._deployed,
                                             stack_name=self.stack_name).queues
                for logical_id in redriven:
                    self._create_queue(logical_id, queues[logical_id].name, queues[logical_id].attributes)
            for bus in planned.event_buses.values():
                self._create_event_bus(bus.logical_id, bus.name)
            for table in planned.tables.values():
                self._create_table(table)
            for secret in planned.secrets.values():
                self._create_secret(secret)
            for name, value in planned.ssm_parameters.items():
                self.client("ssm").put_parameter(Name=name, Value=value, Type="String")
            self.stack = self.template.stack(self._overrides, deployed=self._deployed,
                                             stack_name=self.stack_name)
            self._create_rules(self.stack)
            self._verify_senders(self.stack)
            self._wire(self.stack)
            for function in self.stack.functions.values():
                if function.other_events:
                    log.warning("%s: events the local cloud does not run: %s", function.logical_id,
                                ", ".join(function.other_events))
            return self.stack

    def reset(self) -> StackModel:
        """Empties everything and deploys again with the same parameters (the clock stays)."""
        with self._cloud_lock:
            self.invocations.clear()
            return self.deploy(self._overrides)

    def _create_queue(self, logical_id: str, name: str, attributes: Mapping[str, str]) -> None:
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=dict(attributes))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._deployed[logical_id] = {"Ref": url, "QueueUrl": url, "Arn": arn, "QueueName": name}

    def _create_event_bus(self, logical_id: str, name: str) -> None:
        events = self.client("events")
        arn = events.create_event_bus(Name=name)["EventBusArn"]  # a template's bus is never the default one
        self._deployed[logical_id] = {"Ref": name, "Name": name, "Arn": arn}
        self._taps[name] = BusTap(events, self.client("sqs"), name, peek=_moto_queue_has_messages)

    def _create_table(self, table: TableSpec) -> None:
        dynamodb = self.client("dynamodb")
        request: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": [{"AttributeName": k.name, "KeyType": k.key_type} for k in table.key_schema],
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t}
                                     for n, t in table.attribute_definitions.items()],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.stream_view_type:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
        if table.sse_enabled:
            request["SSESpecification"] = {"Enabled": True}
        description = dynamodb.create_table(**request)["TableDescription"]
        if table.ttl_attribute:
            dynamodb.update_time_to_live(TableName=table.name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})
        if table.point_in_time_recovery:
            dynamodb.update_continuous_backups(TableName=table.name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
        values = {"Ref": table.name, "Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            values["StreamArn"] = description["LatestStreamArn"]
        self._deployed[table.logical_id] = values

    def _create_secret(self, secret: SecretSpec) -> None:
        value = secret.secret_string if secret.secret_string is not None else self._generated_secret(secret.generate)
        request = {"Name": secret.name, "SecretString": value}
        if secret.description:
            request["Description"] = secret.description
        arn = self.client("secretsmanager").create_secret(**request)["ARN"]
        self._deployed[secret.logical_id] = {"Ref": arn, "Id": arn, "Arn": arn}

    def _generated_secret(self, spec: Mapping[str, Any]) -> str:
        """What CloudFormation's ``GenerateSecretString`` makes: Secrets Manager's own
        GetRandomPassword with the same options, put in ``SecretStringTemplate`` when there is one."""
        options = {key: spec[key] for key in _RANDOM_PASSWORD_OPTIONS if key in spec}
        for key, value in options.items():
            options[key] = int(value) if key == "PasswordLength" else (
                value if key == "ExcludeCharacters" else str(value).lower() == "true")
        value = self.client("secretsmanager").get_random_password(**options)["RandomPassword"]
        if "SecretStringTemplate" not in spec:
            return str(value)
        document = json.loads(spec["SecretStringTemplate"])
        document[spec.get("GenerateStringKey") or "password"] = value
        return json.dumps(document)

    def _create_rules(self, stack: StackModel) -> None:
        """The template's rules that feed its queues: moto's EventBridge delivers to SQS targets."""
        events = self.client("events")
        for rule in stack.rules.values():
            name = f"{self.stack_name}-{rule.logical_id}"[:64]
            events.put_rule(Name=name, EventBusName=rule.bus_name, EventPattern=rule.pattern)
            targets = [{"Id": f"queue{index}", "Arn": arn} for index, arn in enumerate(rule.queue_arns)]
            events.put_targets(Rule=name, EventBusName=rule.bus_name, Targets=targets)

    def _verify_senders(self, stack: StackModel) -> None:
        sender = stack.parameters.get(SENDER_PARAMETER)
        if isinstance(sender, str) and sender:
            if "@" in sender:
                self.client("ses").verify_email_identity(EmailAddress=sender)
            else:
                self.client("ses").verify_domain_identity(Domain=sender)

    def _wire(self, stack: StackModel) -> None:
        """Event sources: stream mappings, queue mappings, the TTL reaper, schedules."""
        self._reaper = TtlReaper(self.client("dynamodb"), stack.tables, max_delay=self.max_ttl_delay,
                                 read_items=_moto_ttl_items, writes=moto_speedups.write_counts.__getitem__,
                                 seed=self.seed or 0)
        reader = StreamReader(self.client("dynamodbstreams"), stack.tables, self.clock.now, peek=_moto_stream_length,
                              ttl=self._reaper)
        self._mappings = [
            EventSourceMapping(function.logical_id, function.arn, source, invoke=self._invoke_from_source,
                               send_failure=self._send_failure, now=self.clock.now)
            for function in stack.functions.values()
            for source in function.stream_sources
        ]
        known_streams = set(reader.stream_arns)
        for mapping in self._mappings:
            if mapping.source.stream_arn not in known_streams:
                raise TemplateError(f"{mapping.name}: stream {mapping.source.stream_arn} is not a table stream "
                                    "of this template")
        self._pump = StreamPump(reader, self._mappings, record_hooks=self.stream_record_hooks)
        self._queue_sources = []
        for function in stack.functions.values():
            for queue_source in function.queue_sources:
                queue = self._deployed.get(queue_source.queue_logical_id or "")
                if queue is None:
                    raise TemplateError(f"{function.logical_id}.{queue_source.event_id}: queue "
                                        f"{queue_source.queue_arn} is not a queue of this template")
                self._queue_sources.append(QueueEventSource(
                    function.logical_id, queue_source, sqs=self.client("sqs"), queue_url=queue["QueueUrl"],
                    invoke=self._invoke_from_source, now=self.clock.now, peek=_moto_queue_has_messages))
        self._queue_pump = QueuePump(self._queue_sources)
        now = self.clock.now()
        self._schedules = [Schedule(function.logical_id, event, created_at=now)
                           for function in stack.functions.values() for event in function.schedules]
        self._schedules_done_until = now
        self._retries = []

    # ------------------------------------------------------------------ invoking

    def invoke(self, logical_id: str, event: Any = None, *, trigger: str = "direct") -> Any:
        """Calls a function's handler with ``event`` as Lambda would; returns its response
        (through JSON) or raises what the handler raised. Every invocation, whatever its
        trigger, goes through :attr:`invoke_hooks` (the first outermost)."""
        call = partial(self._invoke_handler, logical_id, event, trigger)
        for hook in reversed(self.invoke_hooks):
            call = partial(hook, call, logical_id)
        return call()

    def _invoke_handler(self, logical_id: str, event: Any, trigger: str) -> Any:
        stack = self._require_stack()
        spec = stack.function(logical_id)
        event = as_json({} if event is None else event, "the event")
        with self._invoke_lock:
            warm = self._warm.get(logical_id)
            if warm is None:
                warm = self._warm[logical_id] = WarmFunction(
                    spec,
                    project_root=PROJECT_ROOT,
                    isolated_roots=self._isolated_roots(stack),
                    shared_modules={name: sys.modules[name] for name in SHARED_MODULES if name in sys.modules},
                    log_file=self._log_file(logical_id),
                )
            context = make_context(spec, self.clock.now())
            started = time.monotonic()
            try:
                with aws_calls.attributed_to(logical_id):  # the handler's AWS calls are this function's
                    result = warm.call(event, context)
                result = as_json(result, f"the response of {logical_id}")
            except Exception as exc:
                self.invocations.append(Invocation(logical_id, trigger, self.clock.now(), context.aws_request_id,
                                                   event, error=f"{type(exc).__name__}: {exc}"))
                raise
            finally:
                log_timeout(spec, time.monotonic() - started)
            self.invocations.append(Invocation(logical_id, trigger, self.clock.now(), context.aws_request_id,
                                               event, result=result))
            return result

    def _log_file(self, logical_id: str) -> FunctionLog | None:
        if self.function_logs is None:
            return None
        if logical_id not in self._log_files:
            self._log_files[logical_id] = FunctionLog(self.function_logs / f"{logical_id}.jsonl", self.clock.now)
        return self._log_files[logical_id]

    def _isolated_roots(self, stack: StackModel) -> list[Path]:
        roots = {PROJECT_ROOT / "layers" / "common"}
        for function in stack.functions.values():
            roots.add(function.code_uri)
            roots.update(function.layer_dirs)
        return sorted(roots)

    def _invoke_from_source(self, logical_id: str, event: dict[str, Any], trigger: str) -> Any:
        try:
            return self.invoke(logical_id, event, trigger=trigger)
        except Exception:
            log.warning("%s failed on %s", logical_id, trigger, exc_info=True)
            raise

    def _invoke_async(self, logical_id: str, event: Any, trigger: str, attempt: int = 1) -> None:
        """An asynchronous invocation (what EventBridge Scheduler does): on error Lambda tries
        again after 1 minute, then after 2 more, up to the function's MaximumRetryAttempts."""
        try:
            self.invoke(logical_id, event, trigger=trigger if attempt == 1 else f"{trigger} (retry {attempt - 1})")
        except Exception:
            spec = self._require_stack().function(logical_id)
            if attempt <= spec.async_max_retries:
                due = self.clock.now() + timedelta(minutes=attempt)
                log.warning("%s failed on %s; Lambda retries it at %s", logical_id, trigger, due, exc_info=True)
                heapq.heappush(self._retries, _AsyncRetry(due, next(self._retry_order), logical_id, event, trigger,
                                                          attempt + 1))
            else:
                log.error("%s failed on %s %d time(s); the event is dropped", logical_id, trigger, attempt,
                          exc_info=True)

    def _send_failure(self, destination: str, message: dict[str, Any]) -> None:
        body = json.dumps(message)
        service = destination.split(":")[2]
        if service == "sqs":
            name, owner = destination.split(":")[5], destination.split(":")[4]
            url = self.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
            self.client("sqs").send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self.client("sns").publish(TopicArn=destination, Message=body)
        else:
            raise TemplateError(f"on-failure destination {destination} is neither SQS nor SNS")

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.advance_to(self.now + delta)

    def advance_to(self, moment: datetime) -> None:
        """Moves the clock forward to ``moment``; in time order, whatever falls due on the way
        happens at its own time: schedules fire, TTL deletes expired items, Lambda retries
        failed asynchronous invocations, and streams and queues are pumped until quiet after each."""
        if moment.tzinfo is None:
            raise ValueError("advance_to needs an aware datetime")
        moment = moment.astimezone(UTC)
        with self._cloud_lock:
            self._require_stack()
            if moment < self.now:
                raise ValueError(f"the clock only moves forward (now {self.now}, asked {moment})")
            self.settle()
            occurrences = sorted(
                (at, index) for index, schedule in enumerate(self._schedules)
                for at in schedule.occurrences(self._schedules_done_until, moment)
            )
            cursor = 0
            while True:
                ttl_due = self._reaper.next_due() if self._reaper else None
                candidates = [due for due in (occurrences[cursor][0] if cursor < len(occurrences) else None, ttl_due,
                                              self._retries[0].due if self._retries else None) if due is not None]
                if not candidates or min(candidates) > moment:
                    break
                step = max(min(candidates), self.now)
                self.clock.set(step)
                if self._reaper:
                    self._reaper.reap(step)
                    self._pump_sources()
                while self._retries and self._retries[0].due <= step:
                    retry = heapq.heappop(self._retries)
                    self._invoke_async(retry.function_id, retry.event, retry.trigger, retry.attempt)
                    self._pump_sources()
                while cursor < len(occurrences) and occurrences[cursor][0] <= step:
                    at, index = occurrences[cursor]
                    schedule = self._schedules[index]
                    self._invoke_async(schedule.function_id, schedule.event_for(at),
                                       f"schedule {schedule.event.event_id} at {at:%Y-%m-%dT%H:%M:%SZ}")
                    self._schedules_done_until = at
                    cursor += 1
                    self._pump_sources()
            self.clock.set(moment)
            self._schedules_done_until = moment
            self.settle()

    def settle(self) -> int:
        """At the current time: lets TTL delete what is due and pumps the streams and queues
        until quiet. Returns the number of stream and queue invocations."""
        with self._cloud_lock:
            self._require_stack()
            invocations = self._pump_sources()
            if self._reaper and self._reaper.reap(self.now):
                invocations += self._pump_sources()
            return invocations

    def pump_streams(self) -> int:
        """Delivers every new stream record and queue message (and what handlers write and send
        meanwhile) until quiet; returns the number of invocations."""
        with self._cloud_lock:
            self._require_stack()
            return self._pump_sources()

    def _pump_sources(self, max_rounds: int = 10_000) -> int:
        """Streams until quiet, then queues until quiet, again until a round of queues delivers
        nothing: queue handlers write items whose records feed stream functions, and stream
        handlers send messages. Messages a queue mapping held back (they failed too often in
        this pump) are visible again afterwards."""
        invocations = 0
        try:
            for _ in range(max_rounds):
                invocations += self._pump.pump() if self._pump else 0
                from_queues = self._queue_pump.pump() if self._queue_pump else 0
                invocations += from_queues
                if not from_queues:
                    return invocations
            raise QueuesDidNotSettle(f"streams and queues kept feeding each other after {max_rounds} rounds")
        finally:
            if self._queue_pump:
                self._queue_pump.release()
            _forget_dashboard_copies()

    # ------------------------------------------------------------------ looking at the stack

    @property
    def outputs(self) -> Mapping[str, Any]:
        return self._require_stack().outputs

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self._require_stack().parameters

    @property
    def stream_mappings(self) -> list[EventSourceMapping]:
        return list(self._mappings)

    @property
    def queue_sources(self) -> list[QueueEventSource]:
        return list(self._queue_sources)

    @property
    def ttl_reaper(self) -> TtlReaper | None:
        return self._reaper

    def table_name(self, logical_id: str) -> str:
        return self._require_stack().table(logical_id).name

    def resource(self, logical_id: str, attribute: str | None = None) -> Any:
        """A created resource's Ref (or attribute) as moto returned it."""
        values = self._deployed.get(logical_id)
        if values is None:
            raise KeyError(f"{logical_id} was not created on moto (created: {sorted(self._deployed)})")
        return values["Ref" if attribute is None else attribute]

    def table_items(self, logical_id: str) -> list[dict[str, Any]]:
        """Every item of a table as plain Python values, read straight from moto's store: what a
        Scan returns, without paying moto's HTTP serialization for each item (a report reads
        whole tables)."""
        self._require_started()
        table = dynamodb_backends[ACCOUNT_ID][REGION].get_table(self.table_name(logical_id))
        return [item.to_regular_json() for item in table.all_items()]

    def queue_messages(self, logical_id: str) -> list[QueueMessage]:
        """Every message on a queue now, in flight or not, oldest first, read straight from
        moto's store: nothing is received, so receive counts and visibility stay as they are."""
        self._require_started()
        queue = sqs_backends[ACCOUNT_ID][REGION].get_queue(self.resource(logical_id, "QueueName"))
        return [QueueMessage(m.id, m.body, m.approximate_receive_count, dict(m.message_attributes))
                for m in queue._messages]

    def sent_emails(self) -> list[SentEmail]:
        """Every email SES accepted, as the moto server keeps them."""
        self._require_started()
        return read_sent_emails_in_process(ACCOUNT_ID, REGION, self._parsed_emails)

    def bus_events(self, bus: str | None = None) -> list[BusEvent]:
        """Events published on the template's buses (``bus``: a logical id or name to keep one)."""
        self._require_started()
        name = None
        if bus is not None:
            name = self._deployed.get(bus, {}).get("Name", bus)
        found: list[BusEvent] = []
        for tap_bus, tap in self._taps.items():
            # every tap is read, so that no tap's queue grows: moto counts a queue's messages, one
            # by one, at every message sent to it
            events = tap.drain()
            if name is None or tap_bus == name:
                found += events
        return found

    def invocations_of(self, logical_id: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == logical_id]

    # ------------------------------------------------------------------ API

    def start_api(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serves the template's API routes over HTTP; returns the base URL (no stage prefix,
        like ``sam local start-api``)."""
        self._require_started()
        if self._api is None:
            wiring = GatewayWiring(
                stack=lambda: self.stack,
                invoke=self.invoke,
                now=lambda: self.now,
                caller_identity=lambda: self.client("sts").get_caller_identity(),
                default_credentials=CREDENTIALS,
            )
            self._api = ApiServer(wiring, host=host, port=port)
            self._api.start()
        return self._api.url

    @property
    def api_url(self) -> str | None:
        return self._api.url if self._api else None

    # ------------------------------------------------------------------ app identities

    def app_parameters(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Parameter overrides that admit the local app role (:data:`APP_ROLE_ARN`) to the API's
        app routes, when the template has the parameter and ``overrides`` do not set it."""
        if APP_PRINCIPALS_PARAMETER in self.template.parameter_definitions and APP_PRINCIPALS_PARAMETER not in (
                overrides or {}):
            return {APP_PRINCIPALS_PARAMETER: APP_ROLE_ARN}
        return {}

    def app_credentials(self, role_arn: str = APP_ROLE_ARN, session_name: str = "local-app") -> Credentials:
        """Temporary credentials of an app running with the IAM role ``role_arn``, as STS gives
        them (an access key, its secret and a session token): the role is created in moto's IAM
        when it is missing, its own policy allowing only ``execute-api:Invoke``, and assumed.
        The API admits it to its app routes when the deployment's ``AppPrincipalArns`` names it
        (:meth:`app_parameters`). A session is reused while it has 5 minutes left; a deploy
        starts from an empty account, so the next call makes the role and session again."""
        with self._identities_lock:
            known = self._identities.get(role_arn)
            if known is not None and self._still_valid(known):
                return known
            self._ensure_role(role_arn, {"Effect": "Allow", "Action": "execute-api:Invoke",
                                         "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:*"})
            answer = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name,
                                                    DurationSeconds=APP_SESSION_SECONDS)["Credentials"]
            credentials = Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])
            self._identities[role_arn] = credentials
            return credentials

    def _ensure_role(self, role_arn: str, statement: Mapping[str, Any]) -> None:
        parts = role_arn.split(":", 5)
        account, resource = (parts[4], parts[5]) if len(parts) == 6 else ("", "")
        if account != ACCOUNT_ID or not resource.startswith("role/"):
            raise ValueError(f"{role_arn} is not a role ARN of the local account {ACCOUNT_ID}")
        path, _, name = resource[len("role"):].rpartition("/")
        iam = self.client("iam")
        try:
            iam.get_role(RoleName=name)
            return
        except iam.exceptions.NoSuchEntityException:
            pass
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}]}
        iam.create_role(RoleName=name, Path=path + "/", AssumeRolePolicyDocument=json.dumps(trust),
                        MaxSessionDuration=APP_SESSION_SECONDS)
        iam.put_role_policy(RoleName=name, PolicyName="InvokeApis", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [dict(statement)]}))

    @staticmethod
    def _still_valid(credentials: Credentials) -> bool:
        key = moto_signing_key(credentials.access_key)  # gone after a deploy (moto was reset)
        return key is not None and (key.expires_at is None
                                    or key.expires_at - datetime.now(UTC) > timedelta(minutes=5))


__all__ = ["ACCOUNT_ID", "APP_ROLE_ARN", "REGION", "Invocation", "LocalCloud"]
