"""deliver(): each member of a change's audiences once; the gone and the expired forgotten."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.live.audience import ALL, STAFF, Listener, admit, audiences, customer
from app.live.changes import MenuChanged, OrderChanged
from app.live.fanout import deliver
from app.live.local import CLOSE, MAX_PENDING, Hub, MemoryRegistry, QueueTransport

from .records import dish, order

NOW = 1_800_000_000
LATER = NOW + 600


class Recorder:
    """A Transport that records, with connections that are gone on demand."""

    def __init__(self, gone: frozenset[str] = frozenset()) -> None:
        self.gone = gone
        self.sent: list[tuple[str, str]] = []
        self.closed: list[str] = []

    def send(self, connection_id: str, text: str) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, text))
        return True

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def receivers(self) -> list[str]:
        return sorted(connection_id for connection_id, _ in self.sent)


def registry_of(*listeners: Listener) -> MemoryRegistry:
    registry = MemoryRegistry()
    for listener in listeners:
        registry.add(listener)
    return registry


ALICE = Listener("c-alice", "alice", staff=False, expires_at=LATER)
ALICE_PHONE = Listener("c-alice-2", "alice", staff=False, expires_at=LATER)
BOB = Listener("c-bob", "bob", staff=False, expires_at=LATER)
COOK = Listener("c-cook", "cook", staff=True, expires_at=LATER)
ALICE_AT_WORK = Listener("c-alice-staff", "alice", staff=True, expires_at=LATER)  # staff and customer


def test_an_order_reaches_its_customer_and_the_staff_never_another_customer() -> None:
    registry = registry_of(ALICE, ALICE_PHONE, BOB, COOK, ALICE_AT_WORK)
    transport = Recorder()
    assert deliver(OrderChanged(order(customer="alice")), registry, transport, now=NOW) == 4
    assert transport.receivers() == ["c-alice", "c-alice-2", "c-alice-staff", "c-cook"]

    transport = Recorder()
    assert deliver(OrderChanged(order(customer="bob")), registry, transport, now=NOW) == 3
    assert transport.receivers() == ["c-alice-staff", "c-bob", "c-cook"]


def test_a_staff_customer_hears_their_own_order_once() -> None:
    transport = Recorder()
    deliver(OrderChanged(order(customer="alice")), registry_of(ALICE_AT_WORK), transport, now=NOW)
    assert transport.receivers() == ["c-alice-staff"]
    assert json.loads(transport.sent[0][1])["type"] == "order"


def test_the_menu_reaches_every_connection_once() -> None:
    registry = registry_of(ALICE, BOB, COOK, ALICE_AT_WORK)
    transport = Recorder()
    assert deliver(MenuChanged(removed="margherita"), registry, transport, now=NOW) == 4
    assert transport.receivers() == ["c-alice", "c-alice-staff", "c-bob", "c-cook"]


def test_a_gone_connection_is_forgotten_and_only_that_one() -> None:
    registry = registry_of(ALICE, BOB, COOK)
    transport = Recorder(gone=frozenset({"c-bob"}))
    assert deliver(MenuChanged(item=dish()), registry, transport, now=NOW) == 2
    assert [listener.connection_id for listener in registry.members(ALL)] == ["c-alice", "c-cook"]
    assert registry.members(customer("bob")) == []
    assert registry.members(STAFF) == [COOK]
    assert transport.closed == []


def test_an_expired_connection_is_closed_forgotten_and_sent_nothing() -> None:
    stale = Listener("c-stale", "carol", staff=True, expires_at=NOW)
    fresh = Listener("c-fresh", "dave", staff=True, expires_at=NOW + 1)
    registry = registry_of(stale, fresh)
    transport = Recorder()
    assert deliver(OrderChanged(order(customer="carol")), registry, transport, now=NOW) == 1
    assert transport.receivers() == ["c-fresh"]
    assert transport.closed == ["c-stale"]
    assert registry.members(STAFF) == [fresh]
    assert registry.members(customer("carol")) == []


def test_a_failure_other_than_gone_propagates_and_forgets_no_one() -> None:
    class Broken(Recorder):
        def send(self, connection_id: str, text: str) -> bool:
            raise ConnectionError("throttled")

    registry = registry_of(ALICE)
    with pytest.raises(ConnectionError):
        deliver(MenuChanged(item=dish()), registry, Broken(), now=NOW)
    assert registry.members(ALL) == [ALICE]


def test_audiences_and_admission_follow_the_scopes() -> None:
    assert audiences(ALICE) == (ALL, "customer#alice")
    assert audiences(COOK) == (ALL, "customer#cook", STAFF)
    customer_listener = admit("c1", "alice", {"orders:read", "orders:write"}, NOW + 60, now=NOW)
    assert customer_listener == Listener("c1", "alice", staff=False, expires_at=NOW + 60)
    staff_listener = admit("c2", "cook", {"orders:admin"}, NOW + 86_400, now=NOW)
    assert staff_listener == Listener("c2", "cook", staff=True, expires_at=NOW + 7200)  # API Gateway's 2 h
    assert admit("c3", "chef", {"menu:write"}, NOW + 60, now=NOW) is None


def test_the_queue_transport_hands_text_to_the_connections_loop_from_another_thread() -> None:
    async def scenario() -> list[str | None]:
        hub = Hub()
        queue = hub.connect(ALICE)
        await asyncio.to_thread(deliver, MenuChanged(removed="x"), hub.registry, hub.transport, now=NOW)
        await asyncio.to_thread(hub.transport.close, ALICE.connection_id)
        got = [await queue.get(), await queue.get()]
        hub.disconnect(ALICE.connection_id)
        assert hub.transport.send(ALICE.connection_id, "late") is False
        assert len(hub.registry) == 0
        return got

    assert asyncio.run(scenario()) == ['{"type":"menu","removed":"x"}', CLOSE]


def test_a_client_too_far_behind_is_cut_off_as_gone() -> None:
    async def scenario() -> tuple[bool, int]:
        transport = QueueTransport()
        queue = transport.open("slow")
        for _ in range(MAX_PENDING):
            queue.put_nowait("old")
        accepted = transport.send("slow", "new")
        await asyncio.sleep(0)  # the hand-over runs on the loop's next turn
        return accepted, queue.qsize()

    accepted, size = asyncio.run(scenario())
    assert accepted is False
    assert size == MAX_PENDING + 1  # the CLOSE marker, not the text


class Together(Recorder):
    """Each send waits until ``parties`` sends are under way at once: a pool's sends
    pass; the same sends one after another would break the barrier."""

    def __init__(self, parties: int, gone: frozenset[str] = frozenset(), broken: str = "") -> None:
        super().__init__(gone)
        self.barrier = threading.Barrier(parties, timeout=5)
        self.broken = broken
        self.lock = threading.Lock()

    def send(self, connection_id: str, text: str) -> bool:
        self.barrier.wait()
        if connection_id == self.broken:
            raise ConnectionError("throttled")
        with self.lock:
            return super().send(connection_id, text)


def test_with_a_pool_a_changes_posts_run_together_not_one_after_another() -> None:
    registry = registry_of(ALICE, ALICE_PHONE, BOB, COOK)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert deliver(MenuChanged(item=dish()), registry, Together(4), now=NOW, pool=pool) == 4


def test_with_a_pool_every_post_finishes_the_gone_are_forgotten_then_the_failure_propagates() -> None:
    registry = registry_of(ALICE, BOB, COOK)
    transport = Together(3, gone=frozenset({"c-bob"}), broken="c-cook")
    with ThreadPoolExecutor(max_workers=3) as pool, pytest.raises(ConnectionError):
        deliver(MenuChanged(item=dish()), registry, transport, now=NOW, pool=pool)
    assert transport.receivers() == ["c-alice"]
    # bob (gone) is forgotten; cook's post is retried with the batch
    assert registry.members(ALL) == [ALICE, COOK]
