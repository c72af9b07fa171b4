"""The local runtime as a subprocess on free ports; tests reach it only through its outputs file.

Two runtimes per session: the product's own stacks (synthesized by the runtime, exactly as
``make dev`` does) and the fixture app (``fixture_app/``), whose resources exercise what the
product's stacks do not have yet. Each test reads URLs from ``outputs.json`` and the AWS
endpoint from ``endpoints.json`` beside it.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from local import free_ports_command
from local.assembly import REPO_ROOT, CloudAssembly
from tests.e2e.fixture_app.app import STACK_NAME, synthesize_fixture

START_TIMEOUT_SECONDS = 180
FIXTURE_FUNCTIONS = Path(__file__).parent / "fixture_app" / "functions"


@dataclass
class Runtime:
    process: subprocess.Popen[bytes]
    state_dir: Path
    log_path: Path
    assembly_dir: Path

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        """The synthesized templates this runtime serves (what it must serve, read independently)."""
        manifest = json.loads((self.assembly_dir / "manifest.json").read_text())
        return {
            name: json.loads((self.assembly_dir / artifact["properties"]["templateFile"]).read_text())
            for name, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack"
        }

    @property
    def outputs(self) -> dict[str, dict[str, str]]:
        data: dict[str, dict[str, str]] = json.loads((self.state_dir / "outputs.json").read_text())
        return data

    @property
    def endpoints(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "endpoints.json").read_text())
        return data

    def output(self, key: str) -> str:
        """One output, from whichever stack declares it."""
        for values in self.outputs.values():
            if key in values:
                return values[key]
        raise KeyError(key)

    def aws(self, service: str) -> Any:
        aws = self.endpoints["aws"]
        return boto3.client(
            service,
            endpoint_url=aws["endpoint_url"],
            region_name=aws["region"],
            aws_access_key_id=aws["access_key_id"],
            aws_secret_access_key=aws["secret_access_key"],
        )

    def routes(self) -> set[str]:
        return {
            resource["Properties"]["RouteKey"]
            for template in self.templates.values()
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::ApiGatewayV2::Route"
        }

    def access_token(self, user_id: str | None = None, tenant_id: str = "tenant-e2e") -> str:
        """A real access token: from ``POST /auth/register`` once that route exists, else signed with
        the deployed key (from the emulated Secrets Manager) the way the auth code signs it."""
        user_id = user_id or str(uuid.uuid4())
        if "POST /auth/register" in self.routes():
            response = httpx.post(
                f"{self.output('HttpApiUrl')}/auth/register",
                json={"email": f"{user_id}@example.com", "password": "E2e-password-1234", "full_name": "E2E"},
                timeout=30,
            )
            token: str = response.json()["access_token"]
            return token
        from runtime.common.identity import Identity
        from runtime.common.tokens import KeyRing, TokenService

        environment = next(
            resource["Properties"]["Environment"]["Variables"]
            for template in self.templates.values()
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Function"
            and "TOKEN_ISSUER" in (resource["Properties"].get("Environment") or {}).get("Variables", {})
        )
        secrets = self.aws("secretsmanager")
        secret = secrets.get_secret_value(SecretId=secrets.list_secrets()["SecretList"][0]["ARN"])["SecretString"]
        service = TokenService(
            KeyRing.from_secret(secret),
            issuer=environment["TOKEN_ISSUER"],
            audience=environment["TOKEN_AUDIENCE"],
            ttl_seconds=900,
        )
        return service.issue(Identity(user_id=user_id, tenant_id=tenant_id)).access_token

    def invocations(self) -> list[dict[str, Any]]:
        response = httpx.get(self.endpoints["invocations"], timeout=10)
        records: list[dict[str, Any]] = response.json()["invocations"]
        return records

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_runtime(state_dir: Path, *arguments: str, assembly: Path | None = None) -> Runtime:
    """Start ``python -m local`` on free ports and wait until it wrote its outputs file."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if assembly is not None:
        arguments = (*arguments, "--assembly", str(assembly))
    log_path = state_dir / "runtime.log"
    command = free_ports_command(state_dir, *arguments)
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    runtime = Runtime(process, state_dir, log_path, assembly or state_dir / "cdk.out")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not (state_dir / "outputs.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            runtime.stop()
            raise RuntimeError(f"the local runtime did not start:\n{runtime.log()[-6000:]}")
        time.sleep(0.2)
    return runtime


# API Gateway waits up to 30 s for an integration. A function's first request here is a real
# cold start (a fresh worker importing its handler), which on a loaded 2-core machine can take
# longer than httpx's 5 s default, so the tests' clients wait as API Gateway would.
CLIENT_TIMEOUT_SECONDS = 30.0


@pytest.fixture(autouse=True)
def _clients_wait_like_api_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    for verb in ("get", "post", "put", "patch", "delete", "options", "head", "request"):
        original = getattr(httpx, verb)

        def patient(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", CLIENT_TIMEOUT_SECONDS)
            return _original(*args, **kwargs)

        monkeypatch.setattr(httpx, verb, patient)


@pytest.fixture(scope="session")
def app_runtime(tmp_path_factory: pytest.TempPathFactory, local_assembly: CloudAssembly) -> Iterator[Runtime]:
    """The product's stacks, from the session's synthesis of the local stage (the one the handler tests
    use: one synth per session; ``make dev``'s own synth is timed in bench/local_startup.py)."""
    runtime = start_runtime(tmp_path_factory.mktemp("app-runtime"), assembly=local_assembly.outdir)
    yield runtime
    runtime.stop()


@pytest.fixture(scope="session")
def fixture_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture functions in a folder of their own, so a test may edit them."""
    code = tmp_path_factory.mktemp("fixture-code")
    shutil.copytree(FIXTURE_FUNCTIONS, code, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return code


@pytest.fixture(scope="session")
def fixture_assembly(tmp_path_factory: pytest.TempPathFactory, fixture_code: Path) -> Path:
    return synthesize_fixture(tmp_path_factory.mktemp("fixture-cdk-out"), fixture_code)


@pytest.fixture(scope="session")
def fixture_runtime(tmp_path_factory: pytest.TempPathFactory, fixture_assembly: Path) -> Iterator[Runtime]:
    runtime = start_runtime(tmp_path_factory.mktemp("fixture-runtime"), assembly=fixture_assembly)
    yield runtime
    runtime.stop()


@pytest.fixture
def fixture_outputs(fixture_runtime: Runtime) -> dict[str, str]:
    return fixture_runtime.outputs[STACK_NAME]


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (asynchronous deliveries)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)
