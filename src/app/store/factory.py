"""Builds the configured store, once per container. A backend's SDK is imported only here, on demand."""

from __future__ import annotations

import logging
from typing import Any

from app.settings import Settings
from app.store.base import Store, StoreUnavailable

log = logging.getLogger("app.store")


def build_store(settings: Settings, *, client: Any = None) -> Store:
    """``client``: the container's DynamoDB client, shared with the rate limiter
    (``app.store.sdk``); without one the store makes its own."""
    if settings.store == "dynamodb":
        from app.store.dynamodb import DynamoStore  # the SDK is imported only for this backend

        table = settings.dynamodb_table
        assert table is not None
        store = DynamoStore(table, endpoint_url=settings.dynamodb_endpoint_url, client=client)
        if settings.dynamodb_endpoint_url:
            # A local DynamoDB-compatible server: create the table on start. In
            # the cloud the template creates it, and the function may not.
            try:
                store.ensure_table()
            except StoreUnavailable as error:
                # Not fatal: requests answer 503 and /health reports the store
                # failing until the endpoint answers (then restart to create it).
                log.error("could not create the DynamoDB table at start-up: %s", error)
        return store
    from app.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)
