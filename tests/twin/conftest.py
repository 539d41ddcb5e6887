"""The cloud twin (`make cloud`) as a user runs it: `python -m twin serve` in its own
process, over real loopback HTTP, with the artifact `sam build` made for this machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).parent / "tiny"
ARCH = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
ARTIFACT = ROOT / ".aws-sam" / "bench" / ARCH / "build" / "ApiFunction"
REPORT = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>[\d.]+) ms\tBilled Duration: (?P<billed>\d+) ms\t"
    r"Memory Size: (?P<memory>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(\tInit Duration: (?P<init>[\d.]+) ms)?(\tStatus: (?P<status>\w+))?"
)


@dataclass
class Twin:
    url: str  # with the stage: http://127.0.0.1:PORT/{stage}
    root: str  # http://127.0.0.1:PORT
    log_path: Path
    state_dir: Path
    process: subprocess.Popen[str]

    def log(self) -> str:
        return self.log_path.read_text()

    def reports(self) -> list[dict[str, str | None]]:
        return [m.groupdict() for m in REPORT.finditer(self.log())]

    def token(self, sub: str, scope: str, group: str | None = None, ttl: int = 3600) -> str:
        """A token from the twin's issuer; ``group`` is the user-pool group (cognito:groups)."""
        grouped = ["--group", group] if group else []
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "twin",
                "token",
                "--sub",
                sub,
                "--scope",
                scope,
                "--ttl",
                str(ttl),
                *grouped,
            ],
            cwd=ROOT,
            env={**os.environ, "TWIN_STATE_DIR": str(self.state_dir)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    @property
    def ws_url(self) -> str:
        """The WebSocket API's URL with its stage (ws://127.0.0.1:PORT/{stage})."""
        match = re.search(r"substituted websocket: the WebSocket API \S+ at (ws://\S+)", self.log())
        assert match, "this twin serves no WebSocket API"
        return match.group(1)

    @property
    def dynamodb_endpoint(self) -> str:
        """The local DynamoDB server (moto's), which serves the stack's SQS queues too."""
        match = re.search(r"DynamoDB is a local server at (http://127\.0\.0\.1:\d+)", self.log())
        assert match
        return match.group(1)

    def bearer(self, sub: str, scope: str, group: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, scope, group)}"}

    def settle(self) -> None:
        """Wait until the stage's token bucket is full again (burst / rate seconds)."""
        match = re.search(r"throttling burst (\d+), rate ([\d.]+)/s", self.log())
        if match:
            time.sleep(int(match.group(1)) / float(match.group(2)) + 0.2)


@contextmanager
def run_twin(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Twin]:
    port = free_port()
    # The WebSocket API on a port of its own (CLOUD_WS_PORT's 3002 is the user's).
    args = args if "--ws-port" in args else (*args, "--ws-port", str(free_port()))
    log_path = tmp_path / f"twin-{port}.log"
    state_dir = tmp_path / "state"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    base.setdefault("CLOUD_WEB_PORT", "0")  # no web app unless a test asks (tests/web/test_twin.py)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "twin", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env={**base, **(env or {}), "TWIN_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 90
        match = None
        while match is None:
            if process.poll() is not None:
                raise RuntimeError(f"the twin exited early:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the twin did not start:\n{log_path.read_text()}")
            match = re.search(r"twin: serving ((http://127\.0\.0\.1:\d+)(/[^/\s]+)?)/", log_path.read_text())
            time.sleep(0.1)
        yield Twin(match.group(1), match.group(2), log_path, state_dir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def built_artifact() -> Path:
    """The artifact as `make cloud` builds it (make does nothing when it is up to date)."""
    subprocess.run(
        ["make", "--no-print-directory", ".venv-lambda/.installed", f".aws-sam/bench/{ARCH}/.built"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")},
        check=True,
        capture_output=True,
        timeout=900,
    )
    assert (ARTIFACT / "app" / "main.py").exists(), f"no artifact at {ARTIFACT}"
    return ARTIFACT


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    """`make cloud`: the default environment's stack, the built artifact, DynamoDB."""
    artifact = built_artifact()
    with run_twin(tmp_path_factory.mktemp("cloud"), "--artifact", str(artifact)) as twin:
        yield twin


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., object]:
    built_artifact()  # the runtime's environment, .venv-lambda

    def start(*overrides: str, options: tuple[str, ...] = ()) -> object:
        args = ["--config-env", "", "--template", str(TINY / "template.yaml"), "--artifact", str(TINY / "fn")]
        args += options  # e.g. --web-port: the issuer then allows that origin's redirects
        if overrides:
            args += ["--parameter-overrides", *overrides]
        return run_twin(tmp_path_factory.mktemp("tiny"), *args)

    return start


TINY_LIVE = Path(__file__).parent / "tiny_live"
# The tiny live stack's twin cuts idle connections after this many seconds, and every
# connection after TINY_LIVE_MAX_S (API Gateway's 10 minutes and 2 hours, shortened).
TINY_LIVE_IDLE_S = 3
TINY_LIVE_MAX_S = 8


@pytest.fixture(scope="session")
def tiny_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    """The tiny live stack (tests/twin/tiny_live): a WebSocket API and a stream mapping
    around one small function module, shared by the modules that test them."""
    assert (ROOT / ".venv-lambda" / "bin" / "python").exists(), "make .venv-lambda/.installed"
    args = [
        "--config-env",
        "",
        "--template",
        str(TINY_LIVE / "template.yaml"),
        "--artifact",
        str(TINY_LIVE / "fn"),
    ]
    env = {"TWIN_WS_IDLE_SECONDS": str(TINY_LIVE_IDLE_S), "TWIN_WS_MAX_SECONDS": str(TINY_LIVE_MAX_S)}
    with run_twin(tmp_path_factory.mktemp("tiny-live"), *args, env=env) as twin:
        yield twin


def get(url: str, **kwargs: object) -> httpx.Response:
    return httpx.get(url, timeout=30, **kwargs)  # type: ignore[arg-type]
