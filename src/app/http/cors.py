"""CORS, answered by the app alone (API Gateway's own CORS would drop these headers).

After Starlette's ``cors.py``, smaller and stricter: exact origins only (no
wildcard, no regex), no credentials mode (the API authenticates with the
``Authorization`` header, not cookies), and a refused preflight is a
problem+json 403 with no ``Access-Control-Allow-Origin``, so the browser blocks
it. Preflights are answered here, before auth, rate limiting or the store.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http import rawheaders
from app.http.problems import problem_response

ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match")
EXPOSE_HEADERS = (
    "ETag",
    "Location",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "Idempotent-Replayed",
    "X-Request-Id",
)
MAX_AGE_SECONDS = 600


def _origin(scope: Scope) -> str | None:
    """The request's first ``Origin`` (Starlette's ``Headers.get``, without building
    a ``Headers`` for the one name every request is asked for)."""
    for name, value in scope["headers"]:
        if name == b"origin":
            origin: str = value.decode("latin-1")
            return origin
    return None


class CORSMiddleware:
    def __init__(self, app: ASGIApp, *, allow_origins: Iterable[str]) -> None:
        self.app = app
        self.allow_origins = frozenset(allow_origins)
        self.preflight_headers = {
            "Access-Control-Allow-Methods": ", ".join(ALLOW_METHODS),
            "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            "Vary": "Origin",
        }
        self.expose = ", ".join(EXPOSE_HEADERS)
        self.allowed_headers = {
            origin: rawheaders.encode(
                {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": self.expose}
            )
            for origin in self.allow_origins
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        origin = _origin(scope)
        if scope["method"] == "OPTIONS" and origin is not None:
            headers = Headers(scope=scope)
            if "access-control-request-method" in headers:
                await self._preflight(origin, headers)(scope, receive, send)
                return

        allowed = self.allowed_headers.get(origin) if origin is not None else None

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = rawheaders.copied(message)
                # Every response varies by Origin, allowed or not, so a shared
                # cache never hands one origin's answer to another.
                rawheaders.add_vary(response_headers, b"Origin")
                if allowed is not None:
                    rawheaders.replace(response_headers, allowed)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str, headers: Headers) -> Response:
        if origin not in self.allow_origins:
            return problem_response(
                403,
                "This origin may not call the API from a browser.",
                type_slug="cors-origin-refused",
                headers={"Vary": "Origin"},
            )
        method = headers["access-control-request-method"].upper()
        if method not in ALLOW_METHODS:
            return problem_response(
                403,
                f"{method} is not allowed cross-origin.",
                type_slug="cors-method-refused",
                headers={"Vary": "Origin"},
            )
        # The allowed lists are fixed, not echoed from the request: the browser
        # compares them with what it wants to send and blocks the rest.
        return Response(
            status_code=204, headers={**self.preflight_headers, "Access-Control-Allow-Origin": origin}
        )
