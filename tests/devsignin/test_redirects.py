"""Where the development sign-in sends a code, and to whom it gives tokens for it.

RFC 9700 4.1.3: a redirect URI is compared as an exact string with the registered
ones, so no look-alike origin, other path or smuggled header line receives a code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.devsignin.router import WEB_CLIENT_ID
from app.main import create_app
from app.settings import Settings
from tests.devsignin.test_devsignin import (
    CALLBACK,
    LOOPBACK,
    WEB,
    authorize_params,
    exchange,
    new_verifier,
    sign_in,
)

LOOK_ALIKES = [
    "http://localhost:5173.evil.example/callback",
    "http://localhost:5173@evil.example/callback",
    "http://evil.example/callback?http://localhost:5173/callback",
    "https://localhost:5173/callback",
    "http://LOCALHOST:5173/callback",
    WEB + "/elsewhere",
    WEB + "/callback/",
    WEB + "/callback?next=/",
    WEB + "/callback#fragment",
    WEB,
]
# Each would be written into Location: a second header line, a NUL, a tab.
CONTROL = ["\r\nSet-Cookie: session=stolen", "\nX-Injected: 1", "\r", "\x00", "\t", "\x7f", " "]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(auth_jwks_file=str(tmp_path / "jwks.json"), cors_allow_origins=[WEB], rate_limit="0")
    app = create_app(settings)
    with TestClient(
        app, base_url=LOOPBACK, client=("127.0.0.1", 50000), raise_server_exceptions=False
    ) as client:
        yield client


def refused_with_a_page(client: TestClient, redirect_uri: str) -> None:
    params = authorize_params(new_verifier(), redirect_uri=redirect_uri)
    for answer in (
        client.get("/local-dev/authorize", params=params, follow_redirects=False),
        client.post(
            "/local-dev/authorize",
            data={**params, "username": "alice", "role": "customer"},
            follow_redirects=False,
        ),
    ):
        assert answer.status_code == 400, (redirect_uri, answer.status_code, answer.headers)
        assert "location" not in answer.headers
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert "redirect_uri is not registered" in answer.text


@pytest.mark.parametrize("redirect_uri", LOOK_ALIKES)
def test_a_look_alike_redirect_uri_gets_a_page_never_a_code(client: TestClient, redirect_uri: str) -> None:
    refused_with_a_page(client, redirect_uri)


# Ids as code points: a node id with a raw control character (or its repr's quotes and
# backslashes) cannot be named again on a command line (mutmut runs tests by id).
@pytest.mark.parametrize("control", CONTROL, ids=lambda text: "-".join(f"U+{ord(c):04X}" for c in text[:2]))
def test_a_redirect_uri_with_control_characters_gets_a_page(client: TestClient, control: str) -> None:
    refused_with_a_page(client, CALLBACK + control)
    refused_with_a_page(client, WEB + control + "/callback")


def test_the_registered_redirect_uri_gets_the_code(client: TestClient) -> None:
    verifier = new_verifier()
    assert exchange(client, sign_in(client, verifier), verifier)["_status"] == 200


def test_a_code_issued_to_one_client_is_refused_to_another(client: TestClient) -> None:
    verifier = new_verifier()
    code = sign_in(client, verifier)
    answer = exchange(client, code, verifier, client_id="another-client")
    assert (answer["_status"], answer["error"]) == (400, "invalid_grant")
    # and the code is spent: the right client cannot use it after the attempt either
    assert exchange(client, code, verifier)["error"] == "invalid_grant"


def test_a_verifier_equal_to_the_challenge_is_refused(client: TestClient) -> None:
    """Plain PKCE smuggled through S256: whoever saw the authorization request knows
    the challenge, so it must never serve as the verifier (RFC 7636 4.6)."""
    verifier = new_verifier()
    code = sign_in(client, verifier)
    challenge = authorize_params(verifier)["code_challenge"]
    answer = exchange(client, code, challenge)
    assert (answer["_status"], answer["error"]) == (400, "invalid_grant")


def test_sign_out_can_revoke_the_refresh_token_as_at_cognito(client: TestClient) -> None:
    """The web app's one sign-out path posts the refresh token and its client id to the
    issuer's revocation endpoint (RFC 7009), here as at Cognito's /oauth2/revoke."""
    discovery = client.get("/local-dev/.well-known/openid-configuration").json()
    assert discovery["revocation_endpoint"] == discovery["issuer"] + "/revoke"
    verifier = new_verifier()
    tokens = exchange(client, sign_in(client, verifier), verifier)
    refresh = str(tokens["refresh_token"])
    assert refresh not in (tokens["access_token"], tokens["id_token"])
    url = "/local-dev/revoke"
    headers = {"Origin": WEB}
    other = client.post(url, data={"token": refresh, "client_id": "another-client"}, headers=headers)
    assert (other.status_code, other.json()["error"]) == (401, "invalid_client")
    assert client.post(url, data={"client_id": WEB_CLIENT_ID}, headers=headers).status_code == 400
    for _ in range(2):  # RFC 7009 2.2: revoking a revoked token is still a 200
        answer = client.post(url, data={"token": refresh, "client_id": WEB_CLIENT_ID}, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == WEB
        assert answer.headers["cache-control"] == "no-store"
