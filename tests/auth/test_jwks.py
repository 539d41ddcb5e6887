"""Keys from a real JWKS endpoint on loopback: caching, rotation, floods and outages."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from app.auth.keys import FetchPending, JwksCache, KeyNotFound
from tests.jwks_server import JwksServer

from .conftest import FakeClock, bearer
from .tokens import RSA, Issuer

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


class _Document:
    """Stands in for the server's issuer: serves exactly this JWKS document."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def jwks(self) -> Any:
        return self.document


def _encode(key: Any, issuer: Issuer) -> str:
    alg = key.as_dict()["alg"]
    return jwt.encode({"alg": alg, "kid": key.kid}, issuer.claims(), key, algorithms=[alg])


def _rsa_as(kid: str, alg: str) -> RSAKey:
    return RSAKey.import_key({**RSA.as_dict(private=True), "kid": kid, "alg": alg, "use": "sig"})


@pytest.mark.parametrize(
    "make_key",
    [
        pytest.param(lambda: _rsa_as("rsa-384", "RS384"), id="RS384"),
        pytest.param(lambda: _rsa_as("rsa-512", "RS512"), id="RS512"),
        pytest.param(
            lambda: ECKey.generate_key("P-384", parameters={"kid": "ec-384", "alg": "ES384", "use": "sig"}),
            id="ES384",
        ),
        pytest.param(
            lambda: ECKey.generate_key("P-521", parameters={"kid": "ec-521", "alg": "ES512", "use": "sig"}),
            id="ES512",
        ),
    ],
)
def test_every_allowed_algorithm_verifies_with_a_key_of_its_type_and_curve(
    client: TestClient, issuer: Issuer, make_key: Callable[[], Any]
) -> None:
    key = make_key()
    issuer.published.append(key)
    response = client.get("/test/me", headers=bearer(_encode(key, issuer)))
    assert response.status_code == 200, response.text


def test_only_signing_keys_of_an_allowed_type_and_alg_are_loaded(tmp_path: Path, issuer: Issuer) -> None:
    rsa = RSA.as_dict(private=False)
    ec = issuer.ec.as_dict(private=False)
    bare_rsa = {k: v for k, v in rsa.items() if k not in ("alg", "use")}
    bare_ec = {k: v for k, v in ec.items() if k not in ("alg", "use")}
    document = {
        "keys": [
            "not a key",  # skipped, and does not spoil the rest
            {**bare_rsa, "kid": "rsa-bare"},  # no alg, no use: RS256 for signing
            {**bare_ec, "kid": "ec-bare"},  # no alg, no use: ES256 for signing
            {**rsa, "kid": "rsa-enc", "use": "enc"},
            {**rsa, "kid": "rsa-hs256", "alg": "HS256"},
            {**rsa, "kid": "rsa-none", "alg": "none"},
            {**rsa, "kid": "rsa-lower", "alg": "rs256"},
            {**ec, "kid": "ec-hs256", "alg": "HS256"},
            {"kty": "oct", "kid": "oct", "alg": "HS256", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
            {"kty": "oct", "kid": "oct-bare", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
            {**bare_rsa, "kid": "rsa-kty-lower", "kty": "rsa"},
        ]
    }
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(document))
    cache = JwksCache(file=str(path))
    assert cache.key("rsa-bare", "RS256")[1]["kid"] == "rsa-bare"
    assert cache.key("ec-bare", "ES256")[1]["kid"] == "ec-bare"
    for kid, alg in [
        ("rsa-enc", "RS256"),
        ("rsa-hs256", "HS256"),
        ("rsa-none", "none"),
        ("rsa-lower", "rs256"),
        ("ec-hs256", "HS256"),
        ("oct", "HS256"),
        ("oct-bare", "HS256"),
        ("rsa-kty-lower", "RS256"),
    ]:
        with pytest.raises(KeyNotFound):
            cache.key(kid, alg)
    assert cache.fetches == 1


def test_an_unknown_kid_refetches_once_30_s_have_passed_not_before(
    jwks_server: JwksServer, clock: FakeClock
) -> None:
    cache = JwksCache(url=jwks_server.url, clock=clock)  # the deployed throttle
    cache.key("rsa-1", "RS256")
    clock.advance(29.9)
    with pytest.raises(KeyNotFound):
        cache.key("unknown", "RS256")
    assert jwks_server.requests == 1
    clock.now = 1000.0 + 30.0
    with pytest.raises(KeyNotFound):
        cache.key("unknown", "RS256")
    assert (jwks_server.requests, cache.fetches) == (2, 2)


def test_the_deployed_fetch_timeout_is_3_s(jwks_server: JwksServer) -> None:
    jwks_server.mode = "slow"
    jwks_server.slow_seconds = 6.0
    cache = JwksCache(url=jwks_server.url)  # as main.py builds it: the default timeout
    started = time.monotonic()
    with pytest.raises(KeyNotFound):
        cache.key("rsa-1", "RS256")
    elapsed = time.monotonic() - started
    assert 2.9 < elapsed < 3.7, elapsed


def test_an_https_url_is_fetched_and_another_scheme_refused(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens: the connection is refused
    for url in (f"https://127.0.0.1:{port}/jwks.json", "file:///etc/hostname"):
        with pytest.raises(KeyNotFound):
            JwksCache(url=url).key("rsa-1", "RS256")
    errors = [r.error for r in caplog.records if r.name == "app.auth"]
    assert errors == ["URLError", "ValueError"]


def test_a_jwks_document_is_read_up_to_256_kib(jwks_server: JwksServer, issuer: Issuer) -> None:
    limit = 256 * 1024

    def document(size: int) -> dict[str, Any]:
        base = {"keys": [RSA.as_dict(private=False)], "pad": ""}
        pad = size - len(json.dumps(base).encode())
        return {**base, "pad": "x" * pad}

    for size, known in ((limit, True), (limit + 1, False)):
        doc = document(size)
        assert len(json.dumps(doc).encode()) == size
        jwks_server.issuer = _Document(doc)  # type: ignore[assignment]
        cache = JwksCache(url=jwks_server.url)
        if known:
            assert cache.key("rsa-1", "RS256")[1]["kid"] == "rsa-1"
        else:
            with pytest.raises(KeyNotFound):
                cache.key("rsa-1", "RS256")


@pytest.mark.parametrize("document", [{"keys": "rsa-1"}, {"keys": {"rsa-1": {}}}, ["rsa-1"]])
def test_a_malformed_jwks_keeps_the_keys_already_known(
    jwks_server: JwksServer, clock: FakeClock, document: Any
) -> None:
    cache = JwksCache(url=jwks_server.url, clock=clock)
    cache.key("rsa-1", "RS256")
    jwks_server.issuer = _Document(document)  # type: ignore[assignment]
    clock.advance(31)
    with pytest.raises(KeyNotFound):
        cache.key("unknown", "RS256")
    assert jwks_server.requests == 2
    assert cache.key("rsa-1", "RS256")[1]["kid"] == "rsa-1"


def test_prefetch_builds_every_key_so_the_first_tokens_need_no_work(
    jwks_server: JwksServer, issuer: Issuer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jose import jwk

    bare = [
        {k: v for k, v in key.as_dict(private=False).items() if k != "alg"} | {"kid": f"{key.kid}-bare"}
        for key in (issuer.rsa, issuer.ec)
    ]
    rs384 = _rsa_as("rsa-384", "RS384").as_dict(private=False)  # an alg no default would guess
    jwks_server.issuer = _Document({"keys": [*issuer.jwks()["keys"], *bare, rs384]})  # type: ignore[assignment]
    cache = JwksCache(url=jwks_server.url, clock=clock)
    cache.prefetch()  # SnapStart's before-snapshot hook
    built: list[tuple[str, str]] = []
    construct = jwk.construct
    monkeypatch.setattr(
        jwk, "construct", lambda entry, alg: built.append((entry["kid"], alg)) or construct(entry, alg)
    )
    for kid, alg in (
        ("rsa-1", "RS256"),
        ("ec-1", "ES256"),
        ("rsa-1-bare", "RS256"),
        ("ec-1-bare", "ES256"),
        ("rsa-384", "RS384"),
    ):
        assert cache.key(kid, alg, wait=False)[1]["kid"] == kid
    assert built == []  # each key was built before the snapshot
    with pytest.raises(KeyNotFound):  # and the throttle counts the prefetch
        cache.key("unknown", "RS256")
    assert jwks_server.requests == 1


@pytest.mark.parametrize("when", ["snapshot hook", "init in the background"])
def test_a_failed_prefetch_lets_the_first_token_fetch_at_once(
    jwks_server: JwksServer, clock: FakeClock, when: str
) -> None:
    jwks_server.mode = "down"
    cache = JwksCache(url=jwks_server.url, clock=clock)
    if when == "snapshot hook":
        cache.prefetch()
    else:
        cache.fetch_in_background().join(timeout=5)
    jwks_server.mode = "ok"
    clock.advance(1)  # well inside the 30 s throttle
    assert cache.key("rsa-1", "RS256")[1]["kid"] == "rsa-1"
    assert jwks_server.requests == 2


def test_a_fetch_started_at_init_is_the_first_tokens_fetch(jwks_server: JwksServer, clock: FakeClock) -> None:
    """Lambda's init starts the fetch in the background (app.main): a token that
    arrives while it runs waits for it, and nothing fetches twice."""
    jwks_server.mode = "slow"
    jwks_server.slow_seconds = 0.5
    cache = JwksCache(url=jwks_server.url, clock=clock)
    started = cache.fetch_in_background()
    with pytest.raises(FetchPending):  # the event loop's lookup never waits...
        cache.key("rsa-1", "RS256", wait=False)
    assert cache.key("rsa-1", "RS256")[1]["kid"] == "rsa-1"  # ...a worker thread's does
    started.join(timeout=5)
    assert (jwks_server.requests, cache.fetches) == (1, 1)
    with pytest.raises(KeyNotFound):  # the throttle counts the background fetch
        cache.key("unknown", "RS256")
    assert jwks_server.requests == 1


def test_the_snapshot_hook_waits_for_the_fetch_started_at_init(
    jwks_server: JwksServer, clock: FakeClock
) -> None:
    jwks_server.mode = "slow"
    jwks_server.slow_seconds = 0.3
    cache = JwksCache(url=jwks_server.url, clock=clock)
    started = cache.fetch_in_background()
    cache.prefetch()  # SnapStart's before-snapshot hook, while the init fetch runs
    assert not started.is_alive()  # nothing of it left running into the snapshot
    assert jwks_server.requests == 1
    assert cache.key("rsa-1", "RS256", wait=False)[1]["kid"] == "rsa-1"


def test_the_process_app_fetches_the_keys_at_init_before_any_request(
    jwks_server: JwksServer, tmp_path: Path
) -> None:
    """Importing app.main (Lambda's init, uvicorn's start) starts the fetch: the first
    token finds the keys fetched instead of waiting for the issuer."""
    import os
    import subprocess
    import sys

    from .tokens import AUDIENCE, ISSUER

    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    env = {
        **base,
        "APP_STAGE": "dev",
        "APP_AUTH_ISSUER": ISSUER,
        "APP_AUTH_AUDIENCE": AUDIENCE,
        "APP_AUTH_JWKS_URL": jwks_server.url,
        "APP_SQLITE_PATH": str(tmp_path / "a.db"),
    }
    code = (
        "import app.main as m\n"
        "keys = m.app.state.verifier.keys\n"
        "keys._background.join(5)\n"
        "print(keys.fetches)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "1"
    assert jwks_server.requests == 1
