"""CORS and security headers, in process (the browser proves the same in tests/browser)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.middleware import public

ALLOWED = "https://app.example.com"
PREFLIGHT = {"Origin": ALLOWED, "Access-Control-Request-Method": "PATCH"}


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    app = make_app(cors_allow_origins=[ALLOWED], rate_limit="3/minute")

    @app.get("/test/crash")
    @public
    async def crash() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_preflight_is_answered_without_a_token(client: TestClient) -> None:
    response = client.options(
        "/orders/01JDQ3V8Y6Q0W6D3W6X4T9M2KZ",
        headers={**PREFLIGHT, "Access-Control-Request-Headers": "authorization, content-type, if-match"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    for name in ("authorization", "content-type", "idempotency-key", "if-match", "if-none-match"):
        assert name in allowed_headers
    assert int(response.headers["access-control-max-age"]) > 0
    assert "Origin" in response.headers["vary"]
    assert "ratelimit" not in response.headers  # preflights never reach the limiter


def test_preflight_from_an_unknown_origin_gets_no_allow_origin(client: TestClient) -> None:
    response = client.options("/orders", headers={**PREFLIGHT, "Origin": "https://evil.example.com"})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("origin", "method", "slug", "detail"),
    [
        (
            "https://evil.example.com",
            "GET",
            "cors-origin-refused",
            "This origin may not call the API from a browser.",
        ),
        (ALLOWED, "TRACE", "cors-method-refused", "TRACE is not allowed cross-origin."),
    ],
)
def test_a_refused_preflight_is_a_precise_403(
    client: TestClient, origin: str, method: str, slug: str, detail: str
) -> None:
    response = client.options("/orders", headers={"Origin": origin, "Access-Control-Request-Method": method})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in response.headers
    body = response.json()
    assert body["type"] == f"urn:serverless-api:problem:{slug}"
    assert body["detail"] == detail


def test_lookalike_origins_are_not_allowed(client: TestClient) -> None:
    for origin in (
        "https://app.example.com.evil.com",
        "http://app.example.com",
        "https://APP.example.com",
        "null",
    ):
        response = client.get("/hello", headers={"Origin": origin})
        assert "access-control-allow-origin" not in response.headers, origin


LOCAL_WEB = "http://localhost:5173"
LOCAL_LOOKALIKES = (
    "http://localhost:51730",  # the allowed origin is a prefix of it
    "http://localhost:517",  # ...and it is a prefix of the allowed origin
    "http://localhost:5173.evil.example",
    "http://evil-localhost:5173",  # the allowed origin minus its scheme is a suffix of it
    "https://localhost:5173",
    "http://localhost",
    "http://localhost:5173/",
)


@pytest.mark.parametrize("origin", LOCAL_LOOKALIKES)
def test_preflight_from_a_lookalike_origin_is_refused(make_app: Callable[..., FastAPI], origin: str) -> None:
    app = make_app(cors_allow_origins=["http://localhost:3000", LOCAL_WEB])
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    with TestClient(app) as client:
        allowed = client.options("/orders", headers={**preflight, "Origin": LOCAL_WEB})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == LOCAL_WEB

        refused = client.options("/orders", headers={**preflight, "Origin": origin})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "access-control-allow-origin" not in refused.headers
        assert "access-control-allow-methods" not in refused.headers
        assert "access-control-allow-headers" not in refused.headers
        # ...and an actual request from it is not readable either.
        simple = client.get("/hello", headers={"Origin": origin})
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers
        assert "access-control-expose-headers" not in simple.headers


def test_simple_response_exposes_the_headers_a_client_reads(client: TestClient) -> None:
    response = client.get("/menu", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {
        "etag",
        "location",
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "idempotent-replayed",
    } <= exposed
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(("path", "status"), [("/orders", 401), ("/nope", 404), ("/test/crash", 500)])
def test_errors_carry_cors_headers(client: TestClient, path: str, status: int) -> None:
    response = client.get(path, headers={"Origin": ALLOWED})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_422_and_429_carry_cors_headers(client: TestClient) -> None:
    bad = client.get("/orders/not-an-id", headers={"Origin": ALLOWED})
    assert bad.headers["access-control-allow-origin"] == ALLOWED
    for _ in range(5):
        limited = client.get("/hello", headers={"Origin": ALLOWED})
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == ALLOWED


def test_vary_origin_even_without_an_origin(client: TestClient) -> None:
    assert "Origin" in client.get("/hello").headers["vary"]


def test_security_headers_everywhere(client: TestClient) -> None:
    for path in ("/hello", "/nope", "/test/crash"):
        response = client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in response.headers  # local: no TLS


def test_docs_get_a_csp_that_lets_them_load_only_from_self(client: TestClient) -> None:
    csp = client.get("/docs").headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "cdn" not in client.get("/docs").text


def test_hsts_outside_local(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(stage="prod", auth_issuer="https://issuer.example.com")
    with TestClient(app) as client:
        assert client.get("/hello").headers["strict-transport-security"].startswith("max-age=")
