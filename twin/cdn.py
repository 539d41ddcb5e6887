"""The web app's CloudFront distribution, on loopback.

What the stack's ``WebDistribution`` does, read from template.yaml: the page's
routes (the ``ROUTES`` of its viewer-request function, ``WebRoutesFunction``) get
``index.html``, every other path is a file of the site bucket's content (the
build, ``web/dist``) or a 404, and every answer carries the headers of its
response-headers policy (``WebHeadersPolicy``). The CSP's API and issuer origins
are the twin's (the cloud's name execute-api and Cognito), and without TLS there
is nothing to upgrade to; the twin says so at start-up. ``config.json`` is the
one ``make web-publish`` would upload, naming the twin's API and issuer, and
``index.html`` carries the CSP ``<meta>`` ``make deploy`` writes into it, its
``connect-src`` naming exactly that config's origins (ops/site_csp.py).

The template is read as written (SAM leaves these resources as they are).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from ops.site_csp import connect_origins, with_connect_csp
from twin.headers import unsafe_header

log = logging.getLogger("twin.cdn")

IMMUTABLE = "public, max-age=31536000, immutable"


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """CloudFormation's short-form tags (!Sub, !Ref...) as {"Sub": ...} mappings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class Distribution:
    routes: list[str]
    headers: dict[str, str]


_REGIONAL_WSS = re.compile(r"wss://\*\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}")


def web_distribution(
    template: Path, api_origin: str, issuer_origin: str, ws_origin: str = "ws://127.0.0.1:*"
) -> Distribution | None:
    """The template's web distribution with the twin's origins, or None if it has none."""
    resources = yaml.load(template.read_text(), Loader=_CfnLoader)["Resources"]  # noqa: S506 - a SafeLoader
    if "WebRoutesFunction" not in resources or "WebHeadersPolicy" not in resources:
        return None
    code = resources["WebRoutesFunction"]["Properties"]["FunctionCode"]
    match = re.search(r"var ROUTES = (\[[^\]]*\]);", code)
    if match is None:
        raise ValueError("WebRoutesFunction has no ROUTES list")
    policy = resources["WebHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    csp_format = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Sub"][0]
    csp = " ".join(csp_format.split())
    csp = csp.replace("${ApiOrigin}", api_origin).replace("${AuthOrigins}", issuer_origin)
    # The header allows the region's every execute-api WebSocket host (it cannot name the
    # WebSocket API's id either); its loopback likeness is the twin's ws: on any port.
    csp = _REGIONAL_WSS.sub(ws_origin, csp)
    csp = csp.replace("; upgrade-insecure-requests", "")
    if "${" in csp:
        raise ValueError(f"WebHeadersPolicy's CSP names a value the twin does not know: {csp}")
    hsts = security["StrictTransportSecurity"]
    return Distribution(
        routes=json.loads(match.group(1)),
        headers={
            "Content-Security-Policy": csp,
            "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}; includeSubDomains",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": security["FrameOptions"]["FrameOption"],
            "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
        },
    )


def _handler(dist: Path, distribution: Distribution, config: dict[str, str]) -> type[BaseHTTPRequestHandler]:
    root = dist.resolve()
    config_body = json.dumps(config).encode()
    origins = connect_origins(config, loopback_http=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                self._send(200, config_body, "application/json", "no-cache")
                return
            if path in distribution.routes:
                path = "/index.html"
            file = (root / path.lstrip("/")).resolve()
            # The bucket holds no dotfile (make deploy uploads none, e.g. .vite/manifest.json).
            hidden = any(part.startswith(".") for part in path.split("/"))
            if hidden or not file.is_relative_to(root) or not file.is_file():
                self._send(404, b"Not Found", "text/plain", "no-cache")
                return
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            # As make web-publish uploads them: hashed assets for a year, the rest revalidated.
            cache_control = IMMUTABLE if path.startswith("/assets/") else "no-cache"
            body = file.read_bytes()
            if file == root / "index.html":
                try:  # as make deploy uploads it (ops/deploy.py)
                    body = with_connect_csp(body.decode(), origins, loopback_http=True).encode()
                except ValueError as error:
                    log.warning("refused to serve index.html: %s", error)
                    self._send(500, b"Internal Server Error", "text/plain", "no-cache")
                    return
            self._send(200, body, kind, cache_control)

        def _send(self, status: int, body: bytes, kind: str, cache_control: str) -> None:
            headers = [("Content-Type", kind), ("Cache-Control", cache_control)]
            headers += distribution.headers.items()
            bad = unsafe_header(headers)
            if bad is not None:  # never a split response (twin.headers)
                log.warning("refused to send a response: header %r has a control character", bad)
                status, body, headers = 500, b"Internal Server Error", [("Content-Type", "text/plain")]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # as CloudFront takes a page's parallel requests (twin.gateway)


@contextmanager
def serve_site(
    dist: Path, distribution: Distribution, config: dict[str, str], port: int = 0
) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    """The site on 127.0.0.1:port (0: any free port); yields its origin and server."""
    if not (dist / "index.html").is_file():
        raise FileNotFoundError(f"{dist}/index.html is missing: run `make web-build`")
    httpd = _SiteServer(("127.0.0.1", port), _handler(dist, distribution, config))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
