"""The twin's WebSocket API as a client meets it, on the tiny live stack
(tests/twin/tiny_live): the handshake refused as API Gateway refuses it, the events
the functions get, routing and two-way routes, the size quotas, the @connections
management API, the idle and maximum-duration cut-offs. Real sockets on loopback,
the functions in the twin's Lambda workers."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.twin.conftest import TINY_LIVE_IDLE_S, TINY_LIVE_MAX_S, Twin

KEYS: dict[str, Any] = {
    "region_name": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def twin(tiny_live: Twin) -> Twin:
    return tiny_live


def connections(twin: Twin) -> dict[str, dict[str, Any]]:
    """The items the Socket function wrote: CONN#id -> its $connect (and $disconnect) event."""
    client = boto3.client("dynamodb", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    items = client.scan(TableName="twin-Table-twin")["Items"]
    return {
        i["PK"]["S"].removeprefix("CONN#"): {k: json.loads(v["S"]) for k, v in i.items() if k != "PK"}
        for i in items
        if i["PK"]["S"].startswith("CONN#")
    }


def management(twin: Twin) -> Any:
    """The SDK's client, as a function reaches it: the stage's URL as the endpoint."""
    config = Config(retries={"total_max_attempts": 1}, read_timeout=10)
    return boto3.client(
        "apigatewaymanagementapi", endpoint_url=twin.ws_url.replace("ws:", "http:"), config=config, **KEYS
    )


async def echo(ws: ClientConnection, **fields: Any) -> dict[str, Any]:
    await ws.send(json.dumps({"action": "echo", **fields}))
    answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return answer


async def refusal(url: str) -> tuple[int, bytes]:
    try:
        async with connect(url):
            pass
    except InvalidStatus as refused:
        return refused.response.status_code, bytes(refused.response.body or b"")
    raise AssertionError("the handshake was accepted")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 401),  # no identity source: API Gateway's 401, the authorizer never runs
        ("?token=", 401),
        ("?token=forged", 401),  # the authorizer raises "Unauthorized"
        ("?token=deny", 403),  # a Deny policy
        ("?token=boom", 500),  # the authorizer fails otherwise
        ("?token=good-eve&refuse=1", 403),  # the $connect integration answers 403
    ],
)
def test_a_refused_handshake_leaves_no_connection(twin: Twin, query: str, status: int) -> None:
    before, reports = connections(twin), len(twin.reports())
    code, body = run(refusal(twin.ws_url + query))
    assert code == status
    assert json.loads(body)["message"] in ("Unauthorized", "Forbidden", "Internal Server Error")
    time.sleep(0.2)
    after = connections(twin)
    assert {k: v for k, v in after.items() if "gone" not in v} == {
        k: v for k, v in before.items() if "gone" not in v
    }
    if query in ("", "?token="):
        assert len(twin.reports()) == reports  # no function ran at all
    assert "token=" not in twin.log()  # the gateway's lines never hold the query string


def test_a_plain_http_request_is_no_handshake(twin: Twin) -> None:
    import httpx

    reports = len(twin.reports())
    answer = httpx.get(twin.ws_url.replace("ws:", "http:") + "?token=good-zed", timeout=10)
    assert answer.status_code == 426  # Upgrade Required
    assert len(twin.reports()) == reports  # neither the authorizer nor $connect ran
    time.sleep(0.1)
    assert "WS CONNECT /live 426 " in twin.log()


def test_the_events_are_as_api_gateway_documents_them(twin: Twin) -> None:
    async def scenario() -> dict[str, Any]:
        async with connect(twin.ws_url + "?token=good-alice", user_agent_header="tiny-test") as ws:
            return await echo(ws, note="hi")

    event = run(scenario())["event"]
    context = event["requestContext"]
    assert context["routeKey"] == "echo"
    assert context["eventType"] == "MESSAGE"
    assert context["messageDirection"] == "IN"
    assert context["stage"] == "live"
    assert context["apiId"] == "twinws0000"
    assert context["domainName"] == "twinws0000.execute-api.us-east-1.amazonaws.com"
    assert context["identity"]["userAgent"] == "tiny-test"
    assert json.loads(event["body"]) == {"action": "echo", "note": "hi"}
    assert event["isBase64Encoded"] is False
    for name in ("requestId", "messageId", "connectionId", "extendedRequestId", "requestTime"):
        assert isinstance(context[name], str), name
        assert context[name], name
    assert isinstance(context["connectedAt"], int)
    assert isinstance(context["requestTimeEpoch"], int)
    # The authorizer's context reaches every route, with principalId and its latency.
    authorizer = context["authorizer"]
    assert authorizer["sub"] == "alice"
    assert authorizer["principalId"] == "alice"
    assert isinstance(authorizer["integrationLatency"], int)
    # What the authorizer got: the documented REQUEST input for a WebSocket API.
    seen = authorizer["seen"]
    assert seen["type"] == "REQUEST"
    assert seen["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:twinws0000/live/$connect"
    assert seen["queryStringParameters"] == {"token": "good-alice"}
    assert seen["multiValueQueryStringParameters"] == {"token": ["good-alice"]}
    assert seen["headers"]["Upgrade"] == "websocket"
    assert seen["requestContext"]["routeKey"] == "$connect"
    assert seen["requestContext"]["eventType"] == "CONNECT"
    # $connect got the same connection id, the handshake's query, the authorizer's context.
    connect_event = connections(twin)[context["connectionId"]]["event"]
    assert connect_event["requestContext"]["connectionId"] == context["connectionId"]
    assert connect_event["requestContext"]["connectedAt"] == context["connectedAt"]
    assert connect_event["queryStringParameters"] == {"token": "good-alice"}
    assert connect_event["requestContext"]["authorizer"]["sub"] == "alice"


def test_routes_one_way_and_two_way_and_disconnect(twin: Twin) -> None:
    async def scenario() -> tuple[str, list[str]]:
        async with connect(twin.ws_url + "?token=good-bob") as ws:
            connection_id = (await echo(ws))["event"]["requestContext"]["connectionId"]
            # $default (not JSON, an unknown action) has no route response: nothing comes back.
            await ws.send("plain text")
            await ws.send(json.dumps({"action": "unknown"}))
            await ws.send(json.dumps({"action": "echo", "after": True}))
            first = await asyncio.wait_for(ws.recv(decode=True), 10)
            return connection_id, [str(first)]

    connection_id, received = run(scenario())
    assert json.loads(received[0])["event"]["body"] == json.dumps({"action": "echo", "after": True})
    deadline = time.monotonic() + 10
    while "gone" not in connections(twin)[connection_id] and time.monotonic() < deadline:
        time.sleep(0.1)
    gone = connections(twin)[connection_id]["gone"]["requestContext"]
    assert gone["routeKey"] == "$disconnect"
    assert gone["eventType"] == "DISCONNECT"
    assert gone["disconnectStatusCode"] == 1000


def test_frames_over_32_kb_and_messages_over_128_kb_close_with_1009(twin: Twin) -> None:
    async def send(payload: str | list[str]) -> int | str:
        async with connect(twin.ws_url + "?token=good-carol", max_size=None) as ws:
            await ws.send(payload)
            try:
                answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1
            return str(answer["size"])

    body = json.dumps({"action": "echo", "pad": "x" * 100_000})
    # 100 KB in frames of 25 KB: within both quotas, routed by its JSON like any message.
    assert run(send([body[i : i + 25_000] for i in range(0, len(body), 25_000)])) == str(len(body))
    assert run(send(json.dumps({"action": "echo", "pad": "x" * 40_000}))) == 1009  # one 40 KB frame
    big = json.dumps({"action": "echo", "pad": "x" * 131_072})  # over 128 KiB
    assert run(send([big[i : i + 30_000] for i in range(0, len(big), 30_000)])) == 1009


def test_the_management_api(twin: Twin) -> None:
    api = management(twin)

    async def scenario() -> None:
        async with connect(twin.ws_url + "?token=good-dan", max_size=None) as ws:
            connection_id = (await echo(ws))["event"]["requestContext"]["connectionId"]
            described = await asyncio.to_thread(api.get_connection, ConnectionId=connection_id)
            assert described["Identity"]["SourceIp"] == "127.0.0.1"
            assert described["ConnectedAt"] <= described["LastActiveAt"]
            await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b'{"n": 1}')
            assert await asyncio.wait_for(ws.recv(), 10) == '{"n": 1}'
            # 100 KB goes out in frames of 32 KB; the client gets the one message.
            large = json.dumps({"pad": "y" * 100_000}).encode()
            await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=large)
            assert await asyncio.wait_for(ws.recv(decode=False), 10) == large
            with pytest.raises(api.exceptions.PayloadTooLargeException):
                await asyncio.to_thread(
                    api.post_to_connection, ConnectionId=connection_id, Data=b"z" * 131_073
                )
            await asyncio.to_thread(api.delete_connection, ConnectionId=connection_id)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 10)
            with pytest.raises(api.exceptions.GoneException):
                await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b"late")

    run(scenario())
    with pytest.raises(api.exceptions.GoneException):
        api.get_connection(ConnectionId="NeverConnected0=")


def test_an_unsigned_management_call_is_refused(twin: Twin) -> None:
    import httpx

    answer = httpx.post(twin.ws_url.replace("ws:", "http:") + "/@connections/x", content=b"hi", timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"message": "Missing Authentication Token"}


def test_idle_and_maximum_duration_cut_offs(twin: Twin) -> None:
    async def idle() -> tuple[int, float]:
        async with connect(twin.ws_url + "?token=good-erin") as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), TINY_LIVE_IDLE_S + 10)
            assert closed.value.rcvd is not None
            return closed.value.rcvd.code, time.monotonic() - started

    code, after = run(idle())
    assert code == 1001  # "Going away"
    assert TINY_LIVE_IDLE_S - 0.5 <= after <= TINY_LIVE_IDLE_S + 3

    async def busy() -> tuple[int, float]:
        async with connect(twin.ws_url + "?token=good-erin") as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                await chatter(ws)
            assert closed.value.rcvd is not None
            return closed.value.rcvd.code, time.monotonic() - started

    async def chatter(ws: ClientConnection) -> None:
        while True:  # a message a second keeps it from idling, not past the maximum
            await echo(ws)
            await asyncio.sleep(1)

    code, after = run(busy())
    assert code == 1001
    assert TINY_LIVE_MAX_S - 1 <= after <= TINY_LIVE_MAX_S + 3


def test_messages_sent_to_a_connection_keep_it_from_idling(twin: Twin) -> None:
    api = management(twin)

    async def listening() -> int:
        async with connect(twin.ws_url + "?token=good-fay") as ws:
            connection_id = (await echo(ws))["event"]["requestContext"]["connectionId"]
            received = 0
            for _ in range(TINY_LIVE_IDLE_S + 2):  # past the idle cut-off, sending nothing
                await asyncio.sleep(1)
                await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b"{}")
                await asyncio.wait_for(ws.recv(), 10)
                received += 1
            return received

    assert run(listening()) == TINY_LIVE_IDLE_S + 2
