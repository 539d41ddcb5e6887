"""The token verifier the settings describe, built without the web framework.

``app.main`` (the HTTP API) and the WebSocket API's authorizer
(``app.aws_lambda.live_authorizer``, which imports no FastAPI) verify tokens the
same way: one issuer, the same audiences, scope prefix and group roles.
"""

from __future__ import annotations

from app.auth.keys import JwksCache
from app.auth.verify import TokenVerifier
from app.settings import Settings


def build_verifier(settings: Settings, keys: JwksCache | None = None) -> TokenVerifier:
    """Once per container: the key cache lives as long as the verifier. ``keys``: a
    cache of the caller's own (tests: a short timeout, a fake clock)."""
    if keys is None:
        jwks_file = settings.jwks_file
        keys = JwksCache(file=jwks_file) if jwks_file else JwksCache(url=settings.jwks_url)
    return TokenVerifier(
        keys,
        issuer=settings.auth_issuer,
        audiences=settings.auth_audience,
        scope_prefix=settings.auth_scope_prefix,
        group_roles=settings.group_roles,
        token_use=settings.auth_token_use,
    )
