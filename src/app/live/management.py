"""The cloud's Transport: API Gateway's @connections management API.

``post_to_connection`` sends one message to one connection; a connection that no
longer exists answers 410, which the SDK raises as ``GoneException``: the caller
then forgets that connection, and only that one (app.live.fanout). ``close`` is
``delete_connection``, for a connection whose token has expired
("Use @connections commands in your backend service", API Gateway Developer Guide).

The endpoint is the stage's own, https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
(APP_LIVE_MANAGEMENT_URL, set by template.yaml), unless the SDK's standard endpoint
setting names another (AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI or AWS_ENDPOINT_URL,
as the twin and the tests do): then the SDK takes it from there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

MANAGEMENT_URL_VARIABLE = "APP_LIVE_MANAGEMENT_URL"
SDK_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", "AWS_ENDPOINT_URL")
# A change's posts in flight at once (app.aws_lambda.live_stream), and the client's
# connections to keep for them (botocore keeps 10 by default).
POST_CONCURRENCY = 16


class ManagementTransport:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._gone = client.exceptions.GoneException

    def send(self, connection_id: str, text: str) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=text.encode())
        except self._gone:
            return False
        return True

    def close(self, connection_id: str) -> None:
        with contextlib.suppress(self._gone):  # already gone: what close wanted
            self._client.delete_connection(ConnectionId=connection_id)


def endpoint_url(environ: Mapping[str, str]) -> str | None:
    """The endpoint to pass to the client: None when the SDK's own setting is there."""
    if any(environ.get(name) for name in SDK_ENDPOINT_VARIABLES):
        return None
    url = environ.get(MANAGEMENT_URL_VARIABLE)
    if not url:
        raise RuntimeError(f"{MANAGEMENT_URL_VARIABLE} is not set (the stage's @connections endpoint)")
    return url


def new_client(environ: Mapping[str, str]) -> Any:
    """A client of its own botocore session: short timeouts and three attempts, as
    the store's (a stream batch is retried as a whole anyway)."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=1,
        read_timeout=2,
        retries={"total_max_attempts": 3, "mode": "standard"},
        max_pool_connections=POST_CONCURRENCY,
    )
    return botocore.session.Session().create_client(
        "apigatewaymanagementapi", endpoint_url=endpoint_url(environ), config=config
    )
