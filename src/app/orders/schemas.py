from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from app.http.fields import WholeNumber
from app.menu.schemas import ITEM_ID_PATTERN
from app.orders.ids import ORDER_ID_PATTERN
from app.orders.wire import order_dict as order_dict  # pydantic-free (the live path), re-exported
from app.orders.wire import order_json as order_json
from app.store.base import OrderStatus

OrderId = Annotated[str, Path(pattern=ORDER_ID_PATTERN, examples=["01JDQ3V8Y6Q0W6D3W6X4T9M2KZ"])]


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    item_id: str = Field(pattern=ITEM_ID_PATTERN, examples=["margherita"])
    quantity: WholeNumber = Field(ge=1, le=100, examples=[2])


class OrderIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"lines": [{"item_id": "margherita", "quantity": 2}], "note": "Extra basil, please"}]
        },
    )

    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=500)

    def fingerprint_source(self) -> str:
        """Canonical JSON of the request: retries with reordered keys still match."""
        return json.dumps(self.model_dump(), sort_keys=True, separators=(",", ":"))


class StatusChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"status": "cancelled"}]}
    )

    status: OrderStatus


class OrderLineOut(BaseModel):
    item_id: str
    name: str
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    id: str = Field(description="Sorts by creation time.")
    customer: str = Field(description="The `sub` of the token that placed it.")
    status: Literal["placed", "preparing", "ready", "served", "cancelled"]
    lines: list[OrderLineOut]
    total_cents: int
    note: str | None
    created_at: str = Field(description="RFC 3339, UTC.")
    updated_at: str = Field(description="RFC 3339, UTC.")
    version: int = Field(description="Increases with every change; the ETag is derived from it.")


class OrderPageOut(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class OpenOrdersOut(BaseModel):
    items: list[OrderOut]


def order_etag(version: int) -> str:
    return f'"v{version}"'
