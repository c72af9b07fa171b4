"""``make dev`` / ``python -m local`` / ``messaging-local``: the whole system on loopback."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from local.runtime import DEFAULT_STATE_DIR, LocalRuntime, Options


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Run the CDK app locally: HTTP and WebSocket APIs, functions, and emulated AWS services "
        "(moto), all built from the synthesized templates. No AWS account, no Docker.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--public-host",
        help="address put in the URLs handed out (outputs, presigned and callback URLs), e.g. this machine's LAN "
        "address with --host 0.0.0.0 for a phone on the same network (default: --host, or 127.0.0.1)",
    )
    parser.add_argument("--http-port", type=int, default=3000, help="HTTP API port (default: %(default)s; 0 = any)")
    parser.add_argument("--ws-port", type=int, default=3001, help="WebSocket API port (default: %(default)s; 0 = any)")
    parser.add_argument(
        "--aws-port", type=int, default=3002, help="port of the emulated AWS APIs (default: %(default)s; 0 = any)"
    )
    parser.add_argument(
        "--web-port", type=int, default=3003, help="port of the web client (default: %(default)s; 0 = any)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="synth output, saved AWS state, logs and outputs.json (default: %(default)s)",
    )
    parser.add_argument("--assembly", type=Path, help="serve this synthesized cloud assembly instead of synthesizing")
    parser.add_argument("--stage", default="local", help="the stage to synthesize (default: %(default)s)")
    parser.add_argument("--reset", action="store_true", help="start with empty tables, buckets and queues")
    parser.add_argument(
        "--resynth", action="store_true", help="synthesize even if the stacks did not change since the last start"
    )
    parser.add_argument(
        "--no-persist",
        dest="persist",
        action="store_false",
        help="keep nothing across restarts (and load nothing saved)",
    )
    parser.add_argument("--function-logs", action="store_true", help="also print the functions' own logs")
    parser.add_argument(
        "--ws-idle-timeout",
        type=float,
        default=600.0,
        help="close idle WebSocket connections after this many seconds (default: API Gateway's 600)",
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=10, help="warm workers per function at most (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    return Options(
        host=args.host,
        public_host=args.public_host,
        http_port=args.http_port,
        ws_port=args.ws_port,
        aws_port=args.aws_port,
        web_port=args.web_port,
        state_dir=args.state_dir.resolve(),
        assembly=args.assembly.resolve() if args.assembly else None,
        stage=args.stage,
        reset=args.reset,
        resynth=args.resynth,
        persist=args.persist,
        function_logs=args.function_logs,
        ws_idle_timeout=args.ws_idle_timeout,
        max_concurrency=args.max_concurrency,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return asyncio.run(LocalRuntime(options).run())


if __name__ == "__main__":
    sys.exit(main())
