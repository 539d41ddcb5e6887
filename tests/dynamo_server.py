"""A real DynamoDB-compatible server on loopback, and isolated stores on it.

The server is moto's, one request at a time (twin.dynamo says why): real HTTP on 127.0.0.1, the DynamoDB wire
protocol, no patching of boto3 (moto's in-process ``mock_aws`` is never turned
on, so every call goes out through botocore's HTTP stack). Each store gets a
table of its own, so tests share one server and nothing else.

When ``APP_TEST_DYNAMODB_ENDPOINT_URL`` is set (for example to DynamoDB Local),
:func:`serve` uses that server instead of starting one.

Credentials are fake and passed explicitly, so a developer's real AWS
credentials or profile are never read, let alone sent anywhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3

from app.store.dynamodb import DynamoStore
from app.store.sdk import CLIENT_CONFIG
from twin.dynamo import SerialMotoServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class DynamoServer:
    """moto's server on an ephemeral loopback port (port 0: no race for a "free" port)."""

    def __init__(self) -> None:
        self._server = SerialMotoServer("127.0.0.1", 0)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def serve() -> Iterator[str]:
    """Yield the URL of a running DynamoDB-compatible server."""
    external = os.environ.get("APP_TEST_DYNAMODB_ENDPOINT_URL")
    if external:
        yield external
        return
    server = DynamoServer()
    try:
        yield server.url
    finally:
        server.stop()


def new_client(url: str) -> DynamoDBClient:
    """A DynamoDB client for ``url`` with fake credentials and the store's own
    timeouts and retries."""
    session = boto3.session.Session(region_name=REGION, **FAKE_CREDENTIALS)
    return session.client("dynamodb", endpoint_url=url, config=CLIENT_CONFIG)


def new_store(url: str, client: DynamoDBClient | None = None) -> DynamoStore:
    """A store on a freshly created, uniquely named table (``client``: one of
    :func:`new_client`'s, for a test that watches the calls)."""
    store = DynamoStore(f"test-{uuid.uuid4().hex[:12]}", client=client or new_client(url))
    store.ensure_table()
    return store
