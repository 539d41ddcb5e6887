"""The page's own Content-Security-Policy: a ``<meta>`` in index.html whose
``connect-src`` names exactly this stack's API and issuer.

Why in the page: CloudFront's response-headers policy (template.yaml's
``WebHeadersPolicy``) cannot name the HTTP API's id without a dependency cycle, so
without a custom domain its ``connect-src`` allows every execute-api host of the
region. A policy in a ``<meta http-equiv="Content-Security-Policy">`` is enforced
together with the header's (CSP Level 3, 8.1 "The effect of multiple policies": a
request must be allowed by every policy, so the page may connect only where both
allow), and ``connect-src`` is honoured there (3.3: only ``frame-ancestors``,
``report-uri`` and ``sandbox`` are not). The header stays the wall for everything
else. A meta policy governs only what follows it (3.3), so it goes first in
``<head>``, before any script or link.

``make deploy`` (ops/deploy.py) writes it when it uploads index.html, from the config
it uploads next to it; the twin's CloudFront stand-in (twin/cdn.py) serves index.html
the same way. Standard library only: ops/ and twin/ share it, src/app never imports it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

# The config fields the page fetches from (web/src/config.ts, features/auth/session.ts):
# the API; the issuer's discovery document at the authority (oidc-client-ts); the
# revocation endpoint (Cognito's hosted domain, where its token endpoint is too).
# signOutUrl is a navigation, not a fetch: connect-src does not govern it. An external
# issuer (--config) whose token endpoint is on yet another origin is refused by the
# header too, which names only AuthIssuer. wsUrl: live orders' WebSocket API (wss:;
# CSP Level 3 lets 'self' match ws: and wss: only on the page's own host, and this one
# is the API's), empty when live updates are off.
CONNECT_FIELDS = ("apiUrl", "authority", "revokeUrl", "wsUrl")

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PORT = r"(?::(?:[1-9][0-9]{0,4}))?"
# RFC 6454 3.2 origins, serialised (section 6.2): a scheme, a lowercase host, a port.
# wss: and ws: are the WebSocket API's (RFC 6455 3), held to the same rules.
_HTTPS_ORIGIN = re.compile(rf"(?:https|wss)://{_LABEL}(?:\.{_LABEL})*{_PORT}")
_LOOPBACK_ORIGIN = re.compile(rf"(?:http|ws)://(?:127\.0\.0\.1|localhost|\[::1\]){_PORT}")
_HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)
_CSP_META = re.compile(r"http-equiv\s*=\s*[\"']?content-security-policy", re.IGNORECASE)


def checked_origin(origin: str, *, loopback_http: bool = False) -> str:
    """``origin`` if it is a plain https (or wss) origin (or, with ``loopback_http``,
    an http or ws one on loopback, the twin's); ValueError for anything else: a path, a user,
    a quote, a space, a wildcard, upper case."""
    plain = _HTTPS_ORIGIN.fullmatch(origin) or (loopback_http and _LOOPBACK_ORIGIN.fullmatch(origin))
    port = origin.rpartition(":")[2]
    if plain and (not port.isdigit() or int(port) <= 65535):
        return origin
    raise ValueError(f"not a plain https origin: {origin!r}")


def origin_of(url: str, *, loopback_http: bool = False) -> str:
    """The origin of an absolute URL, checked as ``checked_origin`` does."""
    parts = urlsplit(url)
    return checked_origin(f"{parts.scheme}://{parts.netloc}", loopback_http=loopback_http)


def connect_origins(config: Mapping[str, Any], *, loopback_http: bool = False) -> list[str]:
    """The origins the page calls, from its config.json, each once, in order."""
    origins = [
        origin_of(config[name], loopback_http=loopback_http) for name in CONNECT_FIELDS if config.get(name)
    ]
    return list(dict.fromkeys(origins))


def with_connect_csp(page: str, origins: Iterable[str], *, loopback_http: bool = False) -> str:
    """``page`` with one ``<meta http-equiv="Content-Security-Policy">`` first in its
    ``<head>``: ``connect-src 'self'`` and exactly ``origins``. Refuses a page
    without exactly one ``<head>`` tag or that already has a CSP meta, and any origin
    ``checked_origin`` refuses."""
    sources = ["'self'", *dict.fromkeys(checked_origin(o, loopback_http=loopback_http) for o in origins)]
    heads = _HEAD.findall(page)
    if len(heads) != 1:
        raise ValueError(f"index.html has {len(heads)} <head> tags: the CSP needs exactly one")
    if _CSP_META.search(page):
        raise ValueError("index.html already has a Content-Security-Policy meta element")
    policy = html.escape("connect-src " + " ".join(sources), quote=True)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    return _HEAD.sub(lambda head: head.group(0) + meta, page, count=1)
