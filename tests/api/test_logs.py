"""The log at DEBUG, on the DynamoDB path: the app's own lines and nothing of the SDK's.

SPEC (Lambda specifics): never a token, and at no log level a credential, a request
signature or a stored item from the SDK's own logs. The review (issue 11, defect 3)
found the dev stack at DEBUG logging botocore's canonical requests, SigV4 headers, the
STS session token and DynamoDB bodies (``CUSTOMER#alice``), because the app's level was
the root logger's.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.http.logs import configure_logging
from app.main import create_app
from app.settings import Settings

from .conftest import Token

# Distinctive stand-ins, so any appearance in the log is theirs.
SESSION_TOKEN = "IQoJb3JpZ2luX2VjELOGTEST-session-token-9f3c1d7e"
SECRET_KEY = "logtest/secret+access+key-5b2e8a71c0d94f6a"
NOTE = "ring the bell twice, log-test-note"
SIGNATURE = re.compile(r"Signature[=:]\s*[0-9a-f]{64}")

THIRD_PARTY = ("botocore", "boto3", "urllib3", "mangum", "moto", "werkzeug")


@pytest.fixture
def stdout_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """The JSON log as main.py configures it at DEBUG, its handler on a stdout we
    read back with the returned function (what was written since the last call).
    The process's logging is restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("app", *THIRD_PARTY)}
    stdout = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", stdout)
        configure_logging("DEBUG")

    def read() -> str:
        text = stdout.getvalue()
        stdout.seek(0)
        stdout.truncate()
        return text

    try:
        yield read
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


@pytest.fixture
def dynamodb_client(
    dynamodb_url: str, fake_aws: None, monkeypatch: pytest.MonkeyPatch, trust: dict[str, Any]
) -> Iterator[TestClient]:
    """The app on the DynamoDB store, signing with a known secret and session token."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    settings = Settings(
        store="dynamodb",
        dynamodb_table=f"test-{uuid.uuid4().hex[:12]}",
        dynamodb_endpoint_url=dynamodb_url,
        **trust,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def use_the_store(client: TestClient, auth: Token) -> None:
    """A menu write, an order with a note, the customer's list and one order: every
    kind of DynamoDB call the app makes (PutItem, BatchGetItem, a transaction, Query
    on the index, GetItem)."""
    chef = auth("chef", "menu:write")
    body = {"name": "Margherita", "price_cents": 1150, "available": True}
    assert client.put("/menu/margherita", json=body, headers=chef).status_code == 201
    order = {"lines": [{"item_id": "margherita", "quantity": 1}], "note": NOTE}
    placed = client.post("/orders", json=order, headers=auth(**{"Idempotency-Key": "log-test"}))
    assert placed.status_code == 201, placed.text
    listed = client.get("/orders", headers=auth())
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["items"]] == [placed.json()["id"]]
    assert client.get(f"/orders/{placed.json()['id']}", headers=auth()).status_code == 200
    assert client.get("/menu").status_code == 200


def assert_no_secret_or_item(text: str) -> None:
    assert SESSION_TOKEN not in text
    assert SECRET_KEY not in text
    assert not SIGNATURE.search(text)
    assert "AWS4-HMAC-SHA256 Credential=" not in text


def test_debug_logs_the_app_and_no_credential_signature_or_stored_item(
    dynamodb_client: TestClient, auth: Token, stdout_log: Callable[[], str]
) -> None:
    use_the_store(dynamodb_client, auth)
    logging.getLogger("app.store").debug("a debug line of the app's")
    text = stdout_log()

    assert_no_secret_or_item(text)
    assert "AWS4-HMAC-SHA256" not in text
    assert "Signature=" not in text
    assert "CUSTOMER#alice" not in text
    assert NOTE not in text
    # The app's own lines are all there: DEBUG applies to the app's loggers.
    lines = [json.loads(line) for line in text.splitlines()]
    access = [line for line in lines if line["logger"] == "app.access"]
    assert [(line["method"], line["status"]) for line in access] == [
        ("PUT", 201),
        ("POST", 201),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
    ]
    assert {"level": "DEBUG", "logger": "app.store", "message": "a debug line of the app's"}.items() <= (
        lines[-1].items()
    )
    # Nothing below WARNING from the SDK, its HTTP stack or the test's own server.
    third_party = [line for line in lines if not line["logger"].startswith("app.")]
    assert [line for line in third_party if line["level"] in ("DEBUG", "INFO")] == []


def test_a_library_level_raised_by_hand_changes_nothing(
    dynamodb_client: TestClient, auth: Token, stdout_log: Callable[[], str]
) -> None:
    """Someone debugging raises botocore's level in a console (werkzeug, the test's
    DynamoDB server, sets its own to INFO): the handler still prints no line of
    theirs below WARNING, so nothing of the SDK's dumps."""
    stdout_log()
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    use_the_store(dynamodb_client, auth)
    text = stdout_log()
    assert_no_secret_or_item(text)
    assert "CUSTOMER#alice" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert {line["logger"] for line in lines} == {"app.access"}


def test_third_party_warnings_are_redacted(
    stdout_log: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    log = logging.getLogger("urllib3.connectionpool")
    log.warning(
        "Retrying after %s: %s",
        "connection reset",
        "https://bucket.s3.amazonaws.com/k?X-Amz-Credential=AKIAEXAMPLE%2F20260101&"
        f"X-Amz-Signature={'ab' * 32}&X-Amz-Security-Token={SESSION_TOKEN}",
    )
    log.warning("headers {'Authorization': b'Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl', 'Accept': b'*/*'}")
    log.warning("token from the environment: %s", SESSION_TOKEN)
    text = stdout_log()
    assert_no_secret_or_item(text)
    assert "AKIAEXAMPLE" not in text
    assert "eyJhbGciOi" not in text
    assert "'Accept': b'*/*'" in text  # only the secret values go
    assert text.count("[REDACTED]") >= 5


def test_the_access_line_skips_logging_only_when_nothing_else_listens(
    stdout_log: Callable[[], str], make_app: Callable[..., FastAPI]
) -> None:
    """With the JSON handler alone on the root, the access line is formatted and
    written directly (no LogRecord); any other handler (a test's capture, a
    library's) gets it through logging. The line is the same either way."""
    import app.http.logs as logs

    root = logging.getLogger()
    ours: list[logging.Handler] = [h for h in root.handlers if logs._installed and h is logs._installed[0]]
    assert ours, "configure_logging installed its handler"
    saved = root.handlers[:]
    built: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            built.append(record)

    access_logger = logging.getLogger("app.access")
    make_record = access_logger.makeRecord
    records: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> logging.LogRecord:
        records.append(str(args[0]))
        return make_record(*args, **kwargs)

    lines = {}
    with TestClient(make_app()) as client:
        for alone in (True, False):
            root.handlers = ours if alone else [*ours, Capture()]
            access_logger.makeRecord = counted  # type: ignore[method-assign]
            try:
                stdout_log()
                assert client.get("/hello").status_code == 200
                written = [json.loads(line) for line in stdout_log().splitlines()]
            finally:
                root.handlers = saved
                del access_logger.makeRecord
            assert records == ([] if alone else ["app.access"])
            access = [entry for entry in written if entry["logger"] == "app.access"]
            assert len(access) == 1
            lines[alone] = access[0]
    assert [r.name for r in built] == ["app.access"]  # only the second request's line was a record
    varying = {"time", "request_id", "latency_ms"}
    assert {k: v for k, v in lines[True].items() if k not in varying} == {
        k: v for k, v in lines[False].items() if k not in varying
    }
    assert set(lines[True]) == set(lines[False])


@pytest.mark.parametrize("status", [200, 401, 429, 503])
def test_the_embedded_metrics_line_is_the_plain_encoding_of_its_fields(status: int) -> None:
    """The metrics directive is pre-encoded once; each line must still be exactly
    the JSON of its fields and metrics, quotes and non-ASCII escaped as anywhere."""
    from app.http.logs import JsonFormatter, emf_metrics

    fields = {
        "request_id": 'a"b\\c',
        "stage": "pr\u00e9\n",
        "method": "GET",
        "path": "/caf\u00e9",
        "status": status,
        "latency_ms": 1.25,
        "sub": None,
        "_emf": True,
    }
    created = 1_764_000_000.987
    line = JsonFormatter().line(created, 987, "INFO", "app.access", "request", fields)
    entry = {
        "time": "2025-11-24T16:00:00.987Z",
        "level": "INFO",
        "logger": "app.access",
        "message": "request",
    }
    entry.update({k: v for k, v in fields.items() if k != "_emf"})
    entry.update(emf_metrics("pr\u00e9\n", status, 1.25, int(created * 1000)))
    assert line == json.dumps(entry, separators=(",", ":"))
