"""What the least-privilege tests share (the stack on the local cloud is ``tests/stack.py``'s): the
two sides they compare, both as ``{function logical id: {resource: {IAM actions}}}``:

* what each function's role allows: the inline statements of the ``AWS::IAM::Role`` SAM's
  transform generates for it (the template's ``Policies`` and what SAM adds for its events),
  resolved with ``local.template``, every resource ARN named by the logical id it belongs to
  (``!GetAtt LifecycleTable.Arn`` -> ``LifecycleTable``);
* what each function's handler needed on the local cloud, as ``tests.security.permissions`` recorded it,
  plus what Lambda itself does with a stream function's role (its event source mapping sends
  the records that keep failing to the ``OnFailure`` destination; the handler never does).

SES resources have no logical id: they are named after the parameter that names them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from local import LocalCloud
from local.template import StackModel, Template, resolver_for
from tests.security.permissions import ArnBuilder, CallLog

Grants = dict[str, dict[str, set[str]]]
"""function logical id -> resource (logical id, or the parameter naming an SES resource) -> IAM actions"""

SES_IDENTITY = "SenderAddress (SES identity)"
SES_CONFIGURATION_SET = "ConfigurationSetName (SES configuration set)"
FAILED_RECORD_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}  # by the destination's service


# ------------------------------------------------------------------ naming resources


def resource_names(model: StackModel, attribute: Callable[[str, str | None], Any]) -> dict[str, str]:
    """ARN -> the name these tests give the resource: its logical id, or for SES the parameter
    naming it. ``attribute(logical id, attribute or None for Ref)`` gives the ARNs, planned from
    the template or as the local cloud created them."""
    with_arns = [*model.tables, *model.event_buses, *model.queues]
    names = {attribute(logical_id, "Arn"): logical_id for logical_id in with_arns}
    names |= {attribute(logical_id, None): logical_id for logical_id in model.secrets}  # a secret's Ref is its ARN
    arns = ArnBuilder()
    names[arns.ses_identity(model.parameters["SenderAddress"])] = SES_IDENTITY
    if model.parameters["ConfigurationSetName"]:
        names[arns.ses_configuration_set(model.parameters["ConfigurationSetName"])] = SES_CONFIGURATION_SET
    return names


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ the template's side


def role_statements(model: StackModel, function_id: str) -> list[dict[str, Any]]:
    """The statements of the inline policies of the role SAM generates for the function. A
    managed policy SAM attaches is not among them: what it grants is not written in the template."""
    role_id = model.function(function_id).role_id
    if role_id is None:
        raise AssertionError(f"{function_id} runs with no role of the template")
    return [dict(statement) for statement in model.roles[role_id].statements]


def granted_by_template(template: Template, parameters: Mapping[str, Any], stack_name: str = "local") -> Grants:
    """What each function's role allows, as SAM generates it for these parameters. An ARN
    that is no resource of the template stays an ARN (and shows up in a comparison)."""
    model = template.stack(parameters, stack_name=stack_name)
    resolver = resolver_for(template.translated(model.parameters).template, model.parameters, stack_name)
    names = resource_names(
        model,
        lambda logical_id, attribute: (
            resolver.ref(logical_id) if attribute is None else resolver.get_att(logical_id, attribute)
        ),
    )
    grants: Grants = {function_id: {} for function_id in model.functions}
    for function_id in model.functions:
        for statement in role_statements(model, function_id):
            for resource in as_list(statement["Resource"]):
                grants[function_id].setdefault(names.get(resource, resource), set()).update(
                    as_list(statement["Action"])
                )
    return grants


# ------------------------------------------------------------------ the handlers' side


def needed_by_handlers(calls: CallLog, cloud: LocalCloud) -> Grants:
    """The permissions each function's handler needed while ``calls`` recorded, by resource."""
    names = resource_names(cloud.stack, cloud.resource)
    needed: Grants = {function_id: {} for function_id in cloud.stack.functions}
    for call in calls.calls:
        resource = names.get(call.permission.resource, call.permission.resource)
        needed[call.function].setdefault(resource, set()).add(call.permission.action)
    return needed


def needed_by_event_source_mappings(cloud: LocalCloud) -> Grants:
    """What Lambda's event source mappings do with a stream function's role, which its handler
    never does: send the records that keep failing to the ``OnFailure`` destination."""
    names = resource_names(cloud.stack, cloud.resource)
    needed: Grants = {function_id: {} for function_id in cloud.stack.functions}
    for function in cloud.stack.functions.values():
        for source in function.stream_sources:
            if source.on_failure_destination:
                destination = source.on_failure_destination
                action = FAILED_RECORD_ACTIONS[destination.split(":")[2]]
                needed[function.logical_id].setdefault(names.get(destination, destination), set()).add(action)
    return needed


def combined(*sides: Grants) -> Grants:
    merged: Grants = {}
    for side in sides:
        for function_id, resources in side.items():
            for resource, actions in resources.items():
                merged.setdefault(function_id, {}).setdefault(resource, set()).update(actions)
            merged.setdefault(function_id, {})
    return merged


def differences(granted: Grants, needed: Grants) -> dict[str, dict[str, dict[str, set[str]]]]:
    """Per function, what is needed but not granted and what is granted but never needed."""
    found = {}
    for function_id in sorted(set(granted) | set(needed)):
        mine, used = granted.get(function_id, {}), needed.get(function_id, {})
        missing = {resource: actions - mine.get(resource, set()) for resource, actions in used.items()}
        unused = {resource: actions - used.get(resource, set()) for resource, actions in mine.items()}
        missing = {resource: actions for resource, actions in missing.items() if actions}
        unused = {resource: actions for resource, actions in unused.items() if actions}
        if missing or unused:
            found[function_id] = {"needed, not granted": missing, "granted, never needed": unused}
    return found


# ------------------------------------------------------------------ lost stream records


@contextmanager
def stream_records_lost_to(cloud: LocalCloud, function_id: str) -> Iterator[None]:
    """What the tables' streams carry inside the block never reaches ``function_id``: as when
    its event source mapping stays disabled for longer than a stream keeps records (24 hours).
    The records written meanwhile are delivered to the other functions before the block ends."""
    mappings = [mapping for mapping in cloud.stream_mappings if mapping.function_id == function_id]
    sources = {id(mapping): mapping.source for mapping in mappings}
    for mapping in mappings:
        mapping.source = dataclasses.replace(mapping.source, enabled=False)
    try:
        yield
        cloud.pump_streams()
    finally:
        for mapping in mappings:
            mapping.source = sources[id(mapping)]
