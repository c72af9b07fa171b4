"""The Lambda code of every function, shipped as one importable package.

Importing a handler module is most of a function's cold start, and while it runs the cyclic
garbage collector keeps walking a heap that only grows: modules, classes, botocore's service
models, pydantic's schemas, all of which live as long as the container. Those passes find
nothing to free and cost about a tenth of the import (bench/coldstart.py, docs/benchmarks.md).
Inside Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set, as the local runtime's workers set it too) the
collector is therefore paused from the first import of this package until ``startup_complete``:
every handler module calls it as its last statement, and the first invocation calls it again in
case a module did not. It moves everything imported so far into the permanent generation
(``gc.freeze``), so later collections, during requests, no longer walk the start-up objects
either, and resumes collection. Outside Lambda (tests, tools, the CDK app) nothing changes.
"""

from __future__ import annotations

import gc
import os

_paused = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and gc.isenabled()
if _paused:
    gc.disable()


def startup_complete() -> None:
    """End the start-up pause: freeze what the import built and collect normally from here on."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
