"""A Python client generated from the served OpenAPI document (openapi-python-client, as
a Python user would run it) carries the README's journey against a real uvicorn server:
the chef fills the menu, a customer reads it, places an order with an Idempotency-Key
and reads it back, staff move it on with If-Match, and the problems come back parsed.

The document is fetched from the server (``/openapi.json``, what a client author
reads) and the client generated once per module into a temporary directory, with no
post-generation hooks (the generator's default runs a formatter, which this test does
not need and which is not a pinned dev tool)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from .conftest import Server
from .test_devtoken import devtoken, server_dir

PACKAGE = "restaurant_client"
# The modules a Python user imports, one per operation, named by its operationId.
OPERATIONS = {
    "auth": {"me"},
    "kitchen": {"list_open_orders"},
    "menu": {"list_menu", "get_menu_item", "put_menu_item", "delete_menu_item"},
    "orders": {"place_order", "list_orders", "get_order", "patch_order"},
    "service": {"index", "health", "hello"},
}


@pytest.fixture(scope="module")
def client_package(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The generated package's directory; importable while the module's tests run."""
    where = tmp_path_factory.mktemp("generated")
    document = where / "openapi.json"
    document.write_text(httpx.get(server.url + "/openapi.json").text)
    config = where / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    generated = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--config", str(config),
         "--meta", "none", "--output-path", str(where / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(where))
    try:
        yield where / PACKAGE
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def token(server: Server, *args: str) -> str:
    minted = devtoken(server_dir(server), *args)
    assert minted.returncode == 0, minted.stderr
    return minted.stdout.strip()


def authed(server: Server, bearer: str) -> Any:
    return module("client").AuthenticatedClient(base_url=server.url, token=bearer, timeout=10.0)


def move(status: str) -> Any:
    models = module("models")
    return models.StatusChange(status=models.StatusChangeStatus(status))


def test_methods_are_named_after_the_operations(client_package: Path) -> None:
    """`orders.place_order`, not `orders.place_order_orders_post`: what a user types."""
    found = {
        tag.name: {p.stem for p in tag.glob("*.py") if p.stem != "__init__"}
        for tag in sorted((client_package / "api").iterdir())
        if tag.is_dir() and not tag.name.startswith("__")
    }
    assert found == OPERATIONS
    for tag, names in OPERATIONS.items():
        for name in names:
            assert callable(module(f"api.{tag}.{name}").sync_detailed)


def test_the_readme_journey_through_the_generated_client(server: Server, client_package: Path) -> None:
    models = module("models")
    menu_api, orders_api = module("api.menu"), module("api.orders")
    chef = authed(server, token(server, "--sub", "chef", "--group", "chef"))
    alice = authed(server, token(server, "--sub", "alice", "--scope", "orders:read orders:write"))
    staff = authed(server, token(server, "--sub", "staff", "--group", "staff"))
    anyone = module("client").Client(base_url=server.url, timeout=10.0)

    item = models.MenuItemIn(name="Margherita", price_cents=1150, available=True)
    put = menu_api.put_menu_item.sync_detailed("margherita", client=chef, body=item)
    assert put.status_code == 201
    menu = menu_api.list_menu.sync(client=anyone)
    assert isinstance(menu, models.MenuOut)
    assert [(i.id, i.price_cents) for i in menu.items] == [("margherita", 1150)]

    order_in = models.OrderIn(lines=[models.OrderLineIn(item_id="margherita", quantity=2)])
    placed = orders_api.place_order.sync_detailed(client=alice, body=order_in, idempotency_key="checkout-1")
    assert placed.status_code == 201
    assert placed.headers["etag"] == '"v1"'
    order = placed.parsed
    assert isinstance(order, models.OrderOut)
    assert (order.total_cents, order.status.value) == (2300, "placed")
    again = orders_api.place_order.sync_detailed(client=alice, body=order_in, idempotency_key="checkout-1")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parsed.id == order.id

    read = orders_api.get_order.sync(order.id, client=alice)
    assert isinstance(read, models.OrderOut)
    assert (read.id, read.version, read.lines[0].unit_price_cents) == (order.id, 1, 1150)

    moved = orders_api.patch_order.sync_detailed(
        order.id, client=staff, body=move("preparing"), if_match='"v1"'
    )
    assert moved.status_code == 200
    assert (moved.parsed.status.value, moved.headers["etag"]) == ("preparing", '"v2"')


def test_problem_bodies_come_back_parsed(server: Server, client_package: Path) -> None:
    models = module("models")
    orders_api = module("api.orders")
    alice = authed(server, token(server, "--sub", "alice", "--scope", "orders:read orders:write"))
    staff = authed(server, token(server, "--sub", "staff", "--group", "staff"))

    missing = orders_api.get_order.sync_detailed("01J0000000000000000000000Z", client=alice)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert isinstance(missing.parsed, models.Problem)
    assert missing.parsed.status == 404

    chef = authed(server, token(server, "--sub", "chef", "--group", "chef"))
    item = models.MenuItemIn(name="Marinara", price_cents=900, available=True)
    put = module("api.menu").put_menu_item.sync_detailed("marinara", client=chef, body=item)
    assert put.status_code in {200, 201}
    order = orders_api.place_order.sync(
        client=alice, body=models.OrderIn(lines=[models.OrderLineIn(item_id="marinara", quantity=1)])
    )
    assert isinstance(order, models.OrderOut)
    assert (
        orders_api.patch_order.sync(order.id, client=staff, body=move("preparing"), if_match='"v1"').version
        == 2
    )
    stale = orders_api.patch_order.sync_detailed(order.id, client=staff, body=move("ready"), if_match='"v1"')
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Problem)
    assert (stale.parsed.status, stale.parsed.title) == (412, "Precondition Failed")

    unknown = orders_api.place_order.sync_detailed(
        client=alice, body=models.OrderIn(lines=[models.OrderLineIn(item_id="calzone", quantity=1)])
    )
    assert unknown.status_code == 422
    assert isinstance(unknown.parsed, models.Problem)
    assert [(e.field, e.code) for e in unknown.parsed.errors] == [("body.lines.0.item_id", "unknown_item")]
