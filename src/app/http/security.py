"""Security headers on every response.

The API answers JSON, so its policy forbids everything; the docs pages load
their scripts and styles from this app only (the assets are served locally, not
from a CDN), so their policy allows 'self' and nothing else, except what ReDoc
needs to render at all: its styled-components inject <style> elements at run
time ('unsafe-inline' for styles only) and its search runs in a worker made from
a blob: URL (worker-src blob:). Scripts stay 'self' only. ReDoc's attribution
logo comes from its CDN and stays blocked (the image hides itself on error).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http import rawheaders
from app.http.routes import route_path

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool, docs_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.common = {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if hsts:
            # Only over HTTPS (API Gateway); locally there is no TLS to pin.
            self.common["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        self.docs_prefixes = docs_prefixes
        self.api_headers = rawheaders.encode({**self.common, "Content-Security-Policy": API_CSP})
        self.docs_headers = rawheaders.encode({**self.common, "Content-Security-Policy": DOCS_CSP})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = route_path(scope).startswith(self.docs_prefixes)
        defaults = self.docs_headers if docs else self.api_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A header the response set itself is kept (setdefault).
                rawheaders.add_missing(rawheaders.copied(message), defaults)
            await send(message)

        await self.app(scope, receive, send_with_headers)
