"""Under load, through the twin on the prod environment's settings, nothing spurious
and nothing lost: concurrent diners place orders with Idempotency-Keys, retrying the
same key on anything but a 201, while one of the function's execution environments
is killed mid-run.

The answers tolerated on the way are the ones a client of the deployed API must
handle anyway: the gateway's throttling (429 ``{"message":"Too Many Requests"}``),
the app's rate limit (429) and its "this key is still in progress" (409), and, once,
the gateway's 500 ``{"message":"Internal Server Error"}`` for the request whose
execution environment died under it -- what API Gateway answers when the Lambda
invocation fails with Runtime.ExitError. Each such 500 must be matched by that
failure in the twin's log. Anything else (a 500 from the app, a DynamoDB 500 seen
as a 503, a 502) fails the test. Afterwards every acknowledged order is in its
diner's order list exactly once, and nothing else is.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, Twin, built_artifact, run_twin

DINERS = 24
ORDERS_EACH = 6
KILL_AFTER = 4  # acknowledged orders before a worker is killed: every worker warm and busy
ORDER = {"lines": [{"item_id": "margherita", "quantity": 2}], "note": "load"}
GATEWAY_429 = {"message": "Too Many Requests"}
GATEWAY_500 = {"message": "Internal Server Error"}
# The killed runtime's invocation, failed as Lambda fails it (or its init, had it not finished).
KILLED = re.compile(
    r"integration failed: (error \(Runtime\.ExitError\)|init \(the runtime exited during init\))"
)


@pytest.fixture(scope="module")
def prod_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    artifact = built_artifact()
    arguments = ("--config-env", "prod", "--artifact", str(artifact))
    with run_twin(tmp_path_factory.mktemp("load"), *arguments) as twin:
        yield twin


def tokens(twin: Twin, scopes: dict[str, str]) -> dict[str, str]:
    """`make cloud-token` for many subjects (sub -> scope), in one process."""
    script = "import sys\nfrom twin.__main__ import mint\nfor a in sys.argv[1:]: print(mint(*a.split('=')))"
    result = subprocess.run(
        [sys.executable, "-c", script, *(f"{sub}={scope}" for sub, scope in scopes.items())],
        cwd=ROOT,
        env={**os.environ, "TWIN_STATE_DIR": str(twin.state_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {sub: f"Bearer {token}" for sub, token in zip(scopes, result.stdout.split(), strict=True)}


def runtime_pids(twin: Twin) -> list[int]:
    """The twin's execution environments: its child processes running awslambdaric."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == twin.process.pid and b"awslambdaric" in command:
            pids.append(int(entry.name))
    return pids


class Diners:
    """Every answer, by status and kind; the orders acknowledged, by diner."""

    def __init__(self, twin: Twin, bearer: dict[str, str]) -> None:
        self.twin = twin
        self.bearer = bearer
        self.answers: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.dropped: list[tuple[float, str]] = []  # (monotonic time, what) of a broken connection
        self.acknowledged: dict[str, dict[str, str]] = {sub: {} for sub in bearer}  # key -> order id
        self.lock = threading.Lock()
        self.enough = threading.Event()

    def kind(self, response: httpx.Response) -> str:
        status = response.status_code
        body = response.json() if "json" in response.headers.get("content-type", "") else None
        if status == 429 and body == GATEWAY_429:
            return "429 gateway"
        if status == 500 and body == GATEWAY_500:
            return "500 gateway"
        if status == 201 and response.headers.get("idempotent-replayed") == "true":
            return "201 replayed"
        return f"{status} {response.headers.get('content-type', '')}".strip()

    def place(self, sub: str, key: str, http: httpx.Client) -> None:
        headers = {"Authorization": self.bearer[sub], "Idempotency-Key": key}
        for _ in range(120):
            try:
                response = http.post(f"{self.twin.url}/orders", json=ORDER, headers=headers)
            except httpx.TransportError as error:  # the gateway never drops a connection
                with self.lock:
                    self.dropped.append((time.monotonic(), f"{time.strftime('%T')} {sub} {key}: {error!r}"))
                continue
            kind = self.kind(response)
            with self.lock:
                self.answers[kind] += 1
                if response.status_code not in (201, 409, 429) and kind != "500 gateway":
                    self.unexpected.append(f"{kind}: {response.text[:300]}")
            if response.status_code == 201:
                with self.lock:
                    self.acknowledged[sub][key] = response.json()["id"]
                    if sum(map(len, self.acknowledged.values())) >= KILL_AFTER:
                        self.enough.set()
                return
            time.sleep(float(response.headers.get("retry-after", "0.2")))
        raise AssertionError(f"{sub} {key}: no 201 after 120 tries")

    def diner(self, sub: str) -> None:
        with httpx.Client(timeout=30) as http:
            for n in range(ORDERS_EACH):
                self.place(sub, f"{sub}-order-{n}", http)


def test_concurrent_orders_with_a_worker_killed(prod_twin: Twin) -> None:
    twin = prod_twin
    started = time.monotonic()
    subs = [f"diner-{n}" for n in range(DINERS)]
    bearer = tokens(twin, {"chef": "menu:write"} | dict.fromkeys(subs, "orders:read orders:write"))
    item = {"name": "Margherita", "price_cents": 1150, "available": True}
    menu = httpx.put(
        f"{twin.url}/menu/margherita", json=item, headers={"Authorization": bearer.pop("chef")}, timeout=30
    )
    assert menu.status_code in (200, 201), menu.text
    diners = Diners(twin, bearer)

    with ThreadPoolExecutor(DINERS) as pool:
        running = [pool.submit(diners.diner, sub) for sub in subs]
        assert diners.enough.wait(60), "too few orders acknowledged to start the kill"
        workers = runtime_pids(twin)
        assert workers, "no execution environment found to kill"
        os.kill(workers[0], signal.SIGKILL)
        killed_at = time.monotonic()
        killed = killed_at - started
        for future in running:
            future.result()
    elapsed = time.monotonic() - started
    print(f"\n{sum(diners.answers.values())} answers in {elapsed:.1f} s (a worker killed at {killed:.1f} s):")
    print(dict(diners.answers))

    failures = [line for line in twin.log().splitlines() if "integration failed" in line]
    assert diners.unexpected == [], twin.log()[-3000:]
    # A broken client connection is a failure of the twin (API Gateway never drops one),
    # except that one fresh-clone CI run saw exactly one reset, on both ends, at the very
    # moment of the kill, and its cause was not found (issue 23's note): at most one,
    # within a second of the kill, is tolerated and printed; the diner retried its key.
    dropped = [what for _, what in diners.dropped]
    assert len(dropped) <= 1, dropped
    assert all(abs(at - killed_at) <= 1.0 for at, _ in diners.dropped), dropped
    for _, what in diners.dropped:
        print(f"tolerated at the kill: {what}")
    # Each gateway 500 is the killed environment's request, and only it: one at most.
    assert diners.answers["500 gateway"] == len([f for f in failures if KILLED.search(f)]) <= 1, failures
    # Nothing lost, nothing doubled: each diner's list is exactly the orders acknowledged.
    for sub in subs:
        listed = httpx.get(f"{twin.url}/orders?limit=100", headers={"Authorization": bearer[sub]}, timeout=30)
        assert listed.status_code == 200, listed.text
        ids = [order["id"] for order in listed.json()["items"]]
        assert sorted(ids) == sorted(diners.acknowledged[sub].values()), sub
        assert len(ids) == ORDERS_EACH
