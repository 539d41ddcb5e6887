"""The twin's live parts, started beside the HTTP API: the WebSocket API
(twin/websocket.py) and the event source mappings of the tables' streams
(twin/streams.py), with the on-failure queues on the same local server as the tables.
Each says at start-up what it stands in for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.lambda_service import LambdaService
from twin.stack import Stack
from twin.streams import POLL_INTERVAL_S, StreamPoller
from twin.websocket import WebSocketGateway


def stream_specification(properties: dict[str, Any]) -> dict[str, Any] | None:
    """CreateTable's StreamSpecification from the template's (which has no StreamEnabled)."""
    spec = properties.get("StreamSpecification")
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]} if spec else None


def management_url(stack: Stack, port: int) -> str:
    """What the functions' SDK calls @connections at: the stage's URL, as the SDK's
    standard AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI setting takes it."""
    assert stack.websocket is not None
    return f"http://127.0.0.1:{port}/{stack.websocket.stage}"


@dataclass
class Live:
    websocket: WebSocketGateway | None = None
    ws_url: str = ""
    pollers: list[StreamPoller] = field(default_factory=list)

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        if self.websocket is not None:
            self.websocket.stop()


def start_live(
    stack: Stack, services: dict[str, LambdaService], ws_port: int, session: Any, endpoint: str
) -> Live:
    """``session``: a boto3 session with the twin's stand-in credentials; ``endpoint``:
    the local DynamoDB server (moto's, which serves SQS too)."""
    live = Live()
    api = stack.websocket
    if api is not None and ws_port:
        live.websocket = WebSocketGateway(api, services)
        port = live.websocket.start(ws_port)
        live.ws_url = f"ws://127.0.0.1:{port}/{api.stage}"
        authorizer = stack.websocket.routes.get("$connect") if stack.websocket else None
        stack.notes.append(
            f"websocket: the WebSocket API {api.logical_id} at {live.ws_url} (routes "
            f"{', '.join(sorted(api.routes))}; $connect through "
            f"{authorizer.authorizer if authorizer and authorizer.authorizer else 'no authorizer'}; "
            f"idle {live.websocket.idle_s:g} s, at most {live.websocket.max_s:g} s, frames 32 KB, "
            f"messages 128 KB); @connections at {management_url(stack, port)}/@connections/ID "
            "(AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI in the functions)"
        )
    elif api is not None:
        # Off means live updates off: no socket to push to, and a stream consumer would
        # otherwise post to the cloud's @connections URL from its environment.
        stack.notes.append(
            f"websocket: CLOUD_WS_PORT=0, the WebSocket API {api.logical_id} and the stream mappings are off"
        )
        return live
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    queue_urls = {
        logical_id: sqs.create_queue(QueueName=name)["QueueUrl"] for logical_id, name in stack.queues.items()
    }
    for mapping in stack.mappings:
        if not mapping.enabled:
            continue
        table = stack.tables[mapping.table].name
        stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        queue_url = queue_urls.get(mapping.on_failure) if mapping.on_failure else None
        poller = StreamPoller(mapping, services[mapping.function], streams, stream_arn, sqs, queue_url)
        poller.start()
        live.pollers.append(poller)
        then = (
            f"the SQS queue {stack.queues[mapping.on_failure]} on the same server"
            if mapping.on_failure
            else "dropped"
        )
        stack.notes.append(
            f"stream: {mapping.logical_id} reads {mapping.table}'s stream on the local server "
            f"{1 / POLL_INTERVAL_S:g} times a second (Lambda's rate), batches of up to {mapping.batch_size}, "
            f"{len(mapping.filters)} filter(s), {mapping.max_retries} retries"
            f"{', bisecting' if mapping.bisect else ''}"
            f"{', partial batch failures' if mapping.report_item_failures else ''}, then "
            f"{then}"
        )
    return live
