"""The Lambda entry point: Mangum, with start-up done once per container.

Mangum runs the ASGI lifespan on every invocation when ``lifespan`` is on, so
a warm container would rebuild clients, caches and connections each time.
Here Mangum runs with ``lifespan="off"`` and this adapter runs the app's
lifespan startup once, on the container's first invocation, in the one event
loop that every invocation then reuses.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import binascii
import json
import logging
from functools import cached_property
from typing import Any, NamedTuple

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES
from mangum.handlers.api_gateway import HTTPGateway
from mangum.protocols import HTTPCycle, LifespanCycle
from mangum.types import ASGI, LambdaHandler, Scope

from app.aws_lambda.stage import StageMiddleware
from app.http.problems import PROBLEM_JSON, problem_body
from app.store import blocking

log = logging.getLogger("app.lambda")


class Rejection(NamedTuple):
    status: int
    slug: str
    detail: str


class OneScopeHTTPGateway(HTTPGateway):
    """Mangum's HTTP API handler, building the ASGI scope once per event. Its
    ``scope`` is a property that Mangum reads twice per invocation (for the
    request, then again for the event's version when the response is built):
    the event's headers were copied, lowered and encoded twice. Registered as
    a custom handler, Mangum's documented way to supply one."""

    @cached_property
    def scope(self) -> Scope:
        built: Scope = HTTPGateway.scope.fget(self)  # type: ignore[attr-defined]
        return built


class LambdaAdapter:
    def __init__(self, app: ASGI, *, max_body_bytes: int = 1024 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.lifespan_state: dict[str, Any] = {}
        self.started = False
        self.mangum = Mangum(
            StageMiddleware(app, self.lifespan_state),
            lifespan="off",
            # Mangum base64-encodes every body whose type is not listed;
            # problem+json is text and should read as text in logs and tests.
            text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, PROBLEM_JSON],
            custom_handlers=[OneScopeHTTPGateway],
        )

    def start(self) -> None:
        """Run the app's lifespan startup once; later calls do nothing."""
        if self.started:
            return
        asyncio.set_event_loop(self.loop)
        # One request per container at a time: blocking store calls run inline.
        blocking.run_inline()
        cycle = LifespanCycle(self.app, "on")
        cycle.__enter__()
        if cycle.exception is not None:
            raise RuntimeError("application startup failed") from cycle.exception
        self.lifespan_state.update(cycle.lifespan_state)
        self.started = True
        # Lambda freezes and discards containers without a shutdown event; a
        # local process (tests, benchmarks) exits cleanly through this.
        atexit.register(cycle.__exit__, None, None, None)

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        checked = self.check(event, context)
        if isinstance(checked, Rejection):
            status, slug, detail = checked
            keys = sorted(map(str, event))[:10] if isinstance(event, dict) else type(event).__name__
            log.error(
                f"event refused: {detail}",
                extra={"event_keys": keys, "lambda_request_id": getattr(context, "aws_request_id", None)},
            )
            return _error(status, slug, detail)
        self.start()
        # Something else in the process (a test runner, a library) may have
        # replaced the current loop; Mangum uses whatever is current.
        asyncio.set_event_loop(self.loop)
        try:
            # What Mangum.__call__ does with lifespan off, without inferring
            # the event's kind a second time.
            return checked(HTTPCycle(checked.scope, checked.body)(self.mangum.app))
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            # Raised while Mangum turns the event into a scope (the app's own
            # errors never get here: the error boundary and Mangum catch them).
            log.error(
                "malformed HTTP event",
                extra={
                    "error": type(error).__name__,
                    "lambda_request_id": getattr(context, "aws_request_id", None),
                },
            )
            return _error(400, "malformed-event", "The event is not a well-formed API Gateway HTTP event.")

    def check(self, event: Any, context: Any) -> LambdaHandler | Rejection:
        """Mangum's handler for this event, or why it cannot be served. Cheap:
        a few dict lookups; the body is sized, not decoded."""
        if not isinstance(event, dict):
            return Rejection(400, "unsupported-event", "This function only handles API Gateway HTTP events.")
        try:
            handler = self.mangum.infer(event, context)
        except RuntimeError:
            return Rejection(400, "unsupported-event", "This function only handles API Gateway HTTP events.")
        problem = self._problem(event)
        return handler if problem is None else Rejection(*problem)

    def _problem(self, event: dict[str, Any]) -> tuple[int, str, str] | None:
        version = event.get("version")
        if version is not None and version not in ("1.0", "2.0"):
            return 400, "unsupported-event", f"Payload format version {str(version)[:10]!r} is not supported."
        request_context = event.get("requestContext")
        if not isinstance(request_context, dict):
            return 400, "malformed-event", "The event has no requestContext."
        if version == "2.0":
            http = request_context.get("http")
            if not isinstance(http, dict) or not all(
                isinstance(http.get(k), str) for k in ("method", "path")
            ):
                return 400, "malformed-event", "The event has no requestContext.http method and path."
        elif not isinstance(event.get("httpMethod"), str) or not isinstance(event.get("path"), str):
            return 400, "malformed-event", "The event has no httpMethod and path."
        headers = event.get("headers")
        if headers is not None and not isinstance(headers, dict):
            return 400, "malformed-event", "The event's headers are not an object."
        body = event.get("body")
        if body is None:
            return None
        if not isinstance(body, str):
            return 400, "malformed-event", "The event's body is not a string."
        size = (
            len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
        )
        if size > self.max_body_bytes:
            return 413, "body-too-large", f"The request body exceeds {self.max_body_bytes} bytes."
        if event.get("isBase64Encoded"):
            try:
                base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                return 400, "malformed-event", "The body is marked base64 but is not valid base64."
        return None


def _error(status: int, slug: str, detail: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": PROBLEM_JSON},
        "body": json.dumps(problem_body(status, detail, type_slug=slug)),
        "isBase64Encoded": False,
    }
