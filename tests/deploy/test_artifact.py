"""The x86_64 artifact, zipped the way `sam deploy` zips it, answers an HTTP API event in
a bare python3.13 that sees nothing but that artifact and the standard library (as on
Lambda, where /var/task is all there is).

No Docker here, so no `sam local invoke`; the fresh interpreter stands in for it.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from tests.deploy.stack import EXTERNAL_AUTH, PY313, SAM_PYTHON, STAND_IN_IDS, Stack, http_api_event, run

pytestmark = pytest.mark.deploy

HELLO = {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


# Runs in the fresh interpreter: /var/task first on sys.path (as the Lambda runtime
# puts it), the runtime's own packages (boto3) last, then the handler, then a report
# of where every loaded module came from.
INVOKE = r"""
import json, socket, sys, sysconfig
task_root, runtime_root, out = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, task_root)
if runtime_root:
    sys.path.append(runtime_root)
event = json.load(sys.stdin)

class Context:
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    function_name = "ApiFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/ApiFunction"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"
    def get_remaining_time_in_millis(self):
        return 9000

def sdk_modules():
    return sorted(name for name in sys.modules if name.partition(".")[0] in ("boto3", "botocore"))

import app.main
sdk_at_import = sdk_modules()
print("=== app.main imported", file=sys.stderr, flush=True)
result = app.main.handler(event, Context())

def under(path, root):
    return bool(root) and path.startswith(root + "/")

def foreign(path):
    if under(path, task_root) or under(path, runtime_root):
        return False
    stdlib = (sysconfig.get_paths()["stdlib"] + "/", sysconfig.get_paths()["platstdlib"] + "/")
    return not path.startswith(stdlib) or "/site-packages/" in path or "/dist-packages/" in path

files = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
with open(out, "w") as f:
    json.dump({
        "result": result,
        "site": "site" in sys.modules,
        "foreign_path": [p for p in sys.path[1:] if p != runtime_root and (
                         not p.startswith(sys.base_prefix + "/lib/") or "site-packages" in p)],
        "foreign_modules": sorted(name for name, file in files.items() if file and foreign(file)),
        "runtime_packages": sorted({name.partition(".")[0] for name, file in files.items()
                                    if file and under(file, runtime_root)}),
        "sdk_at_import": sdk_at_import,
        "store": type(app.main.app.state.store).__name__,
        "interfaces": [name for _, name in socket.if_nameindex()],
        "sys_path": sys.path,
    }, f)
"""

# What the Lambda runtime brings besides the standard library, and the artifact must
# not (lambda-build.mk leaves it out): the AWS SDK. The runtime's copy is stood in
# for by this project's pinned boto3 and its dependencies.
RUNTIME_DISTRIBUTION = "boto3"


def distribution_closure(name: str) -> list[importlib.metadata.Distribution]:
    """The installed distribution and everything it requires (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [name]
    while pending:
        dist = importlib.metadata.distribution(pending.pop())
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in found:
            continue
        found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(found.values())


@pytest.fixture(scope="module")
def runtime_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory standing in for the runtime's own packages (on Lambda, boto3 lives
    next to the interpreter and comes after /var/task on sys.path): links to the
    test environment's installed boto3, botocore and their dependencies."""
    root = tmp_path_factory.mktemp("lambda-runtime")
    for dist in distribution_closure(RUNTIME_DISTRIBUTION):
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            target = Path(str(dist.locate_file(top)))
            if not (root / top).exists():
                (root / top).symlink_to(target, target_is_directory=target.is_dir())
    return root


@cache
def no_network_prefix() -> tuple[str, ...]:
    """A command prefix that runs a process in a network namespace of its own, with
    no interface but a loopback that is down, so that anything reaching for the
    network fails; empty where unprivileged namespaces are not available."""
    prefix = ("unshare", "--user", "--map-root-user", "--net")
    if shutil.which("unshare") is None:
        return ()
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else ()


def lambda_environment(
    build_dir: Path, task_root: Path, tmp_path: Path, overrides: dict[str, str]
) -> dict[str, str]:
    """The environment Lambda gives the function: its own variables, the template's
    (as built) and the role's temporary credentials (stand-ins here; nothing checks
    them before a request is signed). No shared config or credentials files."""
    return {
        "PATH": f"{PY313.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIADEPLOYTESTSTANDIN",
        "AWS_SECRET_ACCESS_KEY": "deploy-test-stand-in-secret",
        "AWS_SESSION_TOKEN": "deploy-test-stand-in-token",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        **function_environment(build_dir, overrides),
    }


def invoke(
    task_root: Path, runtime: Path | None, env: dict[str, str], event: dict[str, Any], out: Path
) -> subprocess.CompletedProcess[str]:
    # -I: no user site, no PYTHON* variables, no script or working directory on the
    # path; -S: no site-packages at all; -B: write nothing (/var/task is read-only).
    return subprocess.run(
        [
            *no_network_prefix(),
            str(PY313),
            "-I",
            "-S",
            "-B",
            "-c",
            INVOKE,
            str(task_root),
            str(runtime or ""),
            str(out),
        ],
        cwd=task_root,
        env=env,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def task_root(sam_build: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The x86_64 artifact zipped by SAM's own zip function (the one sam package and
    sam deploy use), then unzipped into an empty directory, as Lambda does."""
    artifact = sam_build("x86_64") / "ApiFunction"
    base = tmp_path_factory.mktemp("deployed")
    run(
        [
            str(SAM_PYTHON),
            "-c",
            "import sys; from samcli.lib.package.utils import make_zip_with_lambda_permissions as z;"
            " z(sys.argv[1], sys.argv[2])",
            str(base / "function"),
            str(artifact),
        ]
    )
    task = base / "task"
    with zipfile.ZipFile(base / "function.zip") as archive:
        archive.extractall(task)
    return task


def function_environment(build_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
    """The function's environment as the built template sets it, parameters at their
    defaults (or the given overrides), resources at their stand-in ids."""
    return Stack(yaml.safe_load((build_dir / "template.yaml").read_text()), overrides).function_environment()


@pytest.mark.parametrize(
    ("stage", "path", "auth"),
    [("dev", "/hello", "cognito"), ("dev", "/hello", "external"), ("$default", "/hello", "cognito")],
)
def test_deployed_artifact_answers_hello_in_a_bare_python313(
    sam_build: Callable[[str], Path],
    task_root: Path,
    runtime_root: Path,
    tmp_path: Path,
    stage: str,
    path: str,
    auth: str,
) -> None:
    """The app starts with the built template's environment, unchanged, in either
    auth mode (its settings are checked at start-up): APP_STORE=dynamodb, so the
    first invocation builds the DynamoDB client from the runtime's boto3. It needs
    no network for that, nor for the public /hello: where the machine allows it, the
    interpreter runs without any network at all."""
    build_dir = sam_build("x86_64")
    auth_parameters = EXTERNAL_AUTH if auth == "external" else {}
    env = lambda_environment(build_dir, task_root, tmp_path, {"Stage": "dev", **auth_parameters})
    assert env["APP_STORE"] == "dynamodb"
    assert env["APP_DYNAMODB_TABLE"] == STAND_IN_IDS["DataTable"]
    before = sorted(str(p.relative_to(task_root)) for p in task_root.rglob("*"))
    out = tmp_path / "result.json"
    result = invoke(task_root, runtime_root, env, http_api_event(stage, path), out)
    assert result.returncode == 0, f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    report = json.loads(out.read_text())

    # Nothing but the artifact, the runtime's SDK and the standard library was on
    # the path or loaded; and of the runtime's packages only botocore (boto3's core,
    # which the store and the limiter use directly: app.store.sdk) and what it needs.
    assert report["site"] is False
    assert report["sys_path"][0] == str(task_root)
    assert report["sys_path"][-1] == str(runtime_root)
    assert report["foreign_path"] == [], report["sys_path"]
    assert report["foreign_modules"] == []
    assert "botocore" in set(report["runtime_packages"])
    assert "boto3" not in set(report["runtime_packages"])
    assert set(report["runtime_packages"]) <= {p.name.removesuffix(".py") for p in runtime_root.iterdir()}
    # The SDK is imported and its one client built at init (the import of app.main:
    # Lambda's init phase, before a SnapStart snapshot), never at the first request
    # (app.store.sdk); the store is the DynamoDB one.
    assert "botocore" in report["sdk_at_import"]
    assert report["store"] == "DynamoStore"
    if no_network_prefix():
        assert report["interfaces"] == ["lo"], "the invocation was meant to run without a network"

    response = report["result"]
    assert response["statusCode"] == 200, response
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"]) == HELLO
    assert response["headers"]["content-type"].startswith("application/json")
    assert sorted(str(p.relative_to(task_root)) for p in task_root.rglob("*")) == before, "wrote to /var/task"


def test_deployed_artifact_relies_on_the_runtimes_boto3(
    sam_build: Callable[[str], Path], task_root: Path, tmp_path: Path
) -> None:
    """The artifact carries no boto3 or botocore (the build test checks it): without
    the runtime's copy the function's init fails loudly for exactly that reason (the
    SDK client is built at init), rather than falling back to another store."""
    env = lambda_environment(sam_build("x86_64"), task_root, tmp_path, {"Stage": "dev"})
    result = invoke(task_root, None, env, http_api_event("dev", "/hello"), tmp_path / "result.json")
    assert result.returncode != 0
    assert "=== app.main imported" not in result.stderr
    assert "ModuleNotFoundError: No module named 'botocore'" in result.stderr, result.stderr
    assert not (tmp_path / "result.json").exists()
