"""The twin's gateway rules in isolation: the event it builds, the route it picks, the
answer it maps back, and its token bucket."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.lambda_events.conftest import load
from twin.gateway import Request, TokenBucket, build_event, map_response, select_route
from twin.stack import Route, Stack

TINY = Path(__file__).parent / "tiny"


def stack(stage: str = "$default") -> Stack:
    return Stack("s", {}, "api-id", stage, 10, 5.0, [], {}, {})


GREEDY = Route("ANY", "/{proxy+}", "Fn", "2.0")
ROOT = Route("ANY", "/", "Fn", "2.0")


def test_the_event_matches_sam_local_generate_event_field_by_field() -> None:
    # The same request as `sam local generate-event apigateway http-api-proxy` describes.
    sample = load("http-api-v2.json")
    request = Request(
        method="POST",
        target="/path/to/resource?parameter1=value1&parameter1=value2&parameter2=value",
        headers=[
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("Header2", "value2"),
            ("Cookie", "cookie1; cookie2"),
            ("User-Agent", "agent"),
            ("Content-Type", "application/octet-stream"),
        ],
        body=b'{"test":"body"}',
        source_ip="192.168.0.1",
    )
    event = build_event(request, stack(), Route("ANY", "/path/to/resource", "Fn", "2.0"), {})
    # Every top-level field the sample has, except those only an mTLS domain, a JWT
    # authorizer, stage variables or a parametrised route produce.
    assert set(sample) - set(event) == {"pathParameters", "stageVariables"}
    assert set(event) <= set(sample)
    for field in ("version", "rawPath", "rawQueryString", "cookies", "queryStringParameters", "body"):
        assert event[field] == sample[field], field
    assert event["isBase64Encoded"] is True
    # Header names lower-cased (as API Gateway sends them), repeated ones comma-joined.
    assert {k.lower(): v for k, v in sample["headers"].items()}.items() <= event["headers"].items()
    assert "cookie" not in event["headers"]
    context, expected = event["requestContext"], sample["requestContext"]
    assert set(expected) - set(context) == {"authentication", "authorizer"}
    assert set(context) <= set(expected)
    assert set(context["http"]) == set(expected["http"])
    for field in ("method", "path", "protocol", "userAgent"):
        assert context["http"][field] == expected["http"][field], field
    assert context["http"]["sourceIp"] == "192.168.0.1"
    for field, value in expected.items():
        if field not in ("authentication", "authorizer"):
            assert type(context[field]) is type(value), field
    assert len(context["time"]) == len(expected["time"])
    assert context["domainName"].endswith(".execute-api.us-east-1.amazonaws.com")


def test_a_named_stage_stays_in_raw_path_and_text_bodies_stay_text() -> None:
    request = Request(
        "PUT", "/dev/menu/a%20b?x=1", [("Content-Type", "application/json")], b'{"a":"\xc3\xa9"}', "1.2.3.4"
    )
    event = build_event(request, stack("dev"), GREEDY, {"proxy": "menu/a%20b"})
    assert event["rawPath"] == "/dev/menu/a%20b"
    assert event["requestContext"]["stage"] == "dev"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /{proxy+}"
    assert event["pathParameters"] == {"proxy": "menu/a b"}
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"a":"é"}'
    invalid = build_event(
        Request("PUT", "/dev/x", [("Content-Type", "application/json")], b"\xff", "1.2.3.4"),
        stack("dev"),
        GREEDY,
        {},
    )
    assert invalid["isBase64Encoded"] is True
    assert base64.b64decode(invalid["body"]) == b"\xff"
    bare = build_event(Request("GET", "/dev", [], b"", "1.2.3.4"), stack("dev"), ROOT, {})
    assert "body" not in bare
    assert "cookies" not in bare
    assert "queryStringParameters" not in bare


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/", "/"),
        ("GET", "/hello", "/{proxy+}"),
        ("DELETE", "/menu/x/y", "/{proxy+}"),
        ("GET", "/menu/special", "/menu/special"),
        ("GET", "/menu/other", "/menu/{id}"),
        ("POST", "/menu/special", "/{proxy+}"),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, expected: str) -> None:
    routes = [
        GREEDY,
        ROOT,
        Route("GET", "/menu/{id}", "Fn", "2.0"),
        Route("GET", "/menu/special", "Fn", "2.0"),
    ]
    selected = select_route(routes, method, path)
    assert selected is not None
    assert selected[0].path == expected


def test_no_route_is_none() -> None:
    assert select_route([ROOT], "GET", "/hello") is None
    assert select_route([Route("GET", "/hello", "Fn", "2.0")], "POST", "/hello") is None


def test_the_2_0_response_rules() -> None:
    structured = map_response(
        {"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=1", "b=2; Path=/"], "body": "made"}
    )
    assert structured.status == 201
    assert structured.body == b"made"
    assert ("Set-Cookie", "a=1") in structured.headers
    assert ("Set-Cookie", "b=2; Path=/") in structured.headers
    binary = map_response(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    )
    assert binary.body == b"\x00\xff"
    inferred = map_response({"hello": "world"})
    assert (inferred.status, json.loads(inferred.body)) == (200, {"hello": "world"})
    assert ("Content-Type", "application/json") in inferred.headers
    assert map_response("text").body == b"text"


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [1000.0]
    bucket = TokenBucket(burst=3, rate=2.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back at 2 per second
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 100  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
