from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from app.http.fields import WholeNumber
from app.menu.wire import item_dict as item_dict  # pydantic-free (the live path), re-exported

ITEM_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ItemId = Annotated[
    str,
    Path(
        pattern=ITEM_ID_PATTERN,
        description="Lower-case letters, digits and dashes, 1-64 characters.",
        examples=["margherita"],
    ),
]


class MenuItemIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"name": "Margherita", "price_cents": 1150, "available": True}]},
    )

    name: str = Field(min_length=1, max_length=100)
    price_cents: WholeNumber = Field(ge=0, le=1_000_000, description="Price in cents.")
    available: bool


class MenuItemOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "margherita", "name": "Margherita", "price_cents": 1150, "available": True}]
        }
    )

    id: str
    name: str
    price_cents: int
    available: bool


class MenuOut(BaseModel):
    items: list[MenuItemOut]
