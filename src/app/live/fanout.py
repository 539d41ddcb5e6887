"""Delivery of one change: the audiences' members, each connection once, the gone ones forgotten.

Registry and Transport are the two interfaces behind which the places differ
(locally: a dict and asyncio queues; in the cloud: a DynamoDB table and
``post_to_connection``). :func:`deliver` is the same everywhere.
"""

from __future__ import annotations

from typing import Protocol

from app.live.audience import Listener
from app.live.changes import Change, messages


class Registry(Protocol):
    def add(self, listener: Listener) -> None: ...
    def remove(self, connection_id: str) -> None:
        """All of its memberships, and nothing else."""
        ...

    def members(self, audience: str) -> list[Listener]:
        """DynamoDB: one Query per audience, never a Scan."""
        ...


class Transport(Protocol):
    def send(self, connection_id: str, text: str) -> bool:
        """False: the connection is gone (API Gateway's GoneException, 410)."""
        ...

    def close(self, connection_id: str) -> None: ...


def deliver(change: Change, registry: Registry, transport: Transport, *, now: int) -> int:
    """Sends ``change`` to every member of its audiences once; returns how many messages went.

    A connection past its ``expires_at`` is closed and forgotten, and sent nothing
    (its token has expired). A gone connection is forgotten: that one only (the
    trap of aws-samples/simple-websockets-chat-app, which deleted the sender's).
    Any other failure of ``send`` propagates: the stream batch is retried.
    """
    sent = 0
    seen: set[str] = set()
    for audience, text in messages(change):
        for listener in registry.members(audience):
            connection_id = listener.connection_id
            if connection_id in seen:  # a staff customer is in two audiences of an order
                continue
            seen.add(connection_id)
            if listener.expires_at <= now:
                transport.close(connection_id)
                registry.remove(connection_id)
            elif transport.send(connection_id, text):
                sent += 1
            else:
                registry.remove(connection_id)
    return sent
