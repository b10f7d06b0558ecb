"""The one logger and metrics of every function, configured by the template's ``POWERTOOLS_*``
variables. Logs never carry an email address or a link token.

The tracer is in ``lifecycle.tracing``, imported only by the handlers that use it: the X-Ray
SDK builds a botocore client when it is imported (about 100 ms of cold start), which the
member API, answering clicks, does without."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
