"""The SAM template as the local cloud reads it: the one source of every fact about the stack.

Owns three things:

* loading ``template.yaml`` with PyYAML, turning CloudFormation short-form tags (``!Ref``,
  ``!Sub``, ``!GetAtt`` ...) into their long forms (``{"Ref": ...}``, ``{"Fn::Sub": ...}``);
* resolving intrinsic functions for a set of parameter values (validated the way
  CloudFormation validates them), pseudo parameters, ``Conditions`` and references to
  resources (through an *attribute provider*: planned values before deployment, the values
  moto actually returned after it);
* a small typed model (:class:`StackModel`) of what the local cloud needs: tables,
  functions with their event sources, secrets, event buses, queues, APIs and outputs.

Nothing here talks to AWS.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"


class TemplateError(ValueError):
    """The template, or a value given for it, cannot be used (the message names what and where)."""


class _NoValue:
    """``AWS::NoValue``: removes the property it is the value of."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

# ------------------------------------------------------------------------------ loading

_SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "Sub": "Fn::Sub",
    "GetAtt": "Fn::GetAtt",
    "If": "Fn::If",
    "Not": "Fn::Not",
    "Equals": "Fn::Equals",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "FindInMap": "Fn::FindInMap",
    "Base64": "Fn::Base64",
    "ImportValue": "Fn::ImportValue",
    "GetAZs": "Fn::GetAZs",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
    "ToJsonString": "Fn::ToJsonString",
    "Length": "Fn::Length",
}


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form tags."""


def _short_form_constructor(long_name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if long_name == "Fn::GetAtt":
                # `!GetAtt Res.Attr` is a string; the long form is a list [Res, Attr]
                resource, _, attribute = str(value).partition(".")
                if not attribute:
                    raise TemplateError(f"!GetAtt {value!r} needs the form Resource.Attribute")
                value = [resource, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {long_name: value}

    return construct


for _short, _long in _SHORT_FORMS.items():
    _CfnLoader.add_constructor(f"!{_short}", _short_form_constructor(_long))


def load_yaml(text: str) -> dict[str, Any]:
    """Parse CloudFormation/SAM YAML into plain data with long-form intrinsics."""
    body = yaml.load(text, Loader=_CfnLoader)
    if not isinstance(body, dict):
        raise TemplateError("a template must be a mapping at the top level")
    return body


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
    billing_mode: str = "PAY_PER_REQUEST"
    provisioned_throughput: Mapping[str, Any] | None = None
    global_secondary_indexes: tuple[Mapping[str, Any], ...] = ()
    local_secondary_indexes: tuple[Mapping[str, Any], ...] = ()
    sse_enabled: bool = False
    point_in_time_recovery: bool = False
    stream_arn: str | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.key_schema)


@dataclass(frozen=True)
class GenerateSecretString:
    secret_string_template: str | None = None
    generate_string_key: str | None = None
    password_length: int = 32
    exclude_characters: str = ""
    exclude_punctuation: bool = False
    exclude_numbers: bool = False
    exclude_uppercase: bool = False
    exclude_lowercase: bool = False
    include_space: bool = False
    require_each_included_type: bool = True


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    name: str
    description: str | None
    secret_string: str | None
    generate: GenerateSecretString | None


@dataclass(frozen=True)
class EventBusSpec:
    logical_id: str
    name: str


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    attributes: Mapping[str, str]
    arn: str = ""


@dataclass(frozen=True)
class TopicSpec:
    logical_id: str
    name: str


@dataclass(frozen=True)
class StreamEventSource:
    """A SAM ``DynamoDB`` event: an event source mapping on a table stream."""

    event_id: str
    stream_arn: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    maximum_retry_attempts: int = -1  # -1: until the record expires (AWS default)
    bisect_batch_on_function_error: bool = False
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None
    filter_patterns: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class SqsEventSource:
    """A SAM ``SQS`` event: an event source mapping on a queue."""

    event_id: str
    queue_arn: str
    queue_logical_id: str | None = None  # None: not a queue of this template
    batch_size: int = 10
    maximum_batching_window: int = 0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None  # AWS scales out to this; the local cloud runs one at a time
    filter_patterns: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleEvent:
    """A SAM ``ScheduleV2`` (EventBridge Scheduler) or ``Schedule`` (EventBridge rule) event."""

    event_id: str
    kind: str  # "ScheduleV2" or "Schedule"
    expression: str
    timezone: str = "UTC"
    input: str | None = None
    enabled: bool = True
    start_date: str | None = None
    end_date: str | None = None


CALLER_CREDENTIALS = "CALLER_CREDENTIALS"


@dataclass(frozen=True)
class ApiEvent:
    """A SAM ``Api`` event: one method on one path of a REST API."""

    event_id: str
    api_logical_id: str
    path: str
    method: str
    authorizer: str | None = None
    # how API Gateway calls the function on an AWS_IAM route, as SAM writes the integration
    # (samtranslator swagger.py): CALLER_CREDENTIALS (InvokeRole unset, SAM's default: the
    # caller's own credentials), "NONE" (API Gateway's own permission), or a role ARN.
    # None on routes without AWS_IAM, where SAM writes no credentials.
    invoke_role: str | None = None

    @property
    def calls_with_caller_credentials(self) -> bool:
        # SAM writes CALLER_CREDENTIALS as this ARN, which API Gateway reads as "the caller's"
        return self.invoke_role in (CALLER_CREDENTIALS, f"arn:{PARTITION}:iam::*:user/*")


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
    stream_sources: tuple[StreamEventSource, ...] = ()
    queue_sources: tuple[SqsEventSource, ...] = ()
    schedules: tuple[ScheduleEvent, ...] = ()
    api_events: tuple[ApiEvent, ...] = ()
    async_max_retries: int = 2
    other_events: tuple[str, ...] = ()  # event ids of types the local cloud does not run

    @property
    def arn(self) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass(frozen=True)
class ApiSpec:
    logical_id: str
    id: str
    name: str
    stage_name: str
    default_authorizer: str | None = None
    # the API's resource policy (``Auth.ResourcePolicy.CustomStatements``, resolved), or None
    resource_policy: Mapping[str, Any] | None = None
    default_invoke_role: str | None = None  # ``Auth.InvokeRole``: every AWS_IAM route's, unless it names its own


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
    topics: Mapping[str, TopicSpec]
    apis: Mapping[str, ApiSpec]
    outputs: Mapping[str, Any]
    ses_identities: tuple[str, ...] = ()

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

    def table_by_stream(self, stream_arn: str) -> TableSpec | None:
        return next((t for t in self.tables.values() if t.stream_arn == stream_arn), None)


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
    "AWS::NotificationARNs": [],
}


_INTRINSIC_KEYS = frozenset(_SHORT_FORMS.values())


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _INTRINSIC_KEYS


class Resolver:
    """Evaluates intrinsic functions of one template for one set of parameter values."""

    def __init__(
        self,
        template: Template,
        parameters: Mapping[str, Any],
        attributes: AttributeProvider,
        *,
        stack_name: str,
        imports: Mapping[str, Any] | None = None,
    ):
        self.template = template
        self.parameters = dict(parameters)
        self._attributes = attributes
        self.stack_name = stack_name
        self._imports = dict(imports or {})
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- public

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated and AWS::NoValue removed."""
        return self._resolve(value)

    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        definitions = self.template.body.get("Conditions") or {}
        if name not in definitions:
            raise TemplateError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            result = self._truth(definitions[name])
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = result
        return result

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::StackId":
            digest = hashlib.sha256(self.stack_name.encode()).hexdigest()
            stack_uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
            return f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.stack_name}/{stack_uuid}"
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in _PSEUDO_VALUES:
            return _PSEUDO_VALUES[name]
        if name in self.template.resources or name in self.template.implicit_resources:
            return self._attributes(name, None)
        raise TemplateError(f"Ref to unknown parameter or resource {name!r}")

    def get_att(self, resource: str, attribute: str) -> Any:
        if resource not in self.template.resources and resource not in self.template.implicit_resources:
            raise TemplateError(f"GetAtt of unknown resource {resource!r}")
        return self._attributes(resource, attribute)

    # -- evaluation

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if _is_intrinsic(value):
                (name, argument), = value.items()
                if name == "Condition":
                    return self.condition(argument)
                return self._intrinsic(name, argument)
            resolved = {k: self._resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self._resolve(item) for item in value) if v is not NO_VALUE]
        return value

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(value["Condition"])
        result = self._resolve(value)
        if isinstance(result, bool):
            return result
        if isinstance(result, str) and result.lower() in ("true", "false"):
            return result.lower() == "true"
        raise TemplateError(f"a condition must evaluate to true or false, got {result!r}")

    def _intrinsic(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            return self.ref(self._resolve(arg))
        if name == "Fn::GetAtt":
            if isinstance(arg, str):
                resource, _, attribute = arg.partition(".")
            else:
                resource, attribute = self._resolve(arg[0]), self._resolve(arg[1])
            return self.get_att(resource, attribute)
        if name == "Fn::Sub":
            return self._sub(arg)
        if name == "Fn::If":
            condition, when_true, when_false = arg
            return self._resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self._resolve(v) for v in arg)
            return _as_string(left) == _as_string(right)
        if name == "Fn::Not":
            (inner,) = arg
            return not self._truth(inner)
        if name == "Fn::And":
            return all(self._truth(v) for v in arg)
        if name == "Fn::Or":
            return any(self._truth(v) for v in arg)
        if name == "Fn::Join":
            delimiter, items = arg
            items = self._resolve(items)
            return self._resolve(delimiter).join(_as_string(self._resolve(i)) for i in items)
        if name == "Fn::Select":
            index, items = arg
            items = self._resolve(items)
            index = int(self._resolve(index))
            if not 0 <= index < len(items):
                raise TemplateError(f"Fn::Select index {index} out of range for {items!r}")
            return items[index]
        if name == "Fn::Split":
            delimiter, text = arg
            return _as_string(self._resolve(text)).split(self._resolve(delimiter))
        if name == "Fn::FindInMap":
            return self._find_in_map(arg)
        if name == "Fn::Base64":
            return base64.b64encode(_as_string(self._resolve(arg)).encode()).decode()
        if name == "Fn::ImportValue":
            export = self._resolve(arg)
            if export not in self._imports:
                raise TemplateError(f"Fn::ImportValue {export!r}: no such export given to the local cloud (imports=)")
            return self._imports[export]
        if name == "Fn::GetAZs":
            return [f"{REGION}{zone}" for zone in "abcdef"]
        if name == "Fn::ToJsonString":
            return json.dumps(self._resolve(arg), separators=(",", ":"))
        if name == "Fn::Length":
            return len(self._resolve(arg))
        raise TemplateError(f"{name} is not supported by the local cloud")

    def _find_in_map(self, arg: list[Any]) -> Any:
        map_name, top, second = (self._resolve(v) for v in arg[:3])
        default = arg[3].get("DefaultValue") if len(arg) > 3 and isinstance(arg[3], dict) else None
        mappings = self.template.body.get("Mappings") or {}
        try:
            return self._resolve(mappings[map_name][top][second])
        except KeyError:
            if default is not None:
                return self._resolve(default)
            raise TemplateError(f"Fn::FindInMap: no {map_name}/{top}/{second} in Mappings") from None

    _SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self._resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is written as ${Literal}
            name = name.strip()
            if name in variables:
                return _as_string(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template.all_resource_ids:
                resource, attribute = name.split(".", 1)
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
    if value is None:
        return default
    return int(float(value))


def _short_hash(*parts: str, length: int = 10, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """A stable id like the random ones AWS gives (same input, same id)."""
    number = int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


# ------------------------------------------------------------------------------ the template


class Template:
    """A SAM template read from disk, in long form."""

    def __init__(self, body: dict[str, Any], path: Path | None = None):
        self.body = body
        self.path = path
        self.directory = path.parent if path else PROJECT_ROOT

    @classmethod
    def load(cls, path: str | Path = DEFAULT_TEMPLATE) -> Template:
        path = Path(path).resolve()
        return cls(load_yaml(path.read_text(encoding="utf-8")), path)

    # -- raw sections

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources") or {}

    @property
    def parameter_definitions(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Parameters") or {}

    def resources_of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") in types}

    @property
    def implicit_resources(self) -> dict[str, str]:
        """Resources SAM adds by itself that a template may reference (logical id -> type)."""
        implicit: dict[str, str] = {}
        for function in self.resources_of_type("AWS::Serverless::Function").values():
            for event in ((function.get("Properties") or {}).get("Events") or {}).values():
                if event.get("Type") == "Api" and "RestApiId" not in (event.get("Properties") or {}):
                    implicit["ServerlessRestApi"] = "AWS::Serverless::Api"
        return implicit

    @property
    def all_resource_ids(self) -> set[str]:
        return set(self.resources) | set(self.implicit_resources)

    def resource_type(self, logical_id: str) -> str:
        if logical_id in self.resources:
            return self.resources[logical_id].get("Type", "")
        return self.implicit_resources[logical_id]

    # -- parameters

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

    # -- resolution

    def resolver(
        self,
        parameter_overrides: Mapping[str, Any] | None = None,
        *,
        deployed: Deployed | None = None,
        stack_name: str = "local",
        imports: Mapping[str, Any] | None = None,
    ) -> Resolver:
        """A resolver for these parameters; references to resources give the ``deployed``
        attributes where there are some, planned ones otherwise."""
        parameters = self.parameter_values(parameter_overrides)
        attributes = PlannedAttributes(self, stack_name, deployed)
        resolver = Resolver(self, parameters, attributes, stack_name=stack_name, imports=imports)
        attributes.bind(resolver)
        return resolver

    def stack(
        self,
        parameter_overrides: Mapping[str, Any] | None = None,
        *,
        deployed: Deployed | None = None,
        stack_name: str = "local",
        imports: Mapping[str, Any] | None = None,
    ) -> StackModel:
        """The typed model of the stack for these parameters."""
        resolver = self.resolver(parameter_overrides, deployed=deployed, stack_name=stack_name, imports=imports)
        return build_stack_model(self, resolver)

    def is_enabled(self, logical_id: str, resolver: Resolver) -> bool:
        """False when the resource has a ``Condition`` that evaluates to false."""
        condition = (self.resources.get(logical_id) or {}).get("Condition")
        return True if condition is None else resolver.condition(condition)

    def properties(self, logical_id: str, resolver: Resolver) -> dict[str, Any]:
        """A resource's properties with SAM Globals applied, resolved."""
        resource = self.resources[logical_id]
        properties = resource.get("Properties") or {}
        globals_section = {
            "AWS::Serverless::Function": "Function",
            "AWS::Serverless::Api": "Api",
            "AWS::Serverless::SimpleTable": "SimpleTable",
        }.get(resource.get("Type", ""))
        if globals_section:
            defaults = (self.body.get("Globals") or {}).get(globals_section) or {}
            properties = merge_sam_globals(defaults, properties)
        return resolver.resolve(properties)


def merge_sam_globals(defaults: Any, own: Any) -> Any:
    """SAM's Globals rule: maps merge, lists are additive (globals first), the resource's
    own primitives (and intrinsic functions) win."""
    if isinstance(defaults, dict) and isinstance(own, dict) and not _is_intrinsic(defaults) and not _is_intrinsic(own):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = merge_sam_globals(defaults[key], value) if key in defaults else value
        return merged
    if isinstance(defaults, list) and isinstance(own, list):
        return defaults + own
    return own


def _validate_parameter(name: str, definition: Mapping[str, Any], raw: Any) -> Any:
    kind = definition.get("Type", "String")
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    if kind in ("CommaDelimitedList",) or kind.startswith("List<"):
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
    else:
        if "MinLength" in definition and len(value) < int(definition["MinLength"]):
            raise TemplateError(f"parameter {name} must be at least {definition['MinLength']} characters long")
        if "MaxLength" in definition and len(value) > int(definition["MaxLength"]):
            raise TemplateError(f"parameter {name} must be at most {definition['MaxLength']} characters long")
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

    def __init__(self, template: Template, stack_name: str, deployed: Deployed | None = None):
        self.template = template
        self.stack_name = stack_name
        self._deployed = deployed or {}
        self._resolver: Resolver | None = None
        self._busy: set[str] = set()

    def bind(self, resolver: Resolver) -> None:
        self._resolver = resolver

    def __call__(self, logical_id: str, attribute: str | None) -> Any:
        if logical_id in self._deployed:
            values = self._deployed[logical_id]
            key = "Ref" if attribute is None else attribute
            if key not in values:
                raise TemplateError(f"{logical_id}.{key}: attribute not known to the local cloud")
            return values[key]
        if logical_id in self._busy:
            raise TemplateError(f"resource {logical_id} refers to itself")
        self._busy.add(logical_id)
        try:
            return self._value(logical_id, attribute)
        finally:
            self._busy.discard(logical_id)

    def generated_name(self, logical_id: str, max_length: int = 128) -> str:
        suffix = _short_hash(self.stack_name, logical_id, length=12).upper()
        return f"{self.stack_name}-{logical_id}-{suffix}"[:max_length]

    def physical_name(self, logical_id: str, name_property: str, max_length: int = 128) -> str:
        assert self._resolver is not None
        properties = (self.template.resources.get(logical_id) or {}).get("Properties") or {}
        if name_property in properties:
            return str(self._resolver.resolve(properties[name_property]))
        return self.generated_name(logical_id, max_length)

    def _value(self, logical_id: str, attribute: str | None) -> Any:
        kind = self.template.resource_type(logical_id)
        r, a, p = REGION, ACCOUNT_ID, PARTITION
        if kind in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            name = self.physical_name(logical_id, "TableName")
            arn = f"arn:{p}:dynamodb:{r}:{a}:table/{name}"
            planned_stream = f"{arn}/stream/1970-01-01T00:00:00.000"  # moto stamps the real one
            return _pick(logical_id, attribute, name, {"Arn": arn, "StreamArn": planned_stream})
        if kind == "AWS::SecretsManager::Secret":
            name = self.physical_name(logical_id, "Name")
            arn = f"arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{_short_hash(name, length=6)}"
            return _pick(logical_id, attribute, arn, {"Id": arn, "Arn": arn})
        if kind == "AWS::Events::EventBus":
            name = self.physical_name(logical_id, "Name")
            return _pick(logical_id, attribute, name, {"Name": name, "Arn": f"arn:{p}:events:{r}:{a}:event-bus/{name}"})
        if kind == "AWS::SQS::Queue":
            properties = (self.template.resources[logical_id].get("Properties") or {})
            name = self.physical_name(logical_id, "QueueName", 80)
            if _bool(properties.get("FifoQueue")) and not name.endswith(".fifo"):
                name += ".fifo"
            url = f"https://sqs.{r}.{URL_SUFFIX}/{a}/{name}"
            return _pick(logical_id, attribute, url, {"Arn": f"arn:{p}:sqs:{r}:{a}:{name}", "QueueName": name,
                                                      "QueueUrl": url})
        if kind == "AWS::SNS::Topic":
            name = self.physical_name(logical_id, "TopicName", 256)
            arn = f"arn:{p}:sns:{r}:{a}:{name}"
            return _pick(logical_id, attribute, arn, {"TopicArn": arn, "TopicName": name})
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            name = self.physical_name(logical_id, "FunctionName", 64)
            return _pick(logical_id, attribute, name, {"Arn": f"arn:{p}:lambda:{r}:{a}:function:{name}"})
        if kind in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            api_id = _short_hash(self.stack_name, logical_id)
            return _pick(logical_id, attribute, api_id, {"RootResourceId": _short_hash(api_id, "/")})
        if kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            name = self.physical_name(logical_id, "LayerName", 140)
            return _pick(logical_id, attribute, f"arn:{p}:lambda:{r}:{a}:layer:{name}:1", {})
        if kind == "AWS::IAM::Role":
            name = self.physical_name(logical_id, "RoleName", 64)
            return _pick(logical_id, attribute, name, {"Arn": f"arn:{p}:iam::{a}:role/{name}", "RoleId": name})
        if kind == "AWS::S3::Bucket":
            name = self.physical_name(logical_id, "BucketName", 63).lower()
            return _pick(logical_id, attribute, name, {"Arn": f"arn:{p}:s3:::{name}",
                                                       "DomainName": f"{name}.s3.{URL_SUFFIX}"})
        if kind == "AWS::SES::ConfigurationSet":
            return _pick(logical_id, attribute, self.physical_name(logical_id, "Name"), {})
        return _pick(logical_id, attribute, self.generated_name(logical_id), {})


def _pick(logical_id: str, attribute: str | None, ref: Any, attributes: Mapping[str, Any]) -> Any:
    if attribute is None:
        return ref
    if attribute not in attributes:
        raise TemplateError(f"{logical_id}.{attribute}: attribute not known to the local cloud")
    return attributes[attribute]


# ------------------------------------------------------------------------------ model building


def build_stack_model(template: Template, resolver: Resolver) -> StackModel:
    def enabled(kind: str, *more: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in template.resources_of_type(kind, *more).items() if template.is_enabled(k, resolver)}

    tables = {lid: _table(template, lid, resolver) for lid in enabled("AWS::DynamoDB::Table")}
    secrets = {lid: _secret(template, lid, resolver) for lid in enabled("AWS::SecretsManager::Secret")}
    buses = {
        lid: EventBusSpec(lid, resolver.get_att(lid, "Name")) for lid in enabled("AWS::Events::EventBus")
    }
    queues = {lid: _queue(template, lid, resolver) for lid in enabled("AWS::SQS::Queue")}
    topics = {lid: TopicSpec(lid, resolver.get_att(lid, "TopicName")) for lid in enabled("AWS::SNS::Topic")}
    apis = {lid: _api(template, lid, resolver) for lid in enabled("AWS::Serverless::Api")}
    if "ServerlessRestApi" in template.implicit_resources:
        apis["ServerlessRestApi"] = ApiSpec("ServerlessRestApi", resolver.ref("ServerlessRestApi"),
                                            f"{resolver.stack_name}-ServerlessRestApi", "Prod")
    functions = {
        lid: _function(template, lid, resolver, apis, queues) for lid in enabled("AWS::Serverless::Function")
    }
    identities = tuple(
        str(template.properties(lid, resolver).get("EmailIdentity"))
        for lid in enabled("AWS::SES::EmailIdentity")
    )
    outputs = {
        name: resolver.resolve(output.get("Value"))
        for name, output in (template.body.get("Outputs") or {}).items()
        if output.get("Condition") is None or resolver.condition(output["Condition"])
    }
    return StackModel(
        stack_name=resolver.stack_name,
        parameters=dict(resolver.parameters),
        tables=tables,
        functions=functions,
        secrets=secrets,
        event_buses=buses,
        queues=queues,
        topics=topics,
        apis=apis,
        outputs=outputs,
        ses_identities=identities,
    )


def _table(template: Template, logical_id: str, resolver: Resolver) -> TableSpec:
    props = template.properties(logical_id, resolver)
    ttl = props.get("TimeToLiveSpecification") or {}
    stream = props.get("StreamSpecification") or {}
    pitr = props.get("PointInTimeRecoverySpecification") or {}
    stream_view_type = stream.get("StreamViewType")
    return TableSpec(
        logical_id=logical_id,
        name=resolver.ref(logical_id),
        key_schema=tuple(KeyElement(k["AttributeName"], k["KeyType"]) for k in props.get("KeySchema", [])),
        attribute_definitions={d["AttributeName"]: d["AttributeType"] for d in props.get("AttributeDefinitions", [])},
        ttl_attribute=ttl.get("AttributeName") if _bool(ttl.get("Enabled")) else None,
        stream_view_type=stream_view_type,
        billing_mode=props.get("BillingMode", "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST"),
        provisioned_throughput=props.get("ProvisionedThroughput"),
        global_secondary_indexes=tuple(props.get("GlobalSecondaryIndexes") or ()),
        local_secondary_indexes=tuple(props.get("LocalSecondaryIndexes") or ()),
        sse_enabled=_bool((props.get("SSESpecification") or {}).get("SSEEnabled")),
        point_in_time_recovery=_bool(pitr.get("PointInTimeRecoveryEnabled")),
        stream_arn=resolver.get_att(logical_id, "StreamArn") if stream_view_type else None,
    )


def _secret(template: Template, logical_id: str, resolver: Resolver) -> SecretSpec:
    props = template.properties(logical_id, resolver)
    generate = props.get("GenerateSecretString")
    spec = None
    if generate is not None:
        spec = GenerateSecretString(
            secret_string_template=generate.get("SecretStringTemplate"),
            generate_string_key=generate.get("GenerateStringKey"),
            password_length=_int(generate.get("PasswordLength"), 32),
            exclude_characters=str(generate.get("ExcludeCharacters", "")),
            exclude_punctuation=_bool(generate.get("ExcludePunctuation")),
            exclude_numbers=_bool(generate.get("ExcludeNumbers")),
            exclude_uppercase=_bool(generate.get("ExcludeUppercase")),
            exclude_lowercase=_bool(generate.get("ExcludeLowercase")),
            include_space=_bool(generate.get("IncludeSpace")),
            require_each_included_type=_bool(generate.get("RequireEachIncludedType"), True),
        )
    name = props.get("Name") or PlannedAttributes(template, resolver.stack_name).generated_name(logical_id)
    return SecretSpec(logical_id, str(name), props.get("Description"), props.get("SecretString"), spec)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled",
    "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "DeduplicationScope", "FifoThroughputLimit",
)


def _queue(template: Template, logical_id: str, resolver: Resolver) -> QueueSpec:
    props = template.properties(logical_id, resolver)
    attributes = {k: _as_string(props[k]) for k in _QUEUE_ATTRIBUTES if k in props}
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if key in props:
            attributes[key] = json.dumps(props[key])
    return QueueSpec(logical_id, resolver.get_att(logical_id, "QueueName"), attributes,
                     arn=resolver.get_att(logical_id, "Arn"))


# what SAM's ResourcePolicy can say besides CustomStatements; the local API does not enforce
# them, so a template using one is refused rather than served more openly than AWS would
_UNSUPPORTED_RESOURCE_POLICY_KEYS = (
    "AwsAccountBlacklist", "AwsAccountWhitelist", "IpRangeBlacklist", "IpRangeWhitelist", "IntrinsicVpcBlacklist",
    "IntrinsicVpcWhitelist", "IntrinsicVpceBlacklist", "IntrinsicVpceWhitelist", "SourceVpcBlacklist",
    "SourceVpcWhitelist",
)


def _api(template: Template, logical_id: str, resolver: Resolver) -> ApiSpec:
    props = template.properties(logical_id, resolver)
    auth = props.get("Auth") or {}
    return ApiSpec(
        logical_id=logical_id,
        id=resolver.ref(logical_id),
        name=str(props.get("Name") or f"{resolver.stack_name}-{logical_id}"),
        stage_name=str(props.get("StageName", "Prod")),
        default_authorizer=auth.get("DefaultAuthorizer"),
        resource_policy=_resource_policy(logical_id, auth.get("ResourcePolicy")),
        default_invoke_role=None if "InvokeRole" not in auth else str(auth["InvokeRole"] or "NONE"),
    )


def _resource_policy(logical_id: str, resource_policy: Any) -> dict[str, Any] | None:
    """The policy document SAM writes into the API's ``x-amazon-apigateway-policy`` from
    ``Auth.ResourcePolicy.CustomStatements`` (passed through as they are)."""
    if not resource_policy:
        return None
    if not isinstance(resource_policy, dict):
        raise TemplateError(f"{logical_id}: Auth.ResourcePolicy must be a map")
    unsupported = sorted(set(resource_policy) & set(_UNSUPPORTED_RESOURCE_POLICY_KEYS))
    if unsupported:
        raise TemplateError(f"{logical_id}: Auth.ResourcePolicy.{', '.join(unsupported)} is not supported by the "
                            "local API (write it as CustomStatements)")
    statements = resource_policy.get("CustomStatements")
    if statements is None:
        return None
    return {"Version": "2012-10-17", "Statement": statements if isinstance(statements, list) else [statements]}


def _layer_dirs(template: Template, layers: list[Any], function_id: str) -> tuple[Path, ...]:
    raw_layers = merge_sam_globals(
        ((template.body.get("Globals") or {}).get("Function") or {}).get("Layers") or [],
        ((template.resources[function_id].get("Properties") or {}).get("Layers")) or [],
    )
    dirs = []
    for raw in raw_layers:
        # only layers of this template have code on this machine; others (ARNs) are skipped
        if isinstance(raw, dict) and "Ref" in raw and raw["Ref"] in template.resources:
            layer = template.resources[raw["Ref"]]
            content = (layer.get("Properties") or {}).get("ContentUri")
            if isinstance(content, str):
                dirs.append((template.directory / content).resolve())
    return tuple(dirs)


def _function(template: Template, logical_id: str, resolver: Resolver, apis: Mapping[str, ApiSpec],
              queues: Mapping[str, QueueSpec] | None = None) -> FunctionSpec:
    props = template.properties(logical_id, resolver)
    code_uri = props.get("CodeUri")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local directory for the local cloud, got {code_uri!r}")
    variables = (props.get("Environment") or {}).get("Variables") or {}
    stream_sources: list[StreamEventSource] = []
    queue_sources: list[SqsEventSource] = []
    schedules: list[ScheduleEvent] = []
    api_events: list[ApiEvent] = []
    other: list[str] = []
    for event_id, event in (props.get("Events") or {}).items():
        kind = event.get("Type")
        ep = event.get("Properties") or {}
        if kind == "DynamoDB":
            stream_sources.append(_stream_source(event_id, ep))
        elif kind == "SQS":
            queue_sources.append(_queue_source(event_id, ep, queues or {}))
        elif kind in ("ScheduleV2", "Schedule"):
            schedules.append(_schedule(event_id, kind, ep))
        elif kind == "Api":
            api_logical = _api_logical_id(template, logical_id, event_id, apis, ep.get("RestApiId"))
            api = apis.get(api_logical)
            event_auth = ep.get("Auth") or {}
            authorizer = event_auth.get("Authorizer") or (api.default_authorizer if api else None)
            authorizer = None if authorizer in (None, "NONE") else str(authorizer)
            api_events.append(ApiEvent(event_id, api_logical, str(ep["Path"]), str(ep["Method"]).upper(), authorizer,
                                       _invoke_role(authorizer, event_auth, api)))
        else:
            other.append(f"{event_id} ({kind})")
    invoke_config = props.get("EventInvokeConfig") or {}
    return FunctionSpec(
        logical_id=logical_id,
        name=resolver.ref(logical_id),
        code_uri=(template.directory / code_uri).resolve(),
        handler=str(props.get("Handler", "app.handler")),
        runtime=str(props.get("Runtime", "python3.12")),
        environment={k: _as_string(v) for k, v in variables.items()},
        timeout=_int(props.get("Timeout"), 3),
        memory_size=_int(props.get("MemorySize"), 128),
        layer_dirs=_layer_dirs(template, props.get("Layers") or [], logical_id),
        stream_sources=tuple(stream_sources),
        queue_sources=tuple(queue_sources),
        schedules=tuple(schedules),
        api_events=tuple(api_events),
        async_max_retries=_int(invoke_config.get("MaximumRetryAttempts"), 2),
        other_events=tuple(other),
    )


def _invoke_role(authorizer: str | None, event_auth: Mapping[str, Any], api: ApiSpec | None) -> str | None:
    """The integration's credentials as SAM writes them (samtranslator swagger.py
    ``add_lambda_integration`` / ``_get_invoke_role``): only on AWS_IAM routes; the event's
    ``InvokeRole``, else the API's, else the caller's credentials; an ``InvokeRole`` given
    empty counts as NONE."""
    if authorizer != "AWS_IAM":
        return None
    if "InvokeRole" in event_auth:
        role = str(event_auth["InvokeRole"] or "NONE")
    elif api is not None and api.default_invoke_role is not None:
        role = api.default_invoke_role
    else:
        role = CALLER_CREDENTIALS
    return role


def _api_logical_id(template: Template, function_id: str, event_id: str, apis: Mapping[str, ApiSpec],
                    resolved_id: Any) -> str:
    # the resolved RestApiId is the API's id; the raw template says which API it is
    raw_events = ((template.resources[function_id].get("Properties") or {}).get("Events") or {})
    raw = ((raw_events.get(event_id) or {}).get("Properties") or {}).get("RestApiId")
    if raw is None:
        return "ServerlessRestApi"
    if isinstance(raw, dict) and isinstance(raw.get("Ref"), str):
        return raw["Ref"]
    for api in apis.values():
        if api.id == resolved_id:
            return api.logical_id
    raise TemplateError(f"{function_id}.{event_id}: RestApiId {raw!r} is not an API of this template")


def _stream_source(event_id: str, p: Mapping[str, Any]) -> StreamEventSource:
    destination = ((p.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    filters = ((p.get("FilterCriteria") or {}).get("Filters")) or []
    return StreamEventSource(
        event_id=event_id,
        stream_arn=str(p["Stream"]),
        starting_position=str(p.get("StartingPosition", "TRIM_HORIZON")),
        batch_size=_int(p.get("BatchSize"), 100),
        maximum_retry_attempts=_int(p.get("MaximumRetryAttempts"), -1),
        bisect_batch_on_function_error=_bool(p.get("BisectBatchOnFunctionError")),
        report_batch_item_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
        on_failure_destination=str(destination) if destination else None,
        filter_patterns=tuple(str(f["Pattern"]) for f in filters if "Pattern" in f),
        enabled=_bool(p.get("Enabled"), True),
    )


def _queue_source(event_id: str, p: Mapping[str, Any], queues: Mapping[str, QueueSpec]) -> SqsEventSource:
    arn = str(p["Queue"])
    filters = ((p.get("FilterCriteria") or {}).get("Filters")) or []
    concurrency = (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return SqsEventSource(
        event_id=event_id,
        queue_arn=arn,
        queue_logical_id=next((q.logical_id for q in queues.values() if q.arn == arn), None),
        batch_size=_int(p.get("BatchSize"), 10),
        maximum_batching_window=_int(p.get("MaximumBatchingWindowInSeconds"), 0),
        report_batch_item_failures="ReportBatchItemFailures" in (p.get("FunctionResponseTypes") or []),
        maximum_concurrency=None if concurrency is None else _int(concurrency, 0),
        filter_patterns=tuple(str(f["Pattern"]) for f in filters if "Pattern" in f),
        enabled=_bool(p.get("Enabled"), True),
    )


def _schedule(event_id: str, kind: str, p: Mapping[str, Any]) -> ScheduleEvent:
    if kind == "ScheduleV2":
        enabled = str(p.get("State", "ENABLED")).upper() == "ENABLED"
        timezone = str(p.get("ScheduleExpressionTimezone") or "UTC")
    else:
        enabled = _bool(p.get("Enabled"), True) and str(p.get("State", "ENABLED")).upper() == "ENABLED"
        timezone = "UTC"  # EventBridge rules run in UTC
    raw_input = p.get("Input")
    return ScheduleEvent(
        event_id=event_id,
        kind=kind,
        expression=str(p.get("ScheduleExpression") or p.get("Schedule")),
        timezone=timezone,
        input=raw_input if raw_input is None or isinstance(raw_input, str) else json.dumps(raw_input),
        enabled=enabled,
        start_date=p.get("StartDate"),
        end_date=p.get("EndDate"),
    )


