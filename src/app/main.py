"""Assembles the application; nothing else lives here.

``app`` is the ASGI application (``uvicorn app.main:app``) and ``handler`` the
Lambda entry point (template ``Handler: app.main.handler``). Both are built
once per process: on Lambda, once per container.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware import Middleware

from app import __version__
from app.auth.keys import JwksCache
from app.auth.middleware import AuthMiddleware
from app.auth.router import router as auth_router
from app.auth.verify import TokenVerifier
from app.aws_lambda.adapter import LambdaAdapter
from app.http import problems
from app.http.context import RequestContextMiddleware
from app.http.limits import BodyLimitMiddleware
from app.http.logs import configure_logging
from app.menu.router import router as menu_router
from app.menu.service import MenuService
from app.orders.router import router as orders_router
from app.settings import Settings, get_settings
from app.store import blocking
from app.store.base import Store
from app.store.factory import build_store
from app.system.router import router as system_router


def build_verifier(settings: Settings) -> TokenVerifier:
    """Once per container: the key cache lives as long as the verifier."""
    jwks_file = settings.jwks_file
    keys = JwksCache(file=jwks_file) if jwks_file else JwksCache(url=settings.jwks_url)
    return TokenVerifier(
        keys,
        issuer=settings.auth_issuer,
        audiences=settings.auth_audience,
        scope_prefix=settings.auth_scope_prefix,
        token_use=settings.auth_token_use,
    )


def create_app(
    settings: Settings, *, verifier: TokenVerifier | None = None, store: Store | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Per-container resources start here, once: on Lambda at the first
        # invocation (see aws_lambda.adapter), under uvicorn at start-up.
        app.state.startups += 1
        if app.state.store is None:
            app.state.store = await blocking.run(build_store, settings)
        app.state.menu = MenuService(app.state.store)

        async def store_answers() -> bool:
            return await blocking.run(app.state.store.ping)

        app.state.health_checks["store"] = store_answers
        yield
        app.state.store.close()

    docs = settings.docs_enabled
    app = FastAPI(
        title="Serverless Restaurant API",
        version=__version__,
        summary="A restaurant's menu and its customers' orders, served from AWS Lambda.",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        lifespan=lifespan,
        # Outermost first. The request context wraps everything so that every
        # response, including a 401, a 413 or an unexpected 500, is logged once
        # with the caller's sub and carries the request id. Auth comes before
        # the body limit: an anonymous caller gets 401 without the app reading
        # a byte of its body.
        middleware=[
            Middleware(RequestContextMiddleware, stage=settings.stage),
            Middleware(AuthMiddleware, verifier=verifier or build_verifier(settings)),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
    )
    app.state.settings = settings
    app.state.startups = 0
    app.state.health_checks = {}
    app.state.store = store
    problems.install(app)
    app.include_router(system_router)
    app.include_router(auth_router)
    app.include_router(menu_router)
    app.include_router(orders_router)
    return app


settings = get_settings()
configure_logging(settings.log_level)
app = create_app(settings)
handler = LambdaAdapter(app)
