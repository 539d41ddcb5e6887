"""The events API Gateway's WebSocket API sends to Lambda, and how it reads what the
REQUEST authorizer answers, as the AWS pages cited beside each documents them.

- The authorizer's input: apigateway-websocket-api-lambda-auth.html ("The following
  example shows an input to a REQUEST authorizer for a WebSocket API": type REQUEST,
  methodArn ending in ``/$connect``, headers and multiValueHeaders,
  queryStringParameters and multiValueQueryStringParameters, stageVariables, the
  requestContext below).
- The integration's input (Lambda proxy): requestContext with routeKey, eventType
  CONNECT/MESSAGE/DISCONNECT, extendedRequestId, requestTime, messageDirection IN,
  stage, connectedAt, requestTimeEpoch, identity.sourceIp, requestId, domainName,
  connectionId, apiId, and ``authorizer`` (the authorizer's context with principalId
  and integrationLatency); ``$connect`` carries the handshake's headers and query;
  a message carries messageId and ``body``; ``$disconnect`` disconnectStatusCode and
  disconnectReason (apigateway-websocket-api-route-keys-connect-disconnect.html).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import secrets
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from twin.live_stack import WebSocketApi
from twin.stack import ACCOUNT, REGION

_ID_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    """Shaped like API Gateway's connection and request ids ("IU3kkeN4IAMCJwA="): 15
    letters and digits and a "=" (an id travels in a URL path: @connections/{id})."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


@dataclass
class Handshake:
    path: str  # without the query
    query: str  # never logged: it holds the access token
    headers: list[tuple[str, str]]
    source_ip: str


@dataclass
class Peer:
    """One connection as API Gateway knows it."""

    connection_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str
    authorizer: dict[str, Any] | None = None
    last_active: float = field(default_factory=time.time)


def _request_time(now: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def request_context(
    api: WebSocketApi, peer: Peer, route_key: str, event_type: str, request_id: str
) -> dict[str, Any]:
    now = time.time()
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": peer.connected_at_ms,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": peer.source_ip, "userAgent": peer.user_agent},
        "requestId": request_id,
        "domainName": f"{api.api_id}.execute-api.{REGION}.amazonaws.com",
        "connectionId": peer.connection_id,
        "apiId": api.api_id,
    }
    if peer.authorizer is not None:
        context["authorizer"] = peer.authorizer
    return context


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # the last value, as API Gateway's single-value maps hold
        multi.setdefault(name, []).append(value)
    return single, multi


def method_arn(api: WebSocketApi) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}/{api.stage}/$connect"


def authorizer_event(api: WebSocketApi, handshake: Handshake, peer: Peer, request_id: str) -> dict[str, Any]:
    headers, multi_headers = _multi(handshake.headers)
    query, multi_query = _multi(parse_qsl(handshake.query, keep_blank_values=True))
    return {
        "type": "REQUEST",
        "methodArn": method_arn(api),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "stageVariables": {},
        "requestContext": request_context(api, peer, "$connect", "CONNECT", request_id),
    }


def connect_event(api: WebSocketApi, handshake: Handshake, peer: Peer, request_id: str) -> dict[str, Any]:
    headers, multi_headers = _multi(handshake.headers)
    query, multi_query = _multi(parse_qsl(handshake.query, keep_blank_values=True))
    event: dict[str, Any] = {
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "requestContext": request_context(api, peer, "$connect", "CONNECT", request_id),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    return event


def message_event(
    api: WebSocketApi, peer: Peer, route_key: str, message: str | bytes, request_id: str
) -> dict[str, Any]:
    context = request_context(api, peer, route_key, "MESSAGE", request_id)
    context["messageId"] = new_id()
    binary = isinstance(message, bytes)
    body = base64.b64encode(message).decode() if isinstance(message, bytes) else message
    return {"requestContext": context, "body": body, "isBase64Encoded": binary}


def disconnect_event(
    api: WebSocketApi, peer: Peer, code: int, reason: str, request_id: str
) -> dict[str, Any]:
    context = request_context(api, peer, "$disconnect", "DISCONNECT", request_id)
    context["disconnectStatusCode"] = code
    context["disconnectReason"] = reason
    return {"headers": {}, "multiValueHeaders": {}, "requestContext": context, "isBase64Encoded": False}


def identity_present(sources: Iterable[str], handshake: Handshake) -> bool:
    """Every identity source has a non-empty value. apigateway-websocket-api-lambda-auth.html
    (as for REST APIs' REQUEST authorizers): when one is missing, null or empty, API
    Gateway answers 401 without calling the authorizer."""
    query = dict(parse_qsl(handshake.query, keep_blank_values=True))
    headers = {name.lower(): value for name, value in handshake.headers}
    for source in sources:
        source = source.strip()
        if source.startswith("route.request.querystring."):
            value = query.get(source.removeprefix("route.request.querystring."), "")
        elif source.startswith("route.request.header."):
            value = headers.get(source.removeprefix("route.request.header.").lower(), "")
        else:
            continue  # stage variables and context: always there
        if not value.strip():
            return False
    return True


def policy_allows(answer: Any, arn: str) -> bool:
    """An IAM policy's verdict on ``execute-api:Invoke`` of ``arn``: an explicit Deny
    wins, then an Allow, else denied (api-gateway-lambda-authorizer-output.html)."""
    statements = ((answer or {}).get("policyDocument") or {}).get("Statement") or []
    allowed = False
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def authorizer_context(answer: dict[str, Any], latency_ms: int) -> dict[str, Any]:
    """requestContext.authorizer of the integration's events: the context's values, the
    principalId and the authorizer's latency."""
    context = dict(answer.get("context") or {})
    return {**context, "principalId": answer.get("principalId", ""), "integrationLatency": latency_ms}


def selected_route(api: WebSocketApi, message: str | bytes) -> str | None:
    """The route a message takes (apigateway-websocket-api-develop-routes.html): the
    RouteSelectionExpression's value if a route has that key, else ``$default``; None
    if neither exists."""
    key = None
    path = api.selection_expression.removeprefix("$request.body.")
    if path != api.selection_expression and isinstance(message, str):
        try:
            value: Any = json.loads(message)
        except ValueError:
            value = None
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        key = value if isinstance(value, str | int | float) and not isinstance(value, bool) else None
    if key is not None and str(key) in api.routes and not str(key).startswith("$"):
        return str(key)
    return "$default" if "$default" in api.routes else None
