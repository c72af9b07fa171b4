"""A small asyncio HTTP/1.1 server (h11 does the parsing) for the gateways and the internal endpoints.

No web framework: each gateway is one ``async def handle(request) -> response`` that builds
API Gateway's behaviour itself, which is the point of the exercise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

import h11

KEEP_ALIVE_SECONDS = 75.0
log = logging.getLogger("local.http")


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    client: tuple[str, int]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        return ", ".join(values) if values else None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def json_response(status: int, body: bytes, extra: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), *(extra or [])], body)


class HttpServer:
    """Serves ``handler`` on ``host:port`` with keep-alive, ``Expect: 100-continue`` and a body limit."""

    def __init__(
        self,
        handler: Handler,
        host: str,
        port: int,
        *,
        max_body: int = 10 * 1024 * 1024,
        too_large: Callable[[], HttpResponse] | None = None,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.max_body = max_body
        self.too_large = too_large or (lambda: HttpResponse(413, [], b""))
        self.server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._connection(reader, writer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, h11.ProtocolError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        while True:
            event = await self._next(connection, reader)
            if isinstance(event, h11.ConnectionClosed) or event is None:
                return
            if not isinstance(event, h11.Request):
                return
            headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers]
            body = bytearray()
            too_large = False
            while True:
                if connection.they_are_waiting_for_100_continue:
                    writer.write(connection.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
                part = await self._next(connection, reader)
                if isinstance(part, h11.Data):
                    body += part.data
                    if len(body) > self.max_body:
                        too_large = True
                        break
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            request = HttpRequest(
                event.method.decode(),
                event.target.decode("latin-1"),
                headers,
                bytes(body),
                (str(peer[0]), int(peer[1])),
            )
            try:
                response = self.too_large() if too_large else await self.handler(request)
            except Exception:
                log.exception("%s %s failed", request.method, request.path)
                response = HttpResponse(
                    500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'
                )
            await self._send(connection, writer, request, response, close=too_large)
            if too_large or connection.our_state is h11.MUST_CLOSE:
                return
            try:
                connection.start_next_cycle()
            except h11.LocalProtocolError:
                return

    @staticmethod
    async def _next(connection: h11.Connection, reader: asyncio.StreamReader) -> object:
        while True:
            event = connection.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await asyncio.wait_for(reader.read(65536), KEEP_ALIVE_SECONDS)
            connection.receive_data(data)

    @staticmethod
    async def _send(
        connection: h11.Connection,
        writer: asyncio.StreamWriter,
        request: HttpRequest,
        response: HttpResponse,
        *,
        close: bool,
    ) -> None:
        no_body = response.status in (204, 304) or 100 <= response.status < 200
        names = {name.lower() for name, _ in response.headers}
        headers = list(response.headers)
        if "date" not in names:
            headers.append(("date", formatdate(usegmt=True)))
        if not no_body and "content-length" not in names:
            headers.append(("content-length", str(len(response.body))))
        if close:
            headers.append(("connection", "close"))
        reason = REASONS.get(response.status, "")
        writer.write(connection.send(h11.Response(status_code=response.status, headers=headers, reason=reason)) or b"")
        if response.body and not no_body and request.method != "HEAD":
            writer.write(connection.send(h11.Data(data=response.body)) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()
