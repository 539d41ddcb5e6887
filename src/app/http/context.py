"""Request id, access log, and the last-resort 500: two small pure ASGI layers.

Pure ASGI (Starlette's docs steer away from BaseHTTPMiddleware: it costs a task
per request and breaks context variables).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.head import request_method
from app.http.logs import write_access
from app.http.problems import problem_response
from app.http.routes import SERVING_APP

access_log = logging.getLogger("app.access")
error_log = logging.getLogger("app.error")

REQUEST_ID = "app.request_id"
PRINCIPAL_SUB = "app.sub"


def _ids(scope: Scope) -> tuple[str, str | None, str | None]:
    event: dict[str, Any] = scope.get("aws.event") or {}
    context = scope.get("aws.context")
    apigw_id = (event.get("requestContext") or {}).get("requestId")
    lambda_id = getattr(context, "aws_request_id", None)
    return (apigw_id or lambda_id or uuid.uuid4().hex), lambda_id, apigw_id


class RequestContextMiddleware:
    """Outermost: gives each request its id and writes its one access-log line (and
    names the app serving it, whose ``dependency_overrides`` our routes see)."""

    def __init__(self, app: ASGIApp, *, stage: str) -> None:
        self.app = app
        self.stage = stage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        method = scope["method"]  # read now: the HEAD layer below rewrites it to GET
        request_id, lambda_id, apigw_id = _ids(scope)
        scope[REQUEST_ID] = request_id
        status = 500
        request_id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), request_id_header]
            await send(message)

        serving = SERVING_APP.set(scope.get("app"))  # whose dependency_overrides apply
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            SERVING_APP.reset(serving)
            level = logging.ERROR if status >= 500 else logging.INFO
            # Nothing is computed for a line the configured level drops.
            if access_log.isEnabledFor(level):
                fields: dict[str, Any] = {
                    "request_id": request_id,
                    "lambda_request_id": lambda_id,
                    "apigw_request_id": apigw_id,
                    "stage": self.stage,
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                    "sub": scope.get(PRINCIPAL_SUB),
                    # On Lambda the formatter adds the embedded metrics (emf_metrics)
                    # from these fields: built once, as the line is written.
                    "_emf": lambda_id is not None,
                }
                write_access(access_log, level, "request", fields)


class ErrorBoundaryMiddleware:
    """The last-resort 500: what no handler caught is logged once, with its
    stack trace and request id, and answered with a problem+json that carries
    the request id and nothing internal. It sits inside CORS and the security
    headers so that even this answer is readable by a browser."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            request_id = scope.get(REQUEST_ID, "unknown")
            error_log.exception(
                "unhandled error",
                extra={"request_id": request_id, "method": request_method(scope), "path": scope["path"]},
            )
            if response_started:
                # Too late for a clean answer; let the server drop the connection.
                raise
            response = problem_response(
                500,
                "An unexpected error occurred. Quote the request id when reporting it.",
                request_id=request_id,
            )
            await response(scope, receive, send)
