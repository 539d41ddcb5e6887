from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel, Field

from app.auth.dependencies import CurrentPrincipal
from app.http.problems import problem_responses
from app.http.routes import api_router

router = api_router(tags=["auth"], responses=problem_responses(401, 429))


class Me(BaseModel):
    sub: str = Field(examples=["alice"])
    scopes: list[str] = Field(examples=[["orders:read", "orders:write"]])


@router.get("/me", response_model=Me, summary="Who the token says you are")
async def me(principal: CurrentPrincipal, response: Response) -> Me:
    response.headers["Cache-Control"] = "private, no-store"
    return Me(sub=principal.sub, scopes=sorted(principal.scopes))
