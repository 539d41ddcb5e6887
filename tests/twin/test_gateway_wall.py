"""The gateway's own wall through the twin: the template's JWT authorizer turns away
requests without a valid token before the function runs (nothing is invoked, nothing
billed), and the app's own checks still stand behind it."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from jose import jwt

from app.devtoken import ensure_key
from tests.auth.tokens import Issuer
from tests.deploy.test_gateway_authorizer import app_routes
from tests.twin.conftest import Twin, get

ORIGIN = "https://app.example.com"


def invocations(cloud: Twin) -> int:
    return len(cloud.reports())


def twin_token(cloud: Twin, **claims: object) -> str:
    """A token from the twin's issuer key with the given claims changed."""
    token = cloud.token("mallory", "orders:read")
    pem, kid = ensure_key(cloud.state_dir / "jwks.json")
    current = jwt.get_unverified_claims(token)
    return str(jwt.encode({**current, **claims}, pem.decode(), algorithm="RS256", headers={"kid": kid}))


def assert_gateway_401(response: httpx.Response, error_description: str | None) -> None:
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert response.headers["apigw-requestid"]
    assert "x-request-id" not in response.headers  # the app never saw it
    challenge = response.headers["www-authenticate"]
    if error_description is None:
        assert challenge == "Bearer"
    else:
        assert challenge == f'Bearer scope="" error="invalid_token" error_description="{error_description}"'


def test_the_authorizer_comes_from_the_template(cloud: Twin) -> None:
    assert "substituted gateway authorizer: JWT" in cloud.log()


@pytest.mark.parametrize("path", ["/orders", "/me", "/orders/01JDQ3V8Y6Q0W6D3W6X4T9M2KZ", "/nothing"])
def test_no_token_is_the_gateways_401_and_invokes_nothing(cloud: Twin, path: str) -> None:
    before = invocations(cloud)
    assert_gateway_401(get(f"{cloud.url}{path}"), None)
    assert_gateway_401(httpx.delete(f"{cloud.url}/menu/margherita", timeout=30), None)
    assert invocations(cloud) == before


def test_no_token_with_every_method_the_app_routes_is_the_gateways_401(cloud: Twin) -> None:
    """Each protected (method, path) of the app, as the deployed app has them: none reaches
    the function without a token, whatever its method (a PUT or PATCH left unguarded too)."""
    protected = sorted(route for route, is_public in app_routes().items() if not is_public)
    assert {method for method, _ in protected} >= {"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}
    cloud.settle()  # one request per route: fewer than the stage's burst of 20
    before = invocations(cloud)
    for method, path in protected:
        url = cloud.url + re.sub(r"\{[^}]+\}", "margherita", path)
        body = {"json": {"name": "M"}} if method in ("PUT", "PATCH", "POST") else {}
        response = httpx.request(method, url, timeout=30, **body)  # type: ignore[arg-type]
        if method == "HEAD":  # the same answer without its body
            assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")
            assert "x-request-id" not in response.headers
            continue
        assert_gateway_401(response, None)
    assert invocations(cloud) == before
    cloud.settle()


def test_bad_tokens_are_the_gateways_401_and_invoke_nothing(cloud: Twin) -> None:
    before = invocations(cloud)
    now = int(time.time())
    cases = {
        "expired": (twin_token(cloud, exp=now - 60), "the token is not valid"),
        "wrong audience": (
            twin_token(cloud, client_id="someone-else"),
            "the token does not have a valid audience",
        ),
        "wrong issuer": (twin_token(cloud, iss="https://issuer.example"), "the token is not valid"),
        "wrong key": (Issuer().token(sub="mallory", scope="orders:read"), "the token's kid is not one of"),
        "not a JWT": ("not-a-token", "the token is not a JWT"),
    }
    for name, (token, reason) in cases.items():
        response = get(f"{cloud.url}/orders", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json() == {"message": "Unauthorized"}, name
        assert reason in response.headers["www-authenticate"], name
    assert invocations(cloud) == before


def test_a_valid_token_reaches_the_app_whose_scopes_still_apply(cloud: Twin) -> None:
    before = invocations(cloud)
    reader = cloud.bearer("alice", "orders:read")
    listed = get(f"{cloud.url}/orders", headers=reader)
    assert listed.status_code == 200
    assert listed.headers["x-request-id"]
    # The gateway checks who you are; the app checks what you may do.
    refused = httpx.put(
        f"{cloud.url}/menu/margherita",
        json={"name": "M", "price_cents": 1, "available": True},
        headers=reader,
        timeout=30,
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert invocations(cloud) == before + 2


def test_public_routes_and_preflights_need_no_token(cloud: Twin) -> None:
    cloud.settle()  # 18 requests in a row: a full bucket of 20
    before = invocations(cloud)
    for path in (
        "/",
        "/hello",
        "/health",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/menu",
        "/docs/assets/favicon.png",
    ):
        assert get(f"{cloud.url}{path}").status_code == 200, path
        assert httpx.head(f"{cloud.url}{path}", timeout=30).status_code == 200, path
    assert get(f"{cloud.url}/menu/no-such-dish").status_code == 404  # the app's answer, not the gateway's
    # A preflight reaches the app's CORS layer (the dev stack allows no origin: a 403 problem).
    preflight = httpx.options(
        f"{cloud.url}/orders",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.headers["content-type"] == "application/problem+json"
    assert preflight.json()["type"].endswith(":cors-origin-refused")
    assert invocations(cloud) == before + 8 * 2 + 2
    cloud.settle()  # 19 requests left the bucket nearly empty: full again for the next test


@pytest.mark.parametrize(
    "path",
    [
        "/menu%2F..%2Forders",
        "/menu/..%2Forders",
        "/menu/%2e%2e/orders",
        "/menu/x/../../orders",
        "//orders",
        "/menu//orders",
        "/MENU/../orders",
        "/Orders",
        "/menu/%2Forders",
        "/docs/assets/..%2F..%2Forders",
    ],
)
def test_no_odd_path_reaches_a_protected_route_through_a_public_one(cloud: Twin, path: str) -> None:
    response = get(f"{cloud.url}{path}")
    if response.headers.get("x-request-id") is None:
        # The gateway took it for a protected route: refused before the function.
        assert_gateway_401(response, None)
        return
    # A public gateway route let it through: the app never serves orders for it.
    assert response.status_code in (404, 422), (path, response.status_code)
    assert response.headers["content-type"] == "application/problem+json"
    assert "items" not in response.text


def test_a_flood_without_tokens_invokes_nothing(cloud: Twin) -> None:
    cloud.settle()
    before = invocations(cloud)
    sent = 40
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: get(f"{cloud.url}/orders").status_code, range(sent)))
    # Refused by the authorizer, or first by the stage's throttling: never the function.
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) >= 20
    assert invocations(cloud) - before == 0
    cloud.settle()  # leave the stage's bucket full for the next test
