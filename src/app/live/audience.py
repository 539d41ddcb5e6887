"""Who hears what: a connection's audiences, named by strings.

A connection is in ``ALL`` (menu changes) and its customer's audience (its own
orders); a token with ``orders:admin`` is also in ``STAFF`` (every order: the
kitchen board). A change is addressed to audiences, never to connections, so
fan-out is one lookup per audience (locally a dict, in the cloud one Query).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

ALL = "all"  # every connection: menu changes
STAFF = "staff"  # tokens with orders:admin: every order's changes
STAFF_SCOPE = "orders:admin"
READ_SCOPE = "orders:read"  # what GET /orders/{id} needs: a token without it hears nothing of orders
# API Gateway closes a WebSocket connection after 2 hours whatever happens
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
# "Connection duration for WebSocket APIs"); the local hub keeps the same cap.
MAX_CONNECTION_SECONDS = 7200


def customer(sub: str) -> str:
    """A customer's own orders."""
    return f"customer#{sub}"


@dataclass(frozen=True, slots=True)
class Listener:
    connection_id: str
    sub: str
    staff: bool
    expires_at: int  # epoch seconds: min(token exp, connected_at + MAX_CONNECTION_SECONDS)


def audiences(listener: Listener) -> tuple[str, ...]:
    base = (ALL, customer(listener.sub))
    return (*base, STAFF) if listener.staff else base


def admit(connection_id: str, sub: str, scopes: Collection[str], exp: int, *, now: int) -> Listener | None:
    """The listener a verified token opens, or None when the token may not listen
    (403): it needs ``orders:read`` (or ``orders:admin``), as reading an order does."""
    staff = STAFF_SCOPE in scopes
    if not (staff or READ_SCOPE in scopes):
        return None
    return Listener(connection_id, sub, staff, min(exp, now + MAX_CONNECTION_SECONDS))
