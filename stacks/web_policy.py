"""The web client's Content-Security-Policy: one definition for CloudFront and the local runtime.

The client is plain ES modules from its own origin (no inline script or style, no eval), so the
policy allows scripts and styles from 'self' only; what it talks to is the stage's two APIs
(``fetch`` and the WebSocket) and S3 (presigned uploads and the variants' presigned URLs, shown
as images). Anything else a page would load or send is refused by the browser: an injected
script, an exfiltrating ``fetch``, the page framed by another site. Both worlds serve the same
directives, so the browser tests against the local runtime prove the client works under it.
"""

from __future__ import annotations

from collections.abc import Sequence


def content_security_policy(*, apis: Sequence[str], storage: Sequence[str]) -> str:
    """The header value; ``apis`` and ``storage`` are source expressions (origins or wildcards)."""
    directives: dict[str, list[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *storage],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'", *apis, *storage],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def deployed_sources(region: str) -> dict[str, list[str]]:
    """Where a deployed stage's client connects: API Gateway and S3 in the stage's region.

    Wildcards, not the exact hosts: the hosting stack is deployed before the APIs and buckets
    (their CORS rules name its origin), so it cannot reference them without a cycle.
    """
    return {
        "apis": [f"https://*.execute-api.{region}.amazonaws.com", f"wss://*.execute-api.{region}.amazonaws.com"],
        # Presigned URLs are path-style (runtime/uploads/storage.py), on S3's global or regional
        # endpoint; the virtual-hosted forms too, should that ever change. Any bucket: the names
        # are not known here (see above), which leaves S3 as a place a script could send to.
        "storage": [
            "https://s3.amazonaws.com",
            f"https://s3.{region}.amazonaws.com",
            "https://*.s3.amazonaws.com",
            f"https://*.s3.{region}.amazonaws.com",
        ],
    }
