"""One SDK client per container: the DynamoDB store and the DynamoDB rate limiter
share it (one session, one client, one connection pool), built at init; the
local (SQLite) configuration never imports the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.ratelimit.dynamodb import DynamoCounter
from app.ratelimit.middleware import RateLimitMiddleware
from app.settings import Settings
from app.store.dynamodb import DynamoStore
from app.store.sdk import CLIENT_CONFIG, new_client
from tests.child_report import report_line
from tests.conftest import FAKE_AWS

ROOT = Path(__file__).resolve().parents[2]
CLOSED_JWKS_URL = "http://127.0.0.1:9/.well-known/jwks.json"  # nothing listens (discard port)


def limiter_of(app: FastAPI) -> Any:
    return next(m.kwargs["limiter"] for m in app.user_middleware if m.cls is RateLimitMiddleware)


def test_the_store_and_the_limiter_share_one_client_built_before_the_first_request(
    dynamodb_url: str, fake_aws: None
) -> None:
    table = f"test-{uuid.uuid4().hex[:12]}"
    settings = Settings(
        store="dynamodb", dynamodb_table=table, dynamodb_endpoint_url=dynamodb_url, rate_limit="100/minute"
    )
    app = create_app(settings)
    store, counter = app.state.store, limiter_of(app).counter
    # Built by create_app, at init: no request has run, no lifespan has started.
    assert isinstance(store, DynamoStore)
    assert isinstance(counter, DynamoCounter)
    assert counter.client is store._client
    client = store._client
    assert client.meta.config.connect_timeout == CLIENT_CONFIG.connect_timeout
    assert client.meta.config.read_timeout == CLIENT_CONFIG.read_timeout
    assert client.meta.config.retries == CLIENT_CONFIG.retries
    with TestClient(app) as http:
        assert http.get("/hello").status_code == 200
        assert http.get("/hello").headers["ratelimit"].startswith('"default";r=98;')
        assert app.state.store is store  # the lifespan built no other
    counted = client.scan(TableName=table, FilterExpression="begins_with(PK, :p)",
                          ExpressionAttributeValues={":p": {"S": "RATE#"}})  # fmt: skip
    assert counted["Count"] == 1  # the limiter's counter, written through the shared client


class Failing(BaseHTTPRequestHandler):
    """A DynamoDB endpoint that answers every call with a retryable 500, and counts."""

    calls: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append(self.headers["X-Amz-Target"].rpartition(".")[2])
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def failing_endpoint() -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []
    handler = type("Handler", (Failing,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_the_limiters_update_is_sent_once_while_the_stores_calls_keep_their_retries(
    failing_endpoint: tuple[str, list[str]], fake_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0)
    url, calls = failing_endpoint
    client = new_client(url)
    counter, store = DynamoCounter("t", client=client), DynamoStore("t", client=client)
    with pytest.raises(ClientError):
        counter.increment("ip:192.0.2.1", 0, 60)
    assert calls == ["UpdateItem"]
    assert store.ping() is False
    assert calls == ["UpdateItem"] + ["GetItem"] * CLIENT_CONFIG.retries["total_max_attempts"]


def run_import(env: dict[str, str], code: str) -> dict[str, Any]:
    """``import app.main`` in a fresh interpreter, as a Lambda init does; ``code``
    prints a JSON object of what it found."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, "-c", f"import json, sys\nimport app.main as m\n{code}"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(json.loads(report_line(result.stdout)))


SDK = (
    "print('REPORT', json.dumps({'sdk': "
    "sorted({n.split('.')[0] for n in sys.modules} & {'boto3', 'botocore'})"
)


def test_the_local_sqlite_configuration_never_imports_the_sdk(tmp_path: Path) -> None:
    found = run_import({"APP_STORE": "sqlite", "APP_SQLITE_PATH": str(tmp_path / "a.db")}, SDK + "}))")
    assert found == {"sdk": []}


def test_the_deployed_configuration_builds_its_one_client_at_import_on_the_sdks_own_endpoint_setting(
    dynamodb_url: str,
) -> None:
    env = {
        **FAKE_AWS,
        "APP_STAGE": "dev",
        "APP_AUTH_ISSUER": "https://issuer.example.com",
        "APP_AUTH_JWKS_URL": CLOSED_JWKS_URL,  # init fetches the keys: loopback only
        "APP_AUTH_AUDIENCE": "api",
        "APP_STORE": "dynamodb",
        "APP_DYNAMODB_TABLE": "not-touched-at-import",
        "APP_RATE_LIMIT": "100/minute",
        # The SDK's standard per-service endpoint setting, not the app's override:
        # the client resolves it exactly as in the cloud.
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
    }
    limiter = "next(x.kwargs['limiter'] for x in m.app.user_middleware if 'limiter' in x.kwargs)"
    found = run_import(
        env,
        SDK + f", 'shared': m.app.state.store._client is {limiter}.counter.client"
        ", 'endpoint': m.app.state.store._client.meta.endpoint_url}))",
    )
    assert found == {"sdk": ["botocore"], "shared": True, "endpoint": dynamodb_url}  # boto3 not needed


def test_the_client_is_built_without_scanning_every_service_model(
    dynamodb_url: str, fake_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's stock loader lists all ~450 service directories (twice) to check
    the name "dynamodb" before loading its model: about 30 ms of each cold start."""
    listed: list[str] = []
    listdir = os.listdir

    def counting(path: Any = ".") -> list[str]:
        listed.append(str(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", counting)
    client = new_client(dynamodb_url)
    assert len(listed) < 10, listed[:20]
    with pytest.raises(ClientError) as raised:  # and the client works
        client.get_item(TableName=f"missing-{uuid.uuid4().hex}", Key={"PK": {"S": "x"}})
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
