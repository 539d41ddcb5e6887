"""A slow JWKS fetch never stalls the other requests of a real uvicorn server.

The JWKS endpoint is served on loopback by the tests and answers after 2.5 s
(within the 3 s fetch timeout). While that fetch is outstanding, tokens that
need it (an unknown ``kid``, or any token right after a start) wait for it off
the event loop, so anonymous ``/hello`` keeps answering at once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager

import httpx
import pytest

from tests.auth.tokens import AUDIENCE, ISSUER, Issuer
from tests.jwks_server import JwksServer

from .conftest import Server

FETCH_SECONDS = 2.5
HELLO_BOUND = 0.5  # /hello answers in milliseconds; a frozen loop makes it seconds


@pytest.fixture
def slow_jwks(jwks_server: JwksServer) -> JwksServer:
    jwks_server.mode = "slow"
    jwks_server.slow_seconds = FETCH_SECONDS
    return jwks_server


@pytest.fixture
def serve(
    start_server: Callable[..., AbstractContextManager[Server]], slow_jwks: JwksServer
) -> Iterator[Server]:
    env = {"APP_AUTH_ISSUER": ISSUER, "APP_AUTH_AUDIENCE": AUDIENCE, "APP_AUTH_JWKS_URL": slow_jwks.url}
    with start_server(env) as server:
        yield server


def _forged(issuer: Issuer) -> str:
    """A token whose kid the JWKS has never had: only a fetch could tell."""
    header = {"alg": "RS256", "kid": uuid.uuid4().hex}
    return issuer.raw(header, json.dumps(issuer.claims()), key=issuer.rogue)


def _get(url: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url, headers=headers, timeout=10)


def _wait_for_the_fetch(jwks: JwksServer) -> float:
    deadline = time.monotonic() + 5
    while jwks.requests == 0:
        assert time.monotonic() < deadline, "the JWKS was never fetched"
        time.sleep(0.01)
    return time.monotonic()


def _hello_latencies_until(url: str, until: float) -> list[float]:
    latencies = []
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < until:
            started = time.monotonic()
            assert client.get(url + "/hello").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
    return latencies


def test_unknown_kids_during_a_slow_jwks_fetch_leave_hello_responsive(
    serve: Server, slow_jwks: JwksServer
) -> None:
    issuer = slow_jwks.issuer
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(_get, serve.url + "/me", _forged(issuer))
        fetch_started = _wait_for_the_fetch(slow_jwks)
        # These find the refetch already stamped; they must wait for it off the loop.
        later: list[Future[httpx.Response]] = [
            pool.submit(_get, serve.url + "/me", _forged(issuer)) for _ in range(3)
        ]
        time.sleep(0.1)
        latencies = _hello_latencies_until(serve.url, fetch_started + FETCH_SECONDS - 0.3)
        statuses = [first.result().status_code] + [f.result().status_code for f in later]
    assert statuses == [401] * 4
    assert slow_jwks.requests == 1  # still one fetch per 30 s
    assert max(latencies) < HELLO_BOUND, latencies
    assert len(latencies) >= 5


def test_two_valid_tokens_right_after_start_leave_hello_responsive(
    serve: Server, slow_jwks: JwksServer
) -> None:
    token = slow_jwks.issuer.token()
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(_get, serve.url + "/me", token)
        fetch_started = _wait_for_the_fetch(slow_jwks)
        second = pool.submit(_get, serve.url + "/me", token)
        time.sleep(0.1)
        latencies = _hello_latencies_until(serve.url, fetch_started + FETCH_SECONDS - 0.3)
        # Both wait for the one fetch and then pass.
        assert first.result().status_code == 200
        assert second.result().status_code == 200
    assert slow_jwks.requests == 1
    assert max(latencies) < HELLO_BOUND, latencies
    assert len(latencies) >= 5
