"""Events API Gateway could deliver, or a misconfiguration could send: each gets a
defined answer, and the process serves the next invocation normally."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from app.aws_lambda.adapter import LambdaAdapter
from app.system.router import HELLO

from .conftest import LambdaContext, http_v2, json_body, load, rest_v1

ctx = LambdaContext()


@pytest.fixture
def handler(make_app: Callable[..., FastAPI]) -> LambdaAdapter:
    return LambdaAdapter(make_app(), max_body_bytes=1024 * 1024)


def without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


def v2_with(**changes: Any) -> dict[str, Any]:
    event = http_v2("GET", "/hello")
    event.update(changes)
    return event


HOSTILE: dict[str, tuple[Callable[[], Any], int]] = {
    "missing requestContext": (lambda: without(http_v2(), "requestContext"), 400),
    "missing http": (lambda: without(http_v2(), "requestContext", "http"), 400),
    "http without method": (lambda: without(http_v2(), "requestContext", "http", "method"), 400),
    "requestContext not an object": (lambda: v2_with(requestContext="x"), 400),
    "invalid base64 body": (lambda: v2_with(body="not base64!!", isBase64Encoded=True), 400),
    "6 MB body": (lambda: v2_with(body="x" * (6 * 1024 * 1024)), 413),
    "6 MB base64 body": (
        lambda: v2_with(body=base64.b64encode(b"x" * 6 * 1024 * 1024).decode(), isBase64Encoded=True),
        413,
    ),
    "body not a string": (lambda: v2_with(body={"a": 1}), 400),
    "headers not an object": (lambda: v2_with(headers=["a"]), 400),
    "unknown payload version": (lambda: v2_with(version="3.0"), 400),
    "REST event without httpMethod": (lambda: without(rest_v1(), "httpMethod"), 400),
    "lone surrogate in the query": (lambda: v2_with(rawQueryString="a=\udcff"), 400),
    "lone surrogate in a header": (lambda: v2_with(headers={"x-a": "\udcff"}), 400),
    "S3 event": (lambda: load("s3-put.json"), 400),
    "SQS event": (lambda: load("sqs-receive.json"), 400),
    "scheduled event": (lambda: load("scheduled.json"), 400),
    "empty object": (dict, 400),
    "a list": (lambda: [1, 2], 400),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_event_gets_a_defined_answer(
    handler: LambdaAdapter, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    build, status = HOSTILE[name]
    with caplog.at_level(logging.INFO):
        result = handler(build(), ctx)
    assert result["statusCode"] == status
    assert result["headers"]["content-type"] == "application/problem+json"
    body = json.loads(result["body"])
    assert body["status"] == status
    assert "Traceback" not in result["body"]
    assert not [r for r in caplog.records if r.exc_info]  # a clear line, not a traceback
    # The process is healthy for the next invocation.
    assert json_body(handler(http_v2("GET", "/hello"), ctx)) == {"message": HELLO}


@pytest.mark.parametrize(
    ("raw_path", "query", "expected"),
    [
        # Item ids are [a-z0-9-] (menu.schemas.ITEM_ID_PATTERN): anything else is a 422 on the field.
        ("/menu/%FF%FE", "", 422),
        ("/hello", "a=%FF&b=%C3%28", 200),
        ("/menu/caf%C3%A9", "", 422),
        ("/%00", "", 404),
    ],
)
def test_non_utf8_bytes_in_path_and_query(
    handler: LambdaAdapter, raw_path: str, query: str, expected: int
) -> None:
    event = http_v2("GET", raw_path, query=query)
    result = handler(event, ctx)
    assert result["statusCode"] == expected
    assert "Traceback" not in result.get("body", "")
    if expected == 422:
        assert [error["field"] for error in json_body(result)["errors"]] == ["path.item_id"]


def test_a_hundred_headers(handler: LambdaAdapter) -> None:
    headers = {f"x-custom-{i}": "v" * 100 for i in range(100)}
    result = handler(http_v2("GET", "/hello", headers=headers), ctx)
    assert result["statusCode"] == 200


def test_duplicate_headers_are_combined_not_confused(handler: LambdaAdapter) -> None:
    # HTTP API v2 joins repeated headers with commas; two bearer tokens are refused, not mixed.
    event = http_v2("GET", "/me", headers={"authorization": "Bearer a.b.c,Bearer d.e.f"})
    result = handler(event, ctx)
    assert result["statusCode"] == 401
    event = rest_v1("GET", "/me")
    event["multiValueHeaders"]["Authorization"] = ["Bearer a.b.c", "Bearer d.e.f"]
    assert handler(event, ctx)["statusCode"] == 401


def test_content_length_lies_are_harmless(handler: LambdaAdapter) -> None:
    # /hello is public, so a POST is the router's 405 (never a 401), whatever the body claims.
    event = http_v2("POST", "/hello", headers={"content-length": "5"}, body=b"x" * 100)
    result = handler(event, ctx)
    assert result["statusCode"] == 405
    assert "GET" in result["headers"]["allow"].split(", ")
    assert json_body(result)["status"] == 405
