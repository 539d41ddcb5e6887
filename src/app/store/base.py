"""The storage contract every backend meets, with backend-neutral records.

Backends implement :class:`Store`; they translate their own failures into the
errors below at the boundary (SQLite's ``database is locked``, DynamoDB's
``ConditionalCheckFailedException`` and throttling), so the domain never sees a
driver exception.

Every method is blocking (sqlite3 and boto3 are). Callers on an event loop go
through :func:`app.store.blocking.run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

OrderStatus = Literal["placed", "preparing", "ready", "served", "cancelled"]
# The kitchen's board shows these; served and cancelled orders leave it.
OPEN_STATUSES: frozenset[str] = frozenset({"placed", "preparing", "ready"})


@dataclass(frozen=True, slots=True)
class MenuItem:
    id: str
    name: str
    price_cents: int
    available: bool


@dataclass(frozen=True, slots=True)
class OrderLine:
    item_id: str
    name: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    customer: str
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    total_cents: int
    note: str | None
    created_at: str
    updated_at: str
    version: int


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What an idempotent request answered, to be replayed on retries."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """The outcome of claiming an idempotency key.

    ``new``: this request owns the key and must complete or release it.
    ``in_progress``: another request owns it right now.
    ``completed``: the key was used with the same request; replay ``response``.
    ``mismatch``: the key was used with a different request body.
    """

    state: Literal["new", "in_progress", "completed", "mismatch"]
    response: StoredResponse | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyCompletion:
    """Passed to :meth:`Store.create_order` so the order and the stored
    response are written in one atomic step: no order without its record."""

    key: str
    owner: str
    response: StoredResponse
    expires_at: int


@dataclass(frozen=True, slots=True)
class OrderPage:
    items: list[Order] = field(default_factory=list)
    next_after: str | None = None  # the last order id of this page, if more may follow


class StoreError(Exception):
    """Base of every storage error the domain may see."""


class StoreUnavailable(StoreError):
    """The backend did not answer in time, or is throttling: worth a retry later (503)."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WriteOutcomeUnknown(StoreUnavailable):
    """A write the backend never confirmed and a read could not find: it may land
    yet. Retrying with the same Idempotency-Key is safe (503)."""


class AlreadyExists(StoreError):
    pass


class VersionConflict(StoreError):
    """A conditional write lost: the stored version is not the expected one."""


class Store(Protocol):
    # menu
    def list_menu(self) -> list[MenuItem]: ...
    def get_menu_item(self, item_id: str) -> MenuItem | None: ...
    def get_menu_items(self, item_ids: list[str]) -> dict[str, MenuItem]: ...
    def put_menu_item(self, item: MenuItem) -> bool:
        """Create or replace; True when it was created."""
        ...

    def delete_menu_item(self, item_id: str) -> bool:
        """True when something was deleted."""
        ...

    # orders
    def create_order(self, order: Order, completion: IdempotencyCompletion | None = None) -> None:
        """Insert a new order (AlreadyExists if the id is taken) and, atomically
        with it, mark the idempotency key completed (VersionConflict if the key
        is no longer held in progress)."""
        ...

    def get_order(self, order_id: str) -> Order | None: ...
    def list_orders(self, customer: str, *, limit: int, after: str | None) -> OrderPage:
        """The customer's orders, newest first, starting after the order id ``after``."""
        ...

    def list_open_orders(self, *, limit: int) -> list[Order]:
        """Every customer's open orders (OPEN_STATUSES), oldest first, at most ``limit``."""
        ...

    def update_order(self, order: Order, *, expected_version: int) -> None:
        """Replace the order iff its stored version is ``expected_version``
        (VersionConflict otherwise). ``order.version`` is the new version."""
        ...

    # idempotency keys (key: an opaque, caller-scoped string)
    def claim_idempotency(
        self, key: str, fingerprint: str, *, owner: str, now: int, lock_until: int, expires_at: int
    ) -> IdempotencyClaim:
        """Take the key for ``owner`` unless a live record holds it.

        No record, or an expired one (``expires_at <= now``): the key is taken.
        An in-progress record whose ``lock_until <= now`` (its owner died) is
        taken over. The take is conditional, so of many concurrent claims
        exactly one gets ``new``.
        """
        ...

    def release_idempotency(self, key: str, *, owner: str) -> None:
        """Forget ``owner``'s in-progress claim (the request failed without a result)."""
        ...

    # operations
    def ping(self) -> bool: ...
    def close(self) -> None: ...
