"""Functions run as Lambda runs them: a warm worker process per concurrent invocation.

Each function has its own pool of ``local.worker`` processes, started on demand with only
that function's environment (its template variables, the Lambda runtime's reserved ones, and
the local AWS endpoint), so no environment variable or module global leaks from one function
to another. A worker stays warm between invocations, like an execution environment; a change
to the function's source makes the next invocation start a fresh one (a new cold start), so
edits under ``runtime/`` apply without restarting the runtime; an invocation that outlives the
function's timeout is killed with its worker, as Lambda kills the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from local.topology import FunctionSpec

_HEADER = struct.Struct(">I")
# Run by path: the worker's working directory is the function's code, where ``local`` is not.
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
IDLE_WORKER_SECONDS = 600.0
DEFAULT_MAX_CONCURRENCY = 10
_SKIPPED_DIRS = {"__pycache__", "node_modules", "cdk.out"}


@dataclass
class Invocation:
    """The outcome of one invocation, as the caller (gateway, poller, moto) needs it."""

    function: str
    request_id: str
    ok: bool
    payload: Any
    duration_ms: float
    cold: bool
    init_ms: float | None = None
    status: str = "ok"  # ok | error | timeout | unavailable

    @property
    def function_error(self) -> str | None:
        return None if self.ok else "Unhandled"

    def payload_bytes(self) -> bytes:
        return (self.payload if isinstance(self.payload, str) else json.dumps(self.payload)).encode()

    def result(self) -> Any:
        """The handler's return value (``ok``) or Lambda's error object."""
        return json.loads(self.payload) if self.ok and isinstance(self.payload, str) else self.payload


class CodeWatcher:
    """A fingerprint of the source a function imports: it changes when a file there changes."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots

    def fingerprint(self) -> int:
        entries: list[tuple[str, int, int]] = []
        for root in self.roots:
            if root.is_file():
                stat = root.stat()
                entries.append((str(root), stat.st_mtime_ns, stat.st_size))
                continue
            for folder, dirs, files in os.walk(root):
                dirs[:] = [d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith(".")]
                for name in files:
                    if name.endswith(".py"):
                        path = os.path.join(folder, name)
                        with contextlib.suppress(FileNotFoundError):
                            stat = os.stat(path)
                            entries.append((path, stat.st_mtime_ns, stat.st_size))
        return hash(tuple(sorted(entries)))

    @classmethod
    def for_function(cls, spec: FunctionSpec) -> CodeWatcher:
        """Watch the handler's top-level package (or, for a top-level module, its whole folder)."""
        if spec.code_root is None:
            return cls([])
        top = spec.handler.split(".")[0]
        package = spec.code_root / top
        return cls([package] if package.is_dir() else [spec.code_root])


class FunctionLog:
    """Where a function's own output goes: its log file, and the console if asked."""

    def __init__(self, path: Path, label: str, echo: IO[str] | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("a", buffering=1)
        self.label = label
        self.echo = echo

    def write(self, line: str) -> None:
        self.handle.write(line + "\n")
        if self.echo is not None:
            self.echo.write(f"  [{self.label}] {line}\n")
            self.echo.flush()

    def close(self) -> None:
        self.handle.close()


@dataclass(eq=False)
class Worker:
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    fingerprint: int
    init_ms: float
    used: bool = False
    last_used: float = field(default_factory=time.monotonic)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(message).encode()
        self.writer.write(_HEADER.pack(len(data)) + data)
        await self.writer.drain()
        return await _read_message(self.reader)

    async def stop(self) -> None:
        self.writer.close()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), 5)
        for pump in self.pumps:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, 1)


async def _read_message(reader: asyncio.StreamReader) -> dict[str, Any]:
    header = await reader.readexactly(_HEADER.size)
    (length,) = _HEADER.unpack(header)
    message: dict[str, Any] = json.loads(await reader.readexactly(length))
    return message


class FunctionPool:
    """The warm workers of one function."""

    def __init__(
        self,
        spec: FunctionSpec,
        base_environment: Mapping[str, str],
        log: FunctionLog,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self.spec = spec
        self.base_environment = dict(base_environment)
        self.log = log
        self.watcher = CodeWatcher.for_function(spec)
        self.idle: list[Worker] = []
        self.busy: set[Worker] = set()
        limit = spec.reserved_concurrency if spec.reserved_concurrency else max_concurrency
        self.slots = asyncio.Semaphore(max(1, limit))

    def environment(self) -> dict[str, str]:
        spec = self.spec
        assert spec.code_root is not None
        reserved = {
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_root),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        }
        # Lambda lets a function's variables override none of the reserved ones.
        return {**spec.environment, **self.base_environment, **reserved}

    async def _spawn(self) -> Worker:
        parent, child = socket.socketpair()
        environment = self.environment()
        environment["LOCAL_WORKER_FD"] = str(child.fileno())
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER_SCRIPT),
                env=environment,
                cwd=str(self.spec.code_root),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(child.fileno(),),
                start_new_session=True,
            )
        finally:
            child.close()
        reader, writer = await asyncio.open_connection(sock=parent)
        assert process.stdout is not None
        assert process.stderr is not None
        pumps = [asyncio.create_task(self._pump(process.stdout)), asyncio.create_task(self._pump(process.stderr))]
        fingerprint = self.watcher.fingerprint()
        try:
            ready = await asyncio.wait_for(_read_message(reader), timeout=max(10.0, self.spec.timeout))
        except (TimeoutError, asyncio.IncompleteReadError) as error:
            process.kill()
            raise RuntimeError(f"{self.spec.display} did not start: {error!r}") from error
        return Worker(process, reader, writer, fingerprint, float(ready.get("init_ms", 0.0)), pumps=pumps)

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        """Copy a worker's output to the function's log, line by line, however long a line is."""
        pending = b""
        while chunk := await stream.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.log.write(line.decode(errors="replace"))
            if len(pending) > 1024 * 1024:
                self.log.write(pending.decode(errors="replace"))
                pending = b""
        if pending:
            self.log.write(pending.decode(errors="replace"))

    async def _acquire(self) -> Worker:
        current = self.watcher.fingerprint()
        while self.idle:
            worker = self.idle.pop()
            if worker.fingerprint == current and worker.process.returncode is None:
                return worker
            await worker.stop()  # stale code or a dead process: a fresh cold start instead
        return await self._spawn()

    async def invoke(
        self, event: Any, *, request_id: str | None = None, client_context: str | None = None
    ) -> Invocation:
        request_id = request_id or str(uuid.uuid4())
        if self.spec.problem is not None:
            return Invocation(
                self.spec.name,
                request_id,
                False,
                {
                    "errorMessage": f"{self.spec.display} cannot run locally: {self.spec.problem}",
                    "errorType": "Runtime.Unavailable",
                },
                0.0,
                False,
                status="unavailable",
            )
        async with self.slots:
            try:
                worker = await self._acquire()
            except RuntimeError as error:
                return Invocation(
                    self.spec.name,
                    request_id,
                    False,
                    {"errorMessage": str(error), "errorType": "Runtime.ExitError"},
                    0.0,
                    True,
                    status="error",
                )
            cold = not worker.used
            worker.used = True
            self.busy.add(worker)
            self.log.write(f"START RequestId: {request_id} Version: $LATEST")
            started = time.perf_counter()
            message = {
                "request_id": request_id,
                "event": event if isinstance(event, str) else json.dumps(event),
                "deadline": time.time() + self.spec.timeout,
                "function_arn": self.spec.arn,
                "client_context": client_context,
            }
            try:
                response = await asyncio.wait_for(worker.request(message), timeout=self.spec.timeout)
            except TimeoutError:
                self.busy.discard(worker)
                await worker.stop()
                elapsed = time.perf_counter() - started
                text = (
                    f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%fZ} {request_id} Task timed out after {elapsed:.2f} seconds"
                )
                self.log.write(text)
                self._report(request_id, elapsed * 1000, None, worker, cold)
                return Invocation(
                    self.spec.name,
                    request_id,
                    False,
                    {"errorMessage": text, "errorType": "Sandbox.Timedout"},
                    elapsed * 1000,
                    cold,
                    worker.init_ms if cold else None,
                    status="timeout",
                )
            except (asyncio.IncompleteReadError, ConnectionError):
                # The handler ended its process (os._exit, a crash): Lambda reports the exit status.
                self.busy.discard(worker)
                await worker.stop()
                elapsed = (time.perf_counter() - started) * 1000
                text = (
                    f"RequestId: {request_id} Error: Runtime exited with error: exit status {worker.process.returncode}"
                )
                self.log.write(text)
                return Invocation(
                    self.spec.name,
                    request_id,
                    False,
                    {"errorMessage": text, "errorType": "Runtime.ExitError"},
                    elapsed,
                    cold,
                    status="error",
                )
            self.busy.discard(worker)
            worker.last_used = time.monotonic()
            self.idle.append(worker)
            duration = float(response.get("duration_ms", (time.perf_counter() - started) * 1000))
            self._report(request_id, duration, response.get("max_memory_mb"), worker, cold)
            return Invocation(
                function=self.spec.name,
                request_id=request_id,
                ok=bool(response["ok"]),
                payload=response["payload"],
                duration_ms=duration,
                cold=cold,
                init_ms=worker.init_ms if cold else None,
                status="ok" if response["ok"] else "error",
            )

    def _report(self, request_id: str, duration_ms: float, memory: int | None, worker: Worker, cold: bool) -> None:
        self.log.write(f"END RequestId: {request_id}")
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: {self.spec.memory_mb} MB"
        )
        if memory is not None:
            line += f"\tMax Memory Used: {memory} MB"
        if cold:
            line += f"\tInit Duration: {worker.init_ms:.2f} ms"
        self.log.write(line)

    async def reap(self, now: float) -> None:
        """Retire workers idle for longer than Lambda keeps an environment warm."""
        keep = []
        for worker in self.idle:
            if now - worker.last_used > IDLE_WORKER_SECONDS or worker.process.returncode is not None:
                await worker.stop()
            else:
                keep.append(worker)
        self.idle = keep

    async def close(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in [*self.idle, *self.busy]), return_exceptions=True)
        self.idle.clear()
        self.busy.clear()
        self.log.close()


class FunctionRuntime:
    """All functions of the topology, invocable by name or ARN, with the one-line invocation log."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        base_environment: Mapping[str, str],
        log_dir: Path,
        *,
        echo_logs: IO[str] | None = None,
        on_invocation: Callable[[Invocation, str], None] | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self.specs = dict(functions)
        self.pools = {
            name: FunctionPool(
                spec,
                base_environment,
                FunctionLog(log_dir / f"{spec.display}.log", spec.display, echo_logs),
                max_concurrency=max_concurrency,
            )
            for name, spec in functions.items()
        }
        self.on_invocation = on_invocation
        self._reaper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def find(self, reference: str) -> FunctionPool | None:
        if reference in self.pools:
            return self.pools[reference]
        marker = ":function:"
        if marker in reference:
            name = reference.split(marker, 1)[1].split(":")[0]
            return self.pools.get(name)
        return None

    async def invoke(
        self, reference: str, event: Any, *, trigger: str, client_context: str | None = None
    ) -> Invocation:
        pool = self.find(reference)
        if pool is None:
            raise KeyError(reference)
        invocation = await pool.invoke(event, client_context=client_context)
        if self.on_invocation is not None:
            self.on_invocation(invocation, trigger)
        return invocation

    def invoke_async(self, reference: str, event: Any, *, trigger: str) -> None:
        """An ``Event`` invocation: queued, run in the background, its result only logged."""
        task = asyncio.create_task(self.invoke(reference, event, trigger=trigger))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(30)
            for pool in self.pools.values():
                await pool.reap(time.monotonic())

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*(pool.close() for pool in self.pools.values()), return_exceptions=True)
