"""Keys from a real JWKS endpoint on loopback: caching, rotation, floods and outages."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey

from app.auth.keys import FetchPending, JwksCache, KeyNotFound
from tests.jwks_server import JwksServer

from .conftest import FakeClock, bearer
from .tokens import Issuer

ROTATED = RSAKey.generate_key(2048, parameters={"kid": "rsa-2", "alg": "RS256", "use": "sig"})


def test_keys_are_fetched_once_and_cached(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer
) -> None:
    assert jwks_server.requests == 0  # lazily: nothing at start-up
    for _ in range(20):
        assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 200
    assert jwks_server.requests == 1


def test_a_flood_of_unknown_kids_causes_no_fetch_storm(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer, clock: FakeClock
) -> None:
    client.get("/test/me", headers=bearer(issuer.token()))
    for _ in range(100):
        header = {"alg": "RS256", "kid": uuid.uuid4().hex}
        token = issuer.raw(header, json.dumps(issuer.claims()), key=issuer.rogue)
        response = client.get("/test/me", headers=bearer(token))
        assert response.status_code == 401
        clock.advance(0.5)  # 50 s in all: at most one refetch per 30 s
    assert jwks_server.requests == 2


def test_rotation_a_new_key_is_picked_up(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer, clock: FakeClock
) -> None:
    assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 200
    new_key = ROTATED
    issuer.published.append(new_key)
    clock.advance(31)
    assert client.get("/test/me", headers=bearer(issuer.token(new_key))).status_code == 200
    # ...and the old key, still published, keeps working.
    assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 200
    assert jwks_server.requests == 2


def test_a_retired_key_stops_working_after_the_next_fetch(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer, clock: FakeClock
) -> None:
    assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 200
    new_key = ROTATED
    issuer.published = [new_key]
    clock.advance(31)
    assert client.get("/test/me", headers=bearer(issuer.token(new_key))).status_code == 200
    assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 401


def test_outage_known_keys_pass_unknown_get_401(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer, clock: FakeClock
) -> None:
    assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 200
    jwks_server.mode = "down"
    clock.advance(60)
    unknown = issuer.raw({"alg": "RS256", "kid": "new-kid"}, json.dumps(issuer.claims()), key=issuer.rogue)
    assert client.get("/test/me", headers=bearer(unknown)).status_code == 401
    assert client.get("/test/me", headers=bearer(issuer.token())).status_code == 200
    assert jwks_server.requests == 2


def test_outage_from_the_start_is_401_not_500(
    client: TestClient, issuer: Issuer, jwks_server: JwksServer
) -> None:
    jwks_server.mode = "down"
    response = client.get("/test/me", headers=bearer(issuer.token()))
    assert response.status_code == 401


def test_a_slow_jwks_endpoint_times_out_quickly(
    build_app: Callable[..., FastAPI], issuer: Issuer, jwks_server: JwksServer
) -> None:
    jwks_server.mode = "slow"
    with TestClient(build_app(timeout=0.5)) as client:
        started = time.monotonic()
        response = client.get("/test/me", headers=bearer(issuer.token()))
        elapsed = time.monotonic() - started
    assert response.status_code == 401
    assert elapsed < 3


def test_a_jwks_file_works_as_a_key_source(tmp_path: Path, issuer: Issuer) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks()))
    cache = JwksCache(file=str(path))
    _key, entry = cache.key("rsa-1", "RS256")
    assert entry["kid"] == "rsa-1"
    assert cache.fetches == 1


def test_a_lookup_that_may_not_wait_never_waits_for_a_running_fetch(
    jwks_server: JwksServer, clock: FakeClock
) -> None:
    jwks_server.mode = "slow"
    jwks_server.slow_seconds = 1.0
    cache = JwksCache(url=jwks_server.url, timeout=3, clock=clock)
    with pytest.raises(FetchPending):  # nothing known yet: a fetch is due
        cache.key("rsa-1", "RS256", wait=False)
    with ThreadPoolExecutor(1) as pool:
        fetching = pool.submit(cache.key, "rsa-1", "RS256")
        while jwks_server.requests == 0:
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(FetchPending):  # the fetch is running: only waiting could tell
            cache.key("rsa-1", "RS256", wait=False)
        with pytest.raises(FetchPending):
            cache.key("unknown", "RS256", wait=False)
        assert time.monotonic() - started < 0.2
        _key, entry = fetching.result()
    assert entry["kid"] == "rsa-1"
    # Fetched: a known kid is answered at once, an unknown one refused at once.
    assert cache.key("rsa-1", "RS256", wait=False)[1]["kid"] == "rsa-1"
    with pytest.raises(KeyNotFound):
        cache.key("unknown", "RS256", wait=False)
    assert jwks_server.requests == 1
