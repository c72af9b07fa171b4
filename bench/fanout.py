"""Fan-out: one frame to N connections through the production gateway, against a one-after-another loop.

An emulated ``@connections`` endpoint runs in ANOTHER process (a server in the same process
shares the client's GIL and halves the measured speedup; see shared FACTS) and answers every
``POST /{stage}/@connections/{id}`` after a fixed delay (20 ms by default), on keep-alive
connections, like API Gateway. The client side is exactly what the stream processor runs:
``runtime.realtime.clients.management_api`` (one boto3 client, its pool sized to the fan-out)
and ``ConnectionGateway.fan_out`` (the container's thread pool).

Both sides post the same frame to the same N connection ids (default 1,000), after the same
warm-up; nothing is sampled or extrapolated. Ends with ``fanout speedup: <ratio>x`` (target: at
least 10x).

    python bench/fanout.py [--connections 1000] [--delay-ms 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TARGET = 10.0
STAGE = "bench"
# A message frame of a realistic size (about 300 bytes of JSON).
FRAME = (
    b'{"action":"message","message":{"message_id":"5f0c2b1e-8d7a-4c1e-9a55-2f1d8e3c7b40",'
    b'"conversation_id":"0b6e4a52-77c3-4d0e-bb0e-6f3f4d8a9c21","sender_id":"6d2f0e8a-1c4b-4f7e-9d3a-'
    b'8b5c2e1f0a97","type":"text","content":"On my way, see you at the pickup point in five minutes.",'
    b'"created_at_ms":1795316928732,"client_message_id":"c-1795316928"}}'
)


# --- the emulated endpoint (child process) ----------------------------------------------------


def serve(delay: float) -> None:
    """Answer every @connections POST after ``delay`` seconds; print the port, then serve forever."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_endpoint(delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    port = int(child.stdout.readline().strip())
    return child, f"http://127.0.0.1:{port}/{STAGE}"


# --- the measurement ----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load {load:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3, help="parallel runs (median reported)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.delay_ms / 1000)
        return 0

    # Signing needs credentials; these never leave the machine (the endpoint is loopback).
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
    from runtime.realtime import clients
    from runtime.realtime.gateway import ConnectionGateway

    child, endpoint = start_endpoint(args.delay_ms)
    try:
        gateway = ConnectionGateway(clients.management_api(endpoint))
        ids = [f"conn{n:06d}AAAA=" for n in range(args.connections)]
        print(f"machine: {machine()}")
        print(
            f"{args.connections} connections, endpoint answers after {args.delay_ms:.0f} ms "
            f"(own process), pool of {clients.FANOUT_CONCURRENCY}"
        )

        # Warm-up: open the pool's keep-alive connections and import what the first post imports.
        warm = gateway.fan_out([f"warm{n}" for n in range(clients.FANOUT_CONCURRENCY * 2)], FRAME)
        assert len(warm.delivered) == clients.FANOUT_CONCURRENCY * 2, warm

        parallel_runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = gateway.fan_out(ids, FRAME)
            parallel_runs.append(time.perf_counter() - started)
            assert len(result.delivered) == args.connections, (len(result.delivered), result.failed[:3])
        parallel = statistics.median(parallel_runs)

        started = time.perf_counter()
        for connection_id in ids:
            outcome = gateway.post(connection_id, FRAME)
            assert outcome.value == "delivered", outcome
        sequential = time.perf_counter() - started
    finally:
        child.terminate()
        child.wait(timeout=10)

    ratio = sequential / parallel
    print(
        f"sequential: {sequential:.2f} s ({sequential / args.connections * 1000:.1f} ms per post, "
        f"all {args.connections})"
    )
    runs = ", ".join(f"{run:.2f}" for run in parallel_runs)
    print(
        f"parallel:   {parallel:.2f} s median of {args.runs} ({runs}); "
        f"{args.connections / parallel:.0f} posts/s; target {TARGET:.0f}x"
    )
    print(f"fanout speedup: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
