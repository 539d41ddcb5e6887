"""The measurements: each section of a run (as deployed, SnapStart, cold, warm,
memory, package, local, importtime) from fresh child processes of a workspace.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from bench import importtime, local, subjects, targets
from bench.subjects import PY313, PYTHON_FLAGS
from bench.workspace import Profile, Workspace, child

MEMORY_INVOCATIONS = 10_000
MEMORY_CHECKPOINTS = (1_000, 10_000)


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
                out[name][f"{route}_{field}"] = targets.summary([r[field] for r in measured])
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
                out[name][field[1:]] = targets.summary(out[name].pop(field))
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
            warms.append(targets.median(found["warm_us"]))
        first, warm = targets.summary(firsts), targets.summary(warms)
        out["ours_deployed"][f"{route}_first_us"] = first
        out["ours_deployed"][f"{route}_warm_us"] = warm
        out["ours_deployed"][f"{route}_first_vs_warm"] = first["median"] / warm["median"]
    return out


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
        out[name] = {field: targets.summary([r[field] for r in measured]) for field in measured[0]}
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
        name: {route: targets.summary(values) for route, values in routes.items()}
        for name, routes in samples.items()
    }


def memory_once(ws: Workspace, name: str) -> dict[str, Any]:
    """RSS over 10,000 invocations of a mixed workload, judged on the run users
    get: as deployed, and nothing run beforehand to fill a cache."""
    subject = ws.subjects[name]
    if name == "ours_deployed":
        # Reads (each with the limiter's UpdateItem); the setup places the order they
        # read (the table has the menu: bench/dynamo.py). No POST in the mix: the
        # stand-in server's TransactWriteItems slows as its table grows (35 ms a call
        # after 600 orders), and it does not honour ClientRequestToken, so a retry
        # after its 2 s read timeout fails where DynamoDB would answer it.
        setup, routes = route_steps(ws, ("hello", "menu", "order"))
        setup = [step for step in setup if step["event"]["requestContext"]["http"]["method"] == "POST"]
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
    """This project as deployed (the DynamoDB store and limiter: what users get;
    the SQLite store's page cache grows with its file, up to 2 MB, and no
    deployed function has one), against the baselines' hello."""
    return {name: memory_once(ws, name) for name in ("ours_deployed", "typical", "powertools")}


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
