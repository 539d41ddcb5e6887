"""A menu item as the API writes it (``GET /menu/{id}``'s body), without pydantic
(the live path imports it; :mod:`app.menu.schemas` re-exports it)."""

from __future__ import annotations

from app.store.base import MenuItem


def item_dict(item: MenuItem) -> dict[str, object]:
    return {"id": item.id, "name": item.name, "price_cents": item.price_cents, "available": item.available}
