"""Local runtime start-up: how long `make dev` takes to reach "ready" (outputs.json written).

Three measurements, each a real `python -m local` on free ports with its own state folder:

- fresh: an empty state folder, as on a fresh clone once dependencies are installed (synthesizes
  the local stage, starts moto, creates every resource);
- restart: the same folder again (the synthesized stage is reused while the stacks are unchanged,
  the saved AWS state is loaded);
- first and warm request: `GET /health` right after ready (a cold start of its worker) and again.

Ends with `local_startup fresh: <seconds> s` (target: under 60 s).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
TARGET_SECONDS = 60.0

from local import free_ports_command  # noqa: E402


def start(state: Path) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        free_ports_command(state),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not (state / "outputs.json").exists():
        if process.poll() is not None:
            raise SystemExit(f"the runtime exited with {process.returncode}")
        time.sleep(0.05)
    return process, time.perf_counter() - started


def stop(process: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    process.send_signal(signal.SIGINT)
    process.wait(60)
    return time.perf_counter() - started


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        process, fresh = start(state)
        url = json.loads((state / "outputs.json").read_text())["Messaging-local-api"]["HttpApiUrl"]
        begin = time.perf_counter()
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200
        first = time.perf_counter() - begin
        with httpx.Client(timeout=30) as client:  # one keep-alive connection, as a browser keeps
            client.get(f"{url}/health")
            begin = time.perf_counter()
            for _ in range(50):
                client.get(f"{url}/health")
            warm = (time.perf_counter() - begin) / 50
        stopped = stop(process)
        process, restart = start(state)
        stop(process)
    print(f"local_startup restart: {restart:.1f} s")
    print(f"local_startup first request (cold start): {first * 1000:.0f} ms, warm: {warm * 1000:.1f} ms")
    print(f"local_startup stop (Ctrl-C): {stopped:.1f} s")
    print(f"local_startup fresh: {fresh:.1f} s (target < {TARGET_SECONDS:.0f} s)")
    return 0 if fresh < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
