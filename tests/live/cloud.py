"""The cloud side of live orders on one machine: a connections table on the session's
moto server (tests/dynamo_server.py) and API Gateway's @connections endpoint.

moto serves ``apigatewaymanagementapi``, but its ``post_to_connection`` accepts any
id and never answers 410, so the endpoint here is a tiny HTTP server on 127.0.0.1
that records what it is sent and answers a connection in ``gone`` as API Gateway
does: 410 with ``x-amzn-ErrorType: GoneException``, which botocore raises as the
client's ``GoneException``. The functions reach it through the SDK's standard
setting, AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI (as in the twin).
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.dynamo_server import new_client

STAGE = "dev"


def connections_table(url: str) -> str:
    """A fresh table shaped like template.yaml's ConnectionsTable; its name."""
    name = f"connections-{uuid.uuid4().hex[:12]}"
    new_client(url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


class ConnectionsEndpoint:
    """POST and DELETE /{stage}/@connections/{id}; ``posts`` and ``deletes`` in order."""

    def __init__(self) -> None:
        self.gone: set[str] = set()
        self.failing: set[str] = set()  # answered 500: not "gone", so the batch fails
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.deletes: list[str] = []
        self.signed = True
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _connection(self) -> str | None:
                prefix = f"/{STAGE}/@connections/"
                if not self.path.startswith(prefix):
                    return None
                if "authorization" not in {k.lower() for k in self.headers}:
                    endpoint.signed = False
                return unquote(self.path.removeprefix(prefix))

            def _answer(self, status: int, error: str | None = None) -> None:
                body = json.dumps({"message": error}).encode() if error else b""
                self.send_response(status)
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                connection = self._connection()
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if connection is None:
                    self._answer(404, "NotFoundException")
                elif connection in endpoint.gone:
                    self._answer(410, "GoneException")
                elif connection in endpoint.failing:
                    self._answer(500, "InternalServerErrorException")
                else:
                    endpoint.posts.append((connection, json.loads(data)))
                    self._answer(200)

            def do_DELETE(self) -> None:
                connection = self._connection()
                if connection is None:
                    self._answer(404, "NotFoundException")
                    return
                endpoint.deletes.append(connection)
                self._answer(204)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{STAGE}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def received(self, connection: str) -> list[dict[str, Any]]:
        return [message for to, message in self.posts if to == connection]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
