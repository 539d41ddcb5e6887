"""The cloud's registry (app.live.dynamo_registry) on a real DynamoDB server (moto's,
on 127.0.0.1): who is in which audience, what a remove takes away, and that finding
an audience's members is a Query on its partition, never a Scan."""

from __future__ import annotations

from typing import Any

import pytest

from app.live.audience import ALL, STAFF, Listener, customer
from app.live.dynamo_registry import DynamoRegistry
from tests.dynamo_server import new_client
from tests.live.cloud import connections_table

pytestmark = pytest.mark.usefixtures("fake_aws")
LATER = 4_102_444_800  # 2100-01-01


class Recording:
    """A real client that notes every operation, and pages Queries ``limit`` items at a time."""

    def __init__(self, client: Any, limit: int | None = None) -> None:
        self.client, self.limit, self.calls = client, limit, []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            if name == "query" and self.limit:
                kwargs["Limit"] = self.limit
            return method(**kwargs)

        return call


@pytest.fixture
def registry(dynamodb_url: str) -> tuple[DynamoRegistry, Recording]:
    client = Recording(new_client(dynamodb_url), limit=2)
    return DynamoRegistry(client, connections_table(dynamodb_url)), client


def ids(listeners: list[Listener]) -> set[str]:
    return {listener.connection_id for listener in listeners}


def test_each_connection_is_in_its_audiences_only(registry: tuple[DynamoRegistry, Recording]) -> None:
    live, client = registry
    alice = Listener("alice-1=", "alice", staff=False, expires_at=LATER)
    bob = Listener("bob-1=", "bob", staff=False, expires_at=LATER)
    cook = Listener("cook-1=", "cook", staff=True, expires_at=LATER)
    for listener in (alice, bob, cook):
        live.add(listener)
    assert ids(live.members(customer("alice"))) == {"alice-1="}
    assert ids(live.members(customer("bob"))) == {"bob-1="}
    assert ids(live.members(STAFF)) == {"cook-1="}
    # Three members, two per page: the registry follows LastEvaluatedKey.
    assert ids(live.members(ALL)) == {"alice-1=", "bob-1=", "cook-1="}
    assert live.members(ALL) == sorted([alice, bob, cook], key=lambda x: x.connection_id)
    assert live.members(customer("nobody")) == []
    assert "scan" not in client.calls
    assert set(client.calls) == {"transact_write_items", "query"}


def test_remove_takes_that_connection_out_of_every_audience_and_nothing_else(
    registry: tuple[DynamoRegistry, Recording],
) -> None:
    live, _ = registry
    live.add(Listener("cook-1=", "cook", staff=True, expires_at=LATER))
    live.add(Listener("cook-2=", "cook", staff=True, expires_at=LATER))
    live.remove("cook-1=")
    for audience in (ALL, STAFF, customer("cook")):
        assert ids(live.members(audience)) == {"cook-2="}, audience
    live.remove("cook-1=")  # again (a late $disconnect after a 410): nothing happens
    live.remove("never-connected=")
    assert ids(live.members(ALL)) == {"cook-2="}


def test_expired_listeners_are_still_members_until_deliver_forgets_them(
    registry: tuple[DynamoRegistry, Recording],
) -> None:
    """DynamoDB's TTL deletes late; the registry says when each one expires."""
    live, _ = registry
    live.add(Listener("old=", "alice", staff=False, expires_at=1_000))
    (member,) = live.members(customer("alice"))
    assert member == Listener("old=", "alice", staff=False, expires_at=1_000)
