"""What the benchmark's runs run in: the profiles, the subjects, the workspace of
their task directories, the servers of the as-deployed subjects, and one child
process (bench/child.py in a fresh bare interpreter).
"""

# ruff: noqa: S603 - fixed commands of this suite
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import subjects
from bench.subjects import PY313, PYTHON_FLAGS

CHILD = Path(__file__).resolve().parent / "child.py"


@dataclass(frozen=True)
class Profile:
    cold_runs: int
    cold_subjects: tuple[str, ...]
    warm_rounds: int
    warm_iterations: int
    warm_warmup: int
    warm_subjects: tuple[str, ...]
    warm_routes: tuple[str, ...]
    memory: bool
    package: bool
    local_seconds: int
    importtime_runs: int
    deployed_runs: int  # fresh processes per subject and route, as deployed (DynamoDB)
    deployed_warm_iterations: int


FULL = Profile(
    cold_runs=12,
    cold_subjects=("ours", "ours_nopyc", "typical", "typical_pyc", "powertools", "raw"),
    # Four interleaved rounds: with two, one disturbed round of a baseline moved
    # its median by half (a bare hello at 125 us against 78 us in every other run).
    warm_rounds=4,
    warm_iterations=1500,
    warm_warmup=300,
    warm_subjects=("ours", "typical", "typical_async", "typical_async_logged", "powertools", "raw"),
    warm_routes=("hello", "menu", "order", "post_order"),
    memory=True,
    package=True,
    local_seconds=4,
    importtime_runs=5,
    deployed_runs=14,
    deployed_warm_iterations=500,
)
SMOKE = Profile(
    cold_runs=9,
    cold_subjects=("ours", "typical", "typical_pyc"),
    # Four interleaved rounds: the warm ratio swung 2.3-3.4x between runs of two.
    warm_rounds=4,
    warm_iterations=1500,
    warm_warmup=200,
    warm_subjects=("ours", "typical_async", "typical_async_logged", "powertools"),
    warm_routes=("hello",),
    memory=False,
    package=False,
    local_seconds=0,
    importtime_runs=0,
    deployed_runs=7,
    deployed_warm_iterations=0,
)


@dataclass(frozen=True)
class Subject:
    name: str
    task: Path
    module: str
    handler: str = "handler"
    runtime_root: Path | None = None


class Workspace:
    """The subjects' task directories and the shared files, in a temporary directory."""

    def __init__(self, root: Path, profile: Profile) -> None:
        self.root = root
        needed = set(profile.cold_subjects) | set(profile.warm_subjects)
        self.key = subjects.signing_key()
        self.jwks = subjects.write_jwks(self.key, root / "jwks.json")
        self.bearer = subjects.token(self.key, "orders:read orders:write menu:write")
        self.zips: dict[str, Path] = {}
        self.zips["x86_64"] = subjects.sam_zip(subjects.artifact("x86_64"), root / "x86_64")
        ours = subjects.unzip(self.zips["x86_64"], root / "task-ours")
        self.subjects = {"ours": Subject("ours", ours, "app.main")}
        if "ours_nopyc" in needed:
            self.subjects["ours_nopyc"] = Subject(
                "ours_nopyc", subjects.without_bytecode(ours, root / "task-ours-nopyc"), "app.main"
            )
        if "typical" in needed:
            task = subjects.baseline_task("fastapi", root / "task-typical", compiled=False)
            self.subjects["typical"] = Subject("typical", task, "hello_sync")
        if profile.deployed_runs:
            needed |= {"typical_pyc"}
        if needed & {"typical_pyc", "typical_async", "typical_async_logged"}:
            task = subjects.baseline_task("fastapi", root / "task-typical-pyc", compiled=True)
            self.subjects["typical_pyc"] = Subject("typical_pyc", task, "hello_sync")
            self.subjects["typical_async"] = Subject("typical_async", task, "hello_async")
            self.subjects["typical_async_logged"] = Subject(
                "typical_async_logged", task, "hello_async_logged"
            )
        if "powertools" in needed:
            task = subjects.baseline_task("powertools", root / "task-powertools", compiled=True)
            self.subjects["powertools"] = Subject("powertools", task, "hello_powertools")
        if "raw" in needed:
            task = subjects.baseline_task("raw", root / "task-raw", compiled=True)
            self.subjects["raw"] = Subject("raw", task, "hello_raw")
        if profile.deployed_runs:
            runtime = subjects.lambda_runtime_root()
            typical = self.subjects["typical_pyc"].task
            self.subjects["ours_deployed"] = Subject("ours_deployed", ours, "app.main", runtime_root=runtime)
            self.subjects["typical_deployed"] = Subject(
                "typical_deployed", typical, "orders_typical", runtime_root=runtime
            )
        self.snapshots = {name: subjects.snapshot(s.task) for name, s in self.subjects.items()}
        self.counter = 0
        self.deployed: DeployedServers | None = None
        self.log_bytes: dict[str, int] = {}

    def env(self, subject: Subject, mode: str = "") -> dict[str, str]:
        if mode == "snapstart":  # Lambda's word that this init is for a SnapStart snapshot
            return {**self.env(subject), "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
        if subject.name.endswith("_deployed"):
            assert self.deployed is not None, "the deployed subjects need the DynamoDB and JWKS servers"
            where = {"table": DEPLOYED_TABLE, "endpoint": self.deployed.endpoint}
            if subject.name == "typical_deployed":
                return subjects.typical_deployed_env(subject.task, **where)
            return subjects.deployed_env(subject.task, jwks_url=self.deployed.jwks_url, **where)
        if not subject.name.startswith("ours"):
            return subjects.lambda_env(subject.task)
        self.counter += 1  # a fresh SQLite file for every process
        return subjects.app_env(subject.task, self.jwks, self.root / f"app-{self.counter}.db")

    def config(self, subject: Subject, **extra: Any) -> Path:
        self.counter += 1
        path = self.root / f"config-{self.counter}.json"
        body = {
            "task_root": str(subject.task),
            "runtime_root": str(subject.runtime_root or ""),
            "module": subject.module,
            "handler": subject.handler,
            **extra,
        }
        path.write_text(json.dumps(body))
        return path

    def check_untouched(self) -> None:
        for name, before in self.snapshots.items():
            if subjects.snapshot(self.subjects[name].task) != before:
                raise SystemExit(f"the {name} run wrote into its task directory (read-only on Lambda)")


DEPLOYED_TABLE = "bench-table"
DEV_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"


class DeployedServers:
    """What the deployed subjects reach over loopback: a DynamoDB-compatible
    server with the table and one order (bench/dynamo.py, in the dev
    environment), and the JWKS served over HTTP as an issuer serves it."""

    def __init__(self, jwks: Path) -> None:
        self.dynamo = subprocess.Popen(
            [str(DEV_PYTHON), "-m", "bench.dynamo", DEPLOYED_TABLE],
            cwd=Path(__file__).resolve().parents[1],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **subjects.STAND_IN_CREDENTIALS,
                 "AWS_DEFAULT_REGION": "us-east-1"},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.dynamo.stdout is not None
        line = self.dynamo.stdout.readline()
        if not line:
            self.close()
            raise SystemExit("bench: the DynamoDB server (bench/dynamo.py) did not start")
        found = json.loads(line)
        self.endpoint: str = found["url"]
        self.order_id: str = found["order_id"]
        body = jwks.read_bytes()

        class Jwks(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=self.jwks_server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.jwks_server.server_address[1]}/.well-known/jwks.json"

    def close(self) -> None:
        if getattr(self, "jwks_server", None) is not None:
            self.jwks_server.shutdown()
            self.jwks_server.server_close()
        if self.dynamo.stdin is not None:
            self.dynamo.stdin.close()
        try:
            self.dynamo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.dynamo.kill()
            self.dynamo.wait(timeout=5)


def child(ws: Workspace, subject: Subject, mode: str, config: Path) -> tuple[dict[str, Any], float, float]:
    """Runs bench/child.py in a fresh bare interpreter; returns its report and
    the parent's clock at spawn and at exit.

    Every subject's stdout is a pipe that this process reads as it is written,
    as the Lambda runtime's log collector reads a function's: the app's log
    lines cost what they cost on Lambda, and the baselines, which log nothing,
    get the same pipe."""
    out = ws.root / f"out-{ws.counter}-{mode}.json"
    ws.counter += 1
    env = ws.env(subject, mode)
    spawned = time.perf_counter()
    result = subprocess.run(
        [str(PY313), *PYTHON_FLAGS, str(CHILD), mode, str(config), str(out)],
        cwd=subject.task, env=env, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    exited = time.perf_counter()
    ws.log_bytes[subject.name] = ws.log_bytes.get(subject.name, 0) + len(result.stdout)
    if result.returncode != 0:
        raise SystemExit(
            f"{subject.name} {mode} run failed:\n{result.stderr[-4000:].decode(errors='replace')}"
        )
    return json.loads(out.read_text()), spawned, exited
