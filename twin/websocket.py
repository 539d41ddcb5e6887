"""API Gateway's WebSocket API, locally, on ``ws://127.0.0.1:PORT/{stage}`` (the
``websockets`` library's server): the handshake through the REQUEST authorizer and
the ``$connect`` integration, messages routed by the RouteSelectionExpression (two-way
routes answer), ``$disconnect``, the ``@connections`` management API on the same port,
the quotas of apigateway-execution-service-websocket-limits-table.html (idle 10 minutes,
2 hours, frames 32 KB, messages 128 KB: "If a larger message (or larger frame size) is
received, the connection is closed with code 1009") and the stage's throttling.

A management call (``POST|GET|DELETE /{stage}/@connections/{id}``) arrives on the same
port as a plain HTTP request: the server answers it in ``process_request``, before any
upgrade, as its documented hook for HTTP requests allows; its body is set aside first,
as the library reads no request body (twin/ws_management.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from twin.gateway import TokenBucket
from twin.lambda_service import InvocationFailed, LambdaService
from twin.live_stack import WebSocketApi
from twin.ws_events import (
    Handshake,
    Peer,
    authorizer_context,
    authorizer_event,
    connect_event,
    disconnect_event,
    identity_present,
    message_event,
    method_arn,
    new_id,
    policy_allows,
    selected_route,
)
from twin.ws_management import FRAME_BYTES, MESSAGE_BYTES, BodyAside, management, send_fragmented

log = logging.getLogger("twin.websocket")
# The library's own lines ("connection open", handshake failures) add nothing the twin's
# own lines do not say; its errors still show.
logging.getLogger("websockets").setLevel(logging.WARNING)

IDLE_SECONDS = 10 * 60
MAX_SECONDS = 2 * 60 * 60
INTEGRATION_TIMEOUT_S = 29.0  # the quota page: integration timeout up to 29 seconds
# The close code at the idle and duration cut-offs: the quota page names none; 1001
# ("going away", RFC 6455 7.4.1) is the twin's choice. Clients reconnect on any close.
GOING_AWAY = 1001


def _json(status: int, payload: Any) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = Headers(
        {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
    )
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # a $connect integration's own status code
        reason = "Error"
    return Response(status, reason, headers, body)


class WebSocketGateway:
    def __init__(
        self,
        api: WebSocketApi,
        services: dict[str, LambdaService],
        *,
        idle_s: float | None = None,
        max_s: float | None = None,
    ) -> None:
        self.api = api
        self.services = services
        self.idle_s = idle_s or float(os.environ.get("TWIN_WS_IDLE_SECONDS") or IDLE_SECONDS)
        self.max_s = max_s or float(os.environ.get("TWIN_WS_MAX_SECONDS") or MAX_SECONDS)
        burst, rate = api.burst_limit, api.rate_limit
        self.bucket = TokenBucket(burst, rate) if burst is not None and rate is not None else None
        self.peers: dict[str, tuple[Peer, ServerConnection]] = {}
        self.loop = asyncio.new_event_loop()
        self.server: Server | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, name="twin-websocket", daemon=True)

    # -- life ----------------------------------------------------------------------------

    def start(self, port: int) -> int:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(port), self.loop)
        return future.result(timeout=10)

    async def _listen(self, port: int) -> int:
        self.server = await serve(
            self._connection,
            "127.0.0.1",
            port,
            process_request=self._process_request,
            process_response=self._process_response,
            create_connection=BodyAside,
            # API Gateway pings nobody; a client keeps its connection with messages.
            ping_interval=None,
            max_size=(MESSAGE_BYTES, FRAME_BYTES),
            server_header=None,
        )
        return int(self.server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        async def close() -> None:
            if self.server is not None:
                self.server.close()
                await self.server.wait_closed()

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=15)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)

    async def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        service = self.services[function]
        return await asyncio.to_thread(service.invoke, event, wait_s=INTEGRATION_TIMEOUT_S)

    # -- the handshake ---------------------------------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        prefix = f"/{self.api.stage}"
        if path.startswith(f"{prefix}/@connections/"):
            assert isinstance(connection, BodyAside)
            connection_id = unquote(path.removeprefix(f"{prefix}/@connections/"))
            return await management(self, connection, request, connection_id)
        assert isinstance(connection, BodyAside)
        connection.request_id = new_id()
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return None  # not a handshake: the library's 426, before any function runs
        return await self._handshake(connection, request, path, query, connection.request_id)

    def _process_response(self, connection: ServerConnection, request: Request, response: Response) -> None:
        """The gateway's line for a handshake, with the status the client got; never the
        query string (it holds the access token)."""
        assert isinstance(connection, BodyAside)
        if connection.request_id:
            path = request.path.partition("?")[0]
            log.info("WS CONNECT %s %s %s", path, response.status_code, connection.request_id)

    async def _handshake(
        self, connection: ServerConnection, request: Request, path: str, query: str, request_id: str
    ) -> Response | None:
        if path not in (f"/{self.api.stage}", f"/{self.api.stage}/"):
            return _json(404, {"message": "Not Found"})
        if self.bucket is not None and not self.bucket.take():
            return _json(429, {"message": "Too Many Requests"})
        source_ip = str(connection.remote_address[0]) if connection.remote_address else "127.0.0.1"
        handshake = Handshake(path, query, list(request.headers.raw_items()), source_ip)
        peer = Peer(new_id(), int(time.time() * 1000), source_ip, request.headers.get("User-Agent", ""))
        route = self.api.routes.get("$connect")
        if route is not None and route.authorizer is not None:
            if not identity_present(route.identity_source, handshake):
                return _json(401, {"message": "Unauthorized"})
            started = time.perf_counter()
            try:
                answer = await self._invoke(
                    route.authorizer, authorizer_event(self.api, handshake, peer, request_id)
                )
            except InvocationFailed as failure:
                # An authorizer that raises "Unauthorized" is API Gateway's 401; any
                # other failure its 500 (apigateway-websocket-api-lambda-auth.html).
                if failure.message == "Unauthorized":
                    return _json(401, {"message": "Unauthorized"})
                log.warning("authorizer failed: %s", failure.kind)
                return _json(500, {"message": "Internal Server Error"})
            if not isinstance(answer, dict) or not policy_allows(answer, method_arn(self.api)):
                return _json(403, {"message": "Forbidden"})
            peer.authorizer = authorizer_context(answer, int((time.perf_counter() - started) * 1000))
        if route is not None:
            try:
                result = await self._invoke(
                    route.function, connect_event(self.api, handshake, peer, request_id)
                )
            except InvocationFailed as failure:
                log.warning("$connect integration failed: %s", failure.kind)
                return _json(500, {"message": "Internal Server Error"})
            # A $connect integration answering other than 2xx refuses the connection.
            status = int(result.get("statusCode", 200)) if isinstance(result, dict) else 200
            if not 200 <= status < 300:
                return _json(status, {"message": "Forbidden" if status == 403 else "Refused"})
        assert isinstance(connection, BodyAside)
        connection.peer = peer
        return None

    # -- a connection's life -----------------------------------------------------------------

    async def _connection(self, connection: ServerConnection) -> None:
        assert isinstance(connection, BodyAside)
        assert connection.peer is not None
        peer = connection.peer
        peer.last_active = time.time()  # idle from the open connection, not the handshake's start
        self.peers[peer.connection_id] = (peer, connection)
        ends = peer.connected_at_ms / 1000 + self.max_s
        try:
            while True:
                timeout = min(ends, peer.last_active + self.idle_s) - time.time()
                try:
                    message = await asyncio.wait_for(connection.recv(), timeout=max(timeout, 0))
                except TimeoutError:
                    if min(ends, peer.last_active + self.idle_s) > time.time():
                        continue  # a message went out meanwhile (@connections): not idle
                    cause = "maximum duration" if time.time() >= ends else "idle timeout"
                    log.info("WS CUT-OFF %s (%s)", peer.connection_id, cause)
                    await connection.close(GOING_AWAY, "Going away")
                    break
                peer.last_active = time.time()
                await self._message(peer, connection, message)
        except ConnectionClosed:
            pass
        finally:
            self.peers.pop(peer.connection_id, None)
            await self._disconnect(peer, connection)

    async def _message(self, peer: Peer, connection: ServerConnection, message: str | bytes) -> None:
        request_id = new_id()
        if self.bucket is not None and not self.bucket.take():
            await self._error(connection, "Too Many Requests", peer, request_id)
            return
        key = selected_route(self.api, message)
        if key is None:
            await self._error(connection, "Forbidden", peer, request_id)
            return
        route = self.api.routes[key]
        try:
            result = await self._invoke(
                route.function, message_event(self.api, peer, key, message, request_id)
            )
        except InvocationFailed as failure:
            log.info("WS MESSAGE %s 500 %s", key, request_id)
            log.warning("integration failed: %s", failure.kind)
            await self._error(connection, "Internal server error", peer, request_id)
            return
        log.info("WS MESSAGE %s 200 %s", key, request_id)
        if route.two_way and isinstance(result, dict) and result.get("body") is not None:
            await send_fragmented(connection, str(result["body"]))

    async def _error(self, connection: ServerConnection, text: str, peer: Peer, request_id: str) -> None:
        """API Gateway's in-band error message (its shape for an unmatched route too)."""
        payload = {"message": text, "connectionId": peer.connection_id, "requestId": request_id}
        await connection.send(json.dumps(payload))

    async def _disconnect(self, peer: Peer, connection: ServerConnection) -> None:
        route = self.api.routes.get("$disconnect")
        # The close frame received, or the one the gateway sent (a frame over the quota).
        close = connection.protocol.close_rcvd or connection.protocol.close_sent
        code, reason = (close.code, close.reason) if close is not None else (1006, "")
        request_id = new_id()
        log.info("WS DISCONNECT %s %s %s", peer.connection_id, code, request_id)
        if route is None:
            return
        try:
            await self._invoke(route.function, disconnect_event(self.api, peer, code, reason, request_id))
        except InvocationFailed as failure:
            log.warning("$disconnect integration failed: %s", failure.kind)
