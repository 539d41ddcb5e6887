"""The twin's DynamoDB stand-in: moto's server, one request at a time.

moto's ``ThreadedMotoServer`` serves each request on its own thread, but its
backends are plain dicts with no locking: under concurrent requests a
``TransactWriteItems`` deep-copies a table while another request adds to it
(``RuntimeError: dictionary changed size during iteration``) and the client gets
a DynamoDB ``500`` the cloud would never send. DynamoDB itself serialises
conflicting writes (a conflicting transaction is cancelled with
``TransactionConflict``, never half-applied), so this server does what a
single-writer stand-in can: it serves requests concurrently and runs them
through moto's app one at a time. Same interface as ``ThreadedMotoServer``
(``start``, ``get_host_and_port``, ``stop``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class Serialised:
    """A WSGI middleware: one request at a time through ``app``, body included
    (moto builds its answer while the iterable is read, so the lock covers that too)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


class SerialMotoServer:
    """moto's server on loopback (port 0: an ephemeral port), safe under concurrent clients."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (ip_address, port)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = Serialised(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(*self._address, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return str(host), port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
