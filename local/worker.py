"""One warm function container: ``python -m local.worker``, started by ``local.functions``.

Like a Lambda execution environment, a worker belongs to one function: it has that function's
environment variables only, imports the handler once (the cold start, whose module state then
persists between invocations), and runs one invocation at a time. It speaks to the runtime over
a socket inherited as ``LOCAL_WORKER_FD`` (length-prefixed JSON), so the handler's own stdout
and stderr stay free for its logs, exactly as on Lambda.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import socket
import struct
import sys
import time
import traceback
from decimal import Decimal
from typing import Any

_HEADER = struct.Struct(">I")


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock: socket.socket) -> dict[str, Any] | None:
    header = _read_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    data = _read_exactly(sock, length)
    if data is None:
        return None
    message: dict[str, Any] = json.loads(data)
    return message


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class LambdaContext:
    """The context object the Python runtime passes to a handler."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = str(request.get("function_arn", ""))
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = str(request["request_id"])
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = request.get("client_context")
        self.tenant_id = None
        self._deadline = float(request["deadline"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)


def _default(value: Any) -> Any:
    """The Python runtime's JSON encoding: Decimals (from DynamoDB) become numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    stack = traceback.format_tb(error.__traceback__)
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": "",
        "stackTrace": [line.rstrip("\n") for line in stack],
    }


def _load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'") from None


def main() -> int:
    sock = socket.socket(fileno=int(os.environ.pop("LOCAL_WORKER_FD")))
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    # Started as a script: its own folder (local/) must not shadow the function's modules.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    sys.path.insert(0, task_root)
    os.chdir(task_root)

    started = time.perf_counter()
    init_error: dict[str, Any] | None = None
    function: Any = None
    try:
        function = _load_handler(os.environ["_HANDLER"])
    except Exception as error:
        kind = "Runtime.ImportModuleError" if isinstance(error, ImportError) else "Runtime.HandlerNotFound"
        if not isinstance(error, (ImportError, AttributeError, ValueError)):
            kind = "Runtime.UserCodeSyntaxError" if isinstance(error, SyntaxError) else type(error).__name__
        init_error = _error(error, kind)
        init_error["errorMessage"] = f"Unable to import module '{os.environ['_HANDLER']}': {error}"
        print(f"[ERROR] {init_error['errorType']}: {init_error['errorMessage']}", file=sys.stderr, flush=True)
    send(sock, {"type": "ready", "init_ms": (time.perf_counter() - started) * 1000})

    while True:
        request = receive(sock)
        if request is None:
            return 0
        started = time.perf_counter()
        response: dict[str, Any] = {"type": "result", "request_id": request["request_id"]}
        if init_error is not None:
            response.update(ok=False, payload=init_error)
        else:
            response.update(_run(function, request))
        sys.stdout.flush()
        sys.stderr.flush()
        response["duration_ms"] = (time.perf_counter() - started) * 1000
        response["max_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        send(sock, response)


def _run(function: Any, request: dict[str, Any]) -> dict[str, Any]:
    """One invocation: the handler's result as JSON text, or the error payload Lambda reports."""
    try:
        result = function(json.loads(request["event"]), LambdaContext(request))
    except Exception as error:
        payload = _error(error)
        _print_error(payload)
        return {"ok": False, "payload": payload}
    try:
        return {"ok": True, "payload": json.dumps(result, default=_default)}
    except (TypeError, ValueError) as error:
        payload = _error(error, "Runtime.MarshalError")
        payload["errorMessage"] = f"Unable to marshal response: {error}"
        _print_error(payload)
        return {"ok": False, "payload": payload}


def _print_error(payload: dict[str, Any]) -> None:
    print(f"[ERROR] {payload['errorType']}: {payload['errorMessage']}", file=sys.stderr)
    print("Traceback (most recent call last):", file=sys.stderr)
    for line in payload["stackTrace"]:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
