"""Roles from Cognito groups (SPEC "Roles in the cloud"): a person signed in through the
web client holds customer scopes only, and their group in `cognito:groups` makes them
staff or chef, on both backends."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from tests.auth.tokens import Issuer

from .conftest import Token, settings_from
from .test_kitchen import move
from .test_orders import place

CUSTOMER = "orders:read orders:write"
DISH = {"name": "Margherita", "price_cents": 1150, "available": True}


def person(group: str | None, *, sub: str = "kim", **claims: Any) -> dict[str, str]:
    """A web client's token: customer scopes, and the group Cognito puts in it."""
    if group is not None:
        claims["cognito:groups"] = [group]
    return {"Authorization": f"Bearer {Issuer().token(sub=sub, scope=CUSTOMER, **claims)}"}


def test_a_cook_in_the_staff_group_moves_an_order_on_the_board(
    client: TestClient, menu: Any, auth: Token
) -> None:
    order = place(client, auth("alice")).json()
    cook = person("staff")
    board = client.get("/kitchen/orders", headers=cook)
    assert board.status_code == 200
    assert [o["id"] for o in board.json()["items"]] == [order["id"]]
    assert move(client, cook, order, "preparing")["status"] == "preparing"


def test_a_chef_in_the_chef_group_changes_the_menu(client: TestClient) -> None:
    response = client.put("/menu/margherita", json=DISH, headers=person("chef"))
    assert response.status_code == 201, response.text
    assert client.get("/menu/margherita").json()["name"] == "Margherita"


def test_without_the_group_a_customer_token_is_refused(client: TestClient, menu: Any) -> None:
    order = place(client, person(None)).json()  # kim's own order: only staff may move it on
    for headers in (person(None), person("diners"), person("chef")):
        assert client.get("/kitchen/orders", headers=headers).status_code == 403
        patch = {**headers, "If-Match": f'"v{order["version"]}"'}
        moved = client.patch(f"/orders/{order['id']}", json={"status": "preparing"}, headers=patch)
        assert moved.status_code == 403
    for headers in (person(None), person("staff")):
        assert client.put("/menu/margherita", json=DISH, headers=headers).status_code == 403


def test_a_group_in_a_token_from_another_issuer_grants_nothing(client: TestClient) -> None:
    other = person("chef", iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
    response = client.put("/menu/margherita", json=DISH, headers=other)
    assert response.status_code == 401
    assert response.json()["detail"] == "token issuer is not accepted"


def test_a_malformed_groups_claim_is_refused_not_ignored(client: TestClient) -> None:
    for groups in ("staff", [["staff"]], {"staff": True}, [1]):
        headers = {"Authorization": f"Bearer {Issuer().token(scope=CUSTOMER, **{'cognito:groups': groups})}"}
        response = client.get("/orders", headers=headers)
        assert response.status_code == 401, groups
        assert response.json()["detail"] == "token cognito:groups is malformed"


def test_the_mapping_is_the_setting(backend_settings: dict[str, str], trust: dict[str, Any]) -> None:
    app: FastAPI = create_app(settings_from(backend_settings, **trust, auth_group_roles="chefs=menu:write"))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.put("/menu/margherita", json=DISH, headers=person("chefs")).status_code == 201
        # The default's group names grant nothing once the setting names others.
        assert client.put("/menu/margherita", json=DISH, headers=person("chef")).status_code == 403
