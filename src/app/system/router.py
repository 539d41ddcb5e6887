from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app import __version__
from app.auth.middleware import public
from app.http.problems import problem_responses
from app.http.routes import api_router

HELLO = "Hello, Cloud Explorer! Your Serverless code is running!"

HealthCheck = Callable[[], Awaitable[bool]]

router = api_router(tags=["service"], responses=problem_responses(429))


class Hello(BaseModel):
    message: str = Field(examples=[HELLO])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    stage: str
    version: str
    checks: dict[str, Literal["ok", "failing"]] = Field(
        description="Each dependency the service needs and whether it answered."
    )


class Index(BaseModel):
    name: str
    version: str
    docs: str | None
    openapi: str | None


# Routes are `async def`: on Lambda one request runs per container at a time,
# and a sync route would pay a thread-pool hand-off on every request.
# The answer never changes: serialised once, sent as bytes (no per-request
# validation or encoding of a response model).
HELLO_BODY = json.dumps({"message": HELLO}, separators=(",", ":")).encode()


@router.get("/hello", response_model=Hello, summary="Say hello")
@public
async def hello() -> Response:
    return Response(HELLO_BODY, media_type="application/json")


@router.get(
    "/health",
    response_model=Health,
    summary="Report whether the service and its dependencies answer",
    responses={503: {"model": Health, "description": "A dependency is failing"}},
)
@public
async def health(request: Request) -> JSONResponse:
    checks: dict[str, HealthCheck] = getattr(request.app.state, "health_checks", {})
    results: dict[str, Literal["ok", "failing"]] = {}
    for name, check in checks.items():
        try:
            ok = await asyncio.wait_for(check(), timeout=2.0)
        except Exception:
            ok = False
        results[name] = "ok" if ok else "failing"
    healthy = all(result == "ok" for result in results.values())
    body = Health(
        status="ok" if healthy else "degraded",
        stage=request.app.state.settings.stage,
        version=__version__,
        checks=results,
    )
    return JSONResponse(
        body.model_dump(),
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/", response_model=Index, summary="Where things are")
@public
async def index(request: Request) -> Index:
    root = request.scope.get("root_path", "").rstrip("/")
    docs = "/docs" if request.app.state.settings.docs_enabled else None
    openapi = request.app.openapi_url
    return Index(
        name=request.app.title,
        version=__version__,
        docs=root + docs if docs else None,
        openapi=root + openapi if openapi else None,
    )
