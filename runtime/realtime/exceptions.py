"""Errors of the realtime area; a client sees their message in an ``error`` frame or a refused handshake."""

from __future__ import annotations

from runtime.common.errors import BadRequestError, DomainError, NotFoundError


class RealtimeError(DomainError):
    """Base of the errors this area raises on its own."""


class FrameError(BadRequestError, RealtimeError):
    """A frame that is malformed, too large or names an unknown action (the socket stays open)."""


class HandshakeRefusedError(RealtimeError):
    """`$connect` without a valid credential; the status refuses the handshake."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.refusal_status = status


class ConnectionUnknownError(NotFoundError, RealtimeError):
    """A frame from a connection we have no record of (expired or already disconnected)."""


class PoisonRecordError(RealtimeError):
    """A stream record that can never be delivered (malformed item, cross-tenant reference)."""


class DeliveryFailedError(RealtimeError):
    """Some connections could not be reached after bounded retries; the record is retried whole."""
