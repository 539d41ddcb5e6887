"""Request values as the OpenAPI document describes them.

JSON Schema counts ``2.0`` as an integer (a number whose fractional part is
zero), and some clients write every number that way. The request models are
strict, so pydantic alone would refuse ``2.0`` for an ``int`` field although the
documented schema accepts it; :data:`WholeNumber` takes it as ``2``. Strings,
booleans and fractions are still refused.

An optional header is absent or a string, never ``null``; FastAPI documents
``str | None`` as "string or null", which tells clients (and fuzzers) that
``null`` is a value to send. :func:`header_schema` documents it as a string with
the given constraints instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator


def _integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_integral)]


def header_schema(**constraints: Any) -> Callable[[dict[str, Any]], None]:
    """``Header(json_schema_extra=header_schema(maxLength=255))``: a string, documented only.

    The constraints are not enforced by FastAPI (a route may owe a specific
    status for a bad value); the route checks them itself.
    """

    def edit(schema: dict[str, Any]) -> None:
        schema.pop("anyOf", None)
        schema["type"] = "string"
        schema.update(constraints)

    return edit
