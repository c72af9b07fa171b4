"""Every HTTP and WebSocket route of the synthesized templates is served by the local runtime.

The routes are read from the templates here, independently of the runtime; each one is called
with a real client and must reach a function (its own, or its authorizer), never the gateway's
404. This runs on the product's stacks and on the fixture app, so WebSocket routes are covered
before the product's realtime stack has any.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import Runtime, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(params=["app", "fixture"])
def runtime(request: pytest.FixtureRequest) -> Runtime:
    served: Runtime = request.getfixturevalue(f"{request.param}_runtime")
    return served


def apis(runtime: Runtime) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """(stack, logical id, API properties, route keys) for every API Gateway v2 API of the templates."""
    result = []
    for stack, template in runtime.templates.items():
        resources = template["Resources"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::ApiGatewayV2::Api":
                continue
            keys = [
                route["Properties"]["RouteKey"]
                for route in resources.values()
                if route["Type"] == "AWS::ApiGatewayV2::Route" and route["Properties"]["ApiId"] == {"Ref": logical_id}
            ]
            result.append((stack, logical_id, resource["Properties"], keys))
    return result


def url_of(runtime: Runtime, stack: str, logical_id: str) -> str:
    return next(a["url"] for a in runtime.endpoints["apis"] if (a["stack"], a["logical_id"]) == (stack, logical_id))


def reached(runtime: Runtime, since: float, trigger: str) -> bool:
    return any(
        r["time"] >= since and (r["trigger"] == trigger or r["trigger"].startswith("authorizer "))
        for r in runtime.invocations()
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "route-check", path.replace("+}", "}"))


def test_every_http_route_is_served(runtime: Runtime) -> None:
    routes = [
        (stack, lid, key)
        for stack, lid, props, keys in apis(runtime)
        if props.get("ProtocolType") == "HTTP"
        for key in keys
    ]
    assert routes, "the templates declare HTTP routes"
    for stack, logical_id, key in routes:
        base = url_of(runtime, stack, logical_id)
        method, _, path = key.partition(" ") if key != "$default" else ("GET", "", "/route-check/unmatched")
        method = "GET" if method == "ANY" else method
        since = time.time()
        # A bearer header lets a route's authorizer run (a missing identity source is refused unseen).
        response = httpx.request(
            method,
            base + concrete(path),
            json={} if method in ("POST", "PUT", "PATCH") else None,
            headers={"Authorization": "Bearer route-check"},
            timeout=30,
        )
        assert not (response.status_code == 404 and response.json() == {"message": "Not Found"}), key
        trigger = f"$default {method} {concrete(path)}" if key == "$default" else key
        wait_for(lambda: reached(runtime, since, trigger), timeout=10, what=key)  # noqa: B023 - evaluated at once


def connect_query(runtime: Runtime) -> str:
    """Credentials for ``$connect``: the fixture's token, or a real access token of the product."""
    if "LocalFixture" in runtime.outputs:
        return "?token=letmein"
    return f"?token={runtime.access_token()}"


def test_every_websocket_route_is_served(runtime: Runtime) -> None:
    websocket_apis = [a for a in apis(runtime) if a[2].get("ProtocolType") == "WEBSOCKET"]
    if not websocket_apis:
        pytest.skip("these templates declare no WebSocket API yet")
    for stack, logical_id, props, keys in websocket_apis:
        expression = props.get("RouteSelectionExpression", "$request.body.action")
        if expression.startswith("${") and expression.endswith("}"):
            expression = expression[2:-1]
        field_path = expression.removeprefix("$request.body.").split(".")
        since = time.time()
        with connect(url_of(runtime, stack, logical_id) + connect_query(runtime), open_timeout=30) as socket:
            if "$connect" in keys:
                wait_for(lambda: reached(runtime, since, "$connect"), timeout=10)  # noqa: B023
            for key in keys:
                if key in ("$connect", "$disconnect"):
                    continue
                body: Any = "route-check: not JSON" if key == "$default" else key
                if key != "$default":
                    for name in reversed(field_path):
                        body = {name: body}
                    body = json.dumps(body)
                sent = time.time()
                socket.send(body)
                wait_for(lambda: reached(runtime, sent, f"ws {key}"), timeout=10, what=key)  # noqa: B023
        if "$disconnect" in keys:
            wait_for(lambda: reached(runtime, since, "$disconnect"), timeout=10)  # noqa: B023
