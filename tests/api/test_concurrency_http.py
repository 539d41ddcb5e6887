"""Concurrency over real HTTP: a uvicorn process, many client threads, both backends."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.auth.tokens import Issuer
from tests.e2e.conftest import Server, run_server


@pytest.fixture
def server(backend_settings: dict[str, str], trust_env: Mapping[str, str], tmp_path: Path) -> Any:
    env = {**backend_settings, **trust_env, "APP_RATE_LIMIT": "0"}
    with run_server(tmp_path, env) as server:
        yield server


def headers(sub: str, scope: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {Issuer().token(sub=sub, scope=scope)}", **extra}


def seed_menu(server: Server) -> None:
    chef = headers("chef", "menu:write")
    body = {"name": "Margherita", "price_cents": 1150, "available": True}
    assert httpx.put(f"{server.url}/menu/margherita", json=body, headers=chef).status_code == 201


def test_concurrent_patches_one_winner_per_version(server: Server) -> None:
    seed_menu(server)
    alice = headers("alice", "orders:read orders:write")
    staff = headers("staff", "orders:read orders:write orders:admin")
    order = httpx.post(
        f"{server.url}/orders", json={"lines": [{"item_id": "margherita", "quantity": 1}]}, headers=alice
    )
    assert order.status_code == 201
    url = f"{server.url}/orders/{order.json()['id']}"

    outcomes: dict[int, Counter[int]] = {}
    with httpx.Client(timeout=30) as http:
        for version, status in enumerate(("preparing", "ready", "served"), start=1):
            barrier = threading.Barrier(10)

            def attempt(
                _: int, version: int = version, status: str = status, barrier: threading.Barrier = barrier
            ) -> int:
                barrier.wait()
                return http.patch(
                    url, json={"status": status}, headers={**staff, "If-Match": f'"v{version}"'}
                ).status_code

            with ThreadPoolExecutor(10) as pool:
                outcomes[version] = Counter(pool.map(attempt, range(10)))

    # Exactly one writer wins each version; every other one is told its
    # precondition failed. Nothing is lost or applied twice.
    for counts in outcomes.values():
        assert counts[200] == 1, outcomes
        assert counts[412] == 9, outcomes
    final = httpx.get(url, headers=alice).json()
    assert final["status"] == "served"
    assert final["version"] == 4


def test_fifty_concurrent_posts_with_one_key_create_one_order(server: Server) -> None:
    seed_menu(server)
    alice = headers("alice", "orders:read orders:write", **{"Idempotency-Key": "checkout-42"})
    barrier = threading.Barrier(50)
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=50)) as http:

        def attempt(_: int) -> tuple[int, str | None]:
            barrier.wait()
            response = http.post(
                f"{server.url}/orders",
                json={"lines": [{"item_id": "margherita", "quantity": 3}]},
                headers=alice,
            )
            return response.status_code, response.json().get("id")

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(attempt, range(50)))

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {201, 409}
    created_ids = {order_id for status, order_id in results if status == 201}
    assert len(created_ids) == 1  # every 201, first or replayed, names the same order
    listing = httpx.get(f"{server.url}/orders", headers=alice).json()["items"]
    assert [o["id"] for o in listing] == list(created_ids)
    # After the first finished, a retry is a replay.
    replay = httpx.post(
        f"{server.url}/orders", json={"lines": [{"item_id": "margherita", "quantity": 3}]}, headers=alice
    )
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
