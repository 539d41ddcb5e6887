"""The WebSocket routes (app.aws_lambda.live_socket.handler) on the events API Gateway
documents: $connect after the authorizer's Allow records the listener its context
describes, $disconnect forgets it, ping answers pong, anything else an error that
never echoes what was sent."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.aws_lambda.live_socket import handler
from app.live.audience import ALL, STAFF, Listener, customer
from app.live.dynamo_registry import DynamoRegistry
from tests.lambda_events.conftest import LambdaContext, load

CONNECTION = load("websocket-connect.json")["requestContext"]["connectionId"]


def event(route: str, body: str | None = None, **authorizer: str) -> dict[str, Any]:
    """The $connect event, turned into another route's as API Gateway sends it."""
    value = copy.deepcopy(load("websocket-connect.json"))
    context = value["requestContext"]
    context["routeKey"] = route
    context["authorizer"].update(authorizer)
    if route != "$connect":
        for name in ("headers", "queryStringParameters"):
            value.pop(name)
            value.pop(f"multiValue{name[0].upper()}{name[1:]}", None)
        context["eventType"] = "DISCONNECT" if route == "$disconnect" else "MESSAGE"
    if body is not None:
        value["body"] = body
    return value


def test_connect_records_the_listener_the_authorizer_described(cloud: DynamoRegistry) -> None:
    answer = handler(event("$connect", sub="cook", staff="true", expiresAt="4102444800"), LambdaContext())
    assert answer == {"statusCode": 200}
    listener = Listener(CONNECTION, "cook", staff=True, expires_at=4102444800)
    for audience in (ALL, STAFF, customer("cook")):
        assert cloud.members(audience) == [listener], audience
    assert cloud.members(customer("alice")) == []


@pytest.mark.parametrize("staff", ["false", "", "True", "yes"])
def test_only_staff_true_is_in_the_kitchen(cloud: DynamoRegistry, staff: str) -> None:
    handler(event("$connect", staff=staff), LambdaContext())  # the fixture's sub: alice
    assert [m.sub for m in cloud.members(customer("alice"))] == ["alice"]
    assert cloud.members(STAFF) == []


def test_disconnect_forgets_the_connection(cloud: DynamoRegistry) -> None:
    handler(event("$connect"), LambdaContext())
    cloud.add(Listener("other=", "alice", staff=False, expires_at=4102444800))
    assert handler(event("$disconnect"), LambdaContext()) == {"statusCode": 200}
    assert [m.connection_id for m in cloud.members(customer("alice"))] == ["other="]
    assert [m.connection_id for m in cloud.members(ALL)] == ["other="]


def test_ping_is_answered_pong() -> None:
    answer = handler(event("ping", body='{"action": "ping"}'), LambdaContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"type": "pong"}


def test_anything_else_is_an_error_that_does_not_echo_it() -> None:
    sent = '{"action": "<script>steal()</script>"}'
    answer = handler(event("$default", body=sent), LambdaContext())
    reply = json.loads(answer["body"])
    assert reply["type"] == "error"
    assert reply["detail"]
    assert "steal" not in answer["body"]
