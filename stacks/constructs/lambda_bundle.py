"""Lambda packaging without Docker.

Every function ships the same asset: the ``runtime`` package plus its third-party wheels,
downloaded for the Lambda platform (Linux arm64, the newest CPython Lambda offers) with
``pip install --platform ... --only-binary=:all:``. Wheels are cached under ``.cache/`` by
a hash of the requirements and the platform, so a change to the code re-copies it but never
re-downloads; CDK itself skips bundling when the asset hash (the ``runtime`` sources) is
already staged in ``cdk.out``.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIR = REPO_ROOT / "runtime"
REQUIREMENTS = RUNTIME_DIR / "requirements.txt"
WHEEL_CACHE = REPO_ROOT / ".cache" / "lambda-deps"

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDA_PYTHON_VERSION = "3.14"
# manylinux tags the Lambda arm64 image (Amazon Linux 2023, glibc 2.34) can load.
PLATFORM_TAGS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt")


def dependency_cache_dir() -> Path:
    """Where the wheels for the current requirements and platform are (or will be) installed."""
    key = hashlib.sha256()
    key.update(REQUIREMENTS.read_bytes())
    key.update(LAMBDA_PYTHON_VERSION.encode())
    key.update(",".join(PLATFORM_TAGS).encode())
    return WHEEL_CACHE / key.hexdigest()[:16]


def install_dependencies() -> Path:
    """Install the Lambda platform's wheels once per requirements version and return the folder."""
    target = dependency_cache_dir()
    if (target / ".complete").exists():
        return target
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    # Parallel synths (pytest-xdist workers on a fresh clone) would share one staging folder.
    with open(WHEEL_CACHE / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            _install_into(target)
    return target


def _install_into(target: Path) -> None:
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-compile", "--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", LAMBDA_PYTHON_VERSION, "--target", str(staging)]
    for tag in PLATFORM_TAGS:
        command += ["--platform", tag]
    command += ["-r", str(REQUIREMENTS)]
    subprocess.run(command, check=True)
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def build_bundle(output_dir: Path) -> None:
    """Lay out the deployment package: third-party packages at the root, then ``runtime/``."""
    deps = install_dependencies()
    shutil.copytree(deps, output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
    shutil.copytree(RUNTIME_DIR, output_dir / "runtime", dirs_exist_ok=True, ignore=_IGNORED)


@jsii.implements(ILocalBundling)
class _LocalBundler:
    """Bundles on the host; CDK calls this before it would try Docker."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        build_bundle(Path(output_dir))
        return True


def runtime_code() -> lambda_.Code:
    """The asset every function shares.

    CDK binds a ``Code`` to one stack, so each caller gets its own object; they all hash to
    the same asset, which CDK bundles once per synth and stages once per hash.
    """
    return lambda_.Code.from_asset(
        str(RUNTIME_DIR),
        asset_hash_type=AssetHashType.SOURCE,
        exclude=["**/__pycache__", "**/*.pyc"],
        bundling=BundlingOptions(
            # Only used where local bundling is impossible; the local bundler always runs here.
            image=LAMBDA_RUNTIME.bundling_image,
            command=[
                "bash",
                "-c",
                "pip install -r requirements.txt -t /asset-output && "
                "mkdir -p /asset-output/runtime && cp -r . /asset-output/runtime",
            ],
            local=_LocalBundler(),
        ),
    )
