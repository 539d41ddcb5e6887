"""Real API Gateway events, as `sam local generate-event` writes them, varied per test.

The fixtures under fixtures/ are committed outputs of:
  sam local generate-event apigateway http-api-proxy   > http-api-v2.json
  sam local generate-event apigateway aws-proxy        > rest-api-v1.json
  sam local generate-event s3 put                      > s3-put.json
  sam local generate-event sqs receive-message         > sqs-receive.json
  sam local generate-event cloudwatch scheduled-event  > scheduled.json
  sam local generate-event dynamodb update             > dynamodb-update.json
`sam local generate-event` has no WebSocket API events; these follow the examples of
the API Gateway Developer Guide ("Control access to WebSocket APIs with AWS Lambda
REQUEST authorizers"; the $connect integration's input, with the authorizer's context
under requestContext.authorizer as "Working with routes for WebSocket APIs" shows):
  websocket-authorizer.json  the REQUEST authorizer's input on $connect
  websocket-connect.json     the $connect integration's input after an Allow
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


@dataclass
class LambdaContext:
    aws_request_id: str = "lambda-req-1"
    function_name: str = "ApiFunction"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def http_v2(
    method: str = "GET",
    path: str = "/hello",
    *,
    stage: str = "$default",
    query: str = "",
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    body: bytes | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event. On a named stage the path carries the stage."""
    event = copy.deepcopy(load("http-api-v2.json"))
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event["rawPath"] = raw_path
    event["rawQueryString"] = query
    event["requestContext"]["http"]["path"] = raw_path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["stage"] = stage
    event["requestContext"]["http"]["sourceIp"] = "203.0.113.7"
    event["headers"] = {"host": "id.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if cookies is None:
        event.pop("cookies", None)
    else:
        event["cookies"] = cookies
    if body is None:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    elif base64_body:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    else:
        event["body"] = body.decode()
        event["isBase64Encoded"] = False
    return event


def rest_v1(method: str = "GET", path: str = "/hello", *, stage: str = "prod") -> dict[str, Any]:
    """A REST API proxy event: the path has no stage; requestContext.path has it."""
    event = copy.deepcopy(load("rest-api-v1.json"))
    event["path"] = path
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    event["requestContext"]["stage"] = stage
    event["requestContext"]["path"] = f"/{stage}{path}"
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["body"] = None
    event["isBase64Encoded"] = False
    event["multiValueQueryStringParameters"] = None
    event["queryStringParameters"] = None
    return event


def http_v1(method: str = "GET", path: str = "/hello", *, stage: str = "prod") -> dict[str, Any]:
    """An HTTP API payload 1.0 event: REST-shaped, with a version, stage in the path."""
    event = rest_v1(method, path, stage=stage)
    event["version"] = "1.0"
    event["path"] = f"/{stage}{path}" if stage != "$default" else path
    event["requestContext"]["domainName"] = "id.execute-api.us-east-1.amazonaws.com"
    return event


def json_body(result: dict[str, Any]) -> Any:
    body = result["body"]
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)
