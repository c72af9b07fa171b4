"""The local runtime: the whole system on one machine, built from the synthesized templates."""

import sys
from pathlib import Path


def free_ports_command(state_dir: Path, *arguments: str) -> list[str]:
    """The command line that starts the runtime on ports the OS picks (tests and benchmarks).

    Callers learn the URLs from ``<state_dir>/outputs.json``, exactly as a client would.
    """
    ports = ("--http-port", "0", "--ws-port", "0", "--aws-port", "0", "--web-port", "0")
    return [sys.executable, "-m", "local", *ports, "--state-dir", str(state_dir), *arguments]
