"""The one logger, tracer and metrics of every function, configured by the template's
``POWERTOOLS_*`` variables. Logs never carry an email address or a link token."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
