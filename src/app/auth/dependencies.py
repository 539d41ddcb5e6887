"""Route-side auth: the typed principal and the scopes a route needs.

``Security(current_principal, scopes=[...])`` both enforces the scopes and puts
the bearer scheme with those scopes on the operation in the OpenAPI document,
so ``/docs`` shows a working Authorize button.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from app.auth.middleware import PRINCIPAL, REALM
from app.auth.principal import Principal
from app.http.problems import Problem

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An access token from the issuer (locally: `python -m app.devtoken`).",
)


class NotAuthenticated(Problem):
    status = 401
    type_slug = "unauthorized"


class InsufficientScope(Problem):
    status = 403
    type_slug = "insufficient-scope"


async def current_principal(
    security_scopes: SecurityScopes,
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal = request.scope.get(PRINCIPAL)
    if not isinstance(principal, Principal):
        # The middleware lets no protected request through without one; this
        # guards a route that was marked public but still asks for a principal.
        raise NotAuthenticated("A bearer token is required.", headers={"WWW-Authenticate": REALM})
    missing = [scope for scope in security_scopes.scopes if not principal.has(scope)]
    if missing:
        needed = " ".join(security_scopes.scopes)
        raise InsufficientScope(
            f"This operation needs the scope(s): {needed}.",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{needed}"'},
        )
    return principal


def scopes(*needed: str) -> Principal:
    """``principal: Principal = scopes("orders:read")``, or use the aliases below."""
    return Security(current_principal, scopes=list(needed))  # type: ignore[no-any-return]


CurrentPrincipal = Annotated[Principal, Security(current_principal)]
MenuWriter = Annotated[Principal, Security(current_principal, scopes=["menu:write"])]
OrdersReader = Annotated[Principal, Security(current_principal, scopes=["orders:read"])]
OrdersWriter = Annotated[Principal, Security(current_principal, scopes=["orders:write"])]
OrdersAdmin = Annotated[Principal, Security(current_principal, scopes=["orders:admin"])]
