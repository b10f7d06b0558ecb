"""The template as the local cloud reads it: the one source of every fact about the stack.

``template.yaml`` is a SAM template. As ``sam deploy`` does, it is first translated by SAM's
own transform (aws-sam-translator, offline), with each local ``CodeUri``/``ContentUri``
replaced by an S3 location as ``sam package`` would upload it (the local folder it stands for
is remembered). What the local cloud runs is then read from the plain CloudFormation SAM
makes: ``AWS::Lambda::Function``, ``AWS::Lambda::EventSourceMapping``,
``AWS::Scheduler::Schedule``, ``AWS::ApiGateway::RestApi`` (its swagger ``Body``),
``AWS::IAM::Role``, tables, queues, secrets and buses, with CloudFormation's intrinsic
functions resolved for one set of parameter values (validated the way CloudFormation
validates them), through an *attribute provider*: planned values before deployment, the
values moto returned after it.

Nothing here talks to AWS.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

# SAM records metrics for its own service and warns when nothing publishes them, as nothing does offline
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"

ARTIFACTS_BUCKET = "local-artifacts"
# what SAM writes as an AWS_IAM route's integration credentials when InvokeRole is unset
CALLER_CREDENTIALS = f"arn:{PARTITION}:iam::*:user/*"
# the AWS managed policies SAM attaches to functions' roles by itself, by name (SAM looks
# names up in IAM; the templates here name none in their Policies)
SAM_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSLambdaDynamoDBExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
}


class TemplateError(ValueError):
    """The template, or a value given for it, cannot be used (the message names what and where)."""


class _NoValue:
    """``AWS::NoValue``: removes the property it is the value of."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def load_yaml(text: str) -> dict[str, Any]:
    """Parse CloudFormation/SAM YAML (short-form tags as their long forms) into plain data."""
    from cfnlint.decode import cfn_yaml  # imported when first needed, as SAM's translator is (below)

    body = cfn_yaml.loads(text)
    if not isinstance(body, dict):
        raise TemplateError("a template must be a mapping at the top level")
    # cfn-lint's nodes carry line marks; SAM and the tests want plain dicts, lists and strings
    plain: dict[str, Any] = json.loads(json.dumps(body))
    return plain


# ------------------------------------------------------------------------------ SAM's transform


@dataclass(frozen=True)
class Translation:
    """The CloudFormation SAM makes of a template, and the local folder each S3 key stands for."""

    template: dict[str, Any]
    folders: Mapping[str, Path]  # S3 key -> the code or layer folder it was packaged from
    # (resource, event) positions in the template as written: SAM's output is in another order,
    # and the order of functions, schedules and event sources decides who goes first locally
    written_order: Mapping[str, tuple[int, int]]

    def position(self, logical_id: str) -> tuple[int, int]:
        return self.written_order.get(logical_id, (len(self.written_order), 0))


def packaged(body: Mapping[str, Any], directory: Path = PROJECT_ROOT) -> tuple[dict[str, Any], dict[str, Path]]:
    """The template as ``sam package`` hands it to CloudFormation: each local code folder
    uploaded to S3 under its resource's logical id; and the folder each key came from."""
    body = copy.deepcopy(dict(body))
    folders: dict[str, Path] = {}
    for logical_id, resource in body["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                folders[f"{logical_id}.zip"] = (directory / properties[key]).resolve()
                properties[key] = f"s3://{ARTIFACTS_BUCKET}/{logical_id}.zip"
    return body, folders


class _ReadValues(dict):  # type: ignore[type-arg]
    """Parameter values that note which of them SAM reads (``read``, shared by every copy SAM
    makes): a translation depends on those values only, so it serves any stack that has them."""

    def __init__(self, values: Mapping[str, Any], read: set[str]):
        super().__init__(values)
        self.read = read

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return super().get(name, default)

    def values(self) -> Any:
        self.read.update(self)
        return super().values()

    def items(self) -> Any:
        self.read.update(self)
        return super().items()

    def __deepcopy__(self, memo: dict[int, Any]) -> _ReadValues:
        return _ReadValues(copy.deepcopy(dict(self), memo), self.read)


def translate(body: Mapping[str, Any], parameters: Mapping[str, Any] | None = None,
              directory: Path = PROJECT_ROOT, read: set[str] | None = None) -> Translation:
    """What ``samtranslator.translator.transform.transform`` makes of ``body`` for these
    parameter values (as CloudFormation hands them over: a CommaDelimitedList as a list), with
    a session in the stack's region and :data:`SAM_MANAGED_POLICIES` instead of IAM. The names
    of the parameters whose values SAM read go into ``read``."""
    # SAM's translator and cfn-lint take a second to import, and a command that reads a deployed
    # stack (``python -m ops report --stack``) never translates: imported when first used
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    template, folders = packaged(body, directory)
    plain = dict(parameters or {})
    to_py27_compatible_template(template, plain)
    values = _ReadValues(plain, read if read is not None else set())
    # SAM builds ARNs for the region of its boto3 session and keeps it in a class attribute
    saved_region = ArnGenerator.BOTO_SESSION_REGION_NAME
    try:
        translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
        translated = translator.translate(template, values, get_managed_policy_map=lambda: dict(SAM_MANAGED_POLICIES))
    except InvalidDocumentException as error:
        raise TemplateError(f"SAM refuses the template: {error}") from None
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = saved_region
    order: dict[str, tuple[int, int]] = {}
    for index, (logical_id, resource) in enumerate(body["Resources"].items()):
        order[logical_id] = (index, -1)
        # SAM names an event's resources after the function and the event
        for event_index, event_id in enumerate((resource.get("Properties") or {}).get("Events") or {}):
            order[logical_id + event_id] = (index, event_index)
    return Translation(undo_mark_unicode_str_in_template(translated), folders, order)


# ------------------------------------------------------------------------------ typed model


@dataclass(frozen=True)
class KeyElement:
    name: str
    key_type: str  # HASH or RANGE


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    key_schema: tuple[KeyElement, ...]
    attribute_definitions: Mapping[str, str]
    ttl_attribute: str | None
    stream_view_type: str | None
    sse_enabled: bool = False
    point_in_time_recovery: bool = False
    stream_arn: str | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.key_schema)


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    name: str
    description: str | None
    secret_string: str | None
    generate: Mapping[str, Any]  # GenerateSecretString, as the template writes it


@dataclass(frozen=True)
class EventBusSpec:
    logical_id: str
    name: str


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule of the template that delivers to the template's queues."""

    logical_id: str
    bus_name: str
    pattern: str  # JSON
    queue_arns: tuple[str, ...]


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    attributes: Mapping[str, str]
    arn: str = ""


@dataclass(frozen=True)
class StreamEventSource:
    """An ``AWS::Lambda::EventSourceMapping`` on a table stream."""

    event_id: str
    stream_arn: str
    batch_size: int = 100
    maximum_retry_attempts: int = -1  # -1: until the record expires (AWS default)
    bisect_batch_on_function_error: bool = False
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None
    filter_patterns: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class SqsEventSource:
    """An ``AWS::Lambda::EventSourceMapping`` on a queue."""

    event_id: str
    queue_arn: str
    queue_logical_id: str | None = None  # None: not a queue of this template
    batch_size: int = 10
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None  # AWS scales out to this; the local cloud runs one at a time
    filter_patterns: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleEvent:
    """An ``AWS::Scheduler::Schedule`` whose target is a function."""

    event_id: str
    expression: str
    timezone: str = "UTC"
    input: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ApiEvent:
    """One method on one path of a REST API, as its swagger ``Body`` says."""

    api_logical_id: str
    path: str
    method: str  # GET, POST ..., or ANY
    authorizer: str | None = None  # "AWS_IAM", another security scheme's name, or None
    # the integration's ``credentials``: None (API Gateway's own permission), a role ARN, or
    # CALLER_CREDENTIALS (the caller's own credentials, SAM's default on AWS_IAM routes)
    invoke_role: str | None = None

    @property
    def calls_with_caller_credentials(self) -> bool:
        return self.invoke_role == CALLER_CREDENTIALS


@dataclass(frozen=True)
class RoleSpec:
    """An ``AWS::IAM::Role``: its inline policies' statements and its managed policies."""

    logical_id: str
    arn: str
    statements: tuple[Mapping[str, Any], ...]
    managed_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    code_uri: Path
    handler: str
    runtime: str
    environment: Mapping[str, str]
    timeout: int = 3
    memory_size: int = 128
    layer_dirs: tuple[Path, ...] = ()
    role_id: str | None = None  # the logical id of its role, when the template makes it
    stream_sources: tuple[StreamEventSource, ...] = ()
    queue_sources: tuple[SqsEventSource, ...] = ()
    schedules: tuple[ScheduleEvent, ...] = ()
    api_events: tuple[ApiEvent, ...] = ()
    async_max_retries: int = 2  # Lambda's default (no template here has an EventInvokeConfig)
    other_events: tuple[str, ...] = ()  # what else invokes it that the local cloud does not run

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    id: str
    name: str
    stage_name: str
    resource_policy: Mapping[str, Any] | None = None  # ``x-amazon-apigateway-policy``, resolved


@dataclass(frozen=True)
class StackModel:
    """What the local cloud needs from a template, resolved for one set of parameters."""

    stack_name: str
    parameters: Mapping[str, Any]
    tables: Mapping[str, TableSpec]
    functions: Mapping[str, FunctionSpec]
    secrets: Mapping[str, SecretSpec]
    event_buses: Mapping[str, EventBusSpec]
    queues: Mapping[str, QueueSpec]
    apis: Mapping[str, ApiSpec]
    roles: Mapping[str, RoleSpec]
    outputs: Mapping[str, Any]
    rules: Mapping[str, RuleSpec] = field(default_factory=dict)
    ssm_parameters: Mapping[str, str] = field(default_factory=dict)  # name -> value

    def function(self, logical_id: str) -> FunctionSpec:
        try:
            return self.functions[logical_id]
        except KeyError:
            known = sorted(self.functions)
            raise TemplateError(f"no function {logical_id!r} in the template (have: {known})") from None

    def table(self, logical_id: str) -> TableSpec:
        try:
            return self.tables[logical_id]
        except KeyError:
            raise TemplateError(f"no table {logical_id!r} in the template (have: {sorted(self.tables)})") from None


# ------------------------------------------------------------------------------ resolution

AttributeProvider = Callable[[str, "str | None"], Any]
"""(logical id, attribute or None for Ref) -> value."""

Deployed = Mapping[str, Mapping[str, Any]]
"""Attributes of resources that exist: logical id -> {"Ref": ..., "Arn": ..., ...}."""

_PSEUDO_VALUES = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::URLSuffix": URL_SUFFIX,
    "AWS::Partition": PARTITION,
}
# the intrinsic functions SAM's output of these templates uses
_INTRINSICS = frozenset({"Ref", "Condition", "Fn::Sub", "Fn::GetAtt", "Fn::If", "Fn::Not", "Fn::Equals", "Fn::Join"})


class Resolver:
    """Evaluates intrinsic functions of one CloudFormation template for one set of parameter values."""

    def __init__(self, body: Mapping[str, Any], parameters: Mapping[str, Any], attributes: AttributeProvider, *,
                 stack_name: str):
        self.body = body
        self.parameters = dict(parameters)
        self._attributes = attributes
        self.stack_name = stack_name
        self._conditions: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated and AWS::NoValue removed."""
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)) in _INTRINSICS:
                (name, argument), = value.items()
                return self._intrinsic(name, argument)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.body.get("Conditions") or {}
            if name not in definitions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(definitions[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in _PSEUDO_VALUES:
            return _PSEUDO_VALUES[name]
        if name in self.body["Resources"]:
            return self._attributes(name, None)
        raise TemplateError(f"Ref to unknown parameter or resource {name!r}")

    def get_att(self, resource: str, attribute: str) -> Any:
        if resource not in self.body["Resources"]:
            raise TemplateError(f"GetAtt of unknown resource {resource!r}")
        return self._attributes(resource, attribute)

    def _intrinsic(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            return self.ref(arg)
        if name == "Condition":
            return self.condition(arg)
        if name == "Fn::GetAtt":
            resource, attribute = arg
            return self.get_att(resource, attribute)
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return _as_string(left) == _as_string(right)
        if name == "Fn::Not":
            (inner,) = arg
            return not self.resolve(inner)
        delimiter, items = arg  # Fn::Join
        return delimiter.join(_as_string(item) for item in self.resolve(items))

    _SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is written as ${Literal}
            if name in variables:
                return _as_string(variables[name])
            resource, dot, attribute = name.partition(".")
            if dot and resource in self.body["Resources"]:
                return _as_string(self.get_att(resource, attribute))
            return _as_string(self.ref(name))

        return self._SUB_VARIABLE.sub(replace, text)


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _int(value: Any, default: int) -> int:
    return default if value is None else int(float(value))


def _short_hash(*parts: str, length: int = 10, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """A stable id like the random ones AWS gives (same input, same id)."""
    number = int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


# ------------------------------------------------------------------------------ the template


# parsed and translated once per process: every test deploys a new cloud of the same template
_PARSED: dict[str, dict[str, Any]] = {}  # template text -> its body
# (body, folder) -> SAM's outputs, each with the parameter values it read (a stack's API URL, say, it never reads)
_TRANSLATIONS: dict[tuple[str, str], list[tuple[dict[str, Any], Translation]]] = {}
_ABSENT = object()  # a parameter SAM looked for and did not find


class Template:
    """A SAM template read from disk, as written."""

    def __init__(self, body: dict[str, Any], path: Path | None = None):
        self.body = body
        self.path = path
        self.directory = path.parent if path else PROJECT_ROOT

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TEMPLATE) -> Template:
        path = Path(path).resolve()
        text = path.read_text(encoding="utf-8")
        if text not in _PARSED:
            _PARSED[text] = load_yaml(text)
        return cls(copy.deepcopy(_PARSED[text]), path)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources") or {}

    @property
    def parameter_definitions(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Parameters") or {}

    def resources_of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    def parameter_values(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Parameter values (defaults, then overrides), validated the way CloudFormation does."""
        overrides = dict(overrides or {})
        definitions = self.parameter_definitions
        unknown = sorted(set(overrides) - set(definitions))
        if unknown:
            raise TemplateError(f"unknown parameter(s) {', '.join(unknown)}; the template has {sorted(definitions)}")
        values: dict[str, Any] = {}
        for name, definition in definitions.items():
            if name in overrides:
                raw = overrides[name]
            elif "Default" in definition:
                raw = definition["Default"]
            else:
                raise TemplateError(f"parameter {name} has no Default and no value was given")
            values[name] = _validate_parameter(name, definition, raw)
        return values

    def translated(self, parameters: Mapping[str, Any]) -> Translation:
        """SAM's CloudFormation for these (validated) parameter values."""
        made = _TRANSLATIONS.setdefault((json.dumps(self.body, sort_keys=True), str(self.directory)), [])
        translation = next((translation for read, translation in made
                            if all(parameters.get(name, _ABSENT) == value for name, value in read.items())), None)
        if translation is None:
            names: set[str] = set()
            translation = translate(self.body, parameters, self.directory, names)
            made.append(({name: copy.deepcopy(parameters[name]) if name in parameters else _ABSENT for name in names},
                         translation))
        return copy.deepcopy(translation)  # a caller may change its copy; the next one is intact

    def stack(self, parameter_overrides: Mapping[str, Any] | None = None, *, deployed: Deployed | None = None,
              stack_name: str = "local") -> StackModel:
        """The typed model of the stack for these parameters; references to resources give the
        ``deployed`` attributes where there are some, planned ones otherwise."""
        parameters = self.parameter_values(parameter_overrides)
        translation = self.translated(parameters)
        return _StackReader(translation, resolver_for(translation.template, parameters, stack_name, deployed)).read()


def resolver_for(body: Mapping[str, Any], parameters: Mapping[str, Any], stack_name: str = "local",
                 deployed: Deployed | None = None) -> Resolver:
    """A resolver of a translated template for these parameter values: references to resources
    give the ``deployed`` attributes where there are some, planned ones otherwise."""
    attributes = PlannedAttributes(body, stack_name, deployed)
    resolver = Resolver(body, parameters, attributes, stack_name=stack_name)
    attributes.bind(resolver)
    return resolver


def _validate_parameter(name: str, definition: Mapping[str, Any], raw: Any) -> Any:
    kind = definition.get("Type", "String")
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    if kind == "CommaDelimitedList":
        items = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")] if str(raw) else []
        for item in items:
            _check_allowed(name, definition, str(item))
        return [str(item) for item in items]
    value = _as_string(raw)
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"parameter {name} must be a number, got {value!r}") from None
        if "MinValue" in definition and number < float(definition["MinValue"]):
            raise TemplateError(f"parameter {name} must be at least {definition['MinValue']}, got {value}")
        if "MaxValue" in definition and number > float(definition["MaxValue"]):
            raise TemplateError(f"parameter {name} must be at most {definition['MaxValue']}, got {value}")
    _check_allowed(name, definition, value)
    return value


def _check_allowed(name: str, definition: Mapping[str, Any], value: str) -> None:
    allowed = definition.get("AllowedValues")
    if allowed is not None and value not in [_as_string(a) for a in allowed]:
        raise TemplateError(f"parameter {name} must be one of {allowed}, got {value!r}")
    pattern = definition.get("AllowedPattern")
    # CloudFormation matches the whole value against AllowedPattern
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise TemplateError(f"parameter {name} must match the pattern {pattern}, got {value!r}")


# ------------------------------------------------------------------------------ planned values


class PlannedAttributes:
    """Resource attributes: those of deployed resources as moto returned them, otherwise as
    they would be before anything is created (names from the template or generated like
    CloudFormation does, ARNs built from them)."""

    def __init__(self, body: Mapping[str, Any], stack_name: str, deployed: Deployed | None = None):
        self.resources: Mapping[str, Any] = body["Resources"]
        self.stack_name = stack_name
        self._deployed = deployed or {}
        self._resolver: Resolver | None = None

    def bind(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def __call__(self, logical_id: str, attribute: str | None) -> Any:
        values = self._deployed.get(logical_id) or self._planned(logical_id)
        key = "Ref" if attribute is None else attribute
        if key not in values:
            raise TemplateError(f"{logical_id}.{key}: attribute not known to the local cloud")
        return values[key]

    def generated_name(self, logical_id: str, max_length: int = 128) -> str:
        suffix = _short_hash(self.stack_name, logical_id, length=12).upper()
        return f"{self.stack_name}-{logical_id}-{suffix}"[:max_length]

    def _name(self, logical_id: str, name_property: str, max_length: int = 128) -> str:
        assert self._resolver is not None
        properties = self.resources[logical_id].get("Properties") or {}
        if name_property in properties:
            return str(self._resolver.resolve(properties[name_property]))
        return self.generated_name(logical_id, max_length)

    def _planned(self, logical_id: str) -> dict[str, Any]:
        kind = self.resources[logical_id].get("Type")
        r, a, p = REGION, ACCOUNT_ID, PARTITION
        if kind == "AWS::DynamoDB::Table":
            name = self._name(logical_id, "TableName")
            arn = f"arn:{p}:dynamodb:{r}:{a}:table/{name}"
            return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}  # moto stamps it
        if kind == "AWS::SecretsManager::Secret":
            name = self._name(logical_id, "Name")
            arn = f"arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{_short_hash(name, length=6)}"
            return {"Ref": arn, "Id": arn, "Arn": arn}
        if kind == "AWS::Events::EventBus":
            name = self._name(logical_id, "Name")
            return {"Ref": name, "Name": name, "Arn": f"arn:{p}:events:{r}:{a}:event-bus/{name}"}
        if kind == "AWS::SQS::Queue":
            name = self._name(logical_id, "QueueName", 80)
            url = f"https://sqs.{r}.{URL_SUFFIX}/{a}/{name}"
            return {"Ref": url, "Arn": f"arn:{p}:sqs:{r}:{a}:{name}", "QueueName": name, "QueueUrl": url}
        if kind == "AWS::Lambda::Function":
            name = self._name(logical_id, "FunctionName", 64)
            return {"Ref": name, "Arn": f"arn:{p}:lambda:{r}:{a}:function:{name}"}
        if kind == "AWS::ApiGateway::RestApi":
            api_id = _short_hash(self.stack_name, logical_id)
            return {"Ref": api_id, "RootResourceId": _short_hash(api_id, "/")}
        if kind == "AWS::Lambda::LayerVersion":
            return {"Ref": f"arn:{p}:lambda:{r}:{a}:layer:{self._name(logical_id, 'LayerName', 140)}:1"}
        if kind == "AWS::SSM::Parameter":
            return {"Ref": self._name(logical_id, "Name")}
        if kind == "AWS::IAM::Role":
            name = self._name(logical_id, "RoleName", 64)
            return {"Ref": name, "Arn": f"arn:{p}:iam::{a}:role/{name}", "RoleId": name}
        return {"Ref": self.generated_name(logical_id)}


# ------------------------------------------------------------------------------ reading the stack


_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled",
    "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "DeduplicationScope", "FifoThroughputLimit",
)
_ANY_METHOD = "x-amazon-apigateway-any-method"


class _StackReader:
    """Reads the typed model out of one translated template, resolved by one resolver."""

    def __init__(self, translation: Translation, resolver: Resolver):
        self.translation = translation
        self.body = translation.template
        self.resolver = resolver

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """The resources of a type whose Condition (if any) holds, with their properties resolved."""
        return {
            logical_id: self.resolver.resolve(resource.get("Properties") or {})
            for logical_id, resource in sorted(self.body["Resources"].items(),
                                               key=lambda item: self.translation.position(item[0]))
            if resource.get("Type") == kind
            and ("Condition" not in resource or self.resolver.condition(resource["Condition"]))
        }

    def read(self) -> StackModel:
        r = self.resolver
        tables = {lid: self._table(lid, props) for lid, props in self.of_type("AWS::DynamoDB::Table").items()}
        queues = {lid: self._queue(lid, props) for lid, props in self.of_type("AWS::SQS::Queue").items()}
        roles = {lid: self._role(lid, props) for lid, props in self.of_type("AWS::IAM::Role").items()}
        apis = {lid: self._api(lid, props) for lid, props in self.of_type("AWS::ApiGateway::RestApi").items()}
        functions = self._functions(queues, roles, apis)
        outputs = {
            name: r.resolve(output.get("Value"))
            for name, output in (self.body.get("Outputs") or {}).items()
            if output.get("Condition") is None or r.condition(output["Condition"])
        }
        return StackModel(
            stack_name=r.stack_name,
            parameters=dict(r.parameters),
            tables=tables,
            functions=functions,
            secrets={lid: self._secret(lid, p) for lid, p in self.of_type("AWS::SecretsManager::Secret").items()},
            event_buses={lid: EventBusSpec(lid, r.ref(lid)) for lid in self.of_type("AWS::Events::EventBus")},
            queues=queues,
            apis={lid: api for lid, (api, _) in apis.items()},
            roles=roles,
            outputs=outputs,
            rules=self._queue_rules(queues),
            ssm_parameters={str(p["Name"]): str(p["Value"]) for p in self.of_type("AWS::SSM::Parameter").values()},
        )

    def _queue_rules(self, queues: Mapping[str, QueueSpec]) -> dict[str, RuleSpec]:
        # a rule's function targets are the functions' own events (other_events); its queues are run here
        arns = {queue.arn for queue in queues.values()}
        rules = {}
        for lid, props in self.of_type("AWS::Events::Rule").items():
            targets = tuple(str(t["Arn"]) for t in props.get("Targets") or [] if t["Arn"] in arns)
            if targets and "EventPattern" in props:
                rules[lid] = RuleSpec(lid, str(props.get("EventBusName") or "default"),
                                      json.dumps(props["EventPattern"]), targets)
        return rules

    def _table(self, logical_id: str, props: Mapping[str, Any]) -> TableSpec:
        ttl = props.get("TimeToLiveSpecification") or {}
        stream_view_type = (props.get("StreamSpecification") or {}).get("StreamViewType")
        return TableSpec(
            logical_id=logical_id,
            name=self.resolver.ref(logical_id),
            key_schema=tuple(KeyElement(k["AttributeName"], k["KeyType"]) for k in props.get("KeySchema", [])),
            attribute_definitions={d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]},
            ttl_attribute=ttl.get("AttributeName") if _bool(ttl.get("Enabled")) else None,
            stream_view_type=stream_view_type,
            sse_enabled=_bool((props.get("SSESpecification") or {}).get("SSEEnabled")),
            point_in_time_recovery=_bool((props.get("PointInTimeRecoverySpecification") or {}).get(
                "PointInTimeRecoveryEnabled")),
            stream_arn=self.resolver.get_att(logical_id, "StreamArn") if stream_view_type else None,
        )

    def _secret(self, logical_id: str, props: Mapping[str, Any]) -> SecretSpec:
        name = props.get("Name") or PlannedAttributes(self.body, self.resolver.stack_name).generated_name(logical_id)
        return SecretSpec(logical_id, str(name), props.get("Description"), props.get("SecretString"),
                          props.get("GenerateSecretString") or {})

    def _queue(self, logical_id: str, props: Mapping[str, Any]) -> QueueSpec:
        attributes = {k: _as_string(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                attributes[key] = json.dumps(props[key])
        return QueueSpec(logical_id, self.resolver.get_att(logical_id, "QueueName"), attributes,
                         arn=self.resolver.get_att(logical_id, "Arn"))

    def _role(self, logical_id: str, props: Mapping[str, Any]) -> RoleSpec:
        statements = [statement for policy in props.get("Policies") or []
                      for statement in _as_list(policy["PolicyDocument"]["Statement"])]
        return RoleSpec(logical_id, self.resolver.get_att(logical_id, "Arn"), tuple(statements),
                        tuple(props.get("ManagedPolicyArns") or ()))

    def _api(self, logical_id: str, props: Mapping[str, Any]) -> tuple[ApiSpec, list[tuple[str, ApiEvent]]]:
        """The API, and each of its methods with the integration URI that names its function."""
        stages = [p["StageName"] for lid, p in self.of_type("AWS::ApiGateway::Stage").items()
                  if self.body["Resources"][lid]["Properties"]["RestApiId"] == {"Ref": logical_id}]
        body = props.get("Body") or {}
        methods = []
        for path, operations in (body.get("paths") or {}).items():
            for method, operation in operations.items():
                integration = operation.get("x-amazon-apigateway-integration") or {}
                # SAM writes a route taken out of the API's default authorizer as the scheme NONE
                schemes = [name for requirement in operation.get("security") or [] for name in requirement
                           if name != "NONE"]
                methods.append((str(integration.get("uri", "")), ApiEvent(
                    logical_id, path, "ANY" if method == _ANY_METHOD else method.upper(),
                    authorizer=schemes[0] if schemes else None, invoke_role=integration.get("credentials"))))
        api = ApiSpec(logical_id, self.resolver.ref(logical_id),
                      str(props.get("Name") or f"{self.resolver.stack_name}-{logical_id}"),
                      str(stages[0]) if stages else "Prod", body.get("x-amazon-apigateway-policy"))
        return api, methods

    def _functions(self, queues: Mapping[str, QueueSpec], roles: Mapping[str, RoleSpec],
                   apis: Mapping[str, tuple[ApiSpec, list[tuple[str, ApiEvent]]]]) -> dict[str, FunctionSpec]:
        functions = self.of_type("AWS::Lambda::Function")
        by_name = {self.resolver.ref(lid): lid for lid in functions}
        by_arn = {self.resolver.get_att(lid, "Arn"): lid for lid in functions}
        events: dict[str, dict[str, list[Any]]] = {lid: {"stream": [], "queue": [], "schedule": [], "api": [],
                                                         "other": []} for lid in functions}

        def owner(logical_id: str, found: str | None) -> str:
            if found is None:
                raise TemplateError(f"{logical_id}: its target is not a function of this template")
            return found

        for lid, props in self.of_type("AWS::Lambda::EventSourceMapping").items():
            function_id = owner(lid, by_name.get(props["FunctionName"]) or by_arn.get(props["FunctionName"]))
            event_id = lid.removeprefix(function_id)  # SAM names it function id + event id
            if str(props["EventSourceArn"]).split(":")[2] == "sqs":
                events[function_id]["queue"].append(_queue_source(event_id, props, queues))
            else:
                events[function_id]["stream"].append(_stream_source(event_id, props))
        for lid, props in self.of_type("AWS::Scheduler::Schedule").items():
            function_id = owner(lid, by_arn.get(props["Target"]["Arn"]))
            events[function_id]["schedule"].append(_schedule(lid.removeprefix(function_id), props))
        for lid, props in self.of_type("AWS::Events::Rule").items():
            for target in props.get("Targets") or []:
                if target["Arn"] in by_arn:
                    events[by_arn[target["Arn"]]]["other"].append(f"{lid} (AWS::Events::Rule)")
        for _, methods in apis.values():
            for uri, method in methods:
                function_id = next((lid for arn, lid in by_arn.items() if f"/functions/{arn}/invocations" in uri), None)
                events[owner(f"{method.api_logical_id} {method.method} {method.path}", function_id)]["api"].append(
                    method)
        role_ids = {role.arn: role.logical_id for role in roles.values()}
        return {
            lid: FunctionSpec(
                logical_id=lid,
                name=self.resolver.ref(lid),
                code_uri=self._folder(lid, props.get("Code") or {}),
                handler=str(props.get("Handler", "app.handler")),
                runtime=str(props.get("Runtime", "python3.12")),
                environment={k: _as_string(v) for k, v in ((props.get("Environment") or {}).get("Variables")
                                                           or {}).items()},
                timeout=_int(props.get("Timeout"), 3),
                memory_size=_int(props.get("MemorySize"), 128),
                layer_dirs=self._layer_dirs(lid),
                role_id=role_ids.get(props.get("Role", "")),
                stream_sources=tuple(events[lid]["stream"]),
                queue_sources=tuple(events[lid]["queue"]),
                schedules=tuple(events[lid]["schedule"]),
                api_events=tuple(events[lid]["api"]),
                other_events=tuple(events[lid]["other"]),
            )
            for lid, props in functions.items()
        }

    def _folder(self, logical_id: str, code: Mapping[str, Any]) -> Path:
        folder = self.translation.folders.get(code.get("S3Key", ""))
        if code.get("S3Bucket") != ARTIFACTS_BUCKET or folder is None:
            raise TemplateError(f"{logical_id}: its code must be a local folder for the local cloud, got {code!r}")
        return folder

    def _layer_dirs(self, function_id: str) -> tuple[Path, ...]:
        # only layers of this template have code on this machine; others (ARNs) are skipped
        layers = self.body["Resources"][function_id]["Properties"].get("Layers") or []
        return tuple(
            self._folder(layer["Ref"], self.body["Resources"][layer["Ref"]]["Properties"]["Content"])
            for layer in layers
            if isinstance(layer, dict) and layer.get("Ref") in self.body["Resources"]
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _filter_patterns(props: Mapping[str, Any]) -> tuple[str, ...]:
    filters = (props.get("FilterCriteria") or {}).get("Filters") or []
    return tuple(str(f["Pattern"]) for f in filters if "Pattern" in f)


def _stream_source(event_id: str, p: Mapping[str, Any]) -> StreamEventSource:
    destination = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamEventSource(
        event_id=event_id,
        stream_arn=str(p["EventSourceArn"]),
        batch_size=_int(p.get("BatchSize"), 100),
        maximum_retry_attempts=_int(p.get("MaximumRetryAttempts"), -1),
        bisect_batch_on_function_error=_bool(p.get("BisectBatchOnFunctionError")),
        report_batch_item_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
        on_failure_destination=str(destination) if destination else None,
        filter_patterns=_filter_patterns(p),
        enabled=_bool(p.get("Enabled"), True),
    )


def _queue_source(event_id: str, p: Mapping[str, Any], queues: Mapping[str, QueueSpec]) -> SqsEventSource:
    arn = str(p["EventSourceArn"])
    concurrency = (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return SqsEventSource(
        event_id=event_id,
        queue_arn=arn,
        queue_logical_id=next((q.logical_id for q in queues.values() if q.arn == arn), None),
        batch_size=_int(p.get("BatchSize"), 10),
        report_batch_item_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
        maximum_concurrency=None if concurrency is None else _int(concurrency, 0),
        filter_patterns=_filter_patterns(p),
        enabled=_bool(p.get("Enabled"), True),
    )


def _schedule(event_id: str, p: Mapping[str, Any]) -> ScheduleEvent:
    return ScheduleEvent(
        event_id=event_id,
        expression=str(p["ScheduleExpression"]),
        timezone=str(p.get("ScheduleExpressionTimezone") or "UTC"),
        input=p["Target"].get("Input"),
        enabled=str(p.get("State", "ENABLED")).upper() == "ENABLED",
    )
