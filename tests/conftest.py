"""Shared fixtures: every test gets a clean APP_* environment and its own files; the
test environments used across folders are made here, once each: the storage backends
(moto's DynamoDB server on loopback, one per session) and an app that trusts the test
issuer (its JWKS as a file, or served over HTTP on loopback)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings, get_settings
from app.store import blocking
from app.store.base import Store
from app.store.factory import build_store
from tests.auth.tokens import AUDIENCE, ISSUER, Issuer
from tests.dynamo_server import serve
from tests.jwks_server import JwksServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("APP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("APP_SQLITE_PATH", str(tmp_path / "app.db"))
    # Every test starts from an empty store, said here once: the local stage would
    # otherwise seed a demo menu (tests/api/test_demo_menu.py turns it back on).
    monkeypatch.setenv("APP_DEMO_MENU", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    blocking.run_inline(False)  # a Lambda adapter test may have switched it on


@pytest.fixture
def make_app() -> Callable[..., FastAPI]:
    """Build a fresh application from settings given as keyword overrides."""

    def build(**overrides: object) -> FastAPI:
        return create_app(Settings(**overrides))  # type: ignore[arg-type]

    return build


# -- storage backends ---------------------------------------------------------
# The same contract tests run against both backends: SQLite in a temp
# directory, and DynamoDB against a real DynamoDB-compatible server (moto's
# threaded server) that the tests start on loopback, unless
# APP_TEST_DYNAMODB_ENDPOINT_URL names one already running (DynamoDB Local).

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def dynamodb_url() -> Iterator[str]:
    """The one DynamoDB server of the session; every test makes its own uniquely named
    tables on it (tests/dynamo_server.py's new_store), so they share nothing else."""
    with serve() as url:
        yield url


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """APP_* settings for one backend, each test with its own file or table."""
    if request.param == "sqlite":
        return {"APP_STORE": "sqlite", "APP_SQLITE_PATH": str(tmp_path / "store.db")}
    url = request.getfixturevalue("dynamodb_url")
    request.getfixturevalue("fake_aws")
    return {
        "APP_STORE": "dynamodb",
        "APP_DYNAMODB_TABLE": f"test-{uuid.uuid4().hex[:12]}",
        "APP_DYNAMODB_ENDPOINT_URL": url,
    }


@pytest.fixture
def store(backend_settings: dict[str, str]) -> Iterator[Store]:
    settings = Settings(**{k.removeprefix("APP_").lower(): v for k, v in backend_settings.items()})  # type: ignore[arg-type]
    store = build_store(settings)
    yield store
    store.close()


# -- a test issuer the app trusts ----------------------------------------------
# Tokens come from tests/auth/tokens.py's Issuer. Every Issuer signs with the same keys
# (made once per run), so one JWKS file serves the whole session.


@pytest.fixture(scope="session")
def jwks_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test issuer's public keys as a JWKS file, written once per session and only
    read: a test that needs other keys serves them (jwks_server) or writes its own file."""
    path = tmp_path_factory.mktemp("trust") / "jwks.json"
    path.write_text(json.dumps(Issuer().jwks()))
    return str(path)


@pytest.fixture
def trust(jwks_file: str) -> dict[str, Any]:
    """Settings (keyword arguments) that make an app trust the test issuer: its issuer,
    its audience, its keys from jwks_file. A fresh dict for every test."""
    return {"auth_issuer": ISSUER, "auth_audience": [AUDIENCE], "auth_jwks_file": jwks_file}


@pytest.fixture(scope="session")
def trust_env(jwks_file: str) -> Mapping[str, str]:
    """The same trust as APP_* variables, for an app in a process of its own (uvicorn).
    Read-only, being shared by the session: spread it into a dict to add to it."""
    return MappingProxyType(
        {"APP_AUTH_ISSUER": ISSUER, "APP_AUTH_AUDIENCE": AUDIENCE, "APP_AUTH_JWKS_FILE": jwks_file}
    )


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def jwks_server(issuer: Issuer) -> Iterator[JwksServer]:
    """The issuer's JWKS served over HTTP on 127.0.0.1, one server per test (tests set its
    mode and count its requests)."""
    server = JwksServer(issuer)
    yield server
    server.close()
