"""Token minting for the tests, with joserfc (not python-jose, the library under test)
and, for tokens no honest library would produce, by hand with `cryptography`."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ISSUER = "https://issuer.test.invalid/pool"
AUDIENCE = "orders-api-client"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


# Generated once per test run: RSA key generation is the slow part of these tests.
RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256", "use": "sig"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "alg": "ES256", "use": "sig"})
ROGUE = RSAKey.generate_key(2048, parameters={"kid": "rogue", "alg": "RS256"})


class Issuer:
    """An identity provider: a JWKS and tokens signed by its keys."""

    def __init__(self) -> None:
        self.rsa = RSA
        self.ec = EC
        # A key the issuer never published (an attacker's).
        self.rogue = ROGUE
        self.published: list[Any] = [self.rsa, self.ec]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self.published]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "scope": "orders:read orders:write",
            "token_use": "access",
            "iat": now,
            "exp": now + 600,
        }
        for name, value in overrides.items():
            if value is ...:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def token(self, key: Any = None, header: dict[str, Any] | None = None, **claims: Any) -> str:
        key = key or self.rsa
        protected = {"alg": key.as_dict()["alg"], "kid": key.kid, **(header or {})}
        return jwt.encode(protected, self.claims(**claims), key)

    def raw(self, header: dict[str, Any], payload: bytes | str, key: Any = None) -> str:
        """Sign exactly these bytes with RS256, bypassing every library check."""
        key = key or self.rsa
        payload_bytes = payload.encode() if isinstance(payload, str) else payload
        signing_input = f"{b64json(header)}.{b64(payload_bytes)}".encode()
        signature = key.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{b64(signature)}"
