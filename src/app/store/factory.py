"""Builds the configured store, once per container. A backend's SDK is imported only here, on demand."""

from __future__ import annotations

from app.settings import Settings
from app.store.base import Store


def build_store(settings: Settings) -> Store:
    if settings.store == "dynamodb":
        from app.store.dynamodb import DynamoStore  # boto3 is imported only for this backend

        assert settings.dynamodb_table is not None
        store = DynamoStore(settings.dynamodb_table, endpoint_url=settings.dynamodb_endpoint_url)
        if settings.dynamodb_endpoint_url:
            # A local DynamoDB-compatible server: create the table on start. In
            # the cloud the template creates it, and the function may not.
            store.ensure_table()
        return store
    from app.store.sqlite import SqliteStore

    return SqliteStore(settings.sqlite_path)
