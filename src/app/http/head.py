"""``HEAD`` is ``GET`` without the body (RFC 9110 section 9.3.2).

FastAPI's routes answer only the methods they declare, so without this layer
``HEAD /menu`` is a ``405``. CloudFront, uptime monitors and link checkers send
``HEAD``; they expect the status and headers that ``GET`` would send.

The layer sits just inside the request context (so the access log still says
``HEAD``): every layer below it, CORS, the security headers, auth, the rate
limit and the router, sees a ``GET`` and answers exactly as it would, and this
layer drops the body on the way out. ``Content-Length`` stays what ``GET``
would send, as RFC 9110 allows. Uvicorn would drop the body by itself; Mangum
would not, which is why the app does it on both entry points.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Set on the scope of a HEAD request that the layers below see as GET.
HEAD_REQUEST = "app.head"


class HeadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        scope["method"] = "GET"
        scope[HEAD_REQUEST] = True

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, send_without_body)


def request_method(scope: Scope) -> str:
    """The method the client sent (``HEAD`` where the layers below see ``GET``)."""
    return "HEAD" if scope.get(HEAD_REQUEST) else str(scope["method"])
