from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response

from app.auth.dependencies import OrdersAdmin, OrdersReader, OrdersWriter
from app.http.etags import ETAGS_PATTERN, none_match, strong_etag
from app.http.fields import header_schema
from app.http.problems import Problem, problem_responses
from app.http.routes import api_router
from app.orders import service
from app.orders.schemas import (
    OpenOrdersOut,
    OrderId,
    OrderIn,
    OrderOut,
    OrderPageOut,
    StatusChange,
    order_dict,
    order_etag,
    order_json,
)
from app.store.base import Store

# Every order route needs a token with a scope, validates its input and reads the store.
router = api_router(prefix="/orders", tags=["orders"], responses=problem_responses(401, 403, 422, 429, 503))

# Orders are private: a browser may keep them but must revalidate each time.
PRIVATE_CACHE = "private, no-cache"
_PRINTABLE = frozenset(range(0x20, 0x7F))
# The same rule as a schema, so clients (and the fuzz tests) know it; documented
# only, not enforced by FastAPI, which would answer 422 where the contract says 400.
# (The HTTP layer strips outer spaces, so the schema asks for none there.)
IDEMPOTENCY_KEY_SCHEMA = header_schema(
    minLength=1, maxLength=255, pattern=r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
)
# If-Match is required (428 without it, RFC 6585) and malformed is 400, not
# FastAPI's 422: the route reads it as optional and documents it by hand.
IF_MATCH_PARAMETER = {
    "name": "if-match",
    "in": "header",
    "required": True,
    "description": 'The ETag you read, e.g. "v1".',
    "schema": {"type": "string", "pattern": ETAGS_PATTERN, "examples": ['"v1"']},
}


class BadIdempotencyKey(Problem):
    status = 400
    type_slug = "bad-idempotency-key"


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(get_store)]


# OpenAPI links: what a client (and the stateful fuzz tests) can do next with the
# order a response names. operationRef is a JSON pointer, braces percent-encoded.
_GET_ORDER = "#/paths/~1orders~1%7Border_id%7D/get"
_PATCH_ORDER = "#/paths/~1orders~1%7Border_id%7D/patch"
ORDER_LINKS = {
    "GetOrder": {
        "operationRef": _GET_ORDER,
        "parameters": {"order_id": "$response.body#/id"},
        "description": "Read the order.",
    },
    "ChangeOrderStatus": {
        "operationRef": _PATCH_ORDER,
        "parameters": {"order_id": "$response.body#/id", "header.if-match": "$response.header.ETag"},
        "description": "Change its status, conditional on the version just seen.",
    },
}
ORDER_HEADERS = {
    "ETag": {"required": True, "schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
}


def _order_response(body: str, status: int, order_id: str, version: int, root: str) -> Response:
    headers = {"ETag": order_etag(version), "Cache-Control": PRIVATE_CACHE}
    if status == 201:
        headers["Location"] = f"{root}/orders/{order_id}"
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@router.post(
    "",
    response_model=OrderOut,
    status_code=201,
    summary="Place an order",
    description="Prices come from the menu. Send an `Idempotency-Key` to make retries safe: "
    "a retry with the same key and body returns the first result with `Idempotent-Replayed: true`.",
    responses={
        201: {
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}, **ORDER_HEADERS},
            "links": ORDER_LINKS,
        },
        **problem_responses(
            400,
            413,
            described={
                409: "A request with this Idempotency-Key is in progress",
                422: "Invalid body, unknown or unavailable items, or a reused Idempotency-Key",
            },
        ),
    },
)
async def place_order(
    body: OrderIn,
    store: StoreDep,
    principal: OrdersWriter,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="1-255 printable characters, unique per intended order.",
            json_schema_extra=IDEMPOTENCY_KEY_SCHEMA,
        ),
    ] = None,
) -> Response:
    if idempotency_key is not None and not (
        1 <= len(idempotency_key) <= 255 and all(ord(c) in _PRINTABLE for c in idempotency_key)
    ):
        raise BadIdempotencyKey("Idempotency-Key must be 1-255 printable ASCII characters.")
    stored, replayed = await service.place_order(store, principal, body, idempotency_key)
    order = json.loads(stored.body)
    response = _order_response(
        stored.body, stored.status, order["id"], order["version"], request.scope.get("root_path", "")
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.get(
    "",
    response_model=OrderPageOut,
    summary="Your orders, newest first",
    description="The `ETag` covers the whole page (every order on it, each at its version, and "
    "`next_cursor`): send it back in `If-None-Match` to get a `304` while the page is unchanged.",
    responses={
        200: {"headers": ORDER_HEADERS},
        304: {"description": "Not modified (If-None-Match matched)", "headers": ORDER_HEADERS},
    },
)
async def list_orders(
    store: StoreDep,
    principal: OrdersReader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64, description="From `next_cursor`.")] = None,
    if_none_match: Annotated[str | None, Header(description="A previous ETag: 304 if unchanged.")] = None,
) -> Response:
    page = await service.list_orders(store, principal, limit, cursor)
    body = json.dumps(
        {
            "items": [order_dict(order) for order in page.items],
            "next_cursor": service.encode_cursor(page.next_after) if page.next_after else None,
        },
        separators=(",", ":"),
    ).encode()
    # A strong validator over exactly the bytes this page answers with.
    headers = {"ETag": strong_etag(body), "Cache-Control": PRIVATE_CACHE}
    if none_match(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    summary="One of your orders (any order with orders:admin)",
    responses={
        200: {"headers": ORDER_HEADERS, "links": {"ChangeOrderStatus": ORDER_LINKS["ChangeOrderStatus"]}},
        304: {"description": "Not modified"},
        **problem_responses(described={404: "No such order of yours"}),
    },
)
async def get_order(
    order_id: OrderId,
    store: StoreDep,
    principal: OrdersReader,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    order = await service.get_visible_order(store, principal, order_id)
    etag = order_etag(order.version)
    if none_match(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": PRIVATE_CACHE})
    return _order_response(order_json(order), 200, order.id, order.version, "")


@router.patch(
    "/{order_id}",
    response_model=OrderOut,
    summary="Change an order's status",
    description="The owner may cancel a placed order; `orders:admin` moves placed -> preparing -> ready "
    "-> served. Send the order's ETag in `If-Match`.",
    openapi_extra={"parameters": [IF_MATCH_PARAMETER]},
    responses={
        200: {"headers": ORDER_HEADERS, "links": ORDER_LINKS},
        **problem_responses(
            400,
            412,
            413,
            428,
            described={
                403: "The token lacks orders:write, or only staff may make this move",
                404: "No such order of yours",
                409: "The state machine does not allow this move",
            },
        ),
    },
)
async def patch_order(
    order_id: OrderId,
    body: StatusChange,
    store: StoreDep,
    principal: OrdersWriter,
    if_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    order = await service.change_status(store, principal, order_id, body.status, if_match)
    return _order_response(order_json(order), 200, order.id, order.version, "")


# The kitchen's board: every customer's open orders, for staff.
kitchen_router = api_router(
    prefix="/kitchen", tags=["kitchen"], responses=problem_responses(401, 403, 422, 429, 503)
)


@kitchen_router.get(
    "/orders",
    response_model=OpenOrdersOut,
    summary="Open orders of every customer, oldest first (staff)",
    description="Orders that are `placed`, `preparing` or `ready`. Each carries its `version`: "
    'send `If-Match: "v{version}"` when moving it; a `412` means someone moved it first.',
    responses={200: {"headers": {"Cache-Control": {"schema": {"type": "string"}}}}},
)
async def list_open_orders(
    store: StoreDep,
    principal: OrdersAdmin,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> Response:
    orders = await service.list_open_orders(store, limit)
    body = json.dumps({"items": [order_dict(order) for order in orders]}, separators=(",", ":"))
    return Response(body, media_type="application/json", headers={"Cache-Control": PRIVATE_CACHE})
