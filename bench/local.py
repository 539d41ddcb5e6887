"""Requests per second of GET /hello through uvicorn: this project against a bare
Starlette app under the same server, and a bare FastAPI app as context.

One uvicorn worker on loopback (--no-proxy-headers --no-access-log), the load
generator in another process: wrk from Debian when it is installed (bench.mk
installs it when missing), else bench/loadgen.py. Each server gets a short
warm-up, then the same fixed duration; rounds alternate between the two apps so
a slow moment of the machine hits both. Every run is bounded in time.
"""

# ruff: noqa: S603, S607 - fixed commands of this suite; wrk is looked up on PATH
from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import subjects

ROOT = Path(__file__).resolve().parents[1]
DEV_PYTHON = ROOT / ".venv" / "bin" / "python"
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"

APPS = {
    "ours": ["app.main:app"],
    "starlette": ["--app-dir", str(ROOT / "bench" / "baselines"), "hello_starlette:app"],
    # Context: the bare FastAPI hello under the same server (FastAPI's own routing,
    # validation and serialisation, none of this project's layers).
    "fastapi": ["--app-dir", str(ROOT / "bench" / "baselines"), "hello_async:app"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(which: str, env: dict[str, str]) -> Iterator[str]:
    """A uvicorn serving one app on loopback; yields its /hello URL."""
    port = free_port()
    command = [
        str(DEV_PYTHON), "-m", "uvicorn", *APPS[which], "--host", "127.0.0.1", "--port", str(port),
        "--no-proxy-headers", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    # The app's own JSON access log goes to /dev/null: writing it is part of its cost.
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise SystemExit(
                    f"uvicorn {which} exited: {server.stderr.read().decode() if server.stderr else ''}"
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/hello")
                status = connection.getresponse().status
                connection.close()
                if status != 200:
                    raise SystemExit(f"uvicorn {which}: GET /hello answered {status}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"uvicorn {which} did not start in 30 s") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hello"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if bad or errors:
        raise SystemExit(f"wrk saw failed requests against {url}:\n{out}")
    return {"rps": rps}


def python_load(url: str, seconds: int, connections: int) -> dict[str, float]:
    """The fallback: keep-alive clients in other processes (slower than wrk, so
    its absolute numbers are lower; the ratio is what counts)."""
    clients = [
        subprocess.Popen([sys.executable, str(LOADGEN), url, str(seconds)], stdout=subprocess.PIPE, text=True)
        for _ in range(connections)
    ]
    total = 0
    for client in clients:
        out, _ = client.communicate(timeout=seconds + 30)
        total += int(out.strip())
    return {"rps": total / seconds}


def measure(env: dict[str, str], *, seconds: int, rounds: int, connections: int = 2) -> dict[str, Any]:
    tool = "wrk" if shutil.which("wrk") else "python"
    load = wrk if tool == "wrk" else python_load
    runs: dict[str, list[float]] = {which: [] for which in APPS}
    for _ in range(rounds):
        for which in runs:
            with serve(which, env) as url:
                load(url, 1, connections)  # warm-up
                runs[which].append(load(url, seconds, connections)["rps"])
    out: dict[str, Any] = {
        which: {"rps": {"median": statistics.median(values), "worst": min(values), "n": len(values)},
                "runs": values}
        for which, values in runs.items()
    }  # fmt: skip
    out["meta"] = {"tool": tool, "seconds": seconds, "rounds": rounds, "connections": connections}
    return out


def local_env(jwks: Path, sqlite: Path) -> dict[str, str]:
    """`make run`'s local defaults, except for files (a temporary SQLite file, the
    benchmark's JWKS) and the rate limit: the default 120/minute would answer 429
    to a load generator, so it stays on, in memory, at a limit never reached. The
    issuer is the benchmark's own: the JWKS file holds its key, and the development
    sign-in (served only for the local issuer) never overwrites a file it did not make."""
    keep = ("PATH", "HOME", "LANG", "TZ")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        APP_SQLITE_PATH=str(sqlite),
        APP_AUTH_JWKS_FILE=str(jwks),
        APP_AUTH_ISSUER=subjects.ISSUER,
        APP_AUTH_AUDIENCE=subjects.AUDIENCE,
        APP_RATE_LIMIT="1000000/second",
    )
    return env
