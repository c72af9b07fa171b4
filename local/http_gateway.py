"""An API Gateway v2 HTTP API on a loopback port, built from the API's routes in the templates.

What a client sees is what API Gateway does: route selection (exact path, then path variables,
then greedy ``{proxy+}``, then ``$default``; a method before ``ANY``), payload format 2.0 (and
1.0) events, Lambda authorizers, CORS answered by the gateway with the integration's own CORS
headers ignored, ``{"message":"Not Found"}`` for an unknown route, ``{"message":"Internal
Server Error"}`` when a function fails, and ``{"message":"Service Unavailable"}`` past the
integration's timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.cfn import ACCOUNT_ID, REGION
from local.functions import FunctionRuntime, Invocation
from local.httpserver import HttpRequest, HttpResponse, json_response
from local.topology import ApiSpec, Authorizer, CorsConfig, Route

LocalHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)
MAX_REQUEST_BYTES = 10 * 1024 * 1024


def gateway_error(status: int, message: str) -> HttpResponse:
    return json_response(status, json.dumps({"message": message}, separators=(",", ":")).encode())


def not_found() -> HttpResponse:
    return gateway_error(404, "Not Found")


def too_large() -> HttpResponse:
    return gateway_error(413, "Request Entity Too Large")


def is_text(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind.startswith(_TEXT_TYPES) or kind.endswith(("+json", "+xml"))


@dataclass(frozen=True)
class CompiledRoute:
    """A route key split into what a request path is matched against."""

    route: Route
    method: str
    segments: tuple[str, ...]
    greedy: bool
    is_default: bool

    @classmethod
    def compile(cls, route: Route) -> CompiledRoute:
        if route.key == "$default":
            return cls(route, "ANY", (), True, True)
        method, _, path = route.key.partition(" ")
        segments = tuple(s for s in path.split("/") if s)
        greedy = bool(segments) and segments[-1].startswith("{") and segments[-1].endswith("+}")
        return cls(route, method.upper(), segments, greedy, False)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        if self.is_default:
            return {}
        parts = [p for p in path.split("/") if p] if path != "/" else []
        if path.endswith("/") and path != "/":
            return None
        params: dict[str, str] = {}
        fixed = self.segments[:-1] if self.greedy else self.segments
        if self.greedy and len(parts) < len(fixed) + 1:
            return None
        if not self.greedy and len(parts) != len(fixed):
            return None
        for template, part in zip(fixed, parts, strict=False):
            if template.startswith("{") and template.endswith("}"):
                params[template[1:-1]] = unquote(part)
            elif template != part:
                return None
        if self.greedy:
            params[self.segments[-1][1:-2]] = unquote("/".join(parts[len(fixed) :]))
        return params

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        return (0 if self.is_default else 1, 0 if self.greedy else 1, literal, 1 if self.method != "ANY" else 0)


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted((CompiledRoute.compile(r) for r in routes), key=lambda r: r.specificity, reverse=True)

    def select(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for compiled in self.routes:
            params = compiled.match(method, path)
            if params is not None:
                return compiled.route, params
        return None


def _header_map(request: HttpRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers:
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _query_map(raw_query: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        multi.setdefault(key, []).append(value)
        single[key] = f"{single[key]},{value}" if key in single else value
    return single, multi


class HttpGateway:
    """One HTTP API: ``handle`` answers a request the way API Gateway would."""

    def __init__(
        self,
        api: ApiSpec,
        functions: FunctionRuntime,
        *,
        local_routes: Mapping[str, LocalHandler],
        jwt_verifier: Callable[[Authorizer, str], dict[str, Any]] | None = None,
    ) -> None:
        self.api = api
        self.functions = functions
        self.table = RouteTable(api.routes)
        self.local_routes = dict(local_routes)
        self.jwt_verifier = jwt_verifier
        self._authorizer_cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any] | None]] = {}
        self._background: set[asyncio.Task[Any]] = set()

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/_local/") and request.path in self.local_routes:
            return await self.local_routes[request.path](request)
        request_id = _request_id()
        origin = request.header("origin")
        cors = self.api.cors
        if (
            cors is not None
            and request.method == "OPTIONS"
            and origin
            and request.header("access-control-request-method")
        ):
            return HttpResponse(
                204, [*self._cors_headers(cors, origin, preflight=True), ("apigw-requestid", request_id)]
            )
        response = await self._route(request, request_id)
        if cors is not None:
            response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
            if origin:
                response.headers += self._cors_headers(cors, origin, preflight=False)
        response.headers.append(("apigw-requestid", request_id))
        return response

    async def _route(self, request: HttpRequest, request_id: str) -> HttpResponse:
        selected = self.table.select(request.method, request.path)
        if selected is None:
            return not_found()
        route, path_parameters = selected
        integration = route.integration
        if integration is None or integration.function is None:
            return gateway_error(500, "Internal Server Error")
        v2 = integration.payload_version == "2.0"
        event = (
            self._event_v2(request, route, path_parameters, request_id)
            if v2
            else self._event_v1(request, route, path_parameters, request_id)
        )
        denied = await self._authorize(route, request, event, v2)
        if denied is not None:
            return denied
        invocation = asyncio.ensure_future(
            self.functions.invoke(
                integration.function,
                event,
                trigger=route.key if route.key != "$default" else f"$default {request.method} {request.path}",
            )
        )
        try:
            result = await asyncio.wait_for(asyncio.shield(invocation), timeout=integration.timeout)
        except TimeoutError:
            self._background.add(invocation)
            invocation.add_done_callback(self._background.discard)
            return gateway_error(503, "Service Unavailable")
        return self._response(result, v2)

    # -- events ---------------------------------------------------------------------------

    def _request_context(self, request: HttpRequest, route: Route, request_id: str) -> dict[str, Any]:
        now = time.time()
        host = request.header("host") or f"{self.api.api_id}.execute-api.{REGION}.amazonaws.com"
        return {
            "accountId": ACCOUNT_ID,
            "apiId": self.api.api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.client[0],
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": request_id,
            "routeKey": route.key,
            "stage": self.api.stage,
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        }

    def _headers_for_event(self, request: HttpRequest) -> dict[str, str]:
        headers = _header_map(request)
        headers.pop("cookie", None)
        headers.setdefault("x-forwarded-for", request.client[0])
        headers.setdefault("x-forwarded-proto", "http")
        headers["x-amzn-trace-id"] = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        if request.body:
            headers.setdefault("content-length", str(len(request.body)))
        return headers

    def _body(self, request: HttpRequest) -> tuple[str | None, bool]:
        if not request.body:
            return None, False
        if is_text(request.header("content-type")):
            try:
                return request.body.decode(), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(request.body).decode(), True

    def _event_v2(self, request: HttpRequest, route: Route, params: dict[str, str], request_id: str) -> dict[str, Any]:
        query, _ = _query_map(request.query)
        body, is_base64 = self._body(request)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": request.path,
            "rawQueryString": request.query,
            "headers": self._headers_for_event(request),
            "requestContext": self._request_context(request, route, request_id),
            "isBase64Encoded": is_base64,
        }
        cookies = [c.strip() for c in (request.header("cookie") or "").split(";") if c.strip()]
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if params:
            event["pathParameters"] = params
        if body is not None:
            event["body"] = body
        return event

    def _event_v1(self, request: HttpRequest, route: Route, params: dict[str, str], request_id: str) -> dict[str, Any]:
        query, multi_query = _query_map(request.query)
        body, is_base64 = self._body(request)
        headers = _header_map(request)
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            multi_headers.setdefault(name, []).append(value)
        context = self._request_context(request, route, request_id)
        return {
            "version": "1.0",
            "resource": route.key.partition(" ")[2] or request.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "requestContext": {
                "accountId": context["accountId"],
                "apiId": context["apiId"],
                "domainName": context["domainName"],
                "domainPrefix": context["domainPrefix"],
                "extendedRequestId": request_id,
                "httpMethod": request.method,
                "identity": {"sourceIp": request.client[0], "userAgent": request.header("user-agent") or ""},
                "path": request.path,
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": context["time"],
                "requestTimeEpoch": context["timeEpoch"],
                "resourcePath": route.key.partition(" ")[2],
                "stage": self.api.stage,
            },
            "pathParameters": params or None,
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": is_base64,
        }

    # -- authorizers ------------------------------------------------------------------------

    async def _authorize(
        self, route: Route, request: HttpRequest, event: dict[str, Any], v2: bool
    ) -> HttpResponse | None:
        authorizer = route.authorizer
        if route.authorization_type in ("NONE", "AWS_IAM") or authorizer is None:
            return None
        sources = [self._identity_value(source, request) for source in authorizer.identity_sources]
        if authorizer.kind == "JWT":
            return self._authorize_jwt(authorizer, sources, event, v2)
        if any(not value for value in sources) and authorizer.identity_sources:
            return gateway_error(401, "Unauthorized")
        key = (authorizer.authorizer_id, tuple(v or "" for v in sources))
        cached = self._authorizer_cache.get(key)
        if cached and cached[0] > time.monotonic():
            context = cached[1]
        else:
            context = await self._run_authorizer(authorizer, route, request, event, [v or "" for v in sources])
            if context is _ERROR:
                return gateway_error(500, "Internal Server Error")
            if authorizer.ttl_seconds and authorizer.identity_sources:
                self._authorizer_cache[key] = (time.monotonic() + authorizer.ttl_seconds, context)
        if context is None:
            return gateway_error(403, "Forbidden")
        if v2:
            event["requestContext"]["authorizer"] = {"lambda": context.get("context") or {}}
            if context.get("principalId") is not None:
                event["requestContext"]["authorizer"]["principalId"] = context["principalId"]
        else:
            event["requestContext"]["authorizer"] = {
                **(context.get("context") or {}),
                "principalId": context.get("principalId"),
            }
        return None

    def _authorize_jwt(
        self, authorizer: Authorizer, sources: list[str | None], event: dict[str, Any], v2: bool
    ) -> HttpResponse | None:
        token = (sources[0] or "") if sources else ""
        token = token.removeprefix("Bearer ").removeprefix("bearer ").strip()
        if not token or self.jwt_verifier is None:
            return gateway_error(401, "Unauthorized")
        try:
            claims = self.jwt_verifier(authorizer, token)
        except Exception:
            return gateway_error(401, "Unauthorized")
        scopes = str(claims.get("scope", "")).split() or None
        event["requestContext"]["authorizer"] = {
            "jwt": {
                "claims": {k: v if isinstance(v, str) else json.dumps(v) for k, v in claims.items()},
                "scopes": scopes,
            }
        }
        return None

    def _identity_value(self, source: str, request: HttpRequest) -> str | None:
        source = source.strip()
        if source.startswith("$request.header."):
            return request.header(source.removeprefix("$request.header.").lower())
        if source.startswith("$request.querystring."):
            query, _ = _query_map(request.query)
            return query.get(source.removeprefix("$request.querystring."))
        if source.startswith("$context.") or source.startswith("$stageVariables."):
            return source
        return None

    async def _run_authorizer(
        self, authorizer: Authorizer, route: Route, request: HttpRequest, event: dict[str, Any], sources: list[str]
    ) -> Any:
        if authorizer.function is None:
            return _ERROR
        method, _, path = route.key.partition(" ")
        route_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api.api_id}/{self.api.stage}/"
            f"{method or request.method}{path or request.path}"
        )
        if authorizer.payload_version == "2.0":
            auth_event = {
                "version": "2.0",
                "type": "REQUEST",
                "routeArn": route_arn,
                "identitySource": sources,
                **{k: v for k, v in event.items() if k not in ("version", "body", "isBase64Encoded")},
            }
        else:
            auth_event = {
                "version": "1.0",
                "type": "REQUEST",
                "methodArn": route_arn,
                "identitySource": ",".join(sources),
                **{k: v for k, v in event.items() if k not in ("version", "body", "isBase64Encoded")},
            }
        invocation = await self.functions.invoke(
            authorizer.function, auth_event, trigger=f"authorizer {authorizer.name}"
        )
        if not invocation.ok:
            return _ERROR
        result = invocation.result()
        if not isinstance(result, dict):
            return _ERROR
        if authorizer.simple_responses:
            return {"context": result.get("context") or {}} if result.get("isAuthorized") is True else None
        return result if policy_allows(result.get("policyDocument"), route_arn) else None

    # -- responses --------------------------------------------------------------------------

    def _response(self, invocation: Invocation, v2: bool) -> HttpResponse:
        if not invocation.ok:
            return gateway_error(500, "Internal Server Error")
        try:
            result = invocation.result()
        except ValueError:
            return gateway_error(500, "Internal Server Error")
        if v2 and not (isinstance(result, dict) and "statusCode" in result):
            text = result if isinstance(result, str) else json.dumps(result)
            return HttpResponse(200, [("content-type", "application/json")], text.encode())
        if not isinstance(result, dict):
            return gateway_error(500, "Internal Server Error")
        try:
            status = int(result["statusCode"])
            headers: list[tuple[str, str]] = [
                (str(k).lower(), str(v)) for k, v in (result.get("headers") or {}).items()
            ]
            for name, values in (result.get("multiValueHeaders") or {}).items():
                headers += [(str(name).lower(), str(v)) for v in values]
            for cookie in result.get("cookies") or []:
                headers.append(("set-cookie", str(cookie)))
            raw = result.get("body")
            body = (
                b"" if raw is None else (base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode())
            )
        except (KeyError, ValueError, TypeError, binascii.Error):
            return gateway_error(500, "Internal Server Error")
        return HttpResponse(status, headers, body)

    @staticmethod
    def _cors_headers(cors: CorsConfig, origin: str, *, preflight: bool) -> list[tuple[str, str]]:
        if not any(allowed == "*" or fnmatch.fnmatchcase(origin, allowed) for allowed in cors.allow_origins):
            return []
        headers = [("access-control-allow-origin", "*" if "*" in cors.allow_origins else origin)]
        if cors.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if cors.expose_headers:
            headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
        if preflight:
            if cors.allow_methods:
                headers.append(("access-control-allow-methods", ",".join(cors.allow_methods)))
            if cors.allow_headers:
                headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
            if cors.max_age is not None:
                headers.append(("access-control-max-age", str(cors.max_age)))
        return headers


class _Error:
    pass


_ERROR: Any = _Error()


def _request_id() -> str:
    return base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")[:16] + "="


def policy_allows(document: Any, resource_arn: str) -> bool:
    """An IAM policy from an authorizer: allowed when an Allow matches and no Deny does."""
    if not isinstance(document, dict):
        return False
    statements = document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        resources = statement.get("Resource") or []
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase(resource_arn, pattern) for pattern in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed
