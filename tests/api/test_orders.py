"""The orders endpoints, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import Token

ONE_PIZZA = {"lines": [{"item_id": "margherita", "quantity": 2}]}


def place(client: TestClient, headers: dict[str, str], body: dict[str, Any] = ONE_PIZZA) -> Any:
    response = client.post("/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response


def test_place_an_order_priced_from_the_menu(client: TestClient, menu: Any, auth: Token) -> None:
    body = {
        "lines": [{"item_id": "margherita", "quantity": 2}, {"item_id": "calzone", "quantity": 1}],
        "note": "hi",
    }
    response = place(client, auth(), body)
    order = response.json()
    assert order["customer"] == "alice"
    assert order["status"] == "placed"
    assert order["total_cents"] == 2 * 1150 + 1300
    assert order["lines"][0] == {
        "item_id": "margherita",
        "name": "Margherita",
        "quantity": 2,
        "unit_price_cents": 1150,
    }
    assert order["note"] == "hi"
    assert order["version"] == 1
    assert order["created_at"].endswith("Z")
    assert response.headers["location"] == f"/orders/{order['id']}"
    assert response.headers["etag"] == '"v1"'
    assert response.headers["cache-control"] == "private, no-cache"


def test_the_client_cannot_set_a_price(client: TestClient, menu: Any, auth: Token) -> None:
    body = {"lines": [{"item_id": "margherita", "quantity": 1, "unit_price_cents": 1}]}
    response = client.post("/orders", json=body, headers=auth())
    assert response.status_code == 422
    assert "body.lines.0.unit_price_cents" in [e["field"] for e in response.json()["errors"]]


def test_unknown_and_unavailable_items_are_422_naming_the_line(
    client: TestClient, menu: Any, auth: Token
) -> None:
    body = {
        "lines": [
            {"item_id": "margherita", "quantity": 1},
            {"item_id": "tiramisu", "quantity": 1},
            {"item_id": "truffle", "quantity": 1},
        ]
    }
    response = client.post("/orders", json=body, headers=auth())
    assert response.status_code == 422
    errors = {e["field"]: e["code"] for e in response.json()["errors"]}
    assert errors == {"body.lines.1.item_id": "unknown_item", "body.lines.2.item_id": "unavailable_item"}
    assert client.get("/orders", headers=auth()).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"item_id": "margherita", "quantity": 0}]}, "body.lines.0.quantity"),
        ({"lines": [{"item_id": "margherita", "quantity": 101}]}, "body.lines.0.quantity"),
        ({"lines": [{"item_id": "margherita", "quantity": -3}]}, "body.lines.0.quantity"),
        ({"lines": [{"item_id": "margherita", "quantity": 10**30}]}, "body.lines.0.quantity"),
        ({"lines": [{"item_id": "margherita", "quantity": "2"}]}, "body.lines.0.quantity"),
        # 2.0 is an integer to JSON Schema (and so to the OpenAPI document): accepted as 2.
        ({"lines": [{"item_id": "margherita", "quantity": 2.5}]}, "body.lines.0.quantity"),
        ({"lines": []}, "body.lines"),
        ({"lines": [{"item_id": "margherita", "quantity": 1}] * 51}, "body.lines"),
        ({"lines": "margherita"}, "body.lines"),
        ({}, "body.lines"),
        ({"lines": [{"item_id": "margherita", "quantity": 1}], "note": "x" * 501}, "body.note"),
        ({"lines": [{"item_id": "margherita", "quantity": 1}], "note": 5}, "body.note"),
        ({"lines": [{"item_id": "margherita", "quantity": 1}], "customer": "bob"}, "body.customer"),
        ({"lines": [{"item_id": "Margherita!", "quantity": 1}]}, "body.lines.0.item_id"),
    ],
)
def test_bad_orders_are_422_and_write_nothing(
    client: TestClient, menu: Any, auth: Token, body: dict[str, Any], field: str
) -> None:
    response = client.post("/orders", json=body, headers=auth())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get("/orders", headers=auth()).json()["items"] == []


def test_malformed_json_is_422(client: TestClient, menu: Any, auth: Token) -> None:
    headers = auth(**{"Content-Type": "application/json"})
    response = client.post("/orders", content=b'{"lines": [', headers=headers)
    assert response.status_code == 422
    assert response.json()["title"] == "Malformed JSON"


def test_orders_need_their_scopes(client: TestClient, menu: Any, auth: Token) -> None:
    assert client.post("/orders", json=ONE_PIZZA).status_code == 401
    assert client.post("/orders", json=ONE_PIZZA, headers=auth(scope="orders:read")).status_code == 403
    assert client.get("/orders", headers=auth(scope="orders:write")).status_code == 403


def test_read_your_own_order(client: TestClient, menu: Any, auth: Token) -> None:
    created = place(client, auth()).json()
    response = client.get(f"/orders/{created['id']}", headers=auth())
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["etag"] == '"v1"'
    assert response.headers["cache-control"] == "private, no-cache"
    again = client.get(f"/orders/{created['id']}", headers=auth(**{"If-None-Match": '"v1"'}))
    assert again.status_code == 304


def test_another_customers_order_is_404_never_403(
    client: TestClient, menu: Any, auth: Token, staff: Any
) -> None:
    created = place(client, auth("alice")).json()
    response = client.get(f"/orders/{created['id']}", headers=auth("bob"))
    assert response.status_code == 404
    missing = client.get("/orders/01JDQ3V8Y6Q0W6D3W6X4T9M2KZ", headers=auth("bob"))
    assert missing.status_code == 404
    assert response.json()["detail"].replace(created["id"], "X") == missing.json()["detail"].replace(
        "01JDQ3V8Y6Q0W6D3W6X4T9M2KZ", "X"
    )
    assert client.get(f"/orders/{created['id']}", headers=staff).status_code == 200


def test_bad_order_id_is_422(client: TestClient, auth: Token) -> None:
    assert client.get("/orders/not-an-id", headers=auth()).status_code == 422


def test_list_newest_first_with_cursor(client: TestClient, menu: Any, auth: Token) -> None:
    ids = [place(client, auth()).json()["id"] for _ in range(5)]
    place(client, auth("bob"))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/orders", params=params, headers=auth())
        assert page.status_code == 200
        assert page.headers["cache-control"] == "private, no-cache"
        body = page.json()
        seen.extend(order["id"] for order in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3
    assert len(client.get("/orders", headers=auth()).json()["items"]) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"cursor": "garbage"},
        {"cursor": "MDFKRFEzVjhZNlEwVzZEM1c2WDRUOU0yS1o="},
        {"cursor": "x" * 100},
    ],
)
def test_bad_list_parameters_are_422(client: TestClient, auth: Token, params: dict[str, Any]) -> None:
    response = client.get("/orders", params=params, headers=auth())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_cursor_this_api_did_not_issue_names_the_field(client: TestClient, auth: Token) -> None:
    response = client.get("/orders", params={"cursor": "garbage"}, headers=auth())
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:serverless-api:problem:validation"
    assert body["errors"] == [
        {"field": "query.cursor", "message": "invalid cursor", "code": "invalid_cursor"}
    ]


# -- PATCH ---------------------------------------------------------------------


def test_patch_without_if_match_is_428(client: TestClient, menu: Any, auth: Token) -> None:
    order = place(client, auth()).json()
    response = client.patch(f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth())
    assert response.status_code == 428


def test_patch_with_stale_etag_is_412(client: TestClient, menu: Any, auth: Token, staff: Any) -> None:
    order = place(client, auth()).json()
    moved = client.patch(
        f"/orders/{order['id']}", json={"status": "preparing"}, headers={**staff, "If-Match": '"v1"'}
    )
    assert moved.status_code == 200
    assert moved.headers["etag"] == '"v2"'
    stale = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth(**{"If-Match": '"v1"'})
    )
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"v2"'  # the current version, to read again or retry with
    assert client.get(f"/orders/{order['id']}", headers=auth()).json()["status"] == "preparing"


def test_a_status_change_moves_updated_at(
    client: TestClient, menu: Any, auth: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = place(client, auth()).json()
    monkeypatch.setattr("app.orders.service.rfc3339_now", lambda: "2999-01-01T00:00:00.000Z")
    moved = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth(**{"If-Match": '"v1"'})
    )
    assert moved.status_code == 200
    assert moved.json()["updated_at"] == "2999-01-01T00:00:00.000Z"
    assert moved.json()["created_at"] == order["created_at"]
    assert (
        client.get(f"/orders/{order['id']}", headers=auth()).json()["updated_at"]
        == "2999-01-01T00:00:00.000Z"
    )


@pytest.mark.parametrize("if_match", ['"abc"', '"v"', 'W/"v1"', '"v1.0"'])
def test_patch_with_a_version_that_is_no_version_is_412(
    client: TestClient, menu: Any, auth: Token, if_match: str
) -> None:
    order = place(client, auth()).json()
    response = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth(**{"If-Match": if_match})
    )
    assert response.status_code == 412


def test_patch_with_a_malformed_if_match_is_400(client: TestClient, menu: Any, auth: Token) -> None:
    order = place(client, auth()).json()
    response = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth(**{"If-Match": "v1"})
    )
    assert response.status_code == 400


def test_owner_cancels_a_placed_order_once(client: TestClient, menu: Any, auth: Token) -> None:
    order = place(client, auth()).json()
    cancelled = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth(**{"If-Match": '"v1"'})
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["version"] == 2
    assert cancelled.json()["updated_at"] >= order["updated_at"]
    again = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth(**{"If-Match": '"v2"'})
    )
    assert again.status_code == 409


def test_owner_cannot_move_an_order_through_the_kitchen(client: TestClient, menu: Any, auth: Token) -> None:
    order = place(client, auth()).json()
    response = client.patch(
        f"/orders/{order['id']}", json={"status": "preparing"}, headers=auth(**{"If-Match": '"v1"'})
    )
    assert response.status_code == 403
    assert 'scope="orders:admin"' in response.headers["www-authenticate"]


def test_staff_move_an_order_to_served(client: TestClient, menu: Any, auth: Token, staff: Any) -> None:
    order = place(client, auth()).json()
    version = 1
    for status in ("preparing", "ready", "served"):
        response = client.patch(
            f"/orders/{order['id']}", json={"status": status}, headers={**staff, "If-Match": f'"v{version}"'}
        )
        assert response.status_code == 200, response.text
        version += 1
        assert response.json()["version"] == version
    late = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers={**staff, "If-Match": '"v4"'}
    )
    assert late.status_code == 409
    skip = place(client, auth()).json()
    jump = client.patch(
        f"/orders/{skip['id']}", json={"status": "served"}, headers={**staff, "If-Match": '"v1"'}
    )
    assert jump.status_code == 409


def test_another_customer_cannot_patch(client: TestClient, menu: Any, auth: Token) -> None:
    order = place(client, auth("alice")).json()
    response = client.patch(
        f"/orders/{order['id']}", json={"status": "cancelled"}, headers=auth("bob", **{"If-Match": '"v1"'})
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body", [{"status": "eaten"}, {}, {"status": "cancelled", "version": 9}, {"status": 1}]
)
def test_bad_patch_bodies_are_422(client: TestClient, menu: Any, auth: Token, body: dict[str, Any]) -> None:
    order = place(client, auth()).json()
    response = client.patch(f"/orders/{order['id']}", json=body, headers=auth(**{"If-Match": '"v1"'}))
    assert response.status_code == 422
    assert client.get(f"/orders/{order['id']}", headers=auth()).json()["version"] == 1


# -- Idempotency-Key -------------------------------------------------------------


def test_a_retry_replays_the_first_result(client: TestClient, menu: Any, auth: Token) -> None:
    headers = auth(**{"Idempotency-Key": "order-123"})
    first = client.post("/orders", json=ONE_PIZZA, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    retry = client.post(
        "/orders", json={"lines": [{"quantity": 2, "item_id": "margherita"}]}, headers=headers
    )
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["etag"] == first.headers["etag"]
    assert len(client.get("/orders", headers=auth()).json()["items"]) == 1


def test_same_key_other_body_is_422(client: TestClient, menu: Any, auth: Token) -> None:
    headers = auth(**{"Idempotency-Key": "order-123"})
    place(client, headers)
    other = client.post("/orders", json={"lines": [{"item_id": "calzone", "quantity": 1}]}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency-key-reused")
    assert len(client.get("/orders", headers=auth()).json()["items"]) == 1


@pytest.mark.parametrize(
    ("first_note", "retry_note"),
    [("No onions", "Extra onions"), ("No onions", None), (None, "No onions")],
    ids=["changed", "dropped", "added"],
)
def test_same_key_same_lines_another_note_is_422(
    client: TestClient, menu: Any, auth: Token, first_note: str | None, retry_note: str | None
) -> None:
    """The fingerprint covers the whole body, not only the lines: the same key with the
    same lines and another note is another request, never a replay of the first."""
    headers = auth(**{"Idempotency-Key": "order-note"})

    def body(note: str | None) -> dict[str, Any]:
        return ONE_PIZZA if note is None else {**ONE_PIZZA, "note": note}

    first = place(client, headers, body(first_note)).json()
    retry = client.post("/orders", json=body(retry_note), headers=headers)
    assert retry.status_code == 422
    assert retry.json()["type"].endswith("idempotency-key-reused")
    assert "idempotent-replayed" not in retry.headers
    (only,) = client.get("/orders", headers=auth()).json()["items"]
    assert (only["id"], only["note"]) == (first["id"], first_note)


def test_keys_are_per_caller(client: TestClient, menu: Any, auth: Token) -> None:
    alice = place(client, auth("alice", **{"Idempotency-Key": "k1"})).json()
    bob = place(client, auth("bob", **{"Idempotency-Key": "k1"})).json()
    assert alice["id"] != bob["id"]
    assert bob["customer"] == "bob"


def test_a_failed_request_does_not_burn_its_key(client: TestClient, menu: Any, auth: Token) -> None:
    headers = auth(**{"Idempotency-Key": "k2"})
    bad = client.post("/orders", json={"lines": [{"item_id": "tiramisu", "quantity": 1}]}, headers=headers)
    assert bad.status_code == 422
    assert client.post("/orders", json=ONE_PIZZA, headers=headers).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ünicode"])
def test_bad_idempotency_keys_are_400(client: TestClient, menu: Any, auth: Token, key: str) -> None:
    headers = auth()
    response = client.post("/orders", json=ONE_PIZZA, headers={**headers, "Idempotency-Key": key.encode()})  # type: ignore[dict-item]
    assert response.status_code == 400
    assert client.get("/orders", headers=auth()).json()["items"] == []


def test_health_reports_the_store(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"store": "ok"}
