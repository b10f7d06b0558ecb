"""The local cloud: this project's SAM stack (template.yaml) on a moto server, without Docker.

``LocalCloud`` starts moto, creates the template's resources there, runs the template's
handlers in-process as Lambda would, moves a virtual clock (schedules, DynamoDB TTL, stream
and queue delivery) and serves the API over HTTP. ``python -m ops serve`` runs it for a person.
"""
from __future__ import annotations

import importlib
from typing import Any

# imported when first asked for: moto alone takes a second to import, and a command that reads a
# deployed stack (``python -m ops report --stack``) never starts a local cloud
_HOMES = {"Invocation": "local.cloud", "LocalCloud": "local.cloud", "BusEvent": "local.outbox",
          "SentEmail": "local.outbox", "StackModel": "local.template", "Template": "local.template",
          "TemplateError": "local.template"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'local' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
