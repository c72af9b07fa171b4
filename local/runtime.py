"""The local runtime: synthesize, start the AWS emulation, provision, serve, shut down cleanly.

Start-up order matters: the function workers need the physical names (a secret's ARN, a stream's
ARN) that only exist once the emulated resources are created, and the stream pollers take their
starting position before any gateway accepts a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from local.assembly import REPO_ROOT, CloudAssembly
from local.cfn import ApiEndpoint, Resolver, short_id
from local.events import Checkpoints, EventSources
from local.functions import FunctionRuntime, Invocation
from local.http_gateway import HttpGateway, LocalHandler, too_large
from local.httpserver import HttpRequest, HttpResponse, HttpServer, json_response
from local.outputs import stack_outputs, write_json
from local.services import AwsEndpoint, MotoHost, Provisioner, TtlSweeper
from local.topology import ApiSpec, Authorizer, Topology, load_compute, load_resources
from local.web import WEB_ROOT, WebServer, local_policy
from local.ws_gateway import IDLE_TIMEOUT_SECONDS, WebSocketGateway

DEFAULT_STATE_DIR = REPO_ROOT / ".local"
# What a synthesized stage depends on: the stacks, the names they share with the code, the CDK
# settings and versions. Function code is not in the list: it runs from the tree, not the assembly.
SYNTH_INPUTS = ("stacks", "app.py", "cdk.json", "requirements.txt", "runtime/common/names.py", "local/assembly.py")


def synth_key(stage: str) -> str:
    """A hash of everything the synthesized templates depend on (a cached synth is reused if equal)."""
    digest = hashlib.sha256(stage.encode())
    for name in SYNTH_INPUTS:
        path = REPO_ROOT / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.exists() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(REPO_ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


@dataclass
class Options:
    host: str = "127.0.0.1"
    public_host: str | None = None
    http_port: int = 3000
    ws_port: int = 3001
    aws_port: int = 3002
    web_port: int = 3003
    state_dir: Path = DEFAULT_STATE_DIR
    assembly: Path | None = None
    stage: str = "local"
    reset: bool = False
    resynth: bool = False
    persist: bool = True
    function_logs: bool = False
    ws_idle_timeout: float = IDLE_TIMEOUT_SECONDS
    max_concurrency: int = 10

    @property
    def advertised_host(self) -> str:
        """The address in every URL the runtime hands out (clients, presigned URLs, callback URLs)."""
        if self.public_host:
            return self.public_host
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104

    @property
    def outputs_file(self) -> Path:
        return self.state_dir / "outputs.json"

    @property
    def endpoints_file(self) -> Path:
        return self.state_dir / "endpoints.json"


class StartupError(RuntimeError):
    """Something the person starting the runtime can fix (a taken port, a bad template)."""


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _check_port(host: str, port: int, flag: str) -> None:
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StartupError(f"port {port} on {host} is taken; choose another with {flag}") from None


@dataclass
class InvocationLog:
    """One line per invocation on the console, and the last ones for ``GET /_local/invocations``."""

    out: IO[str]
    records: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))

    def __call__(self, invocation: Invocation, trigger: str, function: str) -> None:
        status: str = invocation.status
        error = None
        if invocation.ok:
            with contextlib.suppress(ValueError):
                result = invocation.result()
                if isinstance(result, dict) and "statusCode" in result:
                    status = str(result["statusCode"])
        elif isinstance(invocation.payload, dict):
            error = f"{invocation.payload.get('errorType')}: {invocation.payload.get('errorMessage')}"
        record = {
            "time": time.time(),
            "function": function,
            "trigger": trigger,
            "status": status,
            "duration_ms": round(invocation.duration_ms, 1),
            "cold_start": invocation.cold,
            "init_ms": round(invocation.init_ms, 1) if invocation.init_ms is not None else None,
            "request_id": invocation.request_id,
            "error": error,
        }
        self.records.append(record)
        cold = f"  (cold start {invocation.init_ms:.0f} ms)" if invocation.cold and invocation.init_ms else ""
        duration = (
            f"{invocation.duration_ms:7.1f} ms" if invocation.duration_ms < 10 else f"{invocation.duration_ms:7.0f} ms"
        )
        line = f"{datetime.now():%H:%M:%S}  {function:<28} {trigger:<40} {status:<8} {duration}{cold}"
        if error:
            line += f"\n          {error[:300]}"
        print(line, file=self.out, flush=True)


class LocalRuntime:
    def __init__(self, options: Options, out: IO[str] | None = None) -> None:
        self.options = options
        self.out = out or sys.stdout
        self.stopping = asyncio.Event()
        self.servers: list[HttpServer] = []
        self.ws_gateways: list[WebSocketGateway] = []
        self.moto: MotoHost | None = None
        self.functions: FunctionRuntime | None = None
        self.events: EventSources | None = None
        self.background: list[asyncio.Task[Any]] = []
        self.invocations = InvocationLog(self.out)
        self.endpoints: dict[str, Any] = {}
        self.outputs: dict[str, Any] | None = None
        self.web_url = ""
        self.web_policy: str | None = None
        self._lock: IO[str] | None = None

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=self.out, flush=True)

    # -- start-up ---------------------------------------------------------------------------

    def _prepare_state_dir(self) -> None:
        state_dir = self.options.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = (state_dir / "runtime.lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StartupError(f"another local runtime is using {state_dir}; stop it or pass --state-dir") from None
        for stale in (self.options.outputs_file, self.options.endpoints_file):
            stale.unlink(missing_ok=True)
        if self.options.reset:
            shutil.rmtree(state_dir / "state", ignore_errors=True)
        (state_dir / "state").mkdir(exist_ok=True)

    def _assembly(self) -> CloudAssembly:
        if self.options.assembly is not None:
            return CloudAssembly.load(self.options.assembly)
        outdir = self.options.state_dir / "cdk.out"
        key_file = outdir / ".local-synth-key"
        key = synth_key(self.options.stage)
        if not self.options.resynth and key_file.exists() and key_file.read_text() == key:
            self.say(f"using the {self.options.stage} stage synthesized before (stacks unchanged)")
            return CloudAssembly.load(outdir)
        key_file.unlink(missing_ok=True)
        self.say(f"synthesizing the {self.options.stage} stage ...")
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "local.synth", self.options.stage, str(outdir)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StartupError(f"cdk synth failed:\n{result.stderr[-4000:]}")
        key_file.write_text(key)
        return CloudAssembly.load(outdir)

    def _api_endpoints(self, assembly: CloudAssembly) -> tuple[dict[str, ApiEndpoint], dict[str, int]]:
        """A loopback port per API: the first HTTP API on --http-port, the first WebSocket API on --ws-port."""
        options = self.options
        endpoints: dict[str, ApiEndpoint] = {}
        wanted = {"HTTP": options.http_port, "WEBSOCKET": options.ws_port}
        for stack, logical_id, resource in assembly.resources("AWS::ApiGatewayV2::Api"):
            protocol = str(resource.get("Properties", {}).get("ProtocolType", "HTTP"))
            port = wanted.pop(protocol, None)
            if port is None:
                port = free_port(options.host)
            api_id = short_id(stack, logical_id)
            endpoints[api_id] = ApiEndpoint(api_id, protocol, options.advertised_host, port or free_port(options.host))
        return endpoints, wanted

    async def start(self) -> None:
        started = time.monotonic()
        options = self.options
        self._prepare_state_dir()
        for port, flag in (
            (options.http_port, "--http-port"),
            (options.ws_port, "--ws-port"),
            (options.aws_port, "--aws-port"),
            (options.web_port, "--web-port"),
        ):
            _check_port(options.host, port, flag)
        assembly = await asyncio.to_thread(self._assembly)
        api_endpoints, unused = self._api_endpoints(assembly)
        resolver = Resolver(assembly, api_endpoints=api_endpoints)

        # The internal endpoint moto calls for every Lambda invoke (functions exist later).
        internal = HttpServer(self._internal, "127.0.0.1", 0, max_body=7 * 1024 * 1024)
        await internal.start()
        self.servers.append(internal)

        state = options.state_dir / "state"
        aws_port = options.aws_port or free_port(options.host)
        self.moto = MotoHost(
            options.host,
            aws_port,
            f"http://127.0.0.1:{internal.port}",
            options.advertised_host,
            state / "aws.pickle" if options.persist else None,
            options.state_dir / "logs" / "aws.log",
        )
        self.say(f"starting the AWS emulation (moto) on {self.moto.url} ...")
        await self.moto.start()
        endpoint = AwsEndpoint(self.moto.public_url)

        topology = load_resources(assembly, resolver)
        provisioner = Provisioner(endpoint, topology, self.warn)
        await asyncio.to_thread(provisioner.resources)
        await asyncio.to_thread(provisioner.notifications)
        load_compute(topology, options.state_dir / "inline")
        await asyncio.to_thread(provisioner.state_machines)
        for message in topology.warnings:
            self.warn(message)

        base_environment = {
            **endpoint.environment(),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_XRAY_SDK_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
        }
        self.functions = FunctionRuntime(
            topology.functions,
            base_environment,
            options.state_dir / "logs",
            echo_logs=self.out if options.function_logs else None,
            on_invocation=lambda inv, trigger: self.invocations(inv, trigger, topology.functions[inv.function].display),
            max_concurrency=options.max_concurrency,
        )
        self.functions.start()
        for spec in topology.functions.values():
            if spec.problem and not spec.logical_id.startswith(("Custom", "AWS")):
                self.warn(f"function {spec.display} will not run locally: {spec.problem}")

        self.events = EventSources(
            topology.mappings,
            self.functions,
            # Pollers retry on their own schedule; botocore's backoff would only delay a shutdown.
            lambda service: endpoint.client(service, attempts=1),
            Checkpoints(state / "stream-checkpoints.json" if options.persist else None),
            endpoint.region,
            self.warn,
        )
        await self.events.prepare()

        local_routes = self._local_routes()
        verifier = _jwt_verifier(endpoint.url)
        http_apis = list(topology.http_apis)
        if not http_apis:  # no HTTP API yet: the port still serves the runtime's own endpoints
            http_apis = [ApiSpec(stack="", logical_id="", api_id="local", name="local", protocol="HTTP")]
            port = unused.get("HTTP", options.http_port) or free_port(options.host)
            api_endpoints["local"] = ApiEndpoint("local", "HTTP", options.advertised_host, port)
        for api in http_apis:
            gateway = HttpGateway(api, self.functions, local_routes=local_routes, jwt_verifier=verifier)
            server = HttpServer(gateway.handle, options.host, api_endpoints[api.api_id].port, too_large=too_large)
            await server.start()
            self.servers.append(server)
        for api in topology.websocket_apis:
            ws = WebSocketGateway(
                api,
                self.functions,
                options.host,
                api_endpoints[api.api_id].port,
                idle_timeout=options.ws_idle_timeout,
                public_host=options.advertised_host,
            )
            await ws.start()
            self.ws_gateways.append(ws)
        web = HttpServer(
            WebServer(WEB_ROOT, lambda: self.outputs, lambda: self.web_policy).handle, options.host, options.web_port
        )
        await web.start()
        self.servers.append(web)
        self.web_url = f"http://{options.advertised_host}:{web.port}/"

        self.events.start()
        self.background.append(asyncio.create_task(TtlSweeper(endpoint, topology.tables).run()))
        self._write_files(assembly, resolver, topology, endpoint, api_endpoints)
        self._banner(topology, api_endpoints, time.monotonic() - started)

    def _write_files(
        self,
        assembly: CloudAssembly,
        resolver: Resolver,
        topology: Topology,
        endpoint: AwsEndpoint,
        api_endpoints: dict[str, ApiEndpoint],
    ) -> None:
        http = [api_endpoints[a.api_id].base_url for a in topology.http_apis] or [api_endpoints["local"].base_url]
        self.endpoints = {
            "http": http,
            "websocket": [f"{api_endpoints[a.api_id].base_url}/{a.stage}" for a in topology.websocket_apis],
            "apis": [
                {
                    "stack": a.stack,
                    "logical_id": a.logical_id,
                    "protocol": a.protocol,
                    "url": api_endpoints[a.api_id].base_url + (f"/{a.stage}" if a.protocol == "WEBSOCKET" else ""),
                }
                for a in [*topology.http_apis, *topology.websocket_apis]
            ],
            "web": self.web_url,
            "mailbox": f"{http[0]}/_local/mailbox",
            "invocations": f"{http[0]}/_local/invocations",
            "aws": {
                "endpoint_url": endpoint.url,
                "region": endpoint.region,
                "access_key_id": endpoint.access_key_id,
                "secret_access_key": endpoint.secret_access_key,
            },
            "functions": {
                spec.display: {"name": spec.name, "handler": spec.handler, "runs_locally": spec.runnable}
                for spec in topology.functions.values()
            },
        }
        write_json(self.options.endpoints_file, self.endpoints)
        self.web_policy = local_policy([*self.endpoints["http"], *self.endpoints["websocket"]], endpoint.url)
        self.outputs = stack_outputs(assembly, resolver, self.warn)
        # Last: its existence means "ready".
        write_json(self.options.outputs_file, self.outputs)

    def _banner(self, topology: Topology, api_endpoints: dict[str, ApiEndpoint], elapsed: float) -> None:
        routes = sum(len(api.routes) for api in topology.http_apis)
        ws_routes = sum(len(api.routes) for api in topology.websocket_apis)
        runnable = sum(1 for spec in topology.functions.values() if spec.runnable)
        lines = [
            "",
            f"ready in {elapsed:.1f} s",
            *(f"  HTTP API        {url}  ({routes} routes)" for url in self.endpoints["http"]),
            *(f"  WebSocket API   {url}  ({ws_routes} routes)" for url in self.endpoints["websocket"]),
            f"  web client      {self.web_url}",
            f"  AWS APIs (moto) {self.endpoints['aws']['endpoint_url']}",
            f"  dev mailbox     {self.endpoints['mailbox']}",
            f"  functions       {runnable} (logs in {self.options.state_dir / 'logs'})",
            f"  outputs         {self.options.outputs_file}",
            "Ctrl-C stops everything.",
            "",
        ]
        self.say("\n".join(lines))

    # -- endpoints of the runtime itself ----------------------------------------------------------

    def _local_routes(self) -> dict[str, LocalHandler]:
        async def mailbox(request: HttpRequest) -> HttpResponse:
            assert self.moto is not None
            url = f"{self.moto.url}/_local/mailbox" + (f"?{request.query}" if request.query else "")
            status, body = await asyncio.to_thread(_fetch, url, request.method)
            return json_response(status, body, [("access-control-allow-origin", "*")])

        async def invocations(_request: HttpRequest) -> HttpResponse:
            body = json.dumps({"invocations": list(self.invocations.records)}).encode()
            return json_response(200, body, [("access-control-allow-origin", "*")])

        async def endpoints(_request: HttpRequest) -> HttpResponse:
            return json_response(200, json.dumps(self.endpoints).encode(), [("access-control-allow-origin", "*")])

        memory_probe = MemoryProbe()

        async def memory(request: HttpRequest) -> HttpResponse:
            if request.method == "POST":
                memory_probe.start()
            return json_response(200, json.dumps(memory_probe.report()).encode())

        return {
            "/_local/mailbox": mailbox,
            "/_local/invocations": invocations,
            "/_local/endpoints": endpoints,
            "/_local/memory": memory,
        }

    async def _internal(self, request: HttpRequest) -> HttpResponse:
        """``POST /invoke/{function}`` from the moto host (Lambda API, Step Functions, S3, SNS)."""
        if self.functions is None or request.method != "POST" or not request.path.startswith("/invoke/"):
            return HttpResponse(404)
        reference = urllib.parse.unquote(request.path.removeprefix("/invoke/"))
        if self.functions.find(reference) is None:
            return HttpResponse(404)
        source = request.header("x-local-source") or "lambda:Invoke"
        event = request.body.decode() or "{}"
        if (request.header("x-amz-invocation-type") or "RequestResponse") == "Event":
            self.functions.invoke_async(reference, event, trigger=source)
            return HttpResponse(202)
        invocation = await self.functions.invoke(reference, event, trigger=source)
        headers = [("content-type", "application/json")]
        if invocation.function_error:
            headers.append(("x-amz-function-error", invocation.function_error))
        return HttpResponse(200, headers, invocation.payload_bytes())

    # -- run and stop ---------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        try:
            await self.start()
        except StartupError as error:
            self.say(f"error: {error}")
            await self.close()
            return 1
        except BaseException:
            await self.close()
            raise
        await self.stopping.wait()
        self.say("\nstopping ...")
        await self.close()
        self.say("stopped.")
        return 0

    async def close(self) -> None:
        self.options.outputs_file.unlink(missing_ok=True)
        self.options.endpoints_file.unlink(missing_ok=True)
        for task in self.background:
            task.cancel()
        if self.events is not None:
            await self.events.close()
        for ws in self.ws_gateways:
            await ws.close()
        for server in self.servers:
            await server.close()
        if self.functions is not None:
            await self.functions.close()
        if self.moto is not None:
            await self.moto.stop()
        if self._lock is not None:
            self._lock.close()


def _fetch(url: str, method: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback URL of our own child
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


class MemoryProbe:
    """What the runtime process holds, for a benchmark asking whether memory grows (``/_local/memory``).

    ``POST`` starts tracing allocations (slow: only for that question); each ``GET`` (or ``POST``)
    answers the live objects per type and, while tracing, the source lines whose allocations
    grew most since the previous answer.
    """

    def __init__(self) -> None:
        self.previous: Any = None
        self.previous_counts: dict[str, int] = {}

    def start(self) -> None:
        import tracemalloc

        if not tracemalloc.is_tracing():
            tracemalloc.start(1)

    def report(self) -> dict[str, Any]:
        import gc
        import tracemalloc
        from collections import Counter

        gc.collect()
        counts = Counter(type(o).__qualname__ for o in gc.get_objects())
        grown = {
            n: c - self.previous_counts.get(n, 0) for n, c in counts.items() if c != self.previous_counts.get(n, 0)
        }
        self.previous_counts = dict(counts)
        report: dict[str, Any] = {
            "objects": sum(counts.values()),
            "objects_grown": dict(sorted(grown.items(), key=lambda kv: -abs(kv[1]))[:15]),
        }
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            report["traced_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
            if self.previous is not None:
                diff = snapshot.compare_to(self.previous, "lineno")
                report["grown_lines"] = [
                    {"line": str(d.traceback[0]), "kib": round(d.size_diff / 1024, 1), "count": d.count_diff}
                    for d in diff[:15]
                ]
            self.previous = snapshot
        return report


def _jwt_verifier(aws_url: str) -> Any:
    """Verify an HTTP API JWT authorizer's token against its issuer's keys (Cognito's are moto's)."""
    clients: dict[str, Any] = {}

    def verify(authorizer: Authorizer, token: str) -> dict[str, Any]:
        import jwt

        issuer = authorizer.jwt_issuer or ""
        jwks_url = issuer.rstrip("/") + "/.well-known/jwks.json"
        if ".amazonaws.com/" in issuer and "cognito-idp" in issuer:
            jwks_url = f"{aws_url}/{issuer.rsplit('/', 1)[-1]}/.well-known/jwks.json"
        client = clients.setdefault(jwks_url, jwt.PyJWKClient(jwks_url))
        key = client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=["RS256"], issuer=issuer, options={"verify_aud": False, "require": ["exp"]}
        )
        audience = claims.get("aud") or claims.get("client_id")
        audiences = set(audience if isinstance(audience, list) else [audience])
        if authorizer.jwt_audience and not audiences & set(authorizer.jwt_audience):
            raise PermissionError("audience")
        return claims

    return verify
