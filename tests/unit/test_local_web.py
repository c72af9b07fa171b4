"""The local runtime's web server: files under its root only, and the outputs once ready."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from local.httpserver import HttpRequest, HttpResponse
from local.web import WEB_ROOT, WebServer, local_policy


def get(server: WebServer, target: str, method: str = "GET") -> HttpResponse:
    return asyncio.run(server.handle(HttpRequest(method, target, [], b"", ("127.0.0.1", 1))))


def header(response: HttpResponse, name: str) -> str | None:
    return next((value for key, value in response.headers if key == name), None)


def test_serves_the_client_with_its_content_types() -> None:
    server = WebServer(WEB_ROOT, lambda: None, lambda: None)
    index = get(server, "/")
    assert index.status == 200
    assert header(index, "content-type") == "text/html; charset=utf-8"
    assert b'src="js/main.js"' in index.body
    module = get(server, "/js/main.js?v=1")
    assert (module.status, header(module, "content-type")) == (200, "text/javascript; charset=utf-8")


def test_never_serves_a_file_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "web"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("no")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    server = WebServer(root, lambda: None, lambda: None)
    for target in ("/../secret.txt", "/%2e%2e/secret.txt", "/link.txt", "/missing.js"):
        assert get(server, target).status == 404, target


def test_outputs_are_the_runtimes_once_ready() -> None:
    outputs: dict[str, dict[str, str]] | None = None
    server = WebServer(WEB_ROOT, lambda: outputs, lambda: None)
    assert get(server, "/outputs.json").status == 503
    outputs = {"Messaging-local-api": {"HttpApiUrl": "http://127.0.0.1:3000"}}
    response = get(server, "/outputs.json")
    assert response.status == 200
    assert json.loads(response.body) == outputs


def test_only_reads() -> None:
    response = get(WebServer(WEB_ROOT, lambda: None, lambda: None), "/index.html", method="POST")
    assert response.status == 405


def test_every_answer_carries_the_policy_once_the_runtime_knows_its_origins() -> None:
    policy: str | None = None
    server = WebServer(WEB_ROOT, lambda: None, lambda: policy)
    assert header(get(server, "/"), "content-security-policy") is None
    policy = local_policy(
        ["http://127.0.0.1:3000", "ws://127.0.0.1:3001/local", "http://127.0.0.1:3000/"], "http://127.0.0.1:3002"
    )
    for target in ("/", "/js/main.js", "/missing.js", "/outputs.json"):
        response = get(server, target)
        assert header(response, "content-security-policy") == policy, target
        assert header(response, "x-frame-options") == "DENY"


def test_the_local_policy_names_this_runtimes_origins_and_nothing_inline() -> None:
    policy = local_policy(["http://127.0.0.1:3000", "ws://127.0.0.1:3001/local"], "http://127.0.0.1:3002")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["connect-src"] == [
        "'self'",
        "http://127.0.0.1:3000",
        "ws://127.0.0.1:3001",
        "http://127.0.0.1:3002",
    ]
    assert directives["img-src"] == ["'self'", "data:", "blob:", "http://127.0.0.1:3002"]
    assert directives["script-src"] == directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == directives["object-src"] == ["'none'"]
    assert "unsafe" not in policy
