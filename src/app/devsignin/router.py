"""Mounts the development sign-in under the local issuer's path (``/local-dev``).

Only ``create_app`` decides whether it exists (``Settings.serves_dev_signin``:
the ``local`` stage with the development key file); it is public, not in the
OpenAPI document, and CORS, rate limiting and the security headers apply as to
any route. It answers only a request that arrived on a loopback address from a
loopback address (the connection's, as uvicorn puts them in the ASGI scope): a
server bound to every interface still never signs anyone in from the network.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter, Request, Response

from app.auth.middleware import public
from app.devsignin.core import DevSignIn, callback_uris
from app.devtoken import ForeignKeySet, check_key_set
from app.http.problems import problem_response
from app.http.routes import api_router
from app.settings import ConfigurationError, Settings

WEB_CLIENT_ID = "restaurant-web"
log = logging.getLogger("app.devsignin")


def is_loopback(address: Sequence[object] | None) -> bool:
    """An ASGI ``server`` or ``client`` (host, port) on a loopback address; a name, a
    Unix socket or an unknown address is not one."""
    try:
        return address is not None and ipaddress.ip_address(str(address[0])).is_loopback
    except (ValueError, IndexError):
        return False


def build_dev_signin(settings: Settings) -> DevSignIn:
    jwks_file = settings.jwks_file
    assert jwks_file is not None
    try:
        check_key_set(Path(jwks_file))  # at start-up, not at the first sign-in
    except ForeignKeySet as error:
        raise ConfigurationError(f"configuration error: APP_AUTH_JWKS_FILE: {error}") from None
    return DevSignIn(
        issuer=settings.auth_issuer,
        jwks_file=Path(jwks_file),
        client_id=WEB_CLIENT_ID,
        audience=settings.auth_audience[0],
        scope_prefix=settings.auth_scope_prefix,
        redirect_uris=callback_uris(settings.cors_allow_origins),
    )


def _not_found() -> Response:
    return problem_response(404, "No such page of the development sign-in.", type_slug="not-found")


def dev_signin_router(signin: DevSignIn) -> APIRouter:
    router = api_router(include_in_schema=False)
    warned: list[bool] = []
    log.info("development sign-in at %s: answers on loopback only", signin.issuer)

    @router.api_route(signin.base_path + "/{rest:path}", methods=["GET", "POST"])
    @public
    async def dev_signin(request: Request) -> Response:
        server, client = request.scope.get("server"), request.scope.get("client")
        if not (is_loopback(server) and is_loopback(client)):
            if not warned:  # loudly, once: the server is reachable beyond this machine
                warned.append(True)
                log.warning(
                    "development sign-in refused a request on %s from %s: it answers on loopback only; "
                    "serve with --host 127.0.0.1",
                    server,
                    client,
                )
            return _not_found()
        body = await request.body() if request.method == "POST" else b""
        reply = signin.handle(request.method, request.url.path, request.url.query, body)
        if reply is None:
            return _not_found()
        response = Response(reply.body, status_code=reply.status)
        for name, value in reply.headers:
            response.headers[name] = value
        return response

    return router
