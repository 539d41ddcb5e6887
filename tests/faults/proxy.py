"""A fault-injecting proxy on loopback, in front of the DynamoDB-compatible server.

Rules are keyed by the DynamoDB operation (the ``X-Amz-Target`` suffix, e.g.
``TransactWriteItems``): answer with a DynamoDB error, or delay the answer, or
(``lose``) forward the request, so the server applies it, and lose its answer:
send a DynamoDB error instead, answer too late, or close the connection. Everything
else is forwarded unchanged. ``requests`` keeps each request's operation and body.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.errors: dict[str, tuple[int, str]] = {}
        self.delays: dict[str, float] = {}
        self.seen: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        # Per operation, the next answers to lose: an error to send instead, a delay
        # (seconds) before the answer, or None (no answer).
        self.lose: dict[str, list[tuple[int, str] | float | None]] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                operation = self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
                proxy.seen.append(operation)
                proxy.requests.append((operation, json.loads(body or b"{}")))
                delay = proxy.delays.get(operation) or proxy.delays.get("*")
                if delay:
                    time.sleep(delay)
                fault = proxy.errors.get(operation) or proxy.errors.get("*")
                if fault is not None:
                    self._fault(*fault)
                    return
                request = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        answer = (response.status, response.read(), dict(response.headers))
                except urllib.error.HTTPError as error:
                    answer = (error.code, error.read(), dict(error.headers))
                lost = proxy.lose.get(operation)
                if lost:
                    instead = lost.pop(0)
                    if instead is None:
                        self.close_connection = True  # applied, and not a byte of answer
                    elif isinstance(instead, float):
                        time.sleep(instead)  # applied, answered after the client's timeout
                        self._answer(*answer)
                    else:
                        self._fault(*instead)
                    return
                self._answer(*answer)

            def _fault(self, status: int, error_type: str) -> None:
                payload = json.dumps(
                    {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": "injected"}
                ).encode()
                self._answer(status, payload, {"content-type": "application/x-amz-json-1.0"})

            def _answer(self, status: int, payload: bytes, headers: dict[str, Any]) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        if name.lower() not in (
                            "content-length",
                            "transfer-encoding",
                            "connection",
                            "date",
                            "server",
                        ):
                            self.send_header(name, value)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a read timeout): expected in delay tests

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
