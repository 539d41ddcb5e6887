"""Per-client rate limiting: the limiter, its two counters, and the middleware."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from app.http.context import PRINCIPAL_SUB
from app.main import create_app
from app.ratelimit.dynamodb import DynamoCounter
from app.ratelimit.factory import build_limiter
from app.ratelimit.limiter import Limiter, MemoryCounter
from app.ratelimit.middleware import RateLimitMiddleware, client_key
from app.settings import RateLimit, Settings
from app.store.sdk import CLIENT_CONFIG
from tests.auth.tokens import Issuer
from tests.dynamo_server import new_client, new_store


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "dynamodb"])
def counter_factory(request: pytest.FixtureRequest) -> Callable[[], object]:
    if request.param == "memory":
        counter = MemoryCounter()
        return lambda: counter
    url = request.getfixturevalue("dynamodb_url")
    table = new_store(url).table_name
    return lambda: DynamoCounter(table, client=new_client(url))


def test_limit_per_window_then_reset(counter_factory: Callable[[], object]) -> None:
    clock = Clock(60_000.0)
    limiter = Limiter(RateLimit(3, 60), counter_factory(), clock=clock)  # type: ignore[arg-type]
    decisions = [limiter.hit("sub:alice") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert decisions[0].reset_seconds == 60
    assert limiter.hit("sub:bob").allowed  # another client has its own quota
    clock.now += 60
    assert limiter.hit("sub:alice").allowed


class RecordingCounter:
    blocking = False

    def __init__(self) -> None:
        self.windows: list[tuple[int, int]] = []  # (window_start, expires_at) per hit
        self._counts: Counter[tuple[str, int]] = Counter()

    def increment(self, key: str, window_start: int, expires_at: int) -> int:
        self.windows.append((window_start, expires_at))
        self._counts[(key, window_start)] += 1
        return self._counts[(key, window_start)]


@pytest.mark.parametrize(("window", "start"), [(60, 1_000_020), (3600, 997_200)])
def test_windows_start_on_boundaries_not_at_the_first_request(window: int, start: int) -> None:
    # A clock that is not on a boundary, so a window starting at the first
    # request (start = int(now)) shows in the reset time and the counter key.
    clock = Clock(1_000_037.5)
    assert start % window == 0
    assert start < clock.now < start + window
    counter = RecordingCounter()
    limiter = Limiter(RateLimit(10, window), counter, clock=clock)

    first = limiter.hit("ip:203.0.113.7")
    assert first.reset_seconds == math.ceil(start + window - clock.now)  # 43 s for a minute, not 60
    clock.now = start + window - 0.1  # still the same boundary-aligned window
    last = limiter.hit("ip:203.0.113.7")
    assert (last.remaining, last.reset_seconds) == (8, 1)
    clock.now = start + window  # the next one
    next_window = limiter.hit("ip:203.0.113.7")
    assert (next_window.remaining, next_window.reset_seconds) == (9, window)

    # One counter key per boundary-aligned window; items outlive it by a minute (TTL).
    assert counter.windows == [
        (start, start + window + 60),
        (start, start + window + 60),
        (start + window, start + 2 * window + 60),
    ]


def test_concurrent_hits_never_admit_more_than_the_limit(counter_factory: Callable[[], object]) -> None:
    limit, clients, per_client = 20, 3, 40
    clock = Clock(120_000.0)
    limiter = Limiter(RateLimit(limit, 60), counter_factory(), clock=clock)  # type: ignore[arg-type]
    barrier = threading.Barrier(12)

    def burst(i: int) -> tuple[str, bool]:
        key = f"sub:client-{i % clients}"
        if i < 12:
            barrier.wait()
        return key, limiter.hit(key).allowed

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(burst, range(clients * per_client)))
    admitted = Counter(key for key, allowed in results if allowed)
    # Exactly the limit for each client: never more, and nobody blocked below it.
    assert admitted == dict.fromkeys([f"sub:client-{i}" for i in range(clients)], limit)


def test_two_app_instances_share_one_dynamodb_limit(
    dynamodb_url: str, fake_aws: None, trust: dict[str, Any]
) -> None:
    issuer = Issuer()
    table = new_store(dynamodb_url).table_name
    settings = Settings(
        store="dynamodb",
        dynamodb_table=table,
        dynamodb_endpoint_url=dynamodb_url,
        rate_limit="10/minute",
        **trust,
    )
    headers = {"Authorization": f"Bearer {issuer.token(sub='carol', scope='orders:read')}"}
    statuses = []
    # Each instance gets its own counter and client on the shared table. The
    # clients use the store's timeouts: the limiter's own 0.5 s read timeout
    # (fail open) can expire on a loaded CI machine and admit an 11th request.
    deployed = build_limiter(settings)  # the deployed wiring: a DynamoDB counter, off the loop
    assert deployed is not None
    assert deployed.counter.blocking

    def instance() -> FastAPI:
        counter = DynamoCounter(table, client=new_client(dynamodb_url))
        return create_app(settings, limiter=Limiter(settings.rate, counter))

    with TestClient(instance()) as one, TestClient(instance()) as two:
        for i in range(16):
            statuses.append((one if i % 2 else two).get("/me", headers=headers).status_code)
    assert statuses.count(200) == 10
    assert statuses.count(429) == 6
    assert statuses[:10] == [200] * 10


@pytest.fixture
def limited_client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(rate_limit="2/minute"), raise_server_exceptions=False) as client:
        yield client


def test_over_the_limit_is_429_problem_with_retry_after(limited_client: TestClient) -> None:
    first = limited_client.get("/hello")
    assert first.status_code == 200
    assert first.headers["ratelimit-policy"] == '"default";q=2;w=60'
    assert first.headers["ratelimit"].startswith('"default";r=1;t=')
    limited_client.get("/hello")
    third = limited_client.get("/hello")
    assert third.status_code == 429
    assert third.headers["content-type"] == "application/problem+json"
    retry_after = int(third.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert third.headers["ratelimit"] == f'"default";r=0;t={retry_after}'


def test_x_forwarded_for_does_not_change_the_client(limited_client: TestClient) -> None:
    statuses = [
        limited_client.get("/hello", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(4)
    ]
    assert statuses == [200, 200, 429, 429]


def test_authenticated_callers_are_limited_by_sub(
    make_app: Callable[..., FastAPI], trust: dict[str, Any]
) -> None:
    issuer = Issuer()
    app = make_app(rate_limit="2/minute", **trust)
    alice = {"Authorization": f"Bearer {issuer.token(sub='alice')}"}
    bob = {"Authorization": f"Bearer {issuer.token(sub='bob')}"}
    with TestClient(app) as client:
        assert [client.get("/me", headers=alice).status_code for _ in range(3)] == [200, 200, 429]
        # Same IP, another sub: its own quota.
        assert client.get("/me", headers=bob).status_code == 200


def test_the_limiter_fails_open(make_app: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        blocking = True

        def increment(self, key: str, window_start: int, expires_at: int) -> int:
            raise ConnectionError("DynamoDB unreachable")

    app = create_app(Settings(rate_limit="1/minute"), limiter=Limiter(RateLimit(1, 60), Broken()))
    with TestClient(app) as client:
        statuses = [client.get("/hello").status_code for _ in range(3)]
        response = client.get("/hello")
    assert statuses == [200, 200, 200]
    assert "ratelimit" not in response.headers
    assert response.headers["ratelimit-policy"] == '"default";q=1;w=60'
    warnings = [r for r in caplog.records if r.name == "app.ratelimit"]
    assert warnings
    assert "ConnectionError" in warnings[0].error


@pytest.fixture
def dead_endpoint() -> str:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_endpoint() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback server that accepts connections and never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", held
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize(
    ("endpoint", "error"), [("dead", "EndpointConnectionError"), ("silent", "ReadTimeoutError")]
)
def test_the_dynamodb_limiter_fails_open_within_its_timeouts(
    request: pytest.FixtureRequest,
    fake_aws: None,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    error: str,
) -> None:
    if endpoint == "dead":
        url, held = request.getfixturevalue("dead_endpoint"), None
    else:
        url, held = request.getfixturevalue("silent_endpoint")
    # The deployed wiring: a DynamoCounter on the store's client configuration.
    limiter = build_limiter(
        Settings(store="dynamodb", dynamodb_table="rate", dynamodb_endpoint_url=url, rate_limit="1/minute")
    )
    assert limiter is not None
    assert isinstance(limiter.counter, DynamoCounter)
    # One attempt (never retried), within the shared client's timeouts.
    budget = CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout
    assert budget <= 3.0
    app = create_app(Settings(rate_limit="1/minute"), limiter=limiter)
    with TestClient(app) as client, caplog.at_level(logging.WARNING, logger="app.ratelimit"):
        for path, status in (("/hello", 200), ("/hello", 200), ("/hello", 200), ("/orders", 401)):
            started = time.monotonic()
            response = client.get(path)
            elapsed = time.monotonic() - started
            assert response.status_code == status  # over "the limit" of 1, yet let through
            assert "ratelimit" not in response.headers
            assert elapsed < budget + 0.5, elapsed  # the timeout, not a hang or retries
    warnings = [r for r in caplog.records if r.name == "app.ratelimit"]
    assert [r.levelno for r in warnings] == [logging.WARNING] * 4
    assert {r.error for r in warnings} == {error}
    if held is not None:
        assert len(held) == 4  # each request did reach the endpoint (and got no answer)


def test_zero_turns_limiting_off(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app(rate_limit="0")) as client:
        responses = [client.get("/hello") for _ in range(5)]
    assert all(r.status_code == 200 for r in responses)
    assert "ratelimit-policy" not in responses[0].headers


def test_unique_tables_per_test(dynamodb_url: str) -> None:
    assert new_store(dynamodb_url).table_name != new_store(dynamodb_url).table_name


def test_dynamodb_counter_items_expire(dynamodb_url: str) -> None:
    store = new_store(dynamodb_url)
    client = new_client(dynamodb_url)
    counter = DynamoCounter(store.table_name, client=client)
    key = f"ip:{uuid.uuid4().hex}"
    assert counter.increment(key, 600, 720) == 1
    assert counter.increment(key, 600, 720) == 2
    item = client.get_item(
        TableName=store.table_name, Key={"PK": {"S": f"RATE#{key}"}, "SK": {"S": "WINDOW#600"}}
    )
    assert item["Item"]["expires_at"] == {"N": "720"}


@pytest.fixture
def strict_app(make_app: Callable[..., FastAPI], trust: dict[str, Any]) -> FastAPI:
    """3/minute, trusting a JWKS file of the test issuer's keys."""
    return make_app(rate_limit="3/minute", **trust)


def _bad_signature(issuer: Issuer) -> str:
    """A published kid, signed by a key the issuer never published."""
    import json

    return issuer.raw({"alg": "RS256", "kid": "rsa-1"}, json.dumps(issuer.claims()), key=issuer.rogue)


def assert_limited_failures(responses: list[httpx.Response]) -> None:
    """3/minute: three 401s that count, then 429s, all with the rate-limit headers."""
    assert [r.status_code for r in responses] == [401] * 3 + [429] * (len(responses) - 3)
    for i, response in enumerate(responses):
        assert response.headers["ratelimit-policy"] == '"default";q=3;w=60'
        assert response.headers["ratelimit"].startswith(f'"default";r={max(0, 2 - i)};t=')
    over = responses[-1]
    assert over.headers["content-type"] == "application/problem+json"
    assert 1 <= int(over.headers["retry-after"]) <= 60


def test_bad_tokens_count_against_the_source_address(strict_app: FastAPI) -> None:
    issuer = Issuer()
    bad = {"Authorization": f"Bearer {_bad_signature(issuer)}"}
    with TestClient(strict_app) as client:
        responses = [client.get("/me", headers=bad) for _ in range(10)]
        assert_limited_failures(responses)
        assert (
            responses[0].headers["www-authenticate"].startswith('Bearer realm="api", error="invalid_token"')
        )
        # The same address, anonymous: the same (spent) quota.
        assert client.get("/hello").status_code == 429
        # A valid token is its sub's quota, not the address's.
        good = {"Authorization": f"Bearer {issuer.token(sub='alice')}"}
        assert client.get("/me", headers=good).status_code == 200


def test_requests_without_a_token_to_a_protected_route_count_against_the_address(
    strict_app: FastAPI,
) -> None:
    with TestClient(strict_app) as client:
        responses = [client.get("/orders") for _ in range(10)]
        assert_limited_failures(responses)
        assert responses[0].headers["www-authenticate"] == 'Bearer realm="api"'


def test_preflights_are_not_counted_as_failures(strict_app: FastAPI) -> None:
    preflight = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "DELETE"}
    with TestClient(strict_app) as client:
        for _ in range(10):
            response = client.options("/orders", headers=preflight)
            assert response.status_code == 204
            assert "ratelimit" not in response.headers
        assert client.get("/orders").status_code == 401  # the address's quota is untouched
        assert client.get("/orders").headers["ratelimit"].startswith('"default";r=1;')


def test_the_client_is_the_address_not_the_port() -> None:
    # Each connection comes from a new port: keying by it would give every request a fresh quota.
    one = client_key({"type": "http", "client": ("203.0.113.7", 50001)})
    two = client_key({"type": "http", "client": ("203.0.113.7", 50002)})
    assert one == two == "ip:203.0.113.7"
    assert client_key({"type": "http", "client": ("198.51.100.1", 50001)}) != one
    assert client_key({"type": "http", "client": ("203.0.113.7", 1), PRINCIPAL_SUB: "alice"}) == "sub:alice"


@pytest.mark.parametrize("blocking", [True, False])
def test_a_blocking_counter_runs_off_the_event_loop(blocking: bool) -> None:
    class ThreadRecordingCounter(MemoryCounter):
        def __init__(self) -> None:
            super().__init__()
            self.blocking = blocking
            self.threads: list[int] = []

        def increment(self, key: str, window_start: int, expires_at: int) -> int:
            self.threads.append(threading.get_ident())
            return super().increment(key, window_start, expires_at)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    counter = ThreadRecordingCounter()
    middleware = RateLimitMiddleware(app, limiter=Limiter(RateLimit(5, 60), counter))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("203.0.113.7", 1)}
    asyncio.run(middleware(scope, receive, send))  # the loop runs in this thread
    assert sent[0]["status"] == 200
    assert (counter.threads[0] != threading.get_ident()) is blocking


def test_the_429_is_a_rate_limited_problem(limited_client: TestClient) -> None:
    for _ in range(2):
        limited_client.get("/hello")
    body = limited_client.get("/hello").json()
    assert body["status"] == 429
    assert body["type"] == "urn:serverless-api:problem:rate-limited"


def test_the_memory_counter_keeps_only_the_current_window() -> None:
    counter = MemoryCounter()
    for window in range(100):
        for client in ("ip:203.0.113.7", "sub:alice"):
            counter.increment(client, window * 60, window * 60 + 120)
    assert counter.increment("sub:alice", 99 * 60, 99 * 60 + 120) == 2
    assert len(counter._counts) == 2  # one process's memory stays bounded
