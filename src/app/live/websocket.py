"""``/ws`` under uvicorn (`make run`): the local end of the live protocol (SPEC "Live orders").

Imported by app.main only off Lambda (API Gateway's WebSocket API is the cloud's
end, app.aws_lambda). The handshake is refused before it completes, with the
HTTP status the cloud gives (401 no/bad/expired token, 403 a token that may not
listen) through the ASGI "websocket.http.response" extension, which uvicorn
implements (https://asgi.readthedocs.io/en/latest/extensions.html#websocket-denial-response);
a server without it makes the same refusal a 403. The token comes in the query
string (browsers cannot set a WebSocket's headers) and is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from app.auth.middleware import REALM, verify_off_the_loop
from app.auth.verify import InvalidToken
from app.http.problems import problem_response
from app.live.audience import READ_SCOPE, Listener, admit
from app.live.changes import NOT_UNDERSTOOD, PONG
from app.live.local import CLOSE, Hub

log = logging.getLogger("app.live")

PATH = "/ws"
POLICY_VIOLATION = 1008  # RFC 6455 7.4.1: the token has expired
TRY_AGAIN_LATER = 1013  # RFC 6455 / IANA registry: the client fell too far behind (app.live.local)


# uvicorn's websockets-sansio protocol (its default with `websockets` installed) logs
# "ASGI callable returned without completing handshake." at ERROR after every denial
# response, which it did send (Kludex/uvicorn PR #3138, open): that one line is
# dropped for the refusals of this endpoint, which mark their task's context.
_DENIED: ContextVar[bool] = ContextVar("live_denied", default=False)
SPURIOUS = "ASGI callable returned without completing handshake."


class SpuriousDenialError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == SPURIOUS and _DENIED.get())


async def _refuse(websocket: WebSocket, status: int, detail: str, *, invalid_token: bool = False) -> None:
    _DENIED.set(True)
    log.info("live connection refused", extra={"path": PATH, "status": status, "reason": detail})
    if status == 401:
        # RFC 6750 3.1: error="invalid_token" for a token presented and refused, none for no token.
        challenge = REALM + (', error="invalid_token"' if invalid_token else "")
        slug = "invalid-token" if invalid_token else "unauthorized"  # as the HTTP API's 401s
        response = problem_response(401, detail, type_slug=slug, headers={"WWW-Authenticate": challenge})
    else:
        challenge = f'{REALM}, error="insufficient_scope", scope="{READ_SCOPE}"'
        response = problem_response(
            403, detail, type_slug="insufficient-scope", headers={"WWW-Authenticate": challenge}
        )
    await websocket.send_denial_response(response)


async def _admit(websocket: WebSocket) -> Listener | None:
    token = websocket.query_params.get("token")
    if not token:
        await _refuse(websocket, 401, "An access token is required: ?token=ACCESS_TOKEN.")
        return None
    try:
        principal = await verify_off_the_loop(websocket.app.state.verifier, token)
    except InvalidToken as error:
        await _refuse(websocket, 401, str(error), invalid_token=True)
        return None
    now = int(time.time())
    exp = int(principal.claims["exp"])  # the verifier checked it is a finite number
    listener = admit(secrets.token_urlsafe(12), principal.sub, principal.scopes, exp, now=now)
    if listener is None:
        await _refuse(websocket, 403, "Listening needs the scope orders:read or orders:admin.")
    elif listener.expires_at <= now:  # within the verifier's leeway, but already past exp
        await _refuse(websocket, 401, "token has expired", invalid_token=True)
        return None
    return listener


def _reply(message: Mapping[str, Any]) -> str:
    text = message.get("text")
    try:
        request = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        request = None
    return PONG if request == {"action": "ping"} else NOT_UNDERSTOOD


async def _listen(websocket: WebSocket, queue: asyncio.Queue[str | None]) -> None:
    """The client's messages: pings answered through the one sending loop."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        queue.put_nowait(_reply(message))


async def _speak(websocket: WebSocket, queue: asyncio.Queue[str | None], expires_at: int) -> None:
    """Everything sent to the client, in order, until its token expires."""
    while (left := expires_at - time.time()) > 0:
        try:
            text = await asyncio.wait_for(queue.get(), left)
        except TimeoutError:
            break
        if text is CLOSE:
            if time.time() < expires_at:
                await websocket.close(TRY_AGAIN_LATER, "too far behind: reconnect and re-read")
                return
            break
        await websocket.send_text(text)
    await websocket.close(POLICY_VIOLATION, "token expired")


async def live_endpoint(websocket: WebSocket) -> None:
    listener = await _admit(websocket)
    if listener is None:
        return
    hub: Hub = websocket.app.state.live_hub
    await websocket.accept()
    queue = hub.connect(listener)
    log.info("live connection opened", extra={"path": PATH, "sub": listener.sub, "staff": listener.staff})
    tasks = [
        asyncio.create_task(_listen(websocket, queue)),
        asyncio.create_task(_speak(websocket, queue, listener.expires_at)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.disconnect(listener.connection_id)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        log.info("live connection closed", extra={"path": PATH, "sub": listener.sub})


def route() -> WebSocketRoute:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, SpuriousDenialError) for f in server_log.filters):
        server_log.addFilter(SpuriousDenialError())
    return WebSocketRoute(PATH, live_endpoint)
