"""The whole app, in process, on each backend, with tokens from a test issuer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.auth.tokens import Issuer

Token = Callable[..., dict[str, str]]


def settings_from(env: dict[str, str], **extra: object) -> Settings:
    values = {k.removeprefix("APP_").lower(): v for k, v in env.items()}
    return Settings(**values, **extra)  # type: ignore[arg-type]


@pytest.fixture
def app(backend_settings: dict[str, str], trust: dict[str, Any]) -> FastAPI:
    return create_app(settings_from(backend_settings, **trust))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def auth() -> Token:
    issuer = Issuer()

    def headers(sub: str = "alice", scope: str = "orders:read orders:write", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.token(sub=sub, scope=scope)}", **extra}

    return headers


@pytest.fixture
def chef(auth: Token) -> dict[str, str]:
    return auth("chef", "menu:write")


@pytest.fixture
def staff(auth: Token) -> dict[str, str]:
    return auth("staff", "orders:read orders:write orders:admin")


@pytest.fixture
def menu(client: TestClient, chef: dict[str, str]) -> dict[str, dict[str, object]]:
    items = {
        "margherita": {"name": "Margherita", "price_cents": 1150, "available": True},
        "calzone": {"name": "Calzone", "price_cents": 1300, "available": True},
        "truffle": {"name": "Truffle special", "price_cents": 2500, "available": False},
    }
    for item_id, body in items.items():
        assert client.put(f"/menu/{item_id}", json=body, headers=chef).status_code == 201
    return items
