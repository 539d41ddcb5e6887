"""Every operation's OpenAPI ``operationId`` is its endpoint's name: a generated client
(openapi-python-client, the web app's types) names its methods after them, so they are
pinned here; renaming one is a breaking change for every client and must be deliberate."""

from __future__ import annotations

from app.main import create_app
from app.settings import Settings

PINNED = {
    ("get", "/"): "index",
    ("get", "/health"): "health",
    ("get", "/hello"): "hello",
    ("get", "/me"): "me",
    ("get", "/menu"): "list_menu",
    ("get", "/menu/{item_id}"): "get_menu_item",
    ("put", "/menu/{item_id}"): "put_menu_item",
    ("delete", "/menu/{item_id}"): "delete_menu_item",
    ("post", "/orders"): "place_order",
    ("get", "/orders"): "list_orders",
    ("get", "/orders/{order_id}"): "get_order",
    ("patch", "/orders/{order_id}"): "patch_order",
    ("get", "/kitchen/orders"): "list_open_orders",
}


def operation_ids() -> dict[tuple[str, str], str]:
    document = create_app(Settings()).openapi()
    return {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_every_operation_is_named_after_its_endpoint_and_pinned() -> None:
    assert operation_ids() == PINNED


def test_operation_ids_are_unique() -> None:
    ids = list(operation_ids().values())
    assert len(ids) == len(set(ids))
