"""Lambda SnapStart: the container's first-time work done before the snapshot,
and what must not be shared between restored copies reset after it.

With ``EnableSnapStart`` Lambda initialises the function once per published
version, snapshots it, and starts every new execution environment from that
snapshot (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). The
runtime's hooks (``snapshot-restore-py``,
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html)
run ``before_snapshot`` at the end of that init and ``after_restore`` in each
restored copy. They are registered only when Lambda says the function
initialises for SnapStart (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``): an
on-demand container imports nothing of this and behaves as before.

Primed before the snapshot (what the first request would otherwise pay):

- the imports a first authenticated request makes lazily (python-jose and its
  cryptography backend, ``urllib.request``);
- the SDK client's first call (operation models, serializers, endpoint rules,
  signing, response parsing): one ``GetItem`` and one ``UpdateItem`` answered
  in process by a canned response, never sent;
- the app's lifespan (the store, the menu service), FastAPI's route tables and
  the whole middleware chain: one ``GET /hello`` through the Lambda handler,
  its limiter write answered the same canned way, so it touches no network;
- the signing keys (JWKS): public keys, the same for every copy, fetched once
  if the endpoint answers (a failure is logged and the first token fetches).

Reset after each restore:

- random state: Python's ``random`` generator (botocore's retry jitter and
  anything else using it) is reseeded from the OS, or every copy would draw
  the same numbers. Order ids and request ids come from ``secrets``/``uuid4``
  (the OS's generator), which needs no reseeding;
- time-bound state: the JWKS refetch throttle and the menu cache were stamped
  with the snapshot's clock, which means nothing in a copy restored days later;
- connections: the client's pooled connections were opened before the
  snapshot and are dead in a restored copy; they are dropped, and the first
  call opens a new one.
"""

from __future__ import annotations

import gc
import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from app.auth.keys import JwksCache

if TYPE_CHECKING:
    from app.aws_lambda.adapter import LambdaAdapter

log = logging.getLogger("app.lambda")

# Canned answers for the priming calls, by operation (never sent anywhere).
_CANNED = {"GetItem": b"{}", "UpdateItem": b'{"Attributes":{"count":{"N":"1"}}}'}
PRIME_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/hello",
    "rawQueryString": "",
    "headers": {"accept": "application/json", "host": "snapstart.prime", "x-forwarded-proto": "https"},
    "requestContext": {
        "http": {"method": "GET", "path": "/hello", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                 "userAgent": "snapstart-prime"},
        "requestId": "snapstart-prime", "stage": "$default", "domainName": "snapstart.prime",
        "timeEpoch": 0,
    },
    "isBase64Encoded": False,
}  # fmt: skip


class _PrimeContext:
    aws_request_id = "snapstart-prime"
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def enabled() -> bool:
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


def register(adapter: LambdaAdapter) -> bool:
    """Registers the hooks when the function initialises for SnapStart."""
    if not enabled():
        return False
    from snapshot_restore_py import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
        register_after_restore,
        register_before_snapshot,
    )

    register_before_snapshot(before_snapshot, adapter)
    register_after_restore(after_restore, adapter)
    return True


def _sdk_client(adapter: LambdaAdapter) -> Any:
    store = getattr(adapter.app, "state", None) and adapter.app.state.store  # type: ignore[attr-defined]
    return getattr(store, "_client", None)


def _jwks(adapter: LambdaAdapter) -> JwksCache | None:
    state = getattr(adapter.app, "state", None)
    keys = getattr(getattr(state, "verifier", None), "keys", None)
    return keys if isinstance(keys, JwksCache) else None


@contextmanager
def _canned_sdk(client: Any) -> Iterator[None]:
    """Every call of ``client`` answered in process (botocore's before-send
    event: a handler's response replaces the HTTP exchange)."""
    if client is None:
        yield
        return
    from botocore.awsrequest import AWSResponse

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **kwargs: Any) -> Iterator[bytes]:
            yield self.body

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        body = _CANNED.get(operation, b"{}")
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "snapstart-prime"}
        return AWSResponse(request.url, 200, headers, Raw(body))  # type: ignore[arg-type]

    events = client.meta.events
    events.register_first("before-send.dynamodb", answer, unique_id="app-snapstart-prime")
    try:
        yield
    finally:
        events.unregister("before-send.dynamodb", unique_id="app-snapstart-prime")


def before_snapshot(adapter: LambdaAdapter) -> None:
    # Imports the first token and the first JWKS fetch would make.
    import urllib.request  # noqa: F401

    from jose import jwk, jws  # noqa: F401
    from jose.backends import cryptography_backend  # noqa: F401

    client = _sdk_client(adapter)
    with _canned_sdk(client):
        if client is not None:
            client.get_item(TableName="snapstart-prime", Key={"PK": {"S": "PRIME"}, "SK": {"S": "PRIME"}})
            client.update_item(
                TableName="snapstart-prime",
                Key={"PK": {"S": "PRIME"}, "SK": {"S": "PRIME"}},
                UpdateExpression="ADD #c :one",
                ExpressionAttributeNames={"#c": "count"},
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        result = adapter(PRIME_EVENT, _PrimeContext())  # starts the lifespan too
    keys = _jwks(adapter)
    if keys is not None:
        keys.prefetch()
    # Init's leftovers collected and everything primed frozen (as app.main does
    # at the end of init): the snapshot holds no garbage, and no copy's
    # collections ever scan what every copy shares.
    gc.collect()
    gc.freeze()
    log.info("snapstart: primed before the snapshot", extra={"prime_status": result.get("statusCode")})


def after_restore(adapter: LambdaAdapter) -> None:
    random.seed()  # from os.urandom: every restored copy draws its own numbers
    keys = _jwks(adapter)
    if keys is not None:
        keys.forget_attempts()
    menu = getattr(adapter.app.state, "menu", None)  # type: ignore[attr-defined]
    if menu is not None:
        menu.invalidate()
    client = _sdk_client(adapter)
    if client is not None:
        client.close()  # the pool's sockets died with the snapshot; the next call reconnects
