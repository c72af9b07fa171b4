"""`GET /health`: a cheap liveness probe that touches no dependency."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from runtime.common.names import Env
from runtime.common.observability import logger, tracer

app = APIGatewayHttpResolver(cors=CORSConfig())


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "stage": os.environ.get(Env.STAGE, "unknown")}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
