"""The development sign-in: authorization code with PKCE, tokens the local API trusts."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from app.devsignin.core import DevSignIn, s256
from app.devsignin.router import WEB_CLIENT_ID
from app.main import create_app
from app.settings import LOCAL_ISSUER, Settings

WEB = "http://localhost:5173"
CALLBACK = WEB + "/callback"
LOOPBACK = "http://127.0.0.1:8000"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(auth_jwks_file=str(tmp_path / "jwks.json"), cors_allow_origins=[WEB], rate_limit="0")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # The sign-in answers on loopback only: the addresses uvicorn would put in the scope.
    app = create_app(settings)
    with TestClient(
        app, base_url=LOOPBACK, client=("127.0.0.1", 50000), raise_server_exceptions=False
    ) as client:
        yield client


def authorize_params(verifier: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": WEB_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid orders:read orders:write",
        "state": "st4te",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **extra,
    }


def sign_in(client: TestClient, verifier: str, username: str = "alice", role: str = "customer") -> str:
    """Submit the sign-in form; the code from the redirect."""
    form = {**authorize_params(verifier), "username": username, "role": role}
    answer = client.post("/local-dev/authorize", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["st4te"]
    return query["code"][0]


def exchange(client: TestClient, code: str, verifier: str, **extra: str) -> dict[str, object]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": WEB_CLIENT_ID,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        **extra,
    }
    answer = client.post("/local-dev/token", data=form, headers={"Origin": WEB})
    body: dict[str, object] = answer.json()
    body["_status"] = answer.status_code
    body["_cors"] = answer.headers.get("access-control-allow-origin")
    return body


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def test_discovery_names_the_issuer_and_its_endpoints(client: TestClient) -> None:
    answer = client.get("/local-dev/.well-known/openid-configuration", headers={"Origin": WEB})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == WEB
    document = answer.json()
    assert document["issuer"] == LOCAL_ISSUER
    assert document["authorization_endpoint"] == LOCAL_ISSUER + "/authorize"
    assert document["token_endpoint"] == LOCAL_ISSUER + "/token"
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_a_signed_in_customer_gets_a_token_the_local_api_accepts(client: TestClient) -> None:
    verifier = new_verifier()
    tokens = exchange(client, sign_in(client, verifier), verifier)
    assert tokens["_status"] == 200
    assert tokens["_cors"] == WEB
    me = client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json() == {"sub": "alice", "scopes": ["openid", "orders:read", "orders:write"]}
    assert "cognito:groups" not in jwt.get_unverified_claims(str(tokens["access_token"]))
    identity = jwt.get_unverified_claims(str(tokens["id_token"]))
    assert identity["aud"] == WEB_CLIENT_ID
    assert identity["preferred_username"] == "alice"


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        ("staff", ["openid", "orders:admin", "orders:read", "orders:write"]),
        ("chef", ["menu:write", "openid", "orders:read", "orders:write"]),
    ],
)
def test_the_role_is_a_group_as_cognito_issues_it(client: TestClient, role: str, scopes: list[str]) -> None:
    """The web client's scopes for everyone, the role in cognito:groups; the API's
    group mapping (APP_AUTH_GROUP_ROLES) then grants the role's scope."""
    verifier = new_verifier()
    tokens = exchange(client, sign_in(client, verifier, "sam", role), verifier)
    for token in (tokens["access_token"], tokens["id_token"]):
        claims = jwt.get_unverified_claims(str(token))
        assert claims["cognito:groups"] == [role]
    access = jwt.get_unverified_claims(str(tokens["access_token"]))
    assert access["scope"] == "openid orders:read orders:write"
    me = client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json() == {"sub": "sam", "scopes": scopes}


def test_a_wrong_code_verifier_is_invalid_grant(client: TestClient) -> None:
    code = sign_in(client, new_verifier())
    answer = exchange(client, code, new_verifier())
    assert answer["_status"] == 400
    assert answer["error"] == "invalid_grant"


def test_a_code_is_single_use(client: TestClient) -> None:
    verifier = new_verifier()
    code = sign_in(client, verifier)
    assert exchange(client, code, verifier)["_status"] == 200
    again = exchange(client, code, verifier)
    assert again["_status"] == 400
    assert again["error"] == "invalid_grant"


def test_a_code_for_another_redirect_uri_is_refused(client: TestClient) -> None:
    verifier = new_verifier()
    code = sign_in(client, verifier)
    answer = exchange(client, code, verifier, redirect_uri=WEB + "/elsewhere")
    assert answer["error"] == "invalid_grant"


def test_a_redirect_uri_on_another_origin_gets_a_page_not_a_redirect(client: TestClient) -> None:
    params = authorize_params(new_verifier(), redirect_uri="https://attacker.example/callback")
    answer = client.get("/local-dev/authorize", params=params, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "redirect_uri is not registered" in answer.text


def test_plain_pkce_is_refused_by_redirect(client: TestClient) -> None:
    params = authorize_params(new_verifier(), code_challenge_method="plain")
    answer = client.get("/local-dev/authorize", params=params, follow_redirects=False)
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["st4te"]


def test_the_sign_in_page_has_no_script_and_a_strict_csp(client: TestClient) -> None:
    answer = client.get("/local-dev/authorize", params=authorize_params(new_verifier()))
    assert answer.status_code == 200
    assert "<script" not in answer.text.lower()
    assert " on" not in answer.text.lower().replace(" only", "")  # no inline handlers
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert f"form-action 'self' {WEB}" in csp
    assert answer.headers["cache-control"] == "no-store"


def test_an_expired_code_is_refused(tmp_path: Path) -> None:
    now = [1_000_000.0]
    signin = DevSignIn(
        issuer=LOCAL_ISSUER,
        jwks_file=tmp_path / "jwks.json",
        client_id="web",
        audience="api",
        redirect_uris=[CALLBACK],
        clock=lambda: now[0],
    )
    verifier = new_verifier()
    form = {**authorize_params(verifier, client_id="web"), "username": "alice", "role": "customer"}
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    reply = signin.handle("POST", "/local-dev/authorize", "", body)
    assert reply is not None
    code = parse_qs(urlsplit(dict(reply.headers)["Location"]).query)["code"][0]
    now[0] += 61
    token_body = (
        f"grant_type=authorization_code&code={code}&client_id=web&redirect_uri={CALLBACK}&code_verifier={verifier}"
    ).encode()
    answer = signin.handle("POST", "/local-dev/token", "", token_body)
    assert answer is not None
    assert answer.status == 400


def test_cognito_shaped_tokens_carry_client_id_and_no_aud(tmp_path: Path) -> None:
    """The twin's function expects Cognito access tokens: client_id, no aud, prefixed scopes."""
    signin = DevSignIn(
        issuer="http://127.0.0.1:3000/.twin/issuer",
        jwks_file=tmp_path / "jwks.json",
        client_id="serverless-api-twin",
        audience=None,
        scope_prefix="orders-api/",
        redirect_uris=[CALLBACK],
    )
    verifier = new_verifier()
    form = {**authorize_params(verifier, client_id="serverless-api-twin"), "username": "bo", "role": "chef"}
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    reply = signin.handle("POST", "/.twin/issuer/authorize", "", body)
    assert reply is not None
    code = parse_qs(urlsplit(dict(reply.headers)["Location"]).query)["code"][0]
    token_body = (
        f"grant_type=authorization_code&code={code}&client_id=serverless-api-twin"
        f"&redirect_uri={CALLBACK}&code_verifier={verifier}"
    ).encode()
    answer = signin.handle("POST", "/.twin/issuer/token", "", token_body)
    assert answer is not None
    assert answer.status == 200
    claims = jwt.get_unverified_claims(json.loads(answer.body)["access_token"])
    assert "aud" not in claims
    assert claims["client_id"] == "serverless-api-twin"
    assert claims["scope"] == "openid orders-api/orders:read orders-api/orders:write"
    assert claims["cognito:groups"] == ["chef"]


def test_not_served_outside_the_local_stage(tmp_path: Path) -> None:
    settings = Settings(
        stage="dev",
        auth_issuer="https://issuer.example/pool",
        auth_jwks_file=str(tmp_path / "jwks.json"),
        rate_limit="0",
    )
    assert not settings.serves_dev_signin
    with TestClient(create_app(settings)) as client:
        assert client.get("/pool/.well-known/openid-configuration").status_code == 404


def test_can_be_turned_off_locally(tmp_path: Path) -> None:
    settings = Settings(auth_jwks_file=str(tmp_path / "jwks.json"), dev_signin=False, rate_limit="0")
    with TestClient(create_app(settings)) as client:
        assert client.get("/local-dev/.well-known/openid-configuration").status_code == 404


def test_never_served_on_lambda_whatever_the_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "serverless-api-dev-ApiFunction")
    settings = Settings(auth_jwks_file=str(tmp_path / "jwks.json"), rate_limit="0")
    assert settings.is_local
    assert not settings.serves_dev_signin
