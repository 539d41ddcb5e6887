"""An app that trusts the real JWKS endpoint on loopback (tests/conftest.py's `jwks_server`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.dependencies import CurrentPrincipal, OrdersReader
from app.auth.factory import build_verifier
from app.auth.keys import JwksCache
from app.main import create_app
from app.settings import Settings
from tests.jwks_server import JwksServer

from .tokens import AUDIENCE, ISSUER


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def build_app(jwks_server: JwksServer, clock: FakeClock) -> Callable[..., FastAPI]:
    def build(timeout: float = 2.0, **overrides: Any) -> FastAPI:
        settings = Settings(
            auth_issuer=ISSUER,
            auth_audience=[AUDIENCE],
            auth_jwks_url=jwks_server.url,
            **overrides,
        )
        keys = JwksCache(url=jwks_server.url, timeout=timeout, clock=clock)
        app = create_app(settings, verifier=build_verifier(settings, keys))
        app.state.keys = keys

        @app.get("/test/me")
        async def me(principal: CurrentPrincipal) -> dict[str, Any]:
            return {"sub": principal.sub, "scopes": sorted(principal.scopes)}

        @app.get("/test/orders")
        async def orders(principal: OrdersReader) -> dict[str, str]:
            return {"sub": principal.sub}

        # Declared nowhere as public and asking for nothing: deny by default.
        @app.get("/test/undeclared")
        async def undeclared() -> dict[str, str]:
            return {"secret": "data"}

        return app

    return build


@pytest.fixture
def app(build_app: Callable[..., FastAPI]) -> FastAPI:
    return build_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
