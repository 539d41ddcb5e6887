"""The per-client limit, as a pure ASGI layer after authentication.

The client is the token's ``sub`` when the caller is authenticated, otherwise
(anonymous, or a token that failed: the deny-by-default 401 comes after this
layer, so failures are counted and limited too) the source IP: on Lambda the
one API Gateway reports in the event (``requestContext.http.sourceIp``, which
Mangum puts in the ASGI ``client``), locally the socket peer. A client-sent
``X-Forwarded-For`` is never read (and uvicorn runs with ``--no-proxy-headers``
so it cannot rewrite the peer either).

Headers follow the IETF draft draft-ietf-httpapi-ratelimit-headers-09:
``RateLimit-Policy: "default";q=120;w=60`` and ``RateLimit: "default";r=57;t=30``
on every limited response, plus ``Retry-After`` on a 429.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http import rawheaders
from app.http.context import PRINCIPAL_SUB
from app.http.problems import problem_response
from app.ratelimit.limiter import Decision, Limiter
from app.store import blocking

log = logging.getLogger("app.ratelimit")

POLICY = "default"
POLICY_BYTES = POLICY.encode()
NAMES = frozenset((b"ratelimit-policy", b"ratelimit"))


def client_key(scope: Scope) -> str:
    sub = scope.get(PRINCIPAL_SUB)
    if sub:
        return f"sub:{sub}"
    client = scope.get("client")
    host = client[0] if client else "unknown"
    return f"ip:{host}"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limiter: Limiter) -> None:
        self.app = app
        self.limiter = limiter
        rate = limiter.rate
        self.policy = f'"{POLICY}";q={rate.limit};w={rate.window_seconds}'
        self.policy_pair = (b"ratelimit-policy", self.policy.encode())
        self.policy_only = [self.policy_pair]  # the limiter failed open: no count to report
        self.blocking = limiter.counter.blocking  # the counter does I/O: keep it off the loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            key = client_key(scope)
            decision: Decision | None = (
                await blocking.run(self.limiter.hit, key) if self.blocking else self.limiter.hit(key)
            )
        except Exception as error:
            # Fail open: a limiter outage must not become an API outage.
            log.warning(
                "rate limiter unavailable; request let through", extra={"error": type(error).__name__}
            )
            decision = None

        if decision is None:
            pairs = self.policy_only
        else:
            count = b'"%s";r=%d;t=%d' % (POLICY_BYTES, decision.remaining, decision.reset_seconds)
            if not decision.allowed:
                response = problem_response(
                    429,
                    f"Too many requests: at most {decision.limit} per {self.limiter.rate.window_seconds} s. "
                    f"Retry in {decision.reset_seconds} s.",
                    type_slug="rate-limited",
                    headers={
                        "RateLimit-Policy": self.policy,
                        "RateLimit": count.decode(),
                        "Retry-After": str(decision.reset_seconds),
                    },
                )
                await response(scope, receive, send)
                return
            pairs = [self.policy_pair, (b"ratelimit", count)]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                rawheaders.replace(rawheaders.copied(message), pairs, NAMES)
            await send(message)

        await self.app(scope, receive, send_with_headers)
