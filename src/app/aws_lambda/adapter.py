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
import json
import logging
from typing import Any

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES
from mangum.protocols import LifespanCycle
from mangum.types import ASGI

from app.aws_lambda.stage import StageMiddleware
from app.http.problems import PROBLEM_JSON, problem_body
from app.store import blocking

log = logging.getLogger("app.lambda")


class LambdaAdapter:
    def __init__(self, app: ASGI) -> None:
        self.app = app
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
        if not _is_http_event(self.mangum, event, context):
            keys = sorted(event)[:10] if isinstance(event, dict) else type(event).__name__
            log.error(
                "unsupported event: not an API Gateway or ALB HTTP event",
                extra={"event_keys": keys, "lambda_request_id": getattr(context, "aws_request_id", None)},
            )
            return _error(400, "This function only handles API Gateway HTTP events.")
        self.start()
        # Something else in the process (a test runner, a library) may have
        # replaced the current loop; Mangum uses whatever is current.
        asyncio.set_event_loop(self.loop)
        return self.mangum(event, context)


def _is_http_event(mangum: Mangum, event: Any, context: Any) -> bool:
    if not isinstance(event, dict):
        return False
    try:
        mangum.infer(event, context)
    except RuntimeError:
        return False
    return True


def _error(status: int, detail: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": PROBLEM_JSON},
        "body": json.dumps(problem_body(status, detail, type_slug="unsupported-event")),
        "isBase64Encoded": False,
    }
