"""A real JWKS endpoint on loopback, served by the tests: the test issuer's keys over HTTP
on 127.0.0.1, with a request count and an outage or a slow answer on demand. The
`jwks_server` fixture (tests/conftest.py) starts one per test."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.auth.tokens import Issuer


class JwksServer:
    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.requests = 0
        self.mode = "ok"  # "ok", "down" (503), "slow" (answers after slow_seconds)
        self.slow_seconds = 5.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.mode == "slow":
                    time.sleep(server.slow_seconds)
                if server.mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(server.issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out on the slow endpoint: expected here

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
