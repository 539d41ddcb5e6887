"""The twin's WebSocket API under its stage's throttling, in process: the real server on
loopback, stand-in functions that answer at once (the throttle is the gateway's, before
any function runs). Over the bucket, a handshake is refused with 429 and a message is
answered in band, as API Gateway's own errors are, and the function never runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from twin.live_stack import WebSocketApi, WsRoute
from twin.websocket import WebSocketGateway

BURST = 3


class Function:
    """Answers as LiveSocketFunction would, counting its invocations."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> dict[str, Any]:
        self.events.append(event)
        if event.get("type") == "REQUEST":
            statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            return {"principalId": "p", "policyDocument": {"Statement": [statement]}, "context": {}}
        return {"statusCode": 200, "body": json.dumps({"type": "pong"})}


@pytest.fixture
def gateway() -> Iterator[tuple[str, Function]]:
    function = Function()
    routes = {
        "$connect": WsRoute(
            "$connect", "Fn", authorizer="Fn", identity_source=("route.request.querystring.token",)
        ),
        "ping": WsRoute("ping", "Fn", two_way=True),
    }
    # A bucket of BURST that refills slowly: BURST requests pass, the next is throttled.
    api = WebSocketApi(
        "Ws", "twinws0000", "t", "$request.body.action", routes, burst_limit=BURST, rate_limit=0.01
    )
    served = WebSocketGateway(api, {"Fn": function})  # type: ignore[dict-item]
    port = served.start(0)
    try:
        yield f"ws://127.0.0.1:{port}/t?token=x", function
    finally:
        served.stop()


def test_over_the_stage_bucket_handshakes_get_429_and_messages_an_error(
    gateway: tuple[str, Function],
) -> None:
    url, function = gateway

    async def scenario() -> tuple[list[str], int]:
        async with connect(url) as ws:  # one token: the handshake
            answers = []
            for _ in range(BURST):  # BURST - 1 tokens left, then the bucket is empty
                await ws.send('{"action": "ping"}')
                answers.append(await asyncio.wait_for(ws.recv(), 10))
            invoked, status = len(function.events), 101
            try:
                async with connect(url):
                    pass
            except InvalidStatus as refused:
                status = refused.response.status_code
            assert len(function.events) == invoked  # neither the authorizer nor $connect ran
            return [str(a) for a in answers], status

    answers, status = asyncio.run(scenario())
    assert answers[: BURST - 1] == ['{"type": "pong"}'] * (BURST - 1)
    throttled = json.loads(answers[-1])
    assert throttled["message"] == "Too Many Requests"
    assert set(throttled) == {"message", "connectionId", "requestId"}
    assert status == 429
