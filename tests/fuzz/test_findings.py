"""What the schema-driven fuzzer found, pinned as plain tests (in process, fast).

Each was a disagreement between the OpenAPI document and the running app; the
fix went into the product (see test_schemathesis.py for the fuzzer itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.auth.tokens import Issuer

PROBLEM = "application/problem+json"


@pytest.fixture
def client(tmp_path: Path, trust: dict[str, Any]) -> Iterator[TestClient]:
    settings = Settings(
        **trust,
        rate_limit="0",
        sqlite_path=str(tmp_path / "app.db"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def staff() -> dict[str, str]:
    token = Issuer().token(sub="staff", scope="orders:read orders:write orders:admin menu:write")
    return {"Authorization": f"Bearer {token}"}


def test_error_statuses_are_documented_as_problem_json(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if operation.get("security"):
                assert "401" in responses, (method, path)
            for status, response in responses.items():
                if int(status) >= 400 and not (path == "/health" and status == "503"):
                    assert list(response["content"]) == [PROBLEM], (method, path, status)


def test_401_and_422_bodies_are_what_the_document_says(client: TestClient) -> None:
    unauthenticated = client.get("/orders")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == PROBLEM
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    invalid = client.get("/menu/NOT-AN-ID")
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == PROBLEM
    assert {"type", "title", "status", "detail", "errors"} <= set(invalid.json())


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/menu/margherita", "DELETE, GET, HEAD, PUT"),
        ("POST", "/menu/margherita", "DELETE, GET, HEAD, PUT"),
        ("POST", "/hello", "GET, HEAD"),
    ],
)
def test_405_allow_names_every_method_of_the_path(
    client: TestClient, staff: dict[str, str], method: str, path: str, allowed: str
) -> None:
    # Three routes share /menu/{item_id}; Starlette named only the first one's methods.
    response = client.request(method, path, headers=staff)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == PROBLEM


def test_405_on_orders_item_names_get_and_patch(client: TestClient, staff: dict[str, str]) -> None:
    response = client.request("OPTIONS", "/orders/01JDQ3V8Y6Q0W6D3W6X4T9M2KZ", headers=staff)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, PATCH"


def test_integral_numbers_written_as_floats_are_integers(client: TestClient, staff: dict[str, str]) -> None:
    # JSON Schema's "integer" includes 2.0; the strict models refused it.
    put = client.put(
        "/menu/margherita",
        json={"name": "Margherita", "price_cents": 1150.0, "available": True},
        headers=staff,
    )
    assert put.status_code == 201
    assert put.json()["price_cents"] == 1150
    order = client.post(
        "/orders", json={"lines": [{"item_id": "margherita", "quantity": 2.0}]}, headers=staff
    )
    assert order.status_code == 201
    assert order.json()["lines"][0]["quantity"] == 2
    for bad in (2.5, "2", True):
        body: dict[str, Any] = {"lines": [{"item_id": "margherita", "quantity": bad}]}
        assert client.post("/orders", json=body, headers=staff).status_code == 422


@pytest.mark.parametrize("body", [b"F\xb9\x8b?A\xee*", b'"\xff"', b"\xff"])
def test_a_body_that_is_not_utf8_is_malformed_json(
    client: TestClient, staff: dict[str, str], body: bytes
) -> None:
    # It was FastAPI's 400 "There was an error parsing the body", undocumented on PUT /menu.
    headers = {**staff, "Content-Type": "application/json"}
    response = client.put("/menu/margherita", content=body, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith(":malformed-json")


def test_if_match_reads_entity_tags_that_contain_commas(client: TestClient, staff: dict[str, str]) -> None:
    # An opaque tag may contain ","; splitting the list on "," made a valid header a 400.
    client.put("/menu/margherita", json={"name": "M", "price_cents": 100, "available": True}, headers=staff)
    order = client.post("/orders", json={"lines": [{"item_id": "margherita", "quantity": 1}]}, headers=staff)
    url = f"/orders/{order.json()['id']}"
    stale = client.patch(url, json={"status": "preparing"}, headers={**staff, "If-Match": 'W/"a,b" , "x,y"'})
    assert stale.status_code == 412
    current = client.patch(url, json={"status": "preparing"}, headers={**staff, "If-Match": '"x,y", "v1"'})
    assert current.status_code == 200
    assert (
        client.patch(url, json={"status": "ready"}, headers={**staff, "If-Match": '"v2" "v3"'}).status_code
        == 400
    )


def test_headers_are_documented_as_strings_with_their_rules(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    post = {p["name"]: p for p in document["paths"]["/orders"]["post"]["parameters"]}
    key = post["idempotency-key"]["schema"]
    assert key["type"] == "string"
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    patch = {p["name"]: p for p in document["paths"]["/orders/{order_id}"]["patch"]["parameters"]}
    assert patch["if-match"]["required"] is True
    assert patch["if-match"]["schema"]["type"] == "string"


def test_links_chain_writes_to_reads(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    placed = paths["/orders"]["post"]["responses"]["201"]["links"]
    assert set(placed) == {"GetOrder", "ChangeOrderStatus"}
    assert placed["GetOrder"]["parameters"] == {"order_id": "$response.body#/id"}
    put = paths["/menu/{item_id}"]["put"]["responses"]
    for status in ("200", "201"):
        assert set(put[status]["links"]) == {"GetMenuItem", "DeleteMenuItem"}
