"""Deny by default: every request needs a valid bearer token unless its route is public.

Pure ASGI, after Starlette's AuthenticationMiddleware, in two layers with the
rate limit between them (see ``app.main.middleware``):
:class:`AuthenticationMiddleware` verifies the token and puts the result into
the scope (``app.principal``, or the reason it failed), and
:class:`DenyByDefaultMiddleware` turns a missing or failed authentication into
an RFC 6750 response. The gate runs before routing, so it matches the request
against the app's routes itself; a route is public only when its endpoint was
marked with :func:`public` (or it is one of FastAPI's docs routes). Anything
else, including a path no route knows, needs a token: a new route is
protected unless someone marks it public.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.keys import FetchPending
from app.auth.principal import Principal
from app.auth.verify import InvalidToken, TokenVerifier
from app.http.context import PRINCIPAL_SUB
from app.http.problems import problem_response
from app.http.routes import RouteRule, public, route_path, route_rules

__all__ = ["AuthenticationMiddleware", "DenyByDefaultMiddleware", "public", "route_rules"]

log = logging.getLogger("app.auth")

PRINCIPAL = "app.principal"
AUTH_FAILURE = "app.auth_failure"  # why a presented token was refused
REALM = 'Bearer realm="api"'


def _bearer(scope: Scope) -> tuple[bool, str | None]:
    """(header present, token) from the one Authorization header."""
    values = [value for name, value in scope["headers"] if name == b"authorization"]
    if not values:
        return False, None
    if len(values) > 1:
        return True, None
    scheme, _, token = values[0].decode("latin-1").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return True, None
    return True, token


class AuthenticationMiddleware:
    """Who is calling: verifies the bearer token, if any, and never answers.

    A valid token puts its principal (and sub) in the scope; a failing one
    leaves only its reason (``app.auth_failure``). The rate limit runs next and
    keys the request by that sub or, for anonymous and failed requests alike,
    by the source address; :class:`DenyByDefaultMiddleware` then answers the
    401s, so a failed authentication is counted like any other request.
    """

    def __init__(self, app: ASGIApp, *, verifier: TokenVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            present, token = _bearer(scope)
            if present:
                try:
                    if token is None:
                        raise InvalidToken("Authorization must be one 'Bearer <token>' header")
                    principal = await self._verify(token)
                except InvalidToken as error:
                    log.info("authentication failed", extra={"reason": str(error), "path": scope["path"]})
                    scope[AUTH_FAILURE] = str(error)
                else:
                    scope[PRINCIPAL] = principal
                    scope[PRINCIPAL_SUB] = principal.sub
        await self.app(scope, receive, send)

    async def _verify(self, token: str) -> Principal:
        return await verify_off_the_loop(self.verifier, token)


async def verify_off_the_loop(verifier: TokenVerifier, token: str) -> Principal:
    """The token's principal (or InvalidToken), never blocking the event loop."""
    header = verifier.header(token)
    try:
        # A known key (or a kid no fetch can bring now): answered inline.
        return verifier.verify(token, header, wait=False)
    except FetchPending:
        # Finding the key means a JWKS fetch, ours or one already running,
        # which blocks for up to its timeout: never on the event loop, or
        # every other request under uvicorn waits with it.
        return await anyio.to_thread.run_sync(verifier.verify, token, header)


class DenyByDefaultMiddleware:
    """Answers 401 for a request to a route that is not public unless
    :class:`AuthenticationMiddleware` (further out) found a valid token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._rules: tuple[int, list[RouteRule]] | None = None

    def _route_rules(self, app: Any) -> list[RouteRule]:
        # Built once; rebuilt only if routes are added after start (tests do).
        count = len(app.router.routes)
        if self._rules is None or self._rules[0] != count:
            self._rules = (count, route_rules(app))
        return self._rules[1]

    def _is_public(self, scope: Scope) -> bool:
        path = route_path(scope)
        method = scope["method"]
        known_path = False
        partial = False
        for regex, methods, is_public in self._route_rules(scope["app"]):
            if regex.match(path):
                if methods is None or method in methods:
                    return is_public
                known_path = True
                # e.g. POST /hello: a public path lets the router answer 405.
                partial = partial or is_public
        # A path no route knows is left to the router's 404: there is nothing
        # behind it to protect, and a typo deserves a plain "not found".
        return partial or not known_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or PRINCIPAL in scope or self._is_public(scope) or _is_preflight(scope):
            # A public route serves anonymous callers; a bad token does not block it.
            await self.app(scope, receive, send)
            return
        failure = scope.get(AUTH_FAILURE)
        if failure is None:
            response = problem_response(
                401,
                "A bearer token is required.",
                type_slug="unauthorized",
                headers={"WWW-Authenticate": REALM},
            )
        else:
            challenge = f'{REALM}, error="invalid_token", error_description="{failure}"'
            response = problem_response(
                401, failure, type_slug="invalid-token", headers={"WWW-Authenticate": challenge}
            )
        await response(scope, receive, send)


def _is_preflight(scope: Scope) -> bool:
    if scope["method"] != "OPTIONS":
        return False
    names = {name for name, _ in scope["headers"]}
    return b"origin" in names and b"access-control-request-method" in names
