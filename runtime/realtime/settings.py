"""What each realtime function reads from its environment (validated at its first invocation)."""

from __future__ import annotations

from pydantic import Field

from runtime.common.settings import FunctionSettings


class ConnectSettings(FunctionSettings):
    connections_table: str
    upload_sessions_table: str
    # A connection record outlives API Gateway's 2 h connection limit; TTL only sweeps leftovers.
    connection_ttl_seconds: int = Field(default=24 * 3600, ge=3600)


class DisconnectSettings(FunctionSettings):
    connections_table: str
    upload_sessions_table: str
    chat_table: str


class RouterSettings(FunctionSettings):
    connections_table: str
    chat_table: str
    websocket_endpoint: str


class ProcessorSettings(FunctionSettings):
    connections_table: str
    chat_table: str
    websocket_endpoint: str


class NotifierSettings(FunctionSettings):
    """For functions outside this area that push frames (QR completion, image pipeline)."""

    connections_table: str
    websocket_endpoint: str
