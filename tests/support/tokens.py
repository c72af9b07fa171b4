"""Tokens signed by hand, to test what the services refuse (not what ``TokenService`` would issue)."""

from __future__ import annotations

import time
from typing import Any

import jwt

from runtime.common.tokens import SigningKey


def forge_token(key: str, *, user_id: str, tenant_id: str, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """A token with the service's usual claims for ``user_id``, overridden by ``claims`` and
    without the ``drop`` ones, signed with ``key`` under its real ``kid``."""
    now = int(time.time())
    base = {
        "sub": user_id,
        "user_id": user_id,
        "tenant_id": tenant_id,
        "permissions": ["chat"],
        "iat": now,
        "exp": now + 600,
        "iss": "messaging-platform",
        "aud": "messaging-clients",
    }
    payload = {k: v for k, v in {**base, **claims}.items() if k not in drop}
    return jwt.encode(payload, key.encode(), algorithm="HS256", headers={"kid": SigningKey.from_text(key).kid})
