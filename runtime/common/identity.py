"""Who is calling: the claims the authorizer verified, as the handlers see them.

The HTTP API's Lambda authorizer validates the bearer token and passes its claims in the
request context (``requestContext.authorizer.lambda``); the WebSocket ``$connect`` stores the
same claims on the connection. Handlers never parse tokens themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runtime.common.errors import ForbiddenError, UnauthorizedError


@dataclass(frozen=True)
class Identity:
    """An authenticated user, scoped to one tenant."""

    user_id: str
    tenant_id: str
    permissions: tuple[str, ...] = field(default_factory=tuple)
    email: str | None = None

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise ForbiddenError("you are not allowed to do that")

    def to_context(self) -> dict[str, str]:
        """The authorizer's context (values must be strings, numbers or booleans)."""
        return {
            "user_id": self.user_id,
            "tenant_id": self.tenant_id,
            "permissions": json.dumps(list(self.permissions)),
            "email": self.email or "",
        }

    @classmethod
    def from_context(cls, context: dict[str, Any] | None) -> Identity:
        """Read the authorizer's context back; missing claims mean the route was not protected."""
        if not context or not context.get("user_id") or not context.get("tenant_id"):
            raise UnauthorizedError("authentication required")
        raw = context.get("permissions") or "[]"
        permissions = json.loads(raw) if isinstance(raw, str) else list(raw)
        return cls(
            user_id=str(context["user_id"]),
            tenant_id=str(context["tenant_id"]),
            permissions=tuple(str(p) for p in permissions),
            email=str(context.get("email")) or None,
        )
