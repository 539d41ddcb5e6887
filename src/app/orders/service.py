"""Placing, reading and moving orders; the rules live here, storage behind ``Store``."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from app.auth.principal import Principal
from app.http.etags import if_match as matches
from app.http.problems import Problem
from app.orders.ids import is_order_id, new_order_id
from app.orders.schemas import OrderIn, order_etag, order_json
from app.store import blocking
from app.store.base import (
    IdempotencyCompletion,
    Order,
    OrderLine,
    OrderPage,
    OrderStatus,
    Store,
    StoredResponse,
    StoreUnavailable,
    VersionConflict,
)

ADMIN_SCOPE = "orders:admin"
ADMIN_CHALLENGE = f'Bearer realm="api", error="insufficient_scope", scope="{ADMIN_SCOPE}"'
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# How long a request may hold an idempotency key before a retry may take it
# over (the owner is presumed dead): above the function timeout.
IDEMPOTENCY_LOCK_SECONDS = 30

# Who may move an order from one status to another.
OWNER_MOVES: dict[OrderStatus, set[OrderStatus]] = {"placed": {"cancelled"}}
ADMIN_MOVES: dict[OrderStatus, set[OrderStatus]] = {
    "placed": {"preparing", "cancelled"},
    "preparing": {"ready"},
    "ready": {"served"},
}


class OrderNotFound(Problem):
    status = 404
    type_slug = "order-not-found"


class OrderLinesInvalid(Problem):
    status = 422
    type_slug = "validation"


class IdempotencyMismatch(Problem):
    status = 422
    type_slug = "idempotency-key-reused"


class IdempotencyInProgress(Problem):
    status = 409
    type_slug = "idempotency-key-in-progress"


class TransitionNotAllowed(Problem):
    status = 409
    type_slug = "transition-not-allowed"


class TransitionForbidden(Problem):
    status = 403
    type_slug = "insufficient-scope"


class PreconditionRequired(Problem):
    status = 428
    type_slug = "precondition-required"


class PreconditionFailed(Problem):
    status = 412
    type_slug = "precondition-failed"


class InvalidCursor(Problem):
    status = 422
    type_slug = "validation"


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- cursors: opaque to clients, validated strictly ---------------------------


def encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(after.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not is_order_id(raw) or encode_cursor(raw) != cursor:
        raise InvalidCursor(
            "The cursor is not one this API issued.",
            errors=[{"field": "query.cursor", "message": "invalid cursor", "code": "invalid_cursor"}],
        )
    return raw


# -- reading -----------------------------------------------------------------


def can_see(principal: Principal, order: Order) -> bool:
    return order.customer == principal.sub or principal.has(ADMIN_SCOPE)


async def get_visible_order(store: Store, principal: Principal, order_id: str) -> Order:
    order = await blocking.run(store.get_order, order_id)
    # Another customer's order is indistinguishable from a missing one (404, never 403).
    if order is None or not can_see(principal, order):
        raise OrderNotFound(f"There is no order {order_id}.")
    return order


async def list_orders(store: Store, principal: Principal, limit: int, cursor: str | None) -> OrderPage:
    after = decode_cursor(cursor) if cursor is not None else None
    return await blocking.run(store.list_orders, principal.sub, limit=limit, after=after)


async def list_open_orders(store: Store, limit: int) -> list[Order]:
    return await blocking.run(store.list_open_orders, limit=limit)


# -- placing -----------------------------------------------------------------


async def price_lines(store: Store, request: OrderIn) -> tuple[OrderLine, ...]:
    items = await blocking.run(store.get_menu_items, [line.item_id for line in request.lines])
    errors = []
    lines = []
    for index, line in enumerate(request.lines):
        item = items.get(line.item_id)
        if item is None or not item.available:
            reason = "no such menu item" if item is None else "not available"
            errors.append(
                {
                    "field": f"body.lines.{index}.item_id",
                    "message": f"{line.item_id!r}: {reason}",
                    "code": "unknown_item" if item is None else "unavailable_item",
                }
            )
            continue
        lines.append(OrderLine(item.id, item.name, line.quantity, item.price_cents))
    if errors:
        raise OrderLinesInvalid("Some order lines name items that cannot be ordered.", errors=errors)
    return tuple(lines)


def new_order(principal: Principal, request: OrderIn, lines: tuple[OrderLine, ...]) -> Order:
    now = rfc3339_now()
    return Order(
        id=new_order_id(),
        customer=principal.sub,
        status="placed",
        lines=lines,
        total_cents=sum(line.quantity * line.unit_price_cents for line in lines),
        note=request.note,
        created_at=now,
        updated_at=now,
        version=1,
    )


def idempotency_scope(principal: Principal, key: str) -> str:
    # Keys are per client: the same key from two callers never collides.
    return hashlib.sha256(f"{principal.sub}\n{key}".encode()).hexdigest()


async def place_order(
    store: Store, principal: Principal, request: OrderIn, idempotency_key: str | None
) -> tuple[StoredResponse, bool]:
    """The response to send and whether it is a replay."""
    if idempotency_key is None:
        order = new_order(principal, request, await price_lines(store, request))
        await blocking.run(store.create_order, order)
        return StoredResponse(201, order_json(order)), False

    key = idempotency_scope(principal, idempotency_key)
    fingerprint = hashlib.sha256(request.fingerprint_source().encode()).hexdigest()
    owner = uuid.uuid4().hex
    now = int(time.time())
    claim = await blocking.run(
        store.claim_idempotency,
        key,
        fingerprint,
        owner=owner,
        now=now,
        lock_until=now + IDEMPOTENCY_LOCK_SECONDS,
        expires_at=now + IDEMPOTENCY_TTL_SECONDS,
    )
    if claim.state == "completed":
        assert claim.response is not None
        return claim.response, True
    if claim.state == "mismatch":
        raise IdempotencyMismatch("This Idempotency-Key was already used with a different request body.")
    if claim.state == "in_progress":
        raise IdempotencyInProgress(
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            headers={"Retry-After": "1"},
        )

    try:
        order = new_order(principal, request, await price_lines(store, request))
        response = StoredResponse(201, order_json(order))
        completion = IdempotencyCompletion(key, owner, response, now + IDEMPOTENCY_TTL_SECONDS)
        await blocking.run(store.create_order, order, completion)
    except VersionConflict:
        # Our claim was taken over (we outlived the lock): the other request decides.
        raise IdempotencyInProgress(
            "A request with this Idempotency-Key is still in progress; retry shortly.",
            headers={"Retry-After": "1"},
        ) from None
    except (Problem, StoreUnavailable):
        # No result to remember: free the key so a corrected or later retry runs.
        with contextlib.suppress(StoreUnavailable):  # if so, the lock expires by itself
            await blocking.run(store.release_idempotency, key, owner=owner)
        raise
    return response, False


# -- moving ------------------------------------------------------------------


async def change_status(
    store: Store, principal: Principal, order_id: str, target: OrderStatus, if_match: str | None
) -> Order:
    order = await get_visible_order(store, principal, order_id)
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the order's ETag to change it.")
    if not matches(if_match, order_etag(order.version)):
        raise PreconditionFailed(
            "The order changed since you read it; fetch it again.",
            headers={"ETag": order_etag(order.version)},
        )
    is_admin = principal.has(ADMIN_SCOPE)
    allowed = set(OWNER_MOVES.get(order.status, set())) if order.customer == principal.sub else set()
    if is_admin:
        allowed |= ADMIN_MOVES.get(order.status, set())
    if target not in allowed:
        if not is_admin and target in ADMIN_MOVES.get(order.status, set()):
            raise TransitionForbidden(
                f"Only staff (scope {ADMIN_SCOPE}) can move an order to {target}.",
                headers={"WWW-Authenticate": ADMIN_CHALLENGE},
            )
        raise TransitionNotAllowed(f"An order that is {order.status} cannot become {target}.")
    updated = replace(order, status=target, updated_at=rfc3339_now(), version=order.version + 1)
    try:
        await blocking.run(store.update_order, updated, expected_version=order.version)
    except VersionConflict:
        raise PreconditionFailed("The order changed while this request ran; fetch it again.") from None
    return updated
