"""The built web app (web/dist) served on loopback as the stack's CloudFront serves it:
the twin's stand-in for WebDistribution (twin/cdn.py), with a config.json that names a
local API and its development sign-in (as web/public/config.json does).

As in the cloud without a custom domain, the header's CSP lets the page connect to any
API (there every execute-api host of the region; here any loopback port,
``HEADER_API``), and index.html's CSP meta names exactly this one (ops/site_csp.py):
every journey runs under the meta that closes the wildcard. The live orders socket is
uvicorn's ``/ws`` (SPEC "Live orders"), as web/public/config.json names it for `make
run`; the header allows ``ws:`` on any loopback port (in the cloud ``wss:`` of any
execute-api host, twin/cdn.py), and the meta names exactly this one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from twin.cdn import serve_site as serve_distribution
from twin.cdn import web_distribution

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
HEADER_API = "http://127.0.0.1:*"


def local_config(api_url: str) -> dict[str, str]:
    return {
        "apiUrl": api_url,
        "authority": f"{api_url}/local-dev",
        "clientId": "restaurant-web",
        "scopes": "openid orders:read orders:write orders:admin menu:write",
        "scopePrefix": "",
        "signOutUrl": "",
        "revokeUrl": f"{api_url}/local-dev/revoke",
        "wsUrl": f"{api_url.replace('http://', 'ws://', 1)}/ws",
    }


@dataclass
class Site:
    origin: str
    httpd: ThreadingHTTPServer


@contextmanager
def serve_site(api_url: str) -> Iterator[Site]:
    distribution = web_distribution(ROOT / "template.yaml", HEADER_API, api_url)
    assert distribution is not None, "template.yaml has no web distribution"
    with serve_distribution(DIST, distribution, local_config(api_url)) as (origin, httpd):
        yield Site(origin, httpd)
