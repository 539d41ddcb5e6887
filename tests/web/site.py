"""The built web app (web/dist) served on loopback as the stack's CloudFront serves it.

What the distribution does, and so what this server does: the page's routes get
index.html (the WebRoutesFunction of template.yaml, whose route list this server
reads), every other path is a file of the build or a 404, and every answer
carries the headers of WebHeadersPolicy, the CSP included, taken from the template
with the API's and the issuer's origins replaced by the local API's. So a CSP
violation that CloudFront's policy would cause shows up here.
"""

from __future__ import annotations

import json
import mimetypes
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    return loaded


def routes() -> list[str]:
    """The page's routes, as the stack's CloudFront Function lists them."""
    code = template()["Resources"]["WebRoutesFunction"]["Properties"]["FunctionCode"]
    match = re.search(r"var ROUTES = (\[[^\]]*\]);", code)
    assert match, "WebRoutesFunction has no ROUTES list"
    found: list[str] = json.loads(match.group(1))
    return found


def security_headers(api_origin: str) -> dict[str, str]:
    """WebHeadersPolicy's headers, its CSP naming the local API as the API and the issuer."""
    config = template()["Resources"]["WebHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    csp_format, _ = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Sub"]
    csp = " ".join(csp_format.split())
    csp = csp.replace("${ApiOrigin}", api_origin).replace("${AuthOrigins}", api_origin)
    # Locally there is no TLS to upgrade to.
    csp = csp.replace("; upgrade-insecure-requests", "")
    assert "${" not in csp, csp
    hsts = security["StrictTransportSecurity"]
    return {
        "Content-Security-Policy": csp,
        "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": security["FrameOptions"]["FrameOption"],
        "Referrer-Policy": security["ReferrerPolicy"]["ReferrerPolicy"],
    }


def local_config(api_url: str) -> dict[str, str]:
    """config.json for a local API with its development sign-in (as web/public/config.json)."""
    return {
        "apiUrl": api_url,
        "authority": f"{api_url}/local-dev",
        "clientId": "restaurant-web",
        "scopes": "openid orders:read orders:write orders:admin menu:write",
        "scopePrefix": "",
        "signOutUrl": "",
    }


@dataclass
class Site:
    origin: str
    httpd: ThreadingHTTPServer


def _handler(config: dict[str, str], headers: dict[str, str], page_routes: list[str]) -> type:
    config_body = json.dumps(config).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                self._send(200, config_body, "application/json", "no-cache")
                return
            if path in page_routes:
                path = "/index.html"
            file = (DIST / path.lstrip("/")).resolve()
            if not file.is_relative_to(DIST.resolve()) or not file.is_file():
                self._send(404, b"Not Found", "text/plain", "no-cache")
                return
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            # As make deploy uploads them: hashed assets forever, the rest revalidated.
            hashed = path.startswith("/assets/")
            cache_control = "public, max-age=31536000, immutable" if hashed else "no-cache"
            self._send(200, file.read_bytes(), kind, cache_control)

        def _send(self, status: int, body: bytes, kind: str, cache_control: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache_control)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve_site(api_url: str) -> Iterator[Site]:
    assert (DIST / "index.html").is_file(), "web/dist is missing: run `make web-build`"
    handler = _handler(local_config(api_url), security_headers(api_url), routes())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{httpd.server_address[1]}", httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
