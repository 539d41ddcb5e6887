"""A real JWKS endpoint on loopback, served by the tests, and an app that trusts it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.dependencies import CurrentPrincipal, OrdersReader
from app.auth.keys import JwksCache
from app.auth.verify import TokenVerifier
from app.main import create_app
from app.settings import Settings

from .tokens import AUDIENCE, ISSUER, Issuer


class JwksServer:
    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.requests = 0
        self.mode = "ok"  # "ok", "down" (503), "slow" (answers after slow_seconds)
        self.slow_seconds = 5.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.mode == "slow":
                    time.sleep(server.slow_seconds)
                if server.mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(server.issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out on the slow endpoint: expected here

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def jwks_server(issuer: Issuer) -> Iterator[JwksServer]:
    server = JwksServer(issuer)
    yield server
    server.close()


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
        verifier = TokenVerifier(
            keys,
            issuer=settings.auth_issuer,
            audiences=settings.auth_audience,
            scope_prefix=settings.auth_scope_prefix,
            token_use=settings.auth_token_use,
        )
        app = create_app(settings, verifier=verifier)
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
