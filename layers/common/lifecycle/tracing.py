"""Powertools' tracer (X-Ray subsegments for every AWS call), for the background functions.
The member API leaves it out for a faster cold start; Lambda's active tracing still records
each of its invocations."""

from aws_lambda_powertools import Tracer

tracer = Tracer()
