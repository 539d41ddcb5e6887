"""In-process HTTP behaviour of the ASGI app, through httpx (Starlette's TestClient)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from app.auth.middleware import public
from app.http.logs import JsonFormatter
from app.system.router import HELLO

PROBLEM = "application/problem+json"


class Order(BaseModel):
    item_id: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=100)


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    app = make_app()

    # Routes that only the tests have, to reach body parsing and a crash.
    @app.post("/test/orders")
    @public
    async def place(order: Order) -> Order:
        return order

    @app.get("/test/crash")
    @public
    async def crash() -> None:
        raise RuntimeError("database password is hunter2")

    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_problem(response: object, status: int) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body  # type: ignore[no-any-return]


def test_hello_answers_exactly(client: TestClient) -> None:
    response = client.get("/hello")
    assert response.status_code == 200
    assert response.json() == {"message": HELLO}
    assert response.headers["content-type"] == "application/json"


def test_health_reports_ok_and_is_not_cached(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["stage"] == "local"
    assert response.headers["cache-control"] == "no-store"


def test_health_is_503_when_a_dependency_fails(app: FastAPI, client: TestClient) -> None:
    async def failing() -> bool:
        raise ConnectionError("store unreachable")

    app.state.health_checks["store"] = failing
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"] == {"store": "failing"}
    assert response.json()["status"] == "degraded"


def test_index_links_to_the_docs(client: TestClient) -> None:
    assert client.get("/").json()["docs"] == "/docs"


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/hello").headers["x-request-id"]
    second = client.get("/nope").headers["x-request-id"]
    assert first
    assert second
    assert first != second


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/no/such/thing"), 404)
    assert body["detail"] == "No resource at /no/such/thing"


def test_wrong_method_is_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/hello")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD"


def test_malformed_json_is_422_problem(client: TestClient) -> None:
    response = client.post(
        "/test/orders", content=b'{"item_id": "x", ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert body["title"] == "Malformed JSON"


def test_wrong_types_are_422_naming_each_field(client: TestClient) -> None:
    response = client.post("/test/orders", json={"item_id": "", "quantity": "many"})
    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}  # type: ignore[attr-defined]
    assert fields == {"body.item_id", "body.quantity"}
    assert "many" not in response.text  # the rejected input is not echoed


def test_body_over_one_mib_is_413_from_content_length(client: TestClient) -> None:
    response = client.post(
        "/test/orders", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


def test_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    response = client.post("/test/orders", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_413_names_the_limit_and_closes_the_connection(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    for content in (b"x" * (1024 * 1024 + 1), chunks()):
        response = client.post("/test/orders", content=content, headers={"content-type": "application/json"})
        body = assert_problem(response, 413)
        assert body["type"] == "urn:serverless-api:problem:body-too-large"
        assert body["detail"] == "The request body exceeds 1048576 bytes."
        # The rest of an oversized body is not read: the client must not reuse the connection.
        assert response.headers["connection"] == "close"


def test_body_at_the_limit_is_parsed(client: TestClient) -> None:
    body = json.dumps({"item_id": "a" * (1024 * 1024 - 40), "quantity": 1}).encode()
    assert len(body) <= 1024 * 1024
    response = client.post("/test/orders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"item_id": "a" * (1024 * 1024 - 40), "quantity": 1}


def test_crash_is_500_problem_with_request_id_and_no_internals(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get("/test/crash")
    body = assert_problem(response, 500)
    assert body["request_id"] == response.headers["x-request-id"]
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    # ...but the operator finds the stack trace in the log, under the same id.
    errors = [r for r in caplog.records if r.name == "app.error"]
    assert len(errors) == 1
    logged = json.loads(JsonFormatter().format(errors[0]))
    assert logged["request_id"] == body["request_id"]
    assert "RuntimeError: database password is hunter2" in logged["exception"]


def test_access_log_is_one_json_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        response = client.get("/hello?x=1", headers={"authorization": "Bearer secret-token"})
    records = [r for r in caplog.records if r.name == "app.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["method"] == "GET"
    assert entry["path"] == "/hello"
    assert entry["status"] == 200
    assert entry["request_id"] == response.headers["x-request-id"]
    assert entry["latency_ms"] >= 0
    assert {"lambda_request_id", "apigw_request_id", "sub", "stage", "time", "level"} <= set(entry)
    assert "secret-token" not in line


def test_docs_can_be_turned_off(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app(docs_enabled=False)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/hello").status_code == 200


def test_openapi_is_3_1_and_lists_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {"/hello", "/health"} <= set(spec["paths"])


def test_lifespan_runs_once_per_process(app: FastAPI) -> None:
    with TestClient(app) as client:
        client.get("/hello")
        client.get("/hello")
    assert app.state.startups == 1


class CountingStream:
    """What the log handler writes to (stdout), write by write."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        return


def test_the_access_line_is_one_write_of_one_complete_json_line(client: TestClient) -> None:
    stream = CountingStream()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("app.access")
    access.addHandler(handler)
    previous = access.level
    access.setLevel(logging.INFO)
    try:
        client.get("/hello")
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)
    (written,) = stream.writes
    assert written.endswith("\n")
    assert written.count("\n") == 1
    entry = json.loads(written)
    for field in ("request_id", "lambda_request_id", "apigw_request_id", "stage", "method", "path", "status"):
        assert field in entry, field
    assert "_emf" not in entry  # a marker for the formatter, never a field


def test_no_access_record_is_built_when_its_level_is_off(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = logging.getLogger("app.access")

    def refuse(*args: object, **kwargs: object) -> logging.LogRecord:
        raise AssertionError("a record was built for a line the level drops")

    monkeypatch.setattr(access, "makeRecord", refuse)
    previous = access.level
    access.setLevel(logging.WARNING)
    try:
        assert client.get("/hello").status_code == 200
    finally:
        access.setLevel(previous)
