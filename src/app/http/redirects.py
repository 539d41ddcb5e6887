"""Trailing-slash redirects with a relative ``Location``, never one built from ``Host``.

Starlette's router answers ``GET /orders/`` with ``307 Location: http://{Host}/orders``:
an absolute URL built from the client's ``Host`` header. Under uvicorn any client picks
the host the redirect sends a browser to (an open redirect), and behind CloudFront it
would hand out the execute-api host (issue 11, defect 7). RFC 9110 section 10.2.2 lets
``Location`` be a relative reference, resolved by the client against the URL it asked
for; ``{root_path}{route}`` (``/prod/orders`` under a named stage, ``/orders`` at
``$default`` or behind a custom domain) is therefore right wherever the app is mounted.

This replaces the router's own redirect (``redirect_slashes``) by becoming its
``default``, the ASGI app it runs when no route matches, so the redirect happens exactly
where Starlette's did: after every middleware, for a path that no route knows.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http.routes import route_path

# Characters left as they are; everything else is percent-encoded. The path in the
# scope is decoded, so "%" is encoded there; the query string is raw, so it is kept.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?%[]"


class SlashRedirect:
    """The router's ``default``: redirects to the same path with its trailing slash
    toggled when a route matches that, and otherwise runs ``fallback`` (404)."""

    def __init__(self, router: Router, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        location = self.location(scope) if scope["type"] == "http" else None
        if location is None:
            await self.fallback(scope, receive, send)
            return
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    def location(self, scope: Scope) -> str | None:
        route = route_path(scope)
        toggled = route.rstrip("/") if route.endswith("/") else route + "/"
        if not toggled:  # "/" itself
            return None
        root: str = scope.get("root_path", "")
        candidate = {**scope, "path": root + toggled}
        # Read the routes now: a route added after start-up counts too.
        if all(r.matches(candidate)[0] is Match.NONE for r in self.router.routes):
            return None
        target = quote(root + toggled, safe=_PATH_SAFE)
        if target.startswith("//"):
            # A network-path reference (RFC 3986 4.2) names a host: never redirect there.
            return None
        query = scope.get("query_string", b"")
        if query:
            target += "?" + quote(query.decode("latin-1"), safe=_QUERY_SAFE)
        return target


def install(router: Router) -> None:
    """Turn off the router's Host-based redirect and put :class:`SlashRedirect` in its place."""
    router.redirect_slashes = False
    router.default = SlashRedirect(router, router.default)
