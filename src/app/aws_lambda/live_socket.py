"""The WebSocket API's routes (template.yaml LiveSocketFunction), dispatched on
``requestContext.routeKey`` here and nowhere else:

- ``$connect`` (after the authorizer allowed it): the listener its context
  describes joins its audiences in the connections table; 200 accepts the
  connection ("Working with routes for WebSocket APIs": any other status refuses it);
- ``$disconnect``: the connection leaves every audience (best effort: API Gateway
  does not wait for it, and the items' TTL ends what a lost call leaves);
- ``ping`` (two-way): ``{"type":"pong"}``;
- ``$default`` (two-way): ``{"type":"error","detail":...}``, never echoing the input.

Imports no FastAPI and no settings model: its cold start is the SDK client's.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import Any

from app.http.logs import configure_logging
from app.live.audience import Listener
from app.live.changes import NOT_UNDERSTOOD, PONG
from app.live.dynamo_registry import DynamoRegistry, from_environment

log = logging.getLogger("app.live.socket")
OK = {"statusCode": 200}


@functools.cache
def registry() -> DynamoRegistry:
    configure_logging(os.environ.get("APP_LOG_LEVEL", "INFO"))
    return from_environment(os.environ)


def listener(context: Mapping[str, Any]) -> Listener:
    """The connection as the authorizer described it (requestContext.authorizer)."""
    described = context.get("authorizer")
    if not isinstance(described, Mapping):
        raise ValueError("$connect without the authorizer's context (is the route's authorizer set?)")
    return Listener(
        connection_id=str(context["connectionId"]),
        sub=str(described["sub"]),
        staff=described.get("staff") == "true",
        expires_at=int(described["expiresAt"]),
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event["requestContext"]
    route = request.get("routeKey")
    if route == "$connect":
        joined = listener(request)
        registry().add(joined)
        log.info("live connected", extra={"sub": joined.sub, "staff": joined.staff})
        return OK
    if route == "$disconnect":
        registry().remove(str(request["connectionId"]))
        return OK
    if route == "ping":
        return OK | {"body": PONG}
    return OK | {"body": NOT_UNDERSTOOD}
