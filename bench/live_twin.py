"""Live orders' latency through the twin (`python -m bench.live twin`): `make cloud`'s
stack, as a user starts it (``python -m twin serve`` in its own process, the artifact
`sam build` made for this machine), one staff WebSocket on the twin's WebSocket API,
changes over its HTTP API. A change's message goes: the function's DynamoDB write ->
the local server's stream -> the twin's event source mapping, which polls it 4 times a
second as Lambda does (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html) ->
LiveStreamFunction in a Lambda worker -> @connections POST -> the socket. Target: p95
<= the polling interval (250 ms) + 100 ms.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ARCH = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
ARTIFACT = ROOT / ".aws-sam" / "bench" / ARCH / "build" / "ApiFunction"
POLL_SECONDS = 0.25  # twin.streams.POLL_INTERVAL_S, Lambda's documented rate
TARGET_P95_MS = POLL_SECONDS * 1000 + 100
CUSTOMER = "orders:read orders:write"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_twin(artifact: Path = ARTIFACT) -> Iterator[tuple[str, str, Path]]:
    """(API URL with its stage, WebSocket URL, state dir) of a twin of its own."""
    if not (artifact / "app" / "main.py").exists():
        raise SystemExit(f"bench.live: no artifact at {artifact}: make .aws-sam/bench/{ARCH}/.built")
    with tempfile.TemporaryDirectory(prefix="bench-live-twin-") as tmp:
        state, log_path = Path(tmp) / "state", Path(tmp) / "twin.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
        env |= {"TWIN_STATE_DIR": str(state), "PYTHONUNBUFFERED": "1", "CLOUD_WEB_PORT": "0"}
        command = [sys.executable, "-m", "twin", "serve", "--artifact", str(artifact)]
        command += ["--port", str(_free_port()), "--ws-port", str(_free_port())]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + 90
            while not (served := re.search(r"twin: serving (\S+)/ ", log_path.read_text())):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench.live: the twin did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
            ws = re.search(r"WebSocket API \S+ at (ws://\S+)", log_path.read_text())
            if ws is None:
                raise SystemExit("bench.live: the twin serves no WebSocket API (CLOUD_WS_PORT=0?)")
            yield served.group(1), ws.group(1), state
        finally:
            process.terminate()
            process.wait(timeout=30)


def token(state: Path, sub: str, group: str) -> str:
    command = [sys.executable, "-m", "twin", "token", "--sub", sub, "--scope", CUSTOMER, "--group", group]
    env = {**os.environ, "TWIN_STATE_DIR": str(state)}
    minted = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return minted.stdout.strip()


def staff_session(api_url: str, state: Path) -> str:
    """The dish the changes order (as the chef), and a staff token (the kitchen board)."""
    chef = {"Authorization": f"Bearer {token(state, 'chef', 'chef')}"}
    dish = {"name": "Margherita", "price_cents": 1150, "available": True}
    httpx.put(f"{api_url}/menu/margherita", json=dish, headers=chef, timeout=30).raise_for_status()
    return token(state, "staff", "staff")
