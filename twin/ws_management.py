"""The WebSocket API's ``@connections`` management API, locally
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html):
``POST`` sends the body to the connection, ``GET`` describes it, ``DELETE`` closes it;
an unknown or closed connection is ``410 GoneException``. The SDK signs these calls
with SigV4; the twin does not check the signature but, as the cloud refuses an unsigned
call, answers one without an ``Authorization`` header ``403 Missing Authentication
Token``. A body over the 128 KB message quota is ``413 PayloadTooLargeException``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from twin.ws_events import Peer, new_id

if TYPE_CHECKING:
    from twin.websocket import WebSocketGateway

log = logging.getLogger("twin.websocket")

# apigateway-execution-service-websocket-limits-table.html
FRAME_BYTES = 32 * 1024
MESSAGE_BYTES = 128 * 1024
MAX_BODY_BYTES = 1024 * 1024  # what the twin sets aside; more is refused before parsing
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*(?=\r?$)", re.IGNORECASE | re.MULTILINE)


class BodyAside(ServerConnection):
    """A server connection that sets a request's body aside before the library parses
    the request (it takes only body-less handshakes): ``body`` holds it, and the head
    goes on without its Content-Length. Also carries the connection's ``peer``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peer: Peer | None = None
        self.request_id = ""  # a handshake's (a management call has none)
        self.body = b""
        self._head = bytearray()
        self._passed = False

    def data_received(self, data: bytes) -> None:
        if self._passed:
            super().data_received(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0 and len(self._head) < MAX_BODY_BYTES:
            return
        head, rest = bytes(self._head[: end + 4]), bytes(self._head[end + 4 :])
        match = _CONTENT_LENGTH.search(head) if end >= 0 else None
        length = int(match.group(1)) if match else 0
        if 0 < length <= MAX_BODY_BYTES:
            if len(rest) < length:
                return
            self.body, rest = rest[:length], rest[length:]
            head = _CONTENT_LENGTH.sub(b"Content-Length: 0", head)
        self._passed = True
        self._head = bytearray()
        super().data_received(head + rest)


def _answer(status: int, reason: str, body: bytes = b"", error: str | None = None) -> Response:
    # One request per connection: the library closes it after answering (a client must
    # not keep it for the next call).
    headers = Headers({"Content-Length": str(len(body)), "x-amzn-RequestId": new_id(), "Connection": "close"})
    if body:
        headers["Content-Type"] = "application/json"
    if error:
        headers["x-amzn-ErrorType"] = error
    return Response(status, reason, headers, body)


def _error(status: int, reason: str, error: str | None, message: str) -> Response:
    return _answer(status, reason, json.dumps({"message": message}).encode(), error)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def management(
    gateway: WebSocketGateway, connection: BodyAside, request: Request, connection_id: str
) -> Response:
    response = await _manage(gateway, connection, request, connection_id)
    log.info(
        "%s /%s/@connections/%s %s", request.method, gateway.api.stage, connection_id, response.status_code
    )
    return response


async def _manage(
    gateway: WebSocketGateway, connection: BodyAside, request: Request, connection_id: str
) -> Response:
    if not request.headers.get("Authorization"):
        return _error(403, "Forbidden", "MissingAuthenticationTokenException", "Missing Authentication Token")
    if request.method not in ("POST", "GET", "DELETE"):
        return _error(404, "Not Found", None, "Not Found")
    target = gateway.peers.get(connection_id)
    if target is None:
        return _error(410, "Gone", "GoneException", "Gone")
    peer, socket = target
    if request.method == "GET":
        # The service model's wire names (camelCase), ISO 8601 times.
        description = {
            "connectedAt": _iso(peer.connected_at_ms / 1000),
            "identity": {"sourceIp": peer.source_ip, "userAgent": peer.user_agent},
            "lastActiveAt": _iso(peer.last_active),
        }
        return _answer(200, "OK", json.dumps(description).encode())
    if request.method == "DELETE":
        await socket.close(1000, "")
        return _answer(204, "No Content")
    data = connection.body
    if len(data) > MESSAGE_BYTES:
        return _error(413, "Payload Too Large", "PayloadTooLargeException", "Request entity too large")
    try:
        await send_fragmented(socket, data)
    except ConnectionClosed:
        return _error(410, "Gone", "GoneException", "Gone")
    # The quota page does not say which way "idle" counts; users of the service report
    # that a message either way keeps a connection (andyrichardson/subscriptionless#3).
    peer.last_active = time.time()
    return _answer(200, "OK")


async def send_fragmented(connection: ServerConnection, data: str | bytes) -> None:
    """A message in frames of at most 32 KB, as API Gateway splits what it sends (the
    quota page: "messages larger than 32 KB must be split into multiple frames"); text
    if it is UTF-8."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            await connection.send([data[i : i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)])
            return
    if len(data.encode()) <= FRAME_BYTES:
        await connection.send(data)
        return
    step = FRAME_BYTES // 4  # characters of at most 4 UTF-8 bytes each
    await connection.send([data[i : i + step] for i in range(0, len(data), step)])
