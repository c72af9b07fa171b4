"""`GET /health` (a cheap liveness probe) and `GET /openapi.json` (the published API document)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime import startup_complete
from runtime.common.http import create_resolver
from runtime.common.names import Env
from runtime.common.observability import logger, tracer

app = create_resolver()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "stage": os.environ.get(Env.STAGE, "unknown")}


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> dict[str, Any]:
    # Imported on first use: building the document imports every domain's routes.
    from runtime.openapi import build_document

    return build_document()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


startup_complete()  # the last statement: see runtime/__init__.py
