"""HTTP semantics clients, caches and browsers rely on (SPEC "HTTP semantics"), on both stores
and both entry points: HEAD wherever GET is served, a validator on the order list, and one
422 problem for every body that cannot be parsed."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.aws_lambda.adapter import LambdaAdapter
from tests.api.conftest import Token
from tests.lambda_events.conftest import LambdaContext, http_v1, http_v2, rest_v1

PROBLEM = "application/problem+json"
ORIGIN = "http://localhost:5173"
# Headers that differ between any two responses, whatever the method.
PER_RESPONSE = {"x-request-id", "ratelimit", "date"}


def comparable(headers: httpx.Headers | dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items() if name.lower() not in PER_RESPONSE}


@pytest.fixture
def handler(app: FastAPI) -> LambdaAdapter:
    return LambdaAdapter(app)


def place(client: TestClient, headers: dict[str, str], quantity: int = 1) -> dict[str, Any]:
    response = client.post(
        "/orders", json={"lines": [{"item_id": "margherita", "quantity": quantity}]}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


# -- HEAD ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/hello", "/health", "/menu", "/menu/margherita", "/openapi.json", "/docs"]
)
def test_head_answers_like_get_without_a_body(client: TestClient, menu: Any, path: str) -> None:
    get = client.get(path, headers={"Origin": ORIGIN})
    head = client.head(path, headers={"Origin": ORIGIN})
    assert get.status_code == 200
    assert head.status_code == 200
    assert head.content == b""
    assert comparable(head.headers) == comparable(get.headers)
    # The headers a client reads from a HEAD are there, not just equal.
    assert head.headers["access-control-allow-origin"] == ORIGIN
    assert head.headers["x-content-type-options"] == "nosniff"
    assert head.headers["ratelimit"].startswith('"default";r=')
    assert int(head.headers["content-length"]) == len(get.content)


def test_head_of_protected_routes_needs_the_same_token(client: TestClient, menu: Any, auth: Token) -> None:
    order = place(client, auth())
    for path in ("/orders", f"/orders/{order['id']}", "/me"):
        anonymous = client.head(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
        assert anonymous.content == b""
        if path != "/me":  # /me needs a token, no scope
            assert client.head(path, headers=auth(scope="menu:write")).status_code == 403
        get = client.get(path, headers=auth())
        head = client.head(path, headers=auth())
        assert (head.status_code, head.content) == (200, b"")
        assert comparable(head.headers) == comparable(get.headers)


def test_head_answers_conditional_requests(client: TestClient, menu: Any, auth: Token) -> None:
    etag = client.head("/menu").headers["etag"]
    assert client.head("/menu", headers={"If-None-Match": etag}).status_code == 304
    order = place(client, auth())
    order_etag = client.head(f"/orders/{order['id']}", headers=auth()).headers["etag"]
    assert order_etag == '"v1"'
    assert (
        client.head(f"/orders/{order['id']}", headers=auth(**{"If-None-Match": order_etag})).status_code
        == 304
    )


def test_head_of_a_missing_resource_is_404_without_a_body(client: TestClient) -> None:
    missing = client.head("/menu/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.content == b""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/hello", "GET, HEAD"),
        ("POST", "/menu", "GET, HEAD"),
        ("POST", "/menu/margherita", "DELETE, GET, HEAD, PUT"),
        ("DELETE", "/orders", "GET, HEAD, POST"),
    ],
)
def test_405_lists_head_wherever_get_is_listed(
    client: TestClient, auth: Token, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path, headers=auth(scope="orders:read orders:write menu:write"))
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["detail"] == f"{method} is not allowed on {path}"


def test_head_is_logged_as_head(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="app.access"):
        client.head("/hello")
    methods = [record.__dict__["method"] for record in caplog.records if record.name == "app.access"]
    assert methods == ["HEAD"]


@pytest.mark.parametrize("make_event", [http_v2, http_v1, rest_v1])
def test_head_through_the_lambda_handler(
    handler: LambdaAdapter, client: TestClient, menu: Any, make_event: Any
) -> None:
    ctx = LambdaContext()
    get = handler(make_event("GET", "/menu"), ctx)
    head = handler(make_event("HEAD", "/menu"), ctx)
    assert head["statusCode"] == 200
    assert head["body"] == ""
    get_headers = get.get("headers") or {k: v[0] for k, v in get["multiValueHeaders"].items()}
    head_headers = head.get("headers") or {k: v[0] for k, v in head["multiValueHeaders"].items()}
    assert comparable(head_headers) == comparable(get_headers)
    assert head_headers["etag"] == get_headers["etag"]
    protected = handler(make_event("HEAD", "/orders"), ctx)
    assert protected["statusCode"] == 401
    assert protected["body"] == ""


# -- the order list's validator ---------------------------------------------------------


def test_the_order_list_has_an_etag_over_the_whole_page(client: TestClient, menu: Any, auth: Token) -> None:
    alice = auth()
    first = place(client, alice)
    second = place(client, alice, quantity=2)
    listed = client.get("/orders", headers=alice)
    assert listed.status_code == 200
    etag = listed.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert listed.headers["cache-control"] == "private, no-cache"
    assert client.get("/orders", headers=alice).headers["etag"] == etag

    # Unchanged: 304 with the validator and no body.
    unchanged = client.get("/orders", headers={**alice, "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert unchanged.headers["cache-control"] == "private, no-cache"

    # A change to an order that is not the first on the page changes the tag.
    assert listed.json()["items"][1]["id"] == first["id"]
    cancelled = client.patch(
        f"/orders/{first['id']}", json={"status": "cancelled"}, headers={**alice, "If-Match": '"v1"'}
    )
    assert cancelled.status_code == 200
    changed = client.get("/orders", headers={**alice, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert [o["id"] for o in changed.json()["items"]] == [second["id"], first["id"]]


def test_each_page_of_the_list_has_its_own_etag(client: TestClient, menu: Any, auth: Token) -> None:
    alice = auth()
    for _ in range(3):
        place(client, alice)
    page1 = client.get("/orders", params={"limit": 2}, headers=alice)
    page2 = client.get("/orders", params={"limit": 2, "cursor": page1.json()["next_cursor"]}, headers=alice)
    assert page1.headers["etag"] != page2.headers["etag"]
    # The first page's tag does not validate the second page.
    stale = client.get(
        "/orders",
        params={"limit": 2, "cursor": page1.json()["next_cursor"]},
        headers={**alice, "If-None-Match": page1.headers["etag"]},
    )
    assert stale.status_code == 200
    # A new order pushes the first page along: same limit, new tag.
    place(client, alice)
    assert client.get("/orders", params={"limit": 2}, headers=alice).headers["etag"] != page1.headers["etag"]


def test_the_order_list_etag_is_exposed_to_other_origins(client: TestClient, auth: Token) -> None:
    listed = client.get("/orders", headers=auth(Origin=ORIGIN))
    assert listed.headers["access-control-allow-origin"] == ORIGIN
    assert "ETag" in listed.headers["access-control-expose-headers"].split(", ")
    assert listed.headers["etag"]


# -- bodies that cannot be parsed --------------------------------------------------------

UNPARSEABLE = {
    "nested too deep": b"[" * 100_000,
    "nested too deep, closed": b"[" * 100_000 + b"]" * 100_000,
    "integer past the digit limit": b'{"name": "Big", "price_cents": '
    + b"9" * 5_000
    + b', "available": true}',
    "invalid UTF-8": b'{"name": "\xff\xfe", "price_cents": 100, "available": true}',
    "truncated": b'{"name": "Margherita", "price_cents": 11',
    "empty object then junk": b"{} junk",
}


def assert_malformed(status: int, content_type: str, body: bytes) -> None:
    assert status == 422
    assert content_type == PROBLEM
    problem = json.loads(body)
    assert problem["type"] == "urn:serverless-api:problem:malformed-json"
    assert problem["status"] == 422
    assert problem["errors"][0]["field"].startswith("body")
    assert "Traceback" not in body.decode()


@pytest.mark.parametrize("body", UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
def test_every_unparseable_body_is_the_malformed_json_problem(
    client: TestClient, auth: Token, chef: dict[str, str], body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    menu_write = client.put("/menu/big", content=body, headers={**chef, **headers})
    assert_malformed(menu_write.status_code, menu_write.headers["content-type"], menu_write.content)
    order = client.post("/orders", content=body, headers={**auth(), **headers})
    assert_malformed(order.status_code, order.headers["content-type"], order.content)
    # Nothing was written.
    assert client.get("/menu").json() == {"items": []}
    assert client.get("/orders", headers=auth()).json()["items"] == []


@pytest.mark.parametrize("body", UNPARSEABLE.values(), ids=UNPARSEABLE.keys())
def test_every_unparseable_body_is_the_malformed_json_problem_on_lambda(
    handler: LambdaAdapter, chef: dict[str, str], body: bytes
) -> None:
    event = http_v2(
        "PUT", "/menu/big", stage="prod", headers={**chef, "content-type": "application/json"},
        body=body, base64_body=True,
    )  # fmt: skip
    result = handler(event, LambdaContext())
    raw = base64.b64decode(result["body"]) if result.get("isBase64Encoded") else result["body"].encode()
    assert_malformed(result["statusCode"], result["headers"]["content-type"], raw)
    after = handler(http_v2("GET", "/menu/big", stage="prod"), LambdaContext())
    assert after["statusCode"] == 404
