"""Assembles the application; nothing else lives here.

``app`` is the ASGI application (``uvicorn app.main:app``) and ``handler`` the
Lambda entry point (template ``Handler: app.main.handler``). Both are built
once per process: on Lambda, once per container.
"""

from __future__ import annotations

import gc

# Init allocates long-lived objects only (modules, classes, routes, the SDK
# client), so a cyclic collection during it finds next to nothing to free and
# costs about a tenth of init. Collection is paused here and, at the end of
# this module, everything init made is frozen (gc.freeze: never scanned again)
# before collection resumes: Python's documented pattern for a process image
# that is copied (a SnapStart snapshot), and what keeps later collections short.
_COLLECTING = gc.isenabled()
gc.disable()

# ruff: noqa: E402 - the pause above comes before the imports it is for
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware import Middleware

from app import __version__
from app.auth.factory import build_verifier
from app.auth.keys import JwksCache
from app.auth.middleware import AuthenticationMiddleware, DenyByDefaultMiddleware
from app.auth.router import router as auth_router
from app.auth.verify import TokenVerifier
from app.aws_lambda import snapstart
from app.aws_lambda.adapter import LambdaAdapter
from app.docs.router import router as docs_router
from app.http import gateway_401, problems, redirects
from app.http.context import ErrorBoundaryMiddleware, RequestContextMiddleware
from app.http.cors import CORSMiddleware
from app.http.head import HeadMiddleware
from app.http.limits import BodyLimitMiddleware
from app.http.logs import configure_logging
from app.http.security import SecurityHeadersMiddleware
from app.menu.demo import seed_demo_menu
from app.menu.router import router as menu_router
from app.menu.service import MenuService
from app.orders.router import kitchen_router
from app.orders.router import router as orders_router
from app.ratelimit.factory import build_limiter
from app.ratelimit.limiter import Limiter
from app.ratelimit.middleware import RateLimitMiddleware
from app.settings import Settings, get_settings, on_lambda
from app.store import blocking
from app.store.base import Store, StoreUnavailable
from app.store.factory import build_store
from app.system.router import router as system_router

DOCS_PREFIXES = ("/docs", "/redoc")
TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def dynamodb_client(settings: Settings) -> Any:
    """The container's one DynamoDB client (app.store.sdk: the SDK is imported
    here, only for the DynamoDB store)."""
    from botocore.exceptions import BotoCoreError

    from app.store.sdk import new_client

    try:
        return new_client(settings.dynamodb_endpoint_url)
    except BotoCoreError as error:  # e.g. NoRegionError: say so at start, clearly
        raise StoreUnavailable(f"cannot create the DynamoDB client: {error}") from error


def middleware(settings: Settings, verifier: TokenVerifier, limiter: Limiter | None) -> list[Middleware]:
    """The middleware, outermost first, and why in this order:

    1. request context: every response, preflights and 500s included, gets a
       request id and exactly one access-log line (with the caller's sub);
    2. HEAD as GET without the body (RFC 9110 9.3.2): every layer below answers
       a HEAD exactly as it answers the GET, headers included;
    3. CORS: every response below, errors included, carries the CORS headers a
       browser needs to read it; preflights are answered here, before auth,
       rate limiting or the store;
    4. security headers, on everything below, the 500 included;
    5. the error boundary: an unexpected exception becomes a problem+json 500;
    6. authentication before rate limiting, so the limit can be keyed by the
       token's sub; it only records a failure and answers nothing;
    7. the rate limit, before any body is read or the store is touched: keyed
       by the sub, or by the source address for anonymous requests and failed
       authentications alike, so bad tokens and token-less calls to protected
       routes spend the address's quota and get 429 once over;
    8. deny by default after the limit, so its 401s carry the rate-limit
       headers and are counted;
    9. the body limit last, around the routes that read bodies.
    """
    layers = [
        Middleware(RequestContextMiddleware, stage=settings.stage),
        Middleware(HeadMiddleware),
        Middleware(CORSMiddleware, allow_origins=settings.cors_allow_origins),
        Middleware(SecurityHeadersMiddleware, hsts=not settings.is_local, docs_prefixes=DOCS_PREFIXES),
        Middleware(ErrorBoundaryMiddleware),
        Middleware(AuthenticationMiddleware, verifier=verifier),
    ]
    if limiter is not None:
        layers.append(Middleware(RateLimitMiddleware, limiter=limiter))
    layers.append(Middleware(DenyByDefaultMiddleware))
    layers.append(Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes))
    return layers


def create_app(
    settings: Settings,
    *,
    verifier: TokenVerifier | None = None,
    store: Store | None = None,
    limiter: Limiter | None = None,
    prefetch_keys: bool = False,
    live: bool = False,
) -> FastAPI:
    """The app. ``prefetch_keys`` (the process's own app: Lambda's init, uvicorn's
    start) starts fetching the signing keys from a JWKS URL in the background
    now, so the first token finds them fetched instead of waiting for the issuer.
    ``live`` (uvicorn's app, never Lambda's): live orders at ``/ws`` (app.live.serve)."""
    verifier = verifier or build_verifier(settings)
    if prefetch_keys and isinstance(verifier.keys, JwksCache) and verifier.keys.url:
        verifier.keys.fetch_in_background()
    if settings.store == "dynamodb" and (store is None or limiter is None):
        # The cloud's store: one SDK client for the store and the limiter, both
        # built now, at init (on Lambda: the init phase, not the first request).
        client = dynamodb_client(settings)
        if store is None:
            store = build_store(settings, client=client)
        if limiter is None:
            limiter = build_limiter(settings, client=client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Per-container resources start here, once: on Lambda at the first
        # invocation (see aws_lambda.adapter), under uvicorn at start-up. The
        # local store (SQLite) is opened here; the DynamoDB one exists already.
        app.state.startups += 1
        if app.state.store is None:
            app.state.store = await blocking.run(build_store, settings)
        if settings.seeds_demo_menu:
            await blocking.run(seed_demo_menu, app.state.store)
        app.state.menu = MenuService(app.state.store)

        async def store_answers() -> bool:
            return await blocking.run(app.state.store.ping)

        app.state.health_checks["store"] = store_answers
        feed = live_feed(app) if live else None
        yield
        if feed is not None:
            feed.stop()
        app.state.store.close()

    docs = settings.docs_enabled
    app = FastAPI(
        title="Serverless Restaurant API",
        version=__version__,
        summary="A restaurant's menu and its customers' orders, served from AWS Lambda.",
        # The docs pages are app.docs' own (assets served locally, strict CSP).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
        lifespan=lifespan,
        middleware=middleware(settings, verifier, limiter or build_limiter(settings)),
        # FastAPI's OpenTelemetry spans and metrics, only where OpenTelemetry is set
        # up (Settings.opentelemetry): with them on, FastAPI looks up three global
        # providers on every request to find out whether one is configured (about
        # 5 us of a warm GET /hello here), and without an SDK none ever is.
        telemetry=None if settings.opentelemetry else TELEMETRY_OFF,
    )
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.startups = 0
    app.state.health_checks = {}
    app.state.store = store
    problems.install(app)
    if settings.gateway_authorizer:  # the deployed stack's clients also get the gateway's 401
        gateway_401.document(app)
    redirects.install(app.router)  # relative Location, never from the client's Host
    for router in (system_router, auth_router, menu_router, orders_router, kitchen_router):
        add_routes(app, router)
    if docs:  # last: every API request tries the routes before its own, in this order
        add_routes(app, docs_router)
    if settings.serves_dev_signin:
        # Imported only here: it loads the signing key's crypto, which a deployed
        # function (never serving it) should not pay for at init.
        from app.devsignin.router import build_dev_signin, dev_signin_router

        add_routes(app, dev_signin_router(build_dev_signin(settings)))
    if live:
        # Imported only here: a deployed function never serves /ws (API Gateway's
        # WebSocket API does) and pays nothing for it at init.
        from app.live.serve import install

        install(app, settings)
    return app


def live_feed(app: FastAPI) -> Any:
    """Under uvicorn, the change feed of live orders (app.live.serve), started with the store."""
    from app.live.serve import start_feed

    return start_feed(app)


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, as its decorators built them, on the app's own router.

    Each of our routers carries its prefix, tags and responses itself, so its
    routes are complete when its module is imported. ``include_router`` (FastAPI
    0.165) would nest the router instead and build every route a second time, at
    the first request (about 8 ms of a cold ``GET /hello`` here), and walk that
    nesting on every request after (about 6 us). A test checks that a request
    builds no route.
    """
    app.router.routes.extend(router.routes)


try:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings, prefetch_keys=True, live=not on_lambda())
    handler = LambdaAdapter(app, max_body_bytes=settings.max_body_bytes)
    snapstart.register(handler)  # only when Lambda initialises this function for SnapStart
finally:
    if _COLLECTING:
        gc.freeze()
        gc.enable()
