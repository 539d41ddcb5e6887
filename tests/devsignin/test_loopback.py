"""The development sign-in answers only on loopback: a laptop's server bound to every
interface (uvicorn --host 0.0.0.0) must not hand password-less tokens to the network.

The refusals are shown at the ASGI level (the addresses are the scope's, as uvicorn
sets them from the connection's socket; no packet leaves this machine), the loopback
case through a real uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.devsignin.test_devsignin import CALLBACK, WEB, authorize_params, new_verifier
from tests.e2e.conftest import Server, free_port, run_server

LOOPBACK = ("127.0.0.1", 51000)
# Documentation addresses (RFC 5737, RFC 3849): only ever written into a scope here.
ELSEWHERE = ("192.0.2.7", 51000)
ELSEWHERE_V6 = ("2001:db8::7", 51000)


def app_on(tmp_path: Path, server: tuple[str, int], client: tuple[str, int]) -> TestClient:
    settings = Settings(auth_jwks_file=str(tmp_path / "jwks.json"), cors_allow_origins=[WEB], rate_limit="0")
    host = f"[{server[0]}]" if ":" in server[0] else server[0]
    return TestClient(create_app(settings), base_url=f"http://{host}:{server[1]}", client=client)


@pytest.mark.parametrize(
    ("server", "client"),
    [(ELSEWHERE, ELSEWHERE), (ELSEWHERE, LOOPBACK), (LOOPBACK, ELSEWHERE), (ELSEWHERE_V6, ELSEWHERE_V6)],
    ids=["lan-to-lan", "lan-interface", "forwarded-from-lan", "ipv6"],
)
def test_refused_off_loopback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, server: tuple[str, int], client: tuple[str, int]
) -> None:
    with app_on(tmp_path, server, client) as api, caplog.at_level(logging.WARNING):
        for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json", "/authorize"):
            answer = api.get(f"/local-dev{path}", params=authorize_params(new_verifier()))
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/problem+json"
        token = api.post("/local-dev/token", data={"grant_type": "authorization_code", "code": "x"})
        assert token.status_code == 404
        assert api.get("/health").status_code == 200  # the API itself still answers
    assert not (tmp_path / "jwks.json").exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings  # said once, not once per request
    assert "loopback" in warnings[0]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("loopback")
    port = free_port()
    env = {
        "APP_AUTH_ISSUER": f"http://127.0.0.1:{port}/local-dev",
        "APP_AUTH_JWKS_FILE": str(tmp / "jwks.json"),
        "APP_CORS_ALLOW_ORIGINS": WEB,
    }
    with run_server(tmp, env, port=port) as server:
        yield server


def test_answers_on_loopback_under_uvicorn(served: Server) -> None:
    answer = httpx.get(f"{served.url}/local-dev/authorize", params=authorize_params(new_verifier()))
    assert answer.status_code == 200
    assert "Development sign-in" in answer.text


@pytest.mark.parametrize("tail", ["\r\nSet-Cookie: session=stolen", "\n", "\x00"], ids=repr)
def test_a_header_line_in_the_redirect_uri_gets_a_page_under_uvicorn(served: Server, tail: str) -> None:
    """Written raw into Location, uvicorn dropped the connection: the person saw nothing."""
    params = authorize_params(new_verifier(), redirect_uri=CALLBACK + tail)
    url = f"{served.url}/local-dev/authorize"
    form = {**params, "username": "alice", "role": "customer"}
    for answer in (httpx.get(url, params=params), httpx.post(url, data=form)):
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "set-cookie" not in answer.headers
        assert "redirect_uri is not registered" in answer.text
