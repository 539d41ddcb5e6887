"""Request body size limit: bodies over the limit are 413, read or announced.

API Gateway accepts up to 10 MB and Lambda up to 6 MB; nothing in this API
needs more than a few KiB, so the app refuses large bodies before parsing them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.problems import problem_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    response = problem_response(400, "Content-Length is not a number.")
                    await response(scope, receive, send)
                    return
                if int(value) > self.max_bytes:
                    await self._too_large(scope, receive, send)
                    return
                break

        received = 0
        response_started = False
        answered = False  # True once this layer has sent the 413 itself

        async def counting_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not response_started:
                    # Answer now and tell the app the client went away: FastAPI
                    # turns any error raised while it reads the body into a 400,
                    # so raising here would lose the 413.
                    answered = True
                    await self._too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if answered:
                return  # whatever the app says after the 413 goes nowhere
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            f"The request body exceeds {self.max_bytes} bytes.",
            type_slug="body-too-large",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
