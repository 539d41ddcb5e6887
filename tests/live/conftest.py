"""The Live* functions' environment on one machine: a connections table on the moto
server, the @connections endpoint on 127.0.0.1, fake credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.aws_lambda import live_socket, live_stream
from app.live.dynamo_registry import DynamoRegistry
from tests.dynamo_server import new_client
from tests.live.cloud import ConnectionsEndpoint, connections_table


@pytest.fixture
def endpoint() -> Iterator[ConnectionsEndpoint]:
    server = ConnectionsEndpoint()
    yield server
    server.close()


@pytest.fixture
def cloud(
    monkeypatch: pytest.MonkeyPatch, dynamodb_url: str, fake_aws: None, endpoint: ConnectionsEndpoint
) -> Iterator[DynamoRegistry]:
    """What template.yaml gives the functions, pointed at the local servers; a registry
    on the same table for the test to arrange and inspect."""
    table = connections_table(dynamodb_url)
    monkeypatch.setenv("APP_LIVE_CONNECTIONS_TABLE", table)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", endpoint.url)
    # Named too, as template.yaml does: the SDK's own setting above must win (port 9: refused).
    monkeypatch.setenv("APP_LIVE_MANAGEMENT_URL", "http://127.0.0.1:9/dev")
    live_stream.runtime.cache_clear()
    live_socket.registry.cache_clear()
    yield DynamoRegistry(new_client(dynamodb_url), table)
    live_stream.runtime.cache_clear()
    live_socket.registry.cache_clear()
