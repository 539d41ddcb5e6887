"""The kitchen's board: every customer's open orders, for staff only, on both backends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .conftest import Token
from .test_orders import place


def move(client: TestClient, staff: dict[str, str], order: dict[str, Any], status: str) -> dict[str, Any]:
    headers = {**staff, "If-Match": f'"v{order["version"]}"'}
    response = client.patch(f"/orders/{order['id']}", json={"status": status}, headers=headers)
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


def test_staff_see_every_customers_open_orders_oldest_first(
    client: TestClient, menu: Any, auth: Token, staff: dict[str, str]
) -> None:
    alices = place(client, auth("alice")).json()
    bobs = place(client, auth("bob")).json()
    response = client.get("/kitchen/orders", headers=staff)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    assert [(o["id"], o["customer"], o["status"]) for o in response.json()["items"]] == [
        (alices["id"], "alice", "placed"),
        (bobs["id"], "bob", "placed"),
    ]


def test_served_and_cancelled_orders_leave_the_board(
    client: TestClient, menu: Any, auth: Token, staff: dict[str, str]
) -> None:
    first = place(client, auth("alice")).json()
    second = place(client, auth("bob")).json()
    third = place(client, auth("carol")).json()
    ready = move(client, staff, move(client, staff, first, "preparing"), "ready")
    move(client, staff, move(client, staff, move(client, staff, second, "preparing"), "ready"), "served")
    cancel = client.patch(
        f"/orders/{third['id']}", json={"status": "cancelled"}, headers={**auth("carol"), "If-Match": '"v1"'}
    )
    assert cancel.status_code == 200
    board = client.get("/kitchen/orders", headers=staff).json()["items"]
    assert [(o["id"], o["status"], o["version"]) for o in board] == [(first["id"], "ready", ready["version"])]


def test_the_board_needs_orders_admin(client: TestClient, menu: Any, auth: Token) -> None:
    place(client, auth("alice"))
    assert client.get("/kitchen/orders").status_code == 401
    refused = client.get("/kitchen/orders", headers=auth("alice"))
    assert refused.status_code == 403
    assert 'scope="orders:admin"' in refused.headers["www-authenticate"]


def test_the_board_limit_is_1_to_100(client: TestClient, staff: dict[str, str]) -> None:
    assert client.get("/kitchen/orders?limit=0", headers=staff).status_code == 422
    assert client.get("/kitchen/orders?limit=101", headers=staff).status_code == 422
    assert client.get("/kitchen/orders?limit=100", headers=staff).status_code == 200
