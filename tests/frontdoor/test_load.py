"""A bounded load test over loopback: uvicorn answers 429 from exactly the limit on."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.e2e.conftest import run_server

LIMIT = 60
REQUESTS = 150


def remaining(response: httpx.Response) -> int:
    """r= of the draft-09 RateLimit field: '"default";r=57;t=30'."""
    return int(response.headers["ratelimit"].split("r=")[1].split(";")[0])


def test_429s_start_at_the_limit(tmp_path: Path) -> None:
    # Stay inside one hour-long window: wait out the last seconds of the current one.
    if 3600 - time.time() % 3600 < 30:
        time.sleep(3600 - time.time() % 3600 + 0.5)
    with (
        run_server(tmp_path, {"APP_RATE_LIMIT": f"{LIMIT}/hour"}) as server,
        httpx.Client(timeout=10, limits=httpx.Limits(max_connections=8)) as http,
    ):
        # The readiness probe already spent some of this client's quota: ask what is left.
        probe = http.get(server.url + "/hello")
        left = remaining(probe)
        assert 0 < left < LIMIT
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda _: http.get(server.url + "/hello"), range(REQUESTS)))
        elapsed = time.monotonic() - started
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: left, 429: REQUESTS - left}
        admitted = sorted(
            int(r.headers["ratelimit"].split("r=")[1].split(";")[0])
            for r in responses
            if r.status_code == 200
        )
        assert admitted == list(range(left))  # each admitted request counted exactly once
        limited = [r for r in responses if r.status_code == 429]
        assert all(int(r.headers["retry-after"]) >= 1 for r in limited)
        assert all(r.headers["content-type"] == "application/problem+json" for r in limited)
        # ...and a request after the burst is still refused: the count persisted.
        assert http.get(server.url + "/hello").status_code == 429
    assert elapsed < 30
