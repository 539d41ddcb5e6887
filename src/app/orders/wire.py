"""An order as the API writes it (``GET /orders/{id}``'s body), without pydantic.

The live path (app.live, the stream consumer on Lambda) builds the same JSON and
must not import pydantic or FastAPI; :mod:`app.orders.schemas` re-exports these.
"""

from __future__ import annotations

import json

from app.store.base import Order


def order_dict(order: Order) -> dict[str, object]:
    return {
        "id": order.id,
        "customer": order.customer,
        "status": order.status,
        "lines": [
            {
                "item_id": line.item_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
            }
            for line in order.lines
        ],
        "total_cents": order.total_cents,
        "note": order.note,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "version": order.version,
    }


def order_json(order: Order) -> str:
    return json.dumps(order_dict(order), separators=(",", ":"))
