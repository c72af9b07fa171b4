"""The web client (``web/``) on a port of its own, with the runtime's outputs beside it.

The client reads ``outputs.json`` from its own origin in both worlds: here it is the runtime's
outputs (the shape of ``cdk deploy --outputs-file``), in the cloud the file that the stage's
web-content stack deploys beside the client (``stacks/web_stack.py``). A port of its own gives the
client an origin the stage's CORS rules name (``stacks/config.py``), as CloudFront does in the cloud.
Every answer carries the Content-Security-Policy CloudFront sends (``stacks/web_policy.py``), with
this runtime's own origins for the APIs and S3, so the browser tests run the client under it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from local.assembly import REPO_ROOT
from local.httpserver import HttpRequest, HttpResponse, json_response
from stacks.web_policy import content_security_policy

WEB_ROOT = REPO_ROOT / "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# Edits to web/ show on the next reload; nothing here is worth caching on loopback.
_HEADERS = [
    ("cache-control", "no-cache"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
]


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what a CSP source expression names."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def local_policy(apis: list[str], storage: str) -> str:
    """The deployed policy with this runtime's origins: the APIs' URLs and the S3 endpoint's."""
    return content_security_policy(apis=sorted({origin_of(url) for url in apis}), storage=[origin_of(storage)])


class WebServer:
    """``GET`` files under ``root`` and ``/outputs.json``; ``outputs`` is ``None`` until the runtime is ready."""

    def __init__(
        self, root: Path, outputs: Callable[[], dict[str, Any] | None], policy: Callable[[], str | None]
    ) -> None:
        self.root = root.resolve()
        self.outputs = outputs
        self.policy = policy

    async def handle(self, request: HttpRequest) -> HttpResponse:
        response = await self._answer(request)
        policy = self.policy()
        if policy is not None:
            response.headers.append(("content-security-policy", policy))
        return response

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(405, [("allow", "GET, HEAD"), *_HEADERS])
        path = unquote(request.path)
        if path == "/outputs.json":
            outputs = self.outputs()
            if outputs is None:
                return json_response(503, b'{"error": "the runtime is starting"}', _HEADERS)
            return json_response(200, json.dumps(outputs).encode(), _HEADERS)
        file = self.resolve(path)
        if file is None:
            return HttpResponse(404, [("content-type", "text/plain; charset=utf-8"), *_HEADERS], b"Not Found\n")
        body = await asyncio.to_thread(file.read_bytes)
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        return HttpResponse(200, [("content-type", content_type), *_HEADERS], body)

    def resolve(self, path: str) -> Path | None:
        """The file a URL path names, never one outside ``root`` (``..``, symlinks out)."""
        relative = path.lstrip("/")
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        file = (self.root / relative).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return None
        return file
