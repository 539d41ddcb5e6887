"""A fresh local run shows a restaurant: the demo menu, on both stores, and only where it belongs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.menu.demo import DEMO_MENU
from app.settings import Settings
from app.store.base import MenuItem
from app.store.factory import build_store
from tests.api.conftest import settings_from
from tests.auth.tokens import AUDIENCE, ISSUER


def menu_of(settings: Settings) -> list[dict[str, object]]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/menu")
        assert response.status_code == 200
        return response.json()["items"]  # type: ignore[no-any-return]


def test_an_empty_local_store_gets_the_demo_menu(backend_settings: dict[str, str]) -> None:
    items = menu_of(settings_from(backend_settings, demo_menu=True))
    assert {item["id"] for item in items} == {item.id for item in DEMO_MENU}
    assert 4 <= len(items) <= 8
    assert [item["id"] for item in items if not item["available"]] == ["truffle-special"]
    assert all(isinstance(item["price_cents"], int) and item["price_cents"] > 0 for item in items)
    # A second start finds the menu and leaves it as it is.
    assert menu_of(settings_from(backend_settings, demo_menu=True)) == items


def test_the_demo_menu_never_writes_over_a_menu(backend_settings: dict[str, str]) -> None:
    settings = settings_from(backend_settings, demo_menu=True)
    store = build_store(settings)
    try:
        store.put_menu_item(MenuItem("house-special", "House special", 1800, True))
    finally:
        store.close()
    items = menu_of(settings)
    assert [item["id"] for item in items] == ["house-special"]


def test_the_cloud_starts_empty(backend_settings: dict[str, str]) -> None:
    # Any stage but local, even with the setting left on.
    settings = settings_from(
        backend_settings, stage="dev", demo_menu=True, auth_issuer=ISSUER, auth_audience=[AUDIENCE]
    )
    assert menu_of(settings) == []


def test_the_demo_menu_can_be_turned_off(backend_settings: dict[str, str]) -> None:
    assert menu_of(settings_from(backend_settings, demo_menu=False)) == []
