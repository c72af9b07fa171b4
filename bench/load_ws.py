"""WebSocket load on the local runtime: many sockets, a steady message rate, latency, loss and memory.

Starts ``python -m local`` on free loopback ports (the command the e2e fixture uses), registers
users over HTTP, creates conversations, opens ``--connections`` WebSocket connections spread
evenly over the users (each conversation has ``--participants`` users, so every message fans out
to ``participants * connections / users`` sockets), then sends ``--rate`` ``sendMessage`` frames a
second for ``--duration`` seconds, round-robin over the conversations. Every socket records each
``message`` frame it receives; a frame's latency is its arrival minus the moment its
``sendMessage`` left the sender. Bounded and self-stopping: after the sending phase it waits at
most ``--drain`` seconds for late frames, closes every socket and stops the runtime.

Reports delivery latency (p50 / p99 / max), loss (expected deliveries that never arrived, and
duplicates, which at-least-once delivery allows and clients de-duplicate by ``message_id``) and
the resident memory of the runtime's processes: before the sockets open, with them open, and
after they closed. Exit status 1 when the targets are missed (no loss, p99 under 1 s).

    python bench/load_ws.py [--connections 1000] [--conversations 100] [--rate 50] [--duration 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from local import free_ports_command  # noqa: E402

P99_TARGET_SECONDS = 1.0
START_TIMEOUT_SECONDS = 240
PASSWORD = "Load-test-password-1234"  # a throwaway local account


# --- the runtime's processes and their memory ----------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Memory:
    gateway_mib: float  # the runtime's main process: gateways, pollers, every socket's state
    total_mib: float  # that plus moto's process and every warm function worker
    processes: int

    def __str__(self) -> str:
        return f"gateway {self.gateway_mib:.1f} MiB, all {self.processes} processes {self.total_mib:.1f} MiB"


def memory_of(pid: int) -> Memory:
    tree, queue = [pid], [pid]
    while queue:
        children = _children(queue.pop())
        tree.extend(children)
        queue.extend(children)
    return Memory(_rss_kib(pid) / 1024, sum(_rss_kib(p) for p in tree) / 1024, len(tree))


_TICKS = os.sysconf("SC_CLK_TCK")


def _component(pid: int, root: int) -> str:
    """Which part of the runtime a process is: the gateway, moto, or a function's worker."""
    if pid == root:
        return "gateway"
    with contextlib.suppress(OSError):
        if b"local.moto_host" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return "moto"
        for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
                return entry.split(b"=", 1)[1].decode(errors="replace")
    return "other"


def cpu_of(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) each process of the runtime has used so far, with its component."""
    tree, queue = [root], [root]
    while queue:
        children = _children(queue.pop())
        tree.extend(children)
        queue.extend(children)
    result: dict[int, tuple[str, float]] = {}
    for pid in tree:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            result[pid] = (_component(pid, root), (int(fields[11]) + int(fields[12])) / _TICKS)
    return result


def cpu_per_component(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds used between two readings, summed per component (a new worker counts from zero)."""
    used: dict[str, float] = {}
    for pid, (component, seconds) in after.items():
        used[component] = used.get(component, 0.0) + seconds - before.get(pid, (component, 0.0))[1]
    return used


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Tally:
    sent_at: dict[str, float] = field(default_factory=dict)  # client_message_id -> send time
    conversation_of: dict[str, int] = field(default_factory=dict)  # client_message_id -> conversation index
    received: dict[int, dict[str, float]] = field(default_factory=dict)  # socket -> client_message_id -> latency
    duplicates: int = 0
    acks: int = 0
    errors: list[str] = field(default_factory=list)


def raise_fd_limit(needed: int) -> int:
    """Sockets are file descriptors on both ends (this process and the runtime, which inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        raise SystemExit(f"RLIMIT_NOFILE is {soft}; this run needs about {needed} (raise the hard limit)")
    return soft


def start_runtime(state_dir: Path, max_concurrency: int, assembly: Path | None) -> subprocess.Popen[bytes]:
    extra = ("--assembly", str(assembly)) if assembly else ()
    command = free_ports_command(state_dir, "--no-persist", "--max-concurrency", str(max_concurrency), *extra)
    log = (state_dir / "runtime.log").open("ab")
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not (state_dir / "outputs.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_runtime(process)
            tail = (state_dir / "runtime.log").read_text(errors="replace")[-4000:]
            raise SystemExit(f"the local runtime did not start:\n{tail}")
        time.sleep(0.2)
    return process


def stop_runtime(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def output(state_dir: Path, key: str) -> str:
    outputs = json.loads((state_dir / "outputs.json").read_text())
    return next(str(values[key]) for values in outputs.values() if key in values)


async def register(client: httpx.AsyncClient, http_url: str, count: int, parallel: int) -> list[tuple[str, str]]:
    """``count`` new users of one tenant: (user_id, access_token)."""
    gate = asyncio.Semaphore(parallel)
    run = uuid.uuid4().hex[:8]

    async def one(index: int) -> tuple[str, str]:
        async with gate:
            for attempt in range(5):
                response = await client.post(
                    f"{http_url}/auth/register",
                    json={"email": f"load-{run}-{index}@example.com", "password": PASSWORD, "full_name": f"L{index}"},
                )
                if response.status_code == 201:
                    body = response.json()
                    return str(body["user"]["user_id"]), str(body["access_token"])
                if response.status_code not in (429, 503) or attempt == 4:
                    raise SystemExit(f"register answered {response.status_code}: {response.text[:200]}")
                await asyncio.sleep(0.5 * 2**attempt)
            raise AssertionError("unreachable")

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def create_conversations(
    client: httpx.AsyncClient, http_url: str, users: list[tuple[str, str]], count: int, participants: int
) -> list[tuple[str, list[int]]]:
    """Conversation ``c`` holds users ``c*participants ... `` (wrapping): (conversation_id, user indexes)."""
    result: list[tuple[str, list[int]]] = []
    for c in range(count):
        members = [(c * participants + k) % len(users) for k in range(participants)]
        owner = users[members[0]]
        response = await client.post(
            f"{http_url}/conversations",
            json={"participant_ids": [users[m][0] for m in members[1:]]},
            headers={"authorization": f"Bearer {owner[1]}"},
        )
        if response.status_code != 201:
            raise SystemExit(f"create conversation answered {response.status_code}: {response.text[:200]}")
        result.append((str(response.json()["conversation_id"]), members))
    return result


async def receive(index: int, socket: Any, tally: Tally) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in socket:
            arrived = time.monotonic()
            frame = json.loads(raw)
            action = frame.get("action")
            if action == "message":
                cmid = frame["message"].get("client_message_id")
                if cmid not in tally.sent_at:
                    continue  # a warm-up frame arriving late
                seen = tally.received.setdefault(index, {})
                if cmid in seen:
                    tally.duplicates += 1
                else:
                    seen[cmid] = arrived - tally.sent_at[cmid]
            elif action == "ack":
                tally.acks += 1
            elif action == "error":
                tally.errors.append(str(frame.get("error")))


async def disconnects_done(state_dir: Path, since: float, count: int, limit_seconds: float) -> None:
    """Wait (at most ``limit_seconds``) until the runtime ran ``count`` ``$disconnect`` invocations since
    ``since``: until then the gateway still holds the queued ones, and RSS would count them."""
    endpoints = json.loads((state_dir / "endpoints.json").read_text())
    deadline = time.monotonic() + limit_seconds
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < deadline:
            records = (await client.get(endpoints["invocations"])).json()["invocations"]
            if sum(1 for r in records if r["time"] >= since and r["trigger"] == "$disconnect") >= count:
                return
            await asyncio.sleep(1)
    print(f"($disconnect still queued after {limit_seconds:.0f} s)")


async def invocation_summary(state_dir: Path, since: float) -> dict[str, str]:
    """Warm invocations per function since ``since`` (the runtime keeps the last 2,000): where the time goes."""
    endpoints = json.loads((state_dir / "endpoints.json").read_text())
    async with httpx.AsyncClient(timeout=30) as client:
        records = (await client.get(endpoints["invocations"])).json()["invocations"]
    by_function: dict[str, list[float]] = {}
    for record in records:
        if record["time"] >= since and not record["cold_start"]:
            by_function.setdefault(record["function"], []).append(float(record["duration_ms"]))
    return {
        name: f"{len(d)} warm, p50 {percentile(d, 0.5):.0f} ms, p90 {percentile(d, 0.9):.0f} ms"
        for name, d in sorted(by_function.items())
    }


async def runtime_memory(state_dir: Path, start: bool = False) -> dict[str, Any]:
    """The gateway process's live objects and (once started) its allocation growth by source line."""
    endpoints = json.loads((state_dir / "endpoints.json").read_text())
    url = endpoints["invocations"].replace("/_local/invocations", "/_local/memory")
    async with httpx.AsyncClient(timeout=120) as client:
        response = await (client.post(url) if start else client.get(url))
        return dict(response.json())


async def moto_stats(state_dir: Path, reset: bool = False) -> dict[str, Any]:
    """The emulated DynamoDB's own count and CPU per operation (``local.moto_host``); reset: start over."""
    endpoints = json.loads((state_dir / "endpoints.json").read_text())
    url = f"{endpoints['aws']['endpoint_url'].rstrip('/')}/_local/stats"
    async with httpx.AsyncClient(timeout=30) as client:
        if reset:
            await client.delete(url)
            return {}
        return dict((await client.get(url)).json())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, state_dir: Path, runtime_pid: int) -> dict[str, Any]:
    http_url = output(state_dir, "HttpApiUrl")
    ws_url = output(state_dir, "WebSocketUrl")
    tally = Tally()
    limits = httpx.Limits(max_connections=args.parallel, max_keepalive_connections=args.parallel)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.monotonic()
        users = await register(client, http_url, args.users, args.parallel)
        conversations = await create_conversations(client, http_url, users, args.conversations, args.participants)
        print(f"setup: {len(users)} users, {len(conversations)} conversations in {time.monotonic() - started:.1f} s")

    await asyncio.sleep(2)
    before = memory_of(runtime_pid)
    print(f"memory before connecting: {before}")

    # Socket i belongs to user i % users: every user holds connections / users sockets.
    owner_of = [i % len(users) for i in range(args.connections)]
    sockets_of: dict[int, list[int]] = {}
    for index, owner in enumerate(owner_of):
        sockets_of.setdefault(owner, []).append(index)
    gate = asyncio.Semaphore(args.parallel)
    sockets: list[Any] = [None] * args.connections

    async def connect(index: int) -> None:
        async with gate:
            token = users[owner_of[index]][1]
            sockets[index] = await websockets.connect(
                f"{ws_url}?token={token}", open_timeout=60, max_queue=None, ping_interval=None
            )

    started = time.monotonic()
    await asyncio.gather(*(connect(i) for i in range(args.connections)))
    print(f"opened {args.connections} WebSocket connections in {time.monotonic() - started:.1f} s")
    readers = [asyncio.create_task(receive(i, s, tally)) for i, s in enumerate(sockets)]

    # Expected deliveries: every socket of every participant gets every message of the conversation.
    expected: dict[int, list[int]] = {
        c: [s for member in members for s in sockets_of.get(member, [])] for c, (_, members) in enumerate(conversations)
    }

    async def send_phase(rate: float, count: int, label: str) -> tuple[int, float]:
        """Send ``count`` messages at ``rate``; wait (at most ``--drain`` s) for them; (expected, seconds)."""
        interval = 1.0 / rate
        started = time.monotonic()
        for n in range(count):
            delay = started + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            c = n % len(conversations)
            conversation_id, members = conversations[c]
            sender = sockets_of[members[n % len(members)]][0]
            cmid = f"{label}-{n}-{uuid.uuid4().hex[:8]}"
            tally.sent_at[cmid] = time.monotonic()
            tally.conversation_of[cmid] = c
            frame = {
                "action": "sendMessage",
                "conversation_id": conversation_id,
                "content": f"m{n}",
                "client_message_id": cmid,
            }
            await sockets[sender].send(json.dumps(frame))
        seconds = time.monotonic() - started
        want = sum(len(expected[c]) for c in tally.conversation_of.values())
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            if sum(len(seen) for seen in tally.received.values()) >= want:
                break
            await asyncio.sleep(0.25)
        return want, seconds

    # Warm-up (not measured): every function gets its warm workers, as in a service that is running.
    await send_phase(min(args.rate, 20.0), min(len(conversations) * 2, 200), "warm")
    tally.sent_at.clear()
    tally.conversation_of.clear()
    tally.received.clear()
    tally.duplicates = tally.acks = 0
    tally.errors.clear()

    total_messages = int(args.rate * args.duration)
    load_started = time.time()
    await moto_stats(state_dir, reset=True)
    moto_before = await moto_stats(state_dir)
    cpu_before, own_before, wall_before = cpu_of(runtime_pid), _own_cpu(), time.monotonic()
    want, send_seconds = await send_phase(args.rate, total_messages, "load")
    cpu_used = cpu_per_component(cpu_before, cpu_of(runtime_pid))
    moto_after = await moto_stats(state_dir)
    dynamodb = {
        name: f"{op['count']} calls, {op['cpu_ms'] / max(1, op['count']):.1f} ms CPU each"
        for name, op in sorted(moto_after["operations"].items(), key=lambda kv: -kv[1]["cpu_ms"])
    }
    in_operations = sum(op["cpu_ms"] for op in moto_after["operations"].values()) / 1000
    moto_process = moto_after["process_cpu_s"] - moto_before["process_cpu_s"]
    print(f"DynamoDB in moto: {json.dumps(dynamodb)}")
    print(f"moto CPU {moto_process:.1f} s, of which {in_operations:.1f} s inside DynamoDB operations")
    cpu_used["load client (this script)"] = _own_cpu() - own_before
    wall = time.monotonic() - wall_before
    print(f"sent {total_messages} messages in {send_seconds:.1f} s ({total_messages / send_seconds:.1f}/s)")
    print(
        f"CPU while sending and draining ({wall:.0f} s wall, {sum(cpu_used.values()) / wall:.2f} cores busy): "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(cpu_used.items(), key=lambda kv: -kv[1]))
    )
    during = memory_of(runtime_pid)
    functions = await invocation_summary(state_dir, since=load_started)
    print(f"memory with {args.connections} connections open: {during}")

    closed_at = time.time()
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    await disconnects_done(state_dir, closed_at, args.connections, args.disconnect_wait)
    await asyncio.sleep(args.settle)
    after = memory_of(runtime_pid)
    print(f"memory {args.settle:.0f} s after closing them: {after}")
    # RSS rarely shrinks (the allocator keeps its arenas): growth shows as a rise from one
    # open-and-close cycle to the next, so the sockets are opened and closed again.
    cycles: list[str] = []
    traced: list[dict[str, Any]] = []
    if args.trace_memory:
        await runtime_memory(state_dir, start=True)
    for cycle in range(args.cycles):
        await asyncio.gather(*(connect(i) for i in range(args.connections)))
        closed_at = time.time()
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        await disconnects_done(state_dir, closed_at, args.connections, args.disconnect_wait)
        await asyncio.sleep(args.settle)
        cycles.append(str(memory_of(runtime_pid)))
        print(f"memory after open-and-close cycle {cycle + 2}: {cycles[-1]}")
        if args.trace_memory:
            traced.append(await runtime_memory(state_dir))
            print(f"gateway allocations after cycle {cycle + 2}: {json.dumps(traced[-1])}")

    latencies = [latency for seen in tally.received.values() for latency in seen.values()]
    lost = want - len(latencies)
    return {
        "connections": args.connections,
        "conversations": len(conversations),
        "users": len(users),
        "fanout_per_message": round(want / max(1, total_messages), 1),
        "messages_sent": total_messages,
        "send_rate": round(total_messages / send_seconds, 1),
        "acks": tally.acks,
        "errors": len(tally.errors),
        "first_errors": tally.errors[:3],
        "deliveries_expected": want,
        "deliveries_received": len(latencies),
        "lost": lost,
        "duplicates": tally.duplicates,
        "latency_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "latency_max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
        "latency_mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        "memory_before": str(before),
        "memory_open": str(during),
        "memory_after": str(after),
        "memory_after_more_cycles": cycles,
        "gateway_allocations_per_cycle": traced,
        "gateway_growth_mib": round(after.gateway_mib - before.gateway_mib, 1),
        "functions": functions,
        "cpu_seconds": {name: round(seconds, 1) for name, seconds in sorted(cpu_used.items(), key=lambda kv: -kv[1])},
        "cpu_ms_per_message": {
            name: round(seconds * 1000 / max(1, total_messages), 1)
            for name, seconds in sorted(cpu_used.items(), key=lambda kv: -kv[1])
        },
        "cpu_window_seconds": round(wall, 1),
        "dynamodb_operations": dynamodb,
        "moto_cpu_in_dynamodb_operations_s": round(in_operations, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--users", type=int, default=200, help="sockets are spread evenly over these users")
    parser.add_argument("--participants", type=int, default=2, help="users per conversation")
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending")
    parser.add_argument("--drain", type=float, default=20.0, help="seconds to wait for late frames, at most")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between closing sockets and measuring")
    parser.add_argument(
        "--disconnect-wait", type=float, default=300.0, help="seconds to wait for $disconnect before reading RSS"
    )
    parser.add_argument("--cycles", type=int, default=2, help="extra open-and-close cycles for the memory check")
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="trace the gateway's allocations during the extra cycles (slows them) and report what grew",
    )
    parser.add_argument("--parallel", type=int, default=8, help="concurrent registrations / handshakes")
    parser.add_argument("--max-concurrency", type=int, default=10, help="the runtime's warm workers per function")
    parser.add_argument("--assembly", type=Path, help="serve this synthesized assembly (default: synthesize)")
    parser.add_argument("--state-dir", type=Path, help="the runtime's state (default: a temporary directory)")
    args = parser.parse_args()
    if args.participants * args.conversations > args.users * 50 or args.connections < args.users:
        parser.error("need connections >= users, and enough users for the conversations")

    limit = raise_fd_limit(args.connections * 3 + 1024)
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="load-ws-") as temp:
        state_dir = (args.state_dir or Path(temp)).resolve()
        state_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        process = start_runtime(state_dir, args.max_concurrency, args.assembly)
        print(f"runtime ready in {time.monotonic() - started:.1f} s (RLIMIT_NOFILE {limit})")
        try:
            report = asyncio.run(run(args, state_dir, process.pid))
        finally:
            stop_runtime(process)
    report.update(
        load_average=", ".join(f"{x:.1f}" for x in os.getloadavg()),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    print(json.dumps(report, indent=2))
    ok = report["lost"] == 0 and report["latency_p99_ms"] < P99_TARGET_SECONDS * 1000
    print(f"load (WebSocket): p99 {report['latency_p99_ms']} ms, lost {report['lost']}: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
