"""Settings every test shares: no test may reach AWS, whatever the machine's credentials."""

from __future__ import annotations

import os

import pytest

from local.assembly import CloudAssembly, synthesize

# Fake credentials and a fixed region for boto3 and moto; real ones are never read.
_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Send DynamoDB Streams calls to the regional endpoint moto routes (see shared FACTS).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # What the stacks set on every function (PythonFunction): Powertools reads them at import.
    "POWERTOOLS_SERVICE_NAME": "tests",
    "POWERTOOLS_METRICS_NAMESPACE": "Messaging",
    "POWERTOOLS_TRACE_DISABLED": "true",
    # jsii's banner about Node 20's end of life (it still works) says nothing a test can act on.
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "20",
}
os.environ.update(_AWS_ENV)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-assert the fake environment per test, in case a test or library changed it."""
    for key, value in _AWS_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def local_assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    """The `local` stage synthesized once per session: the tables and routes tests build from."""
    outdir = tmp_path_factory.mktemp("cdk-local")
    return CloudAssembly.load(synthesize("local", outdir))
