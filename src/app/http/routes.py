"""Route matching outside the router: which route a request is for, before routing.

The deny-by-default gate (``app.auth.middleware``), a ``405``'s ``Allow`` header
(``app.http.problems``), the docs CSP (``app.http.security``) and the trailing-slash
redirect (``app.http.redirects``) all need to know, before Starlette routes the
request, which of the app's routes a path names; this module is the one place that
answers, and it imports nothing of the app's, so every layer can use it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, compile_path
from starlette.types import Scope

F = TypeVar("F", bound=Callable[..., Any])


def route_path(scope: Scope) -> str:
    """The path the router sees: ASGI path minus root_path (Starlette does the same)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


# The app serving the current request (set by app.http.context's outermost layer).
SERVING_APP: ContextVar[Any] = ContextVar("serving_app", default=None)


class ServingAppOverrides:
    """The ``dependency_overrides_provider`` of this project's routers: the
    ``dependency_overrides`` of whichever app is serving the current request.

    Our routers' routes are built once, when their modules are imported, and put on
    each app as they are (``app.main.add_routes``), so no app exists yet to be their
    provider, and one process may hold several apps (tests). FastAPI's own idiom,
    ``app.dependency_overrides[dependency] = stand_in``, works as with
    ``include_router``, resetting by assigning a new dict included."""

    @property
    def dependency_overrides(self) -> dict[Any, Any]:
        overrides: dict[Any, Any] = getattr(SERVING_APP.get(), "dependency_overrides", None) or {}
        return overrides


def operation_id(route: Any) -> str:
    """A route's OpenAPI ``operationId``: its endpoint's name (``place_order``, not
    FastAPI's default ``place_order_orders_post``), so a generated client's methods
    read as the API does (FastAPI's "Generating SDKs" guide). Stable while the
    function keeps its name; a test pins them and checks they are unique."""
    name: str = route.name
    return name


def api_router(**options: Any) -> APIRouter:
    """An ``APIRouter`` whose routes see the serving app's dependency overrides,
    with clean operation ids."""
    return APIRouter(
        dependency_overrides_provider=ServingAppOverrides(),
        generate_unique_id_function=operation_id,
        **options,
    )


def public(endpoint: F) -> F:
    """Mark a route's endpoint as reachable without a token (apply below the route decorator)."""
    endpoint.__public__ = True  # type: ignore[attr-defined]
    return endpoint


def _docs_paths(app: Any) -> set[str]:
    paths = {
        app.docs_url,
        app.redoc_url,
        app.openapi_url,
        getattr(app, "swagger_ui_oauth2_redirect_url", None),
    }
    return {p for p in paths if p}


# (path regex, methods or None for any, is public)
RouteRule = tuple[re.Pattern[str], frozenset[str] | None, bool]


def route_rules(app: Any) -> list[RouteRule]:
    """Every route of the app, flattened, as (regex, methods, public).

    Our routers' routes sit on the app's router itself (``app.main.add_routes``);
    a router included with ``include_router`` is nested (FastAPI 0.165), and
    ``iter_route_contexts`` flattens it.
    """
    routes = iter_route_contexts(app.routes)
    docs = _docs_paths(app)
    rules: list[RouteRule] = []
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        regex, _, _ = compile_path(path)
        if isinstance(getattr(route, "original_route", route), Mount):
            regex = re.compile("^" + re.escape(path.rstrip("/")) + "(/.*)?$")
        methods = getattr(route, "methods", None)
        endpoint = getattr(route, "endpoint", None) or getattr(route, "app", None)
        is_public = path in docs or bool(getattr(endpoint, "__public__", False))
        rules.append((regex, frozenset(methods) if methods else None, is_public))
    return rules
