"""The HTTP API's JWT authorizer, as
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
describes its checks:

- the token comes from the identity source (``$request.header.Authorization``),
  with or without the ``Bearer`` prefix;
- its ``kid`` names a key of the issuer's JWKS (``{issuer}/.well-known/jwks.json``,
  as discovered from the issuer), which must be an RSA key (RS256/384/512);
- the signature is valid; ``iss`` is the configured issuer; ``aud``, or
  ``client_id`` when there is no ``aud``, is one of the configured audiences;
  ``exp`` is in the future, ``nbf`` and ``iat`` are not;
- the route's scopes, if it names any, are in ``scope`` (or ``scp``).

A failure is ``401 {"message":"Unauthorized"}`` with a ``www-authenticate`` header
as http-api-troubleshooting-jwt.html shows it, and the function is never invoked.
Its ``error_description`` is one of the fixed sentences below, never text from the
token (a header's ``alg`` or a claim could carry quotes, CR or LF into the header).
On success the claims and scopes go into ``requestContext.authorizer.jwt``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from jose import jwk, jwt
from jose.exceptions import JOSEError

RSA_ALGORITHMS = {"RS256", "RS384", "RS512"}
JWKS_CACHE_SECONDS = 300


# The error descriptions, fixed text (the audience one is AWS's own wording).
NOT_A_JWT = "the token is not a JWT"
UNSUPPORTED_ALGORITHM = "the token's algorithm is not supported"
KEYS_UNAVAILABLE = "the issuer's keys could not be fetched"
UNKNOWN_KEY = "the token's kid is not one of the issuer's RSA keys"
NOT_VALID = "the token is not valid"
WRONG_AUDIENCE = "the token does not have a valid audience"
MISSING_SCOPE = "the token does not have the required scope"


class Unauthorized(Exception):
    """Why the authorizer refused a token (``error_description``, one of the constants above)."""


@dataclass
class Authorized:
    claims: dict[str, str]
    scopes: list[str] | None


class JwtAuthorizer:
    def __init__(self, jwks_for: dict[str, str] | None = None) -> None:
        # issuer -> JWKS URL, where the issuer is the twin's own; others are discovered.
        self.jwks_for = jwks_for or {}
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}

    def _keys(self, issuer: str) -> dict[str, Any]:
        cached = self._jwks.get(issuer)
        if cached and time.monotonic() - cached[0] < JWKS_CACHE_SECONDS:
            return cached[1]
        url = self.jwks_for.get(issuer) or issuer.rstrip("/") + "/.well-known/jwks.json"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the configured issuer
            document: dict[str, Any] = json.loads(response.read())
        self._jwks[issuer] = (time.monotonic(), document)
        return document

    def check(self, authorization: str | None, config: dict[str, Any]) -> Authorized:
        if not authorization:
            raise Unauthorized("")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as error:
            raise Unauthorized(NOT_A_JWT) from error
        kid, algorithm = header.get("kid"), header.get("alg")
        if algorithm not in RSA_ALGORITHMS:
            raise Unauthorized(UNSUPPORTED_ALGORITHM)
        try:
            keys = self._keys(config["issuer"])
        except OSError as error:
            raise Unauthorized(KEYS_UNAVAILABLE) from error
        key = next((k for k in keys.get("keys", []) if k.get("kid") == kid), None)
        if key is None or key.get("kty") != "RSA":
            raise Unauthorized(UNKNOWN_KEY)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwk.construct(key, algorithm),
                algorithms=[algorithm],
                issuer=config["issuer"],
                options={"verify_aud": False, "require_exp": True, "leeway": 0},
            )
        except JOSEError as error:
            raise Unauthorized(NOT_VALID) from error
        audiences = set(config["audience"])
        aud = claims.get("aud")
        if aud is not None:
            if not audiences & ({aud} if isinstance(aud, str) else set(aud)):
                raise Unauthorized(WRONG_AUDIENCE)
        elif claims.get("client_id") not in audiences:
            raise Unauthorized(WRONG_AUDIENCE)
        granted = str(claims.get("scope", "")).split() + list(claims.get("scp") or [])
        required = config.get("scopes") or []
        if required and not set(required) & set(granted):
            raise Unauthorized(MISSING_SCOPE)
        return Authorized(
            claims={
                name: value if isinstance(value, str) else json.dumps(value) for name, value in claims.items()
            },
            scopes=required or None,
        )


def www_authenticate(reason: str, config: dict[str, Any]) -> str:
    scope = " ".join(config.get("scopes") or [])
    if not reason:
        return "Bearer"
    return f'Bearer scope="{scope}" error="invalid_token" error_description="{reason}"'
