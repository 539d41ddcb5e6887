"""Live orders' latency: from a change's HTTP response to its message at another client.

    .venv/bin/python -m bench.live local [--changes 200]
    .venv/bin/python -m bench.live twin [--changes 100]

``local``: uvicorn serving the app on SQLite as `make run` does (bench.local's
server, a temporary database and JWKS), one staff WebSocket at ``/ws`` read by its
own thread, and ``--changes`` status changes (``PATCH /orders/{id}``: placed ->
preparing -> ready -> served, order after order), one at a time. Each sample is
the time from the PATCH's response reaching the client to the order's message
(that id at that version) reaching the WebSocket's reader, both stamped with
``time.perf_counter`` in this one process. The change feed looks for commits every
20 ms (app.live.sqlite_feed.POLL_SECONDS), so about half of that is expected at the
median. Target: p95 <= 50 ms. Prints the figures and writes them under the
``local`` key of bench/results/live.json (other keys are kept).

``twin``: the same changes through `make cloud`'s twin (bench/live_twin.py): the
message comes from the table's stream, polled 4 times a second as Lambda polls it, so
about half of 250 ms is expected at the median. Target: p95 <= 250 ms + 100 ms.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
STAFF_SCOPE = "orders:read orders:write orders:admin"
TARGET_P95_MS = 50.0
WARM_UP = 6  # changes before the samples: first connections, first code paths
WAIT_SECONDS = 5.0
MOVES = ("preparing", "ready", "served")
POLL_SECONDS = 0.02  # app.live.sqlite_feed.POLL_SECONDS (not imported: the bench reads no app code)


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (as bench.twin_report)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Arrivals:
    """The WebSocket reader's clock: when each (order id, version) arrived."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], float] = {}
        self._changed = threading.Condition()

    def read(self, connection: Any) -> None:
        for text in connection:  # until the connection closes
            at = time.perf_counter()
            message = json.loads(text)
            if message.get("type") == "order":
                with self._changed:
                    self._seen[(message["order"]["id"], message["order"]["version"])] = at
                    self._changed.notify_all()

    def wait(self, order_id: str, version: int) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: (order_id, version) in self._seen, WAIT_SECONDS):
                raise SystemExit(f"bench.live: order {order_id} v{version} never arrived")
            return self._seen[(order_id, version)]


def changes_over(
    base_url: str, token: str, count: int, ws_url: str = "", poll_seconds: float = POLL_SECONDS
) -> list[float]:
    """``count`` latencies in ms, after the warm-up (``ws_url``: `make run`'s /ws if empty;
    ``poll_seconds``: the change feed's cycle, which the changes' start times spread over)."""
    import httpx
    from websockets.sync.client import connect

    arrivals = Arrivals()
    ws_url = (ws_url or base_url.replace("http://", "ws://") + "/ws") + f"?token={token}"
    samples: list[float] = []
    phase = random.Random(24)  # noqa: S311 - a spread of start times, not a secret
    with connect(ws_url) as ws, httpx.Client(base_url=base_url, timeout=WAIT_SECONDS) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        threading.Thread(target=arrivals.read, args=(ws,), daemon=True).start()
        while len(samples) < count + WARM_UP:
            body = {"lines": [{"item_id": "margherita", "quantity": 1}]}
            placed = http.post("/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            placed.raise_for_status()
            order = placed.json()
            arrivals.wait(order["id"], order["version"])
            for status in MOVES:
                # A change lands anywhere in the feed's 20 ms cycle, as a cook's click would,
                # rather than just after the previous message (in step with the cycle).
                time.sleep(phase.uniform(0, poll_seconds))
                match = {"If-Match": f'"v{order["version"]}"'}
                moved = http.patch(f"/orders/{order['id']}", json={"status": status}, headers=match)
                answered = time.perf_counter()
                moved.raise_for_status()
                order = moved.json()
                samples.append((arrivals.wait(order["id"], order["version"]) - answered) * 1000)
    return samples[WARM_UP : WARM_UP + count]


def measure_local(count: int = 200) -> dict[str, Any]:
    """The ``local`` figures: a uvicorn on SQLite, as `make run` serves the app."""
    from bench import local, subjects
    from bench.publish import source_commit

    key = subjects.signing_key()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        jwks = subjects.write_jwks(key, Path(tmp) / "jwks.json")
        env = {
            **local.local_env(jwks, Path(tmp) / "live.db"),
            "APP_AUTH_ISSUER": subjects.ISSUER,
            "APP_AUTH_AUDIENCE": subjects.AUDIENCE,
        }
        with local.serve("ours", env) as hello_url:
            samples = changes_over(hello_url.removesuffix("/hello"), subjects.token(key, STAFF_SCOPE), count)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": source_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "setup": "uvicorn (one worker) on SQLite, loopback, one staff WebSocket; "
        f"change feed polled every {POLL_SECONDS * 1000:.0f} ms",
        **figures_of(samples, TARGET_P95_MS),
    }


def measure_twin(count: int = 100) -> dict[str, Any]:
    """The ``twin`` figures: `make cloud`'s stack, the message from the table's stream."""
    from bench import live_twin
    from bench.publish import source_commit

    with live_twin.running_twin() as (api_url, ws_url, state):
        token = live_twin.staff_session(api_url, state)
        samples = changes_over(api_url, token, count, ws_url=ws_url, poll_seconds=live_twin.POLL_SECONDS)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": source_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "setup": "the twin (python -m twin serve, the sam build artifact in Lambda workers, moto's "
        "DynamoDB), one staff WebSocket on its WebSocket API; the stream polled every "
        f"{live_twin.POLL_SECONDS * 1000:.0f} ms (Lambda's documented rate)",
        **figures_of(samples, live_twin.TARGET_P95_MS),
    }


def figures_of(samples: Sequence[float], target: float) -> dict[str, Any]:
    return {
        "changes": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(p95(samples), 2),
        "max_ms": round(max(samples), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "target_p95_ms": target,
        "met": p95(samples) <= target,
        "samples_ms": [round(value, 3) for value in samples],
    }


def publish(where: str, figures: dict[str, Any], results: Path = RESULTS) -> Path:
    path = results / "live.json"
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        document = {}
    document[where] = figures
    results.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.splitlines()[0])
    parser.add_argument(
        "where", choices=["local", "twin"], help="local: uvicorn on SQLite (`make run`); twin: `make cloud`"
    )
    parser.add_argument("--changes", type=int, help="changes measured (default: 200 local, 100 twin)")
    args = parser.parse_args(argv)
    if args.where == "twin":
        figures = measure_twin(args.changes or 100)
    else:
        figures = measure_local(args.changes or 200)
    verdict = "met" if figures["met"] else "MISSED"
    print(
        f"live {args.where}: {figures['changes']} changes, p50 {figures['p50_ms']} ms, "
        f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms "
        f"(target p95 <= {figures['target_p95_ms']:.0f} ms: {verdict})"
    )
    print(f"bench.live: wrote {publish(args.where, figures)}")
    return 0 if figures["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
