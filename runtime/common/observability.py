"""The Powertools trio every handler decorates itself with.

Service name and metrics namespace come from POWERTOOLS_* variables that the stacks set, so
the objects can be created at import time without reading any settings of ours.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["logger", "metrics", "tracer"]
