"""The API on a custom domain (ApiDomainName), as the twin serves that request shape: the
domain mapped at its root, no stage in the path, and the app advertising no stage prefix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.twin.conftest import Twin, built_artifact, run_twin


@pytest.fixture(scope="module")
def domain_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    artifact = built_artifact()
    with run_twin(
        tmp_path_factory.mktemp("domain"), "--artifact", str(artifact), "--custom-domain", "api.example.com"
    ) as twin:
        yield twin


def test_the_root_of_the_domain_is_the_api(domain_twin: Twin) -> None:
    assert domain_twin.url == domain_twin.root
    assert "substituted custom domain: requests arrive as through api.example.com" in domain_twin.log()
    hello = httpx.get(f"{domain_twin.url}/hello", timeout=30)
    assert hello.status_code == 200
    docs = httpx.get(f"{domain_twin.url}/docs", timeout=30)
    assert 'data-spec-url="/openapi.json"' in docs.text  # no stage prefix advertised
    index = httpx.get(f"{domain_twin.url}/", timeout=30).json()
    assert index["docs"] == "/docs"


def test_locations_and_redirects_carry_no_stage(domain_twin: Twin, tmp_path: Path) -> None:
    chef = domain_twin.bearer("chef", "menu:write")
    alice = domain_twin.bearer("alice", "orders:read orders:write")
    put = httpx.put(
        f"{domain_twin.url}/menu/marinara",
        json={"name": "Marinara", "price_cents": 950, "available": True},
        headers=chef,
        timeout=30,
    )
    assert put.status_code == 201
    assert put.headers["location"] == "/menu/marinara"
    order = httpx.post(
        f"{domain_twin.url}/orders",
        json={"lines": [{"item_id": "marinara", "quantity": 1}]},
        headers=alice,
        timeout=30,
    )
    assert order.status_code == 201
    assert order.headers["location"] == f"/orders/{order.json()['id']}"
    redirect = httpx.get(f"{domain_twin.url}/orders/", headers=alice, timeout=30)
    assert redirect.status_code == 307
    assert httpx.URL(redirect.headers["location"]).path == "/orders"
