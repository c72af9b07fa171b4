"""Domain errors: what went wrong in the caller's terms, each with the HTTP status it maps to.

Logic raises these; adapters translate ``ClientError`` codes into them (raised ``from`` the
original); exactly one place (``runtime.common.http``) turns them into responses. The message
is shown to the client, so it never names a table, a key or a library.
"""

from __future__ import annotations

from http import HTTPStatus


class DomainError(Exception):
    """Base of every error a client may see; ``status`` is its HTTP status."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(DomainError):
    status = HTTPStatus.BAD_REQUEST


class UnauthorizedError(DomainError):
    status = HTTPStatus.UNAUTHORIZED


class ForbiddenError(DomainError):
    status = HTTPStatus.FORBIDDEN


class NotFoundError(DomainError):
    status = HTTPStatus.NOT_FOUND


class ConflictError(DomainError):
    status = HTTPStatus.CONFLICT


class UnprocessableError(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class TooManyRequestsError(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS


class RateLimitedError(TooManyRequestsError):
    """Over an attempt limit; the answer carries ``Retry-After`` (seconds until the window ends)."""

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ThrottledError(DomainError):
    """A dependency throttled us; the caller may retry (503, never a lost write)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class ConfigurationError(Exception):
    """The function was deployed with settings it cannot run with; fails the cold start loudly."""
