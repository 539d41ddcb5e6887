"""A fault-injecting proxy on loopback, in front of the DynamoDB-compatible server.

Rules are keyed by the DynamoDB operation (the ``X-Amz-Target`` suffix, e.g.
``TransactWriteItems``): answer with a DynamoDB error, or delay the answer.
Everything else is forwarded unchanged.
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
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                operation = self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]
                proxy.seen.append(operation)
                delay = proxy.delays.get(operation) or proxy.delays.get("*")
                if delay:
                    time.sleep(delay)
                fault = proxy.errors.get(operation) or proxy.errors.get("*")
                if fault is not None:
                    status, error_type = fault
                    payload = json.dumps(
                        {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": "injected"}
                    ).encode()
                    self._answer(status, payload, {"content-type": "application/x-amz-json-1.0"})
                    return
                request = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        self._answer(response.status, response.read(), dict(response.headers))
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.read(), dict(error.headers))

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
