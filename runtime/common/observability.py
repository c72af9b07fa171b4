"""The Powertools trio every handler decorates itself with.

Service name and metrics namespace come from POWERTOOLS_* variables that the stacks set, so
the objects can be created at import time without reading any settings of ours.

The tracer is Powertools' Tracer, created on the function's first invocation rather than at
import (see ``DeferredTracer``), and it patches botocore only: every call this code makes
leaves through boto3, and Powertools' default (``patch_all``) would import and patch every
library X-Ray knows that happens to be installed (httpx, requests, sqlite3, ...), at every
cold start, for calls these functions never make.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.tracing import Tracer

from runtime import startup_complete

# The only libraries whose calls these functions make; extend it if a function adds another.
TRACED_MODULES = ("botocore",)


class DeferredTracer:
    """Powertools' ``Tracer``, built (X-Ray SDK imported, botocore patched) when first needed.

    Creating a Tracer imports the X-Ray SDK and patches botocore, which a function pays on its
    first invocation anyway; doing it there instead of at module import keeps it out of the
    import of every handler module (and out of tests and tools that import one). The wrapped
    handler is Powertools' own ``capture_lambda_handler``, so segments, the ``ColdStart``
    annotation and error capture are unchanged; patching is class-level, so clients created
    before the first invocation are traced too.
    """

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            self._tracer = Tracer(patch_modules=TRACED_MODULES)
        return self._tracer

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]:
        """``Tracer.capture_lambda_handler`` (same signature), applied on the first invocation."""

        def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
            traced: list[Callable[..., Any]] = []

            @functools.wraps(handler)
            def invoke(event: Any, context: Any, **kwargs: Any) -> Any:
                if not traced:
                    startup_complete()  # in case the handler module did not end with it
                    traced.append(
                        self.tracer.capture_lambda_handler(
                            handler, capture_response=capture_response, capture_error=capture_error
                        )
                    )
                return traced[0](event, context, **kwargs)

            return invoke

        return decorate if lambda_handler is None else decorate(lambda_handler)


logger = Logger()
tracer = DeferredTracer()
metrics = Metrics()

__all__ = ["TRACED_MODULES", "DeferredTracer", "logger", "metrics", "tracer"]
