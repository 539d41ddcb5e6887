"""Where the app is mounted, seen from the client, per API Gateway event.

On a named stage API Gateway puts the stage in the path it hands to Lambda:
``GET https://{id}.execute-api.../prod/hello`` arrives as ``rawPath: /prod/hello``
for HTTP API payload 2.0 (powertools-lambda-python#621, serverless-wsgi#191),
while the ``$default`` stage adds nothing. REST API proxy events carry the path
without the stage and the stage only in ``requestContext.path``. Mangum passes
the path through as it comes, so this layer sets ASGI ``root_path`` to the
public prefix and keeps ``path`` = ``root_path`` + route path, as Starlette
expects: routing then ignores the prefix, and ``/docs`` loads
``{root_path}/openapi.json``, so Swagger finds the spec under ``/prod`` too.

Behind a custom domain the stage is not part of the public URL, so the stage
is stripped for routing but not advertised as ``root_path``.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


def public_paths(event: dict[str, Any], path: str) -> tuple[str, str]:
    """Return ``(root_path, path)`` for the ASGI scope of this event."""
    context = event.get("requestContext") or {}
    stage = context.get("stage")
    if not isinstance(stage, str) or not stage or stage == "$default":
        return "", path
    prefix = "/" + stage
    on_stage_host = ".execute-api." in _host(event)
    if path == prefix or path.startswith(prefix + "/"):
        route = path[len(prefix) :] or "/"
    else:
        route = path
        # REST API (payload 1.0): only requestContext.path shows the stage.
        rest_path = str(context.get("path", ""))
        on_stage_host = on_stage_host and rest_path.startswith(prefix + "/")
    root = prefix if on_stage_host else ""
    return root, root + route


def _host(event: dict[str, Any]) -> str:
    # REST API proxy events have no requestContext.domainName; the Host header does.
    domain = (event.get("requestContext") or {}).get("domainName")
    if isinstance(domain, str) and domain:
        return domain
    for name, value in (event.get("headers") or {}).items():
        if isinstance(name, str) and name.lower() == "host":
            return str(value)
    return ""


class StageMiddleware:
    """Applies :func:`public_paths` and the once-per-container lifespan state."""

    def __init__(self, app: ASGIApp, lifespan_state: dict[str, Any]) -> None:
        self.app = app
        self.lifespan_state = lifespan_state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            event = scope.get("aws.event")
            if isinstance(event, dict):
                scope["root_path"], scope["path"] = public_paths(event, scope["path"])
            scope["state"] = self.lifespan_state.copy()
        await self.app(scope, receive, send)
