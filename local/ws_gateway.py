"""An API Gateway WebSocket API on a loopback port, with its ``@connections`` management API.

Built from the API's routes in the templates: ``$connect`` (after the route's Lambda REQUEST
authorizer, if any) decides whether the handshake succeeds; each frame is routed by the API's
route selection expression (``$request.body.action``) to its route or ``$default``, with
API Gateway's event shapes; ``$disconnect`` runs when either side closes. API Gateway's limits
apply: 32 KB frames, 128 KB messages, a 10 minute idle timeout and a 2 hour connection limit.

The same port answers ``POST/GET/DELETE /{stage}/@connections/{id}``, so boto3's
``apigatewaymanagementapi`` client (``endpoint_url`` = the stage's callback URL, which the
templates give the functions) pushes to the real sockets, and a closed or unknown connection is
a ``GoneException`` (HTTP 410), as in the cloud.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import h11
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from local.cfn import ACCOUNT_ID, REGION
from local.functions import FunctionRuntime
from local.http_gateway import policy_allows
from local.httpserver import REASONS
from local.topology import ApiSpec, Route

FRAME_LIMIT = 32 * 1024
MESSAGE_LIMIT = 128 * 1024
IDLE_TIMEOUT_SECONDS = 600.0
MAX_CONNECTION_SECONDS = 7200.0
_ID_ALPHABET = string.ascii_letters + string.digits


def new_connection_id() -> str:
    """An id shaped like API Gateway's (``L0SM9cOFvHcCIhw=``): URL-safe as it is."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


def _now_ms() -> int:
    return int(time.time() * 1000)


def _request_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


@dataclass
class Connection:
    connection_id: str
    websocket: ServerConnection | None
    connected_at: int
    source_ip: str
    user_agent: str
    authorizer: dict[str, Any] | None
    last_active: float = field(default_factory=time.monotonic)
    open: bool = True


class _FrontDoor(ServerConnection):
    """A websockets connection that first looks at the request: ``@connections`` calls are HTTP.

    websockets only parses ``GET`` upgrade requests, while the management API needs ``POST`` and
    ``DELETE`` on the same port; so the first bytes are read here, and a request for
    ``/@connections/`` is answered by the gateway over plain HTTP/1.1 instead of being handed to
    websockets.
    """

    gateway: WebSocketGateway

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mode = "sniff"
        self._buffer = b""
        self._http: h11.Connection | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._http_queue: asyncio.Queue[bytes] = asyncio.Queue()

    def data_received(self, data: bytes) -> None:
        if self._mode == "websocket":
            super().data_received(data)
            return
        if self._mode == "http":
            self._http_queue.put_nowait(data)
            return
        self._buffer += data
        if b"\r\n\r\n" not in self._buffer and len(self._buffer) < 65536:
            return
        request_line = self._buffer.split(b"\r\n", 1)[0].split(b" ")
        target = request_line[1].decode("latin-1") if len(request_line) > 1 else ""
        if "/@connections" in target.split("?", 1)[0]:
            self._mode = "http"
            self._http_queue.put_nowait(self._buffer)
            self._http_task = self.loop.create_task(self._serve_http())
        else:
            self._mode = "websocket"
            super().data_received(self._buffer)
        self._buffer = b""

    def eof_received(self) -> bool | None:  # type: ignore[override]
        if self._mode == "http":
            self._http_queue.put_nowait(b"")
            return True
        return super().eof_received()

    async def _serve_http(self) -> None:
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await self._http_queue.get()
                    connection.receive_data(data)
                    continue
                if not isinstance(event, h11.Request):
                    break
                body = bytearray()
                while True:
                    part = connection.next_event()
                    if part is h11.NEED_DATA:
                        connection.receive_data(await self._http_queue.get())
                    elif isinstance(part, h11.Data):
                        body += part.data
                    else:
                        break
                status, headers, payload = await self.gateway.manage(
                    event.method.decode(), event.target.decode("latin-1"), bytes(body)
                )
                self.transport.write(
                    connection.send(
                        h11.Response(
                            status_code=status,
                            headers=[*headers, ("content-length", str(len(payload)))],
                            reason=REASONS.get(status, b""),
                        )
                    )
                    or b""
                )
                if payload:
                    self.transport.write(connection.send(h11.Data(data=payload)) or b"")
                self.transport.write(connection.send(h11.EndOfMessage()) or b"")
                if connection.our_state is h11.MUST_CLOSE:
                    break
                connection.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            pass
        finally:
            self.transport.close()


class WebSocketGateway:
    """One WebSocket API served on ``host:port``."""

    def __init__(
        self,
        api: ApiSpec,
        functions: FunctionRuntime,
        host: str,
        port: int,
        *,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        log: Callable[[str], None] | None = None,
        public_host: str | None = None,
    ) -> None:
        self.api = api
        self.functions = functions
        self.host = host
        self.public_host = public_host or host
        self.port = port
        self.idle_timeout = idle_timeout
        self.routes: dict[str, Route] = {route.key: route for route in api.routes}
        self.connections: dict[str, Connection] = {}
        self.server: Server | None = None
        self._log = log or (lambda _m: None)
        self._watchdog: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        gateway = self

        class FrontDoor(_FrontDoor):
            pass

        FrontDoor.gateway = gateway
        self.server = await serve(
            self._handler,
            self.host,
            self.port,
            process_request=self._connect,
            create_connection=FrontDoor,
            max_size=(MESSAGE_LIMIT, FRAME_LIMIT),
            open_timeout=None,
            ping_interval=None,
            compression=None,
            server_header=None,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self._watchdog = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.server is not None:
            self.server.close(close_connections=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 5)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _watch(self) -> None:
        """API Gateway's idle timeout and maximum connection duration."""
        while True:
            await asyncio.sleep(min(5.0, self.idle_timeout / 2))
            now = time.monotonic()
            for connection in list(self.connections.values()):
                lifetime = (_now_ms() - connection.connected_at) / 1000
                if connection.websocket is not None and (
                    now - connection.last_active > self.idle_timeout or lifetime > MAX_CONNECTION_SECONDS
                ):
                    await connection.websocket.close(CloseCode.GOING_AWAY, "Going away")

    # -- $connect ---------------------------------------------------------------------------

    def _request_context(
        self, connection: Connection, route_key: str, event_type: str, request_id: str
    ) -> dict[str, Any]:
        now = _now_ms()
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.api.stage,
            "connectedAt": connection.connected_at,
            "requestTimeEpoch": now,
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": request_id,
            "domainName": f"{self.public_host}:{self.port}",
            "connectionId": connection.connection_id,
            "apiId": self.api.api_id,
        }
        if connection.authorizer is not None:
            context["authorizer"] = connection.authorizer
        return context

    async def _connect(self, websocket: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        query = dict(pairs)
        multi_query: dict[str, list[str]] = {}
        for key, value in pairs:
            multi_query.setdefault(key, []).append(value)
        headers = dict(request.headers.raw_items())
        peer = websocket.remote_address or ("127.0.0.1", 0)
        connection = Connection(
            connection_id=new_connection_id(),
            websocket=None,
            connected_at=_now_ms(),
            source_ip=str(peer[0]),
            user_agent=request.headers.get("User-Agent", ""),
            authorizer=None,
        )
        base_event: dict[str, Any] = {
            "headers": {**headers, "X-Forwarded-For": connection.source_ip, "X-Forwarded-Proto": "http"},
            "multiValueHeaders": {name: request.headers.get_all(name) for name in headers},
            "isBase64Encoded": False,
        }
        if query:
            base_event["queryStringParameters"] = query
            base_event["multiValueQueryStringParameters"] = multi_query
        route = self.routes.get("$connect")
        request_id = _request_id()
        if route is not None and route.authorization_type == "CUSTOM" and route.authorizer is not None:
            refusal = await self._authorize(route, connection, base_event, request_id, headers, query)
            if refusal is not None:
                return _reject(websocket, refusal)
        if route is not None and route.integration is not None and route.integration.function is not None:
            event = {
                **base_event,
                "requestContext": self._request_context(connection, "$connect", "CONNECT", request_id),
            }
            invocation = await self.functions.invoke(route.integration.function, event, trigger="$connect")
            if not invocation.ok:
                return _reject(websocket, 500)
            result = invocation.result()
            status = result.get("statusCode") if isinstance(result, dict) else None
            if status is not None and not 200 <= int(status) < 300:
                return _reject(websocket, int(status))
        websocket.local_connection = connection  # type: ignore[attr-defined]
        return None

    async def _authorize(
        self,
        route: Route,
        connection: Connection,
        base_event: dict[str, Any],
        request_id: str,
        headers: dict[str, str],
        query: dict[str, str],
    ) -> int | None:
        authorizer = route.authorizer
        assert authorizer is not None
        lower_headers = {k.lower(): v for k, v in headers.items()}
        values: list[str] = []
        for source in authorizer.identity_sources:
            source = source.strip()
            if source.startswith("route.request.header."):
                value = lower_headers.get(source.removeprefix("route.request.header.").lower())
            elif source.startswith("route.request.querystring."):
                value = query.get(source.removeprefix("route.request.querystring."))
            else:
                value = source
            if not value:
                return 401
            values.append(value)
        if authorizer.function is None:
            return 500
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api.api_id}/{self.api.stage}/$connect"
        event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            **base_event,
            "stageVariables": {},
            "requestContext": self._request_context(connection, "$connect", "CONNECT", request_id),
        }
        event.pop("isBase64Encoded", None)
        started = time.perf_counter()
        invocation = await self.functions.invoke(authorizer.function, event, trigger=f"authorizer {authorizer.name}")
        if not invocation.ok:
            return 500
        result = invocation.result()
        if not isinstance(result, dict) or not policy_allows(result.get("policyDocument"), method_arn):
            return 403
        connection.authorizer = {
            **(result.get("context") or {}),
            "principalId": result.get("principalId"),
            "integrationLatency": int((time.perf_counter() - started) * 1000),
        }
        return None

    # -- messages ---------------------------------------------------------------------------

    async def _handler(self, websocket: ServerConnection) -> None:
        connection: Connection = websocket.local_connection  # type: ignore[attr-defined]
        connection.websocket = websocket
        self.connections[connection.connection_id] = connection
        self._log(f"connected {connection.connection_id}")
        pending: set[asyncio.Task[None]] = set()
        try:
            async for message in websocket:
                connection.last_active = time.monotonic()
                task = asyncio.create_task(self._message(connection, message))
                pending.add(task)
                task.add_done_callback(pending.discard)
        except ConnectionClosed:
            pass
        finally:
            connection.open = False
            self.connections.pop(connection.connection_id, None)
            code = websocket.close_code if websocket.close_code is not None else CloseCode.ABNORMAL_CLOSURE
            reason = websocket.close_reason or ""
            task = asyncio.create_task(self._disconnect(connection, int(code), reason))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def select_route(self, body: str | bytes) -> Route | None:
        """The route of a message: the selection expression's value, else ``$default``."""
        key = None
        if isinstance(body, str):
            try:
                value: Any = json.loads(body)
            except ValueError:
                value = None
            path = self.api.route_selection_expression.strip()
            path = path.removeprefix("${").removesuffix("}") if path.startswith("${") else path
            if path.startswith("$request.body"):
                for part in [p for p in path.removeprefix("$request.body").split(".") if p]:
                    value = value.get(part) if isinstance(value, dict) else None
                key = value if isinstance(value, str) else None
        if key is not None and key in self.routes and not key.startswith("$"):
            return self.routes[key]
        return self.routes.get("$default")

    async def _message(self, connection: Connection, message: str | bytes) -> None:
        request_id = _request_id()
        route = self.select_route(message)
        websocket = connection.websocket
        assert websocket is not None
        if route is None or route.integration is None or route.integration.function is None:
            await _send_quietly(
                websocket,
                json.dumps({"message": "Forbidden", "connectionId": connection.connection_id, "requestId": request_id}),
            )
            return
        is_binary = isinstance(message, bytes)
        event = {
            "requestContext": {
                **self._request_context(connection, route.key, "MESSAGE", request_id),
                "messageId": _request_id(),
            },
            "body": __import__("base64").b64encode(message).decode() if is_binary else message,
            "isBase64Encoded": is_binary,
        }
        invocation = await self.functions.invoke(route.integration.function, event, trigger=f"ws {route.key}")
        if not invocation.ok:
            await _send_quietly(
                websocket,
                json.dumps(
                    {
                        "message": "Internal server error",
                        "connectionId": connection.connection_id,
                        "requestId": request_id,
                    }
                ),
            )
            return
        if route.two_way:
            result = invocation.result()
            body = result.get("body") if isinstance(result, dict) else result
            if body is not None:
                await _send_quietly(websocket, body if isinstance(body, str) else json.dumps(body))

    async def _disconnect(self, connection: Connection, code: int, reason: str) -> None:
        self._log(f"disconnected {connection.connection_id} ({code})")
        route = self.routes.get("$disconnect")
        if route is None or route.integration is None or route.integration.function is None:
            return
        request_id = _request_id()
        event = {
            "headers": {"Host": f"{self.public_host}:{self.port}", "X-Forwarded-For": connection.source_ip},
            "multiValueHeaders": {
                "Host": [f"{self.public_host}:{self.port}"],
                "X-Forwarded-For": [connection.source_ip],
            },
            "requestContext": {
                **self._request_context(connection, "$disconnect", "DISCONNECT", request_id),
                "disconnectStatusCode": code,
                "disconnectReason": reason,
            },
            "isBase64Encoded": False,
        }
        await self.functions.invoke(route.integration.function, event, trigger="$disconnect")

    # -- @connections -----------------------------------------------------------------------

    async def manage(self, method: str, target: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """``POST`` (send), ``GET`` (describe) or ``DELETE`` (close) one connection."""
        path = target.split("?", 1)[0]
        connection_id = unquote(path.split("/@connections/", 1)[1]) if "/@connections/" in path else ""
        connection = self.connections.get(connection_id)
        if connection is None or not connection.open or connection.websocket is None:
            return _management_error(410, "GoneException", None)
        websocket = connection.websocket
        if method == "POST":
            if len(body) > MESSAGE_LIMIT:
                return _management_error(413, "PayloadTooLargeException", "Message too long")
            try:
                text = body.decode()
                await websocket.send(text)
            except UnicodeDecodeError:
                await websocket.send(body)
            except ConnectionClosed:
                return _management_error(410, "GoneException", None)
            connection.last_active = time.monotonic()
            return 200, [], b""
        if method == "GET":
            info = {
                "connectedAt": datetime.fromtimestamp(connection.connected_at / 1000, UTC).isoformat(),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                "lastActiveAt": datetime.fromtimestamp(
                    time.time() - (time.monotonic() - connection.last_active), UTC
                ).isoformat(),
            }
            return 200, [("content-type", "application/json")], json.dumps(info).encode()
        if method == "DELETE":
            await websocket.close(CloseCode.NORMAL_CLOSURE, "")
            return 204, [], b""
        return _management_error(405, "MethodNotAllowed", "Method not allowed")


def _management_error(status: int, code: str, message: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("content-type", "application/json"), ("x-amzn-errortype", code)], body


def _reject(websocket: ServerConnection, status: int) -> Response:
    phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Error"
    response = websocket.respond(status, json.dumps({"message": phrase}))
    response.headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(response.body)))])
    return response


async def _send_quietly(websocket: ServerConnection, data: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await websocket.send(data)


def _request_id() -> str:
    return uuid.uuid4().hex[:12] + "="
