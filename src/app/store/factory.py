"""Builds the configured store, once per container. A backend's SDK is imported only here, on demand."""

from __future__ import annotations

import logging

from app.settings import Settings
from app.store.base import Store, StoreUnavailable

log = logging.getLogger("app.store")


def build_store(settings: Settings) -> Store:
    if settings.store == "dynamodb":
        from app.store.dynamodb import DynamoStore  # boto3 is imported only for this backend

        assert settings.dynamodb_table is not None
        store = DynamoStore(settings.dynamodb_table, endpoint_url=settings.dynamodb_endpoint_url)
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
