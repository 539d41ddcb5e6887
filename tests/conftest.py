"""Shared fixtures: every test gets a clean APP_* environment and its own files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("APP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("APP_SQLITE_PATH", str(tmp_path / "app.db"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def make_app() -> Callable[..., FastAPI]:
    """Build a fresh application from settings given as keyword overrides."""

    def build(**overrides: object) -> FastAPI:
        return create_app(Settings(**overrides))  # type: ignore[arg-type]

    return build
