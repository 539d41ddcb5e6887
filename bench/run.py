"""The benchmark suite: `make bench` (full) and `make bench-smoke` (the regression guard).

    .venv-bench/bin/python -m bench.run [--smoke]

Prints one table (figure, this project, baseline, ratio, target, verdict) and
writes the run as JSON: bench/results/<timestamp>.json and latest.json for the
full suite, bench/results/smoke.json for the smoke run. Every figure comes from
fresh processes of a bare python3.13 (bench/child.py); nothing is timed inside
a test. The smoke run measures only the guarded figures (cold start, warm
/hello) with fewer repetitions and exits 1 when one of them is more than 25%
worse than its target.
"""

# ruff: noqa: S603, S607 - fixed commands of this suite (git from PATH)
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import cost, importtime, local, report, subjects
from bench.subjects import PY313, PYTHON_FLAGS

CHILD = Path(__file__).resolve().parent / "child.py"
RESULTS = Path(__file__).resolve().parent / "results"


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
    warm_rounds=2,
    warm_iterations=1500,
    warm_warmup=300,
    warm_subjects=("ours", "typical", "typical_async", "powertools", "raw"),
    warm_routes=("hello", "menu", "order", "post_order"),
    memory=True,
    package=True,
    local_seconds=4,
    importtime_runs=5,
    deployed_runs=10,
    deployed_warm_iterations=500,
)
SMOKE = Profile(
    cold_runs=9,
    cold_subjects=("ours", "typical", "typical_pyc"),
    warm_rounds=2,
    warm_iterations=1000,
    warm_warmup=200,
    warm_subjects=("ours", "typical_async", "powertools"),
    warm_routes=("hello",),
    memory=False,
    package=False,
    local_seconds=0,
    importtime_runs=0,
    deployed_runs=7,
    deployed_warm_iterations=0,
)
MEMORY_INVOCATIONS = 10_000
MEMORY_CHECKPOINTS = (1_000, 10_000)


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
        if needed & {"typical_pyc", "typical_async"}:
            task = subjects.baseline_task("fastapi", root / "task-typical-pyc", compiled=True)
            self.subjects["typical_pyc"] = Subject("typical_pyc", task, "hello_sync")
            self.subjects["typical_async"] = Subject("typical_async", task, "hello_async")
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


def deployed_events(ws: Workspace) -> dict[str, dict[str, Any]]:
    assert ws.deployed is not None
    order_id = ws.deployed.order_id
    return {
        "order": subjects.event("GET", f"/orders/{order_id}", bearer=ws.bearer),
        "hello": subjects.hello_event(),
    }


def check_deployed(name: str, route: str, result: dict[str, Any], order_id: str) -> None:
    body = hello_body(result)
    if route == "hello" and body != subjects.HELLO:
        raise SystemExit(f"{name}: GET /hello answered {result}")
    if route == "order" and body.get("id") != order_id:
        raise SystemExit(f"{name}: GET /orders/{order_id} answered {result}")


def run_deployed(ws: Workspace, profile: Profile) -> dict[str, Any]:
    """As deployed: the built artifact, boto3 from the Lambda runtime's packages,
    the DynamoDB store and limiter, JWKS over HTTP; against the typical
    FastAPI + Mangum DynamoDB app (bytecode) on the same table. Fresh processes,
    round-robin across subjects and routes; then, in the full run, warm
    authenticated reads (the real-work pair)."""
    assert ws.deployed is not None
    order_id = ws.deployed.order_id
    events = deployed_events(ws)
    names = ("ours_deployed", "typical_deployed")
    runs: dict[str, dict[str, list[dict[str, float]]]] = {n: {r: [] for r in events} for n in names}
    configs = {
        (name, route): ws.config(ws.subjects[name], event=event)
        for name in names
        for route, event in events.items()
    }
    for _ in range(profile.deployed_runs):
        for route in events:
            for name in names:
                found, spawned, _ = child(ws, ws.subjects[name], "cold", configs[(name, route)])
                check_deployed(name, route, found["result"], order_id)
                runs[name][route].append(
                    {
                        "total_ms": (found["done"] - spawned) * 1000,
                        "import_ms": (found["ready"] - found["import"]) * 1000,
                        "first_ms": (found["done"] - found["ready"]) * 1000,
                    }
                )
    out: dict[str, Any] = {}
    for name, routes in runs.items():
        out[name] = {}
        for route, measured in routes.items():
            for field in measured[0]:
                out[name][f"{route}_{field}"] = report.summary([r[field] for r in measured])
    if profile.deployed_warm_iterations:
        for round_number in range(2):
            for name in names if round_number % 2 == 0 else tuple(reversed(names)):
                timed = [
                    {"name": "order_warm_us", "event": events["order"], "expect": 200,
                     "warmup": 200, "iterations": profile.deployed_warm_iterations},
                ]  # fmt: skip
                found, _, _ = child(ws, ws.subjects[name], "warm", ws.config(ws.subjects[name], routes=timed))
                for field, values in found.items():
                    out[name].setdefault(f"_{field}", []).extend(values)
        for name in names:
            for field in [f for f in out[name] if f.startswith("_")]:
                out[name][field[1:]] = report.summary(out[name].pop(field))
    return out


SNAPSTART_RUNS = 3


def run_snapstart(ws: Workspace, runs: int) -> dict[str, Any]:
    """The restore path as deployed with SnapStart: the first invocation after
    the hooks ran against warm invocations of the same request, per route."""
    assert ws.deployed is not None
    subject = ws.subjects["ours_deployed"]
    out: dict[str, Any] = {"ours_deployed": {}}
    for route, event in deployed_events(ws).items():
        firsts, warms = [], []
        for _ in range(runs):
            config = ws.config(subject, event=event, expect=200, warmup=50, iterations=300)
            found, _, _ = child(ws, subject, "snapstart", config)
            if not found["hooks"]:
                raise SystemExit("snapstart: no hooks registered (AWS_LAMBDA_INITIALIZATION_TYPE?)")
            firsts.append(found["first_us"])
            warms.append(report.median(found["warm_us"]))
        first, warm = report.summary(firsts), report.summary(warms)
        out["ours_deployed"][f"{route}_first_us"] = first
        out["ours_deployed"][f"{route}_warm_us"] = warm
        out["ours_deployed"][f"{route}_first_vs_warm"] = first["median"] / warm["median"]
    return out


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


def hello_body(result: dict[str, Any]) -> Any:
    body = result["body"]
    return json.loads(base64.b64decode(body) if result.get("isBase64Encoded") else body)


def run_cold(ws: Workspace, profile: Profile) -> dict[str, Any]:
    """Fresh processes, round-robin across subjects so a slow moment hits all."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in profile.cold_subjects}
    configs = {
        name: ws.config(ws.subjects[name], event=subjects.hello_event()) for name in profile.cold_subjects
    }
    for _ in range(profile.cold_runs):
        for name in profile.cold_subjects:
            found, spawned, exited = child(ws, ws.subjects[name], "cold", configs[name])
            if hello_body(found["result"]) != subjects.HELLO:
                raise SystemExit(f"{name}: GET /hello answered {found['result']}")
            runs[name].append(
                {
                    "start_ms": (found["start"] - spawned) * 1000,
                    "import_ms": (found["ready"] - found["import"]) * 1000,
                    "first_ms": (found["done"] - found["ready"]) * 1000,
                    "total_ms": (found["done"] - spawned) * 1000,
                    "process_ms": (exited - spawned) * 1000,
                    "modules": found["modules"],
                }
            )
    out: dict[str, Any] = {}
    for name, measured in runs.items():
        out[name] = {field: report.summary([r[field] for r in measured]) for field in measured[0]}
        out[name]["runs"] = measured
    return out


def route_steps(ws: Workspace, names: tuple[str, ...]) -> tuple[list[Any], dict[str, Any]]:
    events = subjects.app_events(ws.bearer)
    return events["setup"], {name: events["routes"][name] for name in names}


def run_warm(ws: Workspace, profile: Profile) -> dict[str, Any]:
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in profile.warm_subjects}
    for round_number in range(profile.warm_rounds):
        order = profile.warm_subjects if round_number % 2 == 0 else tuple(reversed(profile.warm_subjects))
        for name in order:
            subject = ws.subjects[name]
            if name == "ours":
                setup, routes = route_steps(ws, profile.warm_routes)
            else:
                setup, routes = [], {"hello": {"event": subjects.hello_event(), "expect": 200}}
            timed = [
                {"name": route, **spec, "warmup": profile.warm_warmup, "iterations": profile.warm_iterations}
                for route, spec in routes.items()
            ]
            found, _, _ = child(ws, subject, "warm", ws.config(subject, setup=setup, routes=timed))
            for route, values in found.items():
                samples[name].setdefault(route, []).extend(values)
    return {
        name: {route: report.summary(values) for route, values in routes.items()}
        for name, routes in samples.items()
    }


def memory_once(ws: Workspace, name: str) -> dict[str, Any]:
    """RSS over 10,000 invocations of a mixed workload, judged on the run users
    get: nothing is run beforehand to fill a cache."""
    subject = ws.subjects[name]
    if name == "ours":
        setup, routes = route_steps(ws, ("hello", "menu", "order", "post_order"))
        mix = list(routes.values())
    else:
        setup, mix = [], [{"event": subjects.hello_event(), "expect": 200}]
    config = ws.config(
        subject, setup=setup, mix=mix, invocations=MEMORY_INVOCATIONS, checkpoints=list(MEMORY_CHECKPOINTS)
    )
    found, _, _ = child(ws, subject, "memory", config)
    first, last = (found["rss_at"][str(n)] for n in MEMORY_CHECKPOINTS)
    return {
        "rss_init_bytes": found["init"]["VmRSS"],
        "peak_init_bytes": found["init"]["VmHWM"],
        "rss_1000_bytes": first,
        "rss_10000_bytes": last,
        "growth_bytes": last - first,
        "peak_after_bytes": found["end"]["VmHWM"],
        "mix": [
            step["event"]["requestContext"]["http"]["method"] + " " + step["event"]["rawPath"] for step in mix
        ],
    }


def run_memory(ws: Workspace) -> dict[str, Any]:
    return {name: memory_once(ws, name) for name in ("ours", "typical", "powertools")}


def run_package(ws: Workspace) -> dict[str, Any]:
    arm64 = subjects.sam_zip(subjects.artifact("arm64"), ws.root / "arm64")
    nopyc = subjects.without_bytecode(subjects.artifact("arm64"), ws.root / "arm64-nopyc")
    arm64_nopyc = subjects.sam_zip(nopyc, ws.root / "arm64-nopyc")
    unzipped = sum(p.stat().st_size for p in subjects.artifact("arm64").rglob("*") if p.is_file())
    return {
        "ours": {
            "arm64_zip_bytes": arm64.stat().st_size,
            "x86_64_zip_bytes": ws.zips["x86_64"].stat().st_size,
            "arm64_zip_nopyc_bytes": arm64_nopyc.stat().st_size,
            "arm64_unzipped_bytes": unzipped,
        }
    }


def run_local(ws: Workspace, seconds: int) -> dict[str, Any]:
    env = local.local_env(ws.jwks, ws.root / "local.db")
    return local.measure(env, seconds=seconds, rounds=2)


def run_importtime(ws: Workspace, runs: int) -> dict[str, Any]:
    ours, typical = ws.subjects["ours"], ws.subjects["typical_pyc"]
    return importtime.profile(
        PY313,
        list(PYTHON_FLAGS),
        (ours.task, subjects.app_env(ours.task, ws.jwks, ws.root / "importtime.db")),
        (typical.task, subjects.lambda_env(typical.task)),
        runs,
    )


SRC_APP = Path(__file__).resolve().parents[1] / "src" / "app"


def src_fingerprint(root: Path = SRC_APP) -> str:
    """sha256 over src/app's files (paths and contents; no bytecode): what the
    artifact is built from, committed or not."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stale_note() -> str | None:
    """A line when the published table (latest.json) measured another src/app."""
    try:
        meta = json.loads((RESULTS / "latest.json").read_text())["meta"]
    except (OSError, ValueError, KeyError):
        return "bench: no published results (bench/results/latest.json): run `make bench`"
    if meta.get("src_app") != src_fingerprint():
        return (
            f"bench: the published table (bench/results/latest.json, commit {meta.get('commit', '?')}) "
            "measured another src/app: run `make bench` to republish it"
        )
    return None


def source_commit() -> str:
    """The commit measured (its full id; "-dirty" when the tree differed from it)."""
    found = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=RESULTS.parent.parent, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src/app"], cwd=RESULTS.parent.parent,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return (found.stdout.strip() or "unknown") + ("-dirty" if dirty.stdout.strip() else "")


def source_version() -> str:
    """The commit measured, marked when the working tree differed from it."""
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=RESULTS.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the regression guard: guarded figures only")
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="SECTION",
        help="only these sections (partial.json)",
    )
    parser.add_argument("--runs", type=int, help="override the profile's cold and deployed repetitions")
    args = parser.parse_args()
    profile = SMOKE if args.smoke else FULL
    if args.runs:
        profile = replace(profile, cold_runs=args.runs, deployed_runs=args.runs)
    only = set(args.only or ())
    started = time.monotonic()
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}

    def timed(section: str, work: Any) -> None:
        if only and section not in only:
            return
        begun = time.monotonic()
        results[section] = work()
        timings[section] = round(time.monotonic() - begun, 1)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ws = Workspace(Path(tmp), profile)
        timings["prepare"] = round(time.monotonic() - started, 1)
        if profile.deployed_runs and (not only or "deployed" in only):
            ws.deployed = DeployedServers(ws.jwks)
        try:
            if profile.deployed_runs:
                timed("deployed", lambda: run_deployed(ws, profile))
                timed("snapstart", lambda: run_snapstart(ws, SNAPSTART_RUNS if not args.smoke else 1))
        finally:
            if ws.deployed is not None:
                ws.deployed.close()
        timed("cold", lambda: run_cold(ws, profile))
        timed("warm", lambda: run_warm(ws, profile))
        if profile.memory:
            timed("memory", lambda: run_memory(ws))
        if profile.package:
            timed("package", lambda: run_package(ws))
        if profile.local_seconds:
            timed("local", lambda: run_local(ws, profile.local_seconds))
        if profile.importtime_runs:
            timed("importtime", lambda: run_importtime(ws, profile.importtime_runs))
        ws.check_untouched()

    verdicts = report.judge_all(results)
    results["meta"] = {
        "profile": "smoke" if args.smoke else "full",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_version(),
        "commit": source_commit(),
        "src_app": src_fingerprint(),
        "interpreter": subjects.describe_interpreter(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "flags": list(PYTHON_FLAGS),
        "seconds": {**timings, "total": round(time.monotonic() - started, 1)},
        "settings": {
            "cold_runs": profile.cold_runs,
            "warm_iterations_per_round": profile.warm_iterations,
            "warm_rounds": profile.warm_rounds,
            "warm_warmup": profile.warm_warmup,
        },
    }
    results["verdicts"] = [
        {
            "target": v.target.key,
            "figure": v.target.figure,
            "ours": v.ours,
            "baseline": v.target.baseline,
            "baseline_value": v.baseline,
            "ratio": v.ratio,
            "limit": v.target.limit,
            "verdict": v.word,
            "guard_failed": v.guard_failed,
        }
        for v in verdicts
    ]
    results["table"] = report.table(results)
    print(results["table"])
    if "importtime" in results:
        print()
        print(importtime.render(results["importtime"]))
    results["cost"] = cost.model(results)
    if results["cost"]["rows"]:
        print()
        print(cost.render(results["cost"]))
    meta = results["meta"]
    print(f"\n{meta['interpreter']}, {meta['machine']}; {meta['profile']} run took {meta['seconds']}")

    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=1)
    if only:
        (RESULTS / "partial.json").write_text(text)
    elif args.smoke:
        (RESULTS / "smoke.json").write_text(text)
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (RESULTS / f"{stamp}.json").write_text(text)
        shutil.copyfile(RESULTS / f"{stamp}.json", RESULTS / "latest.json")
        (RESULTS / "latest.md").write_text(
            report.markdown(results) + "\n\n" + cost.markdown(results["cost"]) + "\n"
        )

    failed = [v for v in verdicts if v.guard_failed]
    for v in failed:
        print(
            f"regression guard: {v.target.figure} vs {report.SUBJECTS[v.target.baseline or '']} is "
            f"{v.ratio:.2f}x, more than 25% worse than the target {report.fmt_limit(v.target)}"
        )
    if args.smoke and failed:
        return 1
    if args.smoke:
        print(
            "regression guard: as-deployed and SQLite cold starts, warm /hello: within 25% of their targets"
        )
        note = stale_note()
        if note:
            print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
