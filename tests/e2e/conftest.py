"""A real uvicorn process on a free loopback port, talked to over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()


@contextmanager
def run_server(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    *,
    empty_store: bool = True,
    port: int | None = None,
    access_log: bool = False,
) -> Iterator[Server]:
    """uvicorn as `make run` starts it; ``empty_store`` turns the local demo menu off;
    ``access_log`` keeps uvicorn's own access lines (`make run` has them)."""
    port = port or free_port()
    log_path = tmp_path / f"uvicorn-{port}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    full_env = {
        **base,
        "PYTHONPATH": str(ROOT / "src"),
        "APP_SQLITE_PATH": str(tmp_path / "app.db"),
        **({"APP_DEMO_MENU": "false"} if empty_store else {}),
        **(env or {}),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *([] if access_log else ["--no-access-log"]),
                "--no-proxy-headers",
            ],
            cwd=tmp_path,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{log_path.read_text()}")
            try:
                httpx.get(server.url + "/health", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("uvicorn")) as server:
        yield server


@pytest.fixture
def start_server(tmp_path: Path) -> Callable[..., object]:
    return lambda env=None, empty_store=True: run_server(tmp_path, env, empty_store=empty_store)
