"""The local cloud: this project's SAM stack (template.yaml) on a moto server, without Docker.

``LocalCloud`` starts moto, creates the template's resources there, runs the template's
handlers in-process as Lambda would, moves a virtual clock (schedules, DynamoDB TTL, stream
and queue delivery) and serves the API over HTTP. ``python -m ops serve`` runs it for a person.
"""
from local.cloud import Invocation, LocalCloud
from local.outbox import BusEvent, SentEmail
from local.template import StackModel, Template, TemplateError

__all__ = ["BusEvent", "Invocation", "LocalCloud", "SentEmail", "StackModel", "Template", "TemplateError"]
