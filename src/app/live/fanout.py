"""Delivery of one change: the audiences' members, each connection once, the gone ones forgotten.

Registry and Transport are the two interfaces behind which the places differ
(locally: a dict and asyncio queues; in the cloud: a DynamoDB table and
``post_to_connection``). :func:`deliver` is the same everywhere.
"""

from __future__ import annotations

from concurrent.futures import Executor
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


def deliver(
    change: Change, registry: Registry, transport: Transport, *, now: int, pool: Executor | None = None
) -> int:
    """Sends ``change`` to every member of its audiences once; returns how many messages went.

    A connection past its ``expires_at`` is closed and forgotten, and sent nothing
    (its token has expired). A gone connection is forgotten: that one only (the
    trap of aws-samples/simple-websockets-chat-app, which deleted the sender's).
    Any other failure of ``send`` propagates: the stream batch is retried.

    ``pool``: the sends run concurrently on it (the cloud's consumer: each post is a
    round trip to API Gateway, so a kitchen of many connections would otherwise wait
    for them one after another); all of them finish, the gone are forgotten, then the
    first failure, if any, propagates. Without one they run in order and the first
    failure stops the rest (the local hub's sends are a queue hand-over).
    """
    targets: list[tuple[str, str]] = []
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
            else:
                targets.append((connection_id, text))
    outcomes: list[bool | BaseException] = []
    if pool is None:
        for connection_id, text in targets:
            try:
                outcomes.append(transport.send(connection_id, text))
            except Exception as error:  # re-raised below, once the gone are forgotten
                outcomes.append(error)
                break
    else:
        futures = [pool.submit(transport.send, connection_id, text) for connection_id, text in targets]
        outcomes = [future.exception() or future.result() for future in futures]
    sent = 0
    for (connection_id, _), outcome in zip(targets, outcomes):  # noqa: B905 - stops where sending stopped
        if outcome is True:
            sent += 1
        elif outcome is False:
            registry.remove(connection_id)
    failure = next((outcome for outcome in outcomes if isinstance(outcome, BaseException)), None)
    if failure is not None:
        raise failure
    return sent
