"""Deny by default, RFC 6750 challenges, scopes, the principal and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.dependencies import scopes
from app.auth.middleware import public
from app.auth.principal import Principal

from .conftest import bearer
from .tokens import Issuer


def test_no_token_is_401_with_a_bare_challenge(client: TestClient) -> None:
    response = client.get("/test/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_a_new_undeclared_route_is_protected(client: TestClient, issuer: Issuer) -> None:
    assert client.get("/test/undeclared").status_code == 401
    assert client.get("/test/undeclared", headers=bearer(issuer.token())).status_code == 200


def test_a_route_added_after_start_is_protected_too(app: FastAPI, client: TestClient) -> None:
    assert client.get("/hello").status_code == 200

    @app.get("/test/late")
    async def late() -> dict[str, str]:
        return {"late": "yes"}

    assert client.get("/test/late").status_code == 401


def test_public_routes_need_no_token(client: TestClient) -> None:
    for path in ("/hello", "/health", "/", "/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui.css"):
        assert client.get(path).status_code == 200, path


def test_a_bad_token_does_not_block_a_public_route(client: TestClient) -> None:
    assert client.get("/hello", headers=bearer("garbage")).status_code == 200


def test_wrong_method_on_a_public_path_is_405_not_401(client: TestClient) -> None:
    assert client.post("/hello").status_code == 405


def test_wrong_method_on_a_protected_path_is_401_before_405(client: TestClient, issuer: Issuer) -> None:
    # Without a token nothing about a protected path is told, not even its methods.
    for method, path in (("DELETE", "/orders"), ("PUT", "/test/me"), ("POST", "/test/undeclared")):
        response = client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == 'Bearer realm="api"'
        assert "allow" not in response.headers
    # With one, the wrong method is what it is.
    response = client.delete("/orders", headers=bearer(issuer.token()))
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]


def test_public_is_per_route_not_per_path(app: FastAPI, client: TestClient, issuer: Issuer) -> None:
    # A public GET does not make an undeclared POST on the same path public.
    @app.get("/test/mixed")
    @public
    async def mixed_read() -> dict[str, str]:
        return {"read": "anyone"}

    @app.post("/test/mixed")
    async def mixed_write() -> dict[str, str]:
        return {"written": "secret"}

    assert client.get("/test/mixed").status_code == 200
    response = client.post("/test/mixed")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert client.post("/test/mixed", headers=bearer(issuer.token())).json() == {"written": "secret"}


def test_unknown_path_is_404_not_401(client: TestClient) -> None:
    assert client.get("/no/such/path").status_code == 404


def test_cors_preflight_needs_no_token(client: TestClient) -> None:
    response = client.options(
        "/test/me",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "GET" in response.headers["access-control-allow-methods"].split(", ")
    assert "Authorization" in response.headers["access-control-allow-headers"].split(", ")
    assert "Origin" in response.headers["vary"]
    assert "www-authenticate" not in response.headers


def test_preflight_headers_do_not_open_a_protected_route_to_other_methods(client: TestClient) -> None:
    # Only an OPTIONS request is a preflight: the same two headers on a real request are no pass.
    headers = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}
    for method in ("GET", "POST", "DELETE"):
        response = client.request(method, "/test/undeclared", headers=headers)
        assert response.status_code == 401, method
        assert response.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "http://localhost:3000"}, {"Access-Control-Request-Method": "GET"}],
    ids=["bare", "origin-only", "request-method-only"],
)
def test_an_options_request_that_is_no_preflight_needs_a_token(
    client: TestClient, headers: dict[str, str]
) -> None:
    # A preflight has both headers (and CORS answers it further out); any other OPTIONS is a request.
    response = client.options("/test/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_missing_scope_is_403_insufficient_scope(client: TestClient, issuer: Issuer) -> None:
    response = client.get("/test/orders", headers=bearer(issuer.token(scope="orders:write")))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="orders:read"'
    )
    assert response.json()["status"] == 403


def test_scp_list_grants_scopes(client: TestClient, issuer: Issuer) -> None:
    token = issuer.token(scope=..., scp=["orders:read"])
    assert client.get("/test/orders", headers=bearer(token)).status_code == 200


def test_scope_prefix_is_honoured(build_app: Callable[..., FastAPI], issuer: Issuer) -> None:
    with TestClient(build_app(auth_scope_prefix="orders-api/")) as client:
        prefixed = issuer.token(scope="orders-api/orders:read")
        assert client.get("/test/orders", headers=bearer(prefixed)).status_code == 200
        bare = issuer.token(scope="orders:read")
        assert client.get("/test/orders", headers=bearer(bare)).status_code == 403


def test_handlers_get_a_typed_principal(app: FastAPI, issuer: Issuer) -> None:
    seen: list[Principal] = []

    @app.get("/test/principal")
    async def principal(who: Principal = scopes("orders:write")) -> dict[str, str]:
        seen.append(who)
        return {"sub": who.sub}

    with TestClient(app) as client:
        assert client.get("/test/principal", headers=bearer(issuer.token(sub="bob"))).status_code == 200
    assert seen[0].sub == "bob"
    assert seen[0].scopes == frozenset({"orders:read", "orders:write"})
    assert seen[0].claims["iss"] == issuer.claims()["iss"]


def test_openapi_shows_bearer_and_scopes_on_protected_operations(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": scheme["description"],
    }
    assert spec["paths"]["/test/orders"]["get"]["security"] == [{"bearer": ["orders:read"]}]
    assert spec["paths"]["/test/me"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/hello"]["get"]


def test_me_endpoint_reports_the_caller(client: TestClient, issuer: Issuer) -> None:
    response = client.get("/me", headers=bearer(issuer.token(sub="carol", scope="orders:read")))
    assert response.status_code == 200
    assert response.json() == {"sub": "carol", "scopes": ["orders:read"]}
    assert response.headers["cache-control"] == "private, no-store"
