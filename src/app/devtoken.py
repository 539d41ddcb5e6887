"""Mint a local development token: ``python -m app.devtoken --sub alice --scope "orders:read"``.

``--group staff`` (or ``chef``) puts the group in ``cognito:groups``, as Cognito does for
a person in the stack's user pool; the API grants the group's role (APP_AUTH_GROUP_ROLES).

On first use this creates an RSA key next to the local JWKS file (by default
``.local/dev-signing-key.pem``, readable only by you) and writes its public half
to ``.local/jwks.json``, which the local server trusts with its default settings.
It refuses to run for any stage but ``local``: the cloud stack never trusts this key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from app.settings import ConfigurationError, get_settings

KEY_FILE = "dev-signing-key.pem"


# A member of the key set (RFC 7517 5: members a reader does not understand are
# ignored) saying the file is this project's to rewrite when the key changes.
MARKER = "x-serverless-api-dev-key"


class ForeignKeySet(RuntimeError):
    """The JWKS file holds keys this project did not make: it is never overwritten."""


def _read(jwks_path: Path) -> dict[str, Any] | None:
    if not jwks_path.exists():
        return None
    try:
        document = json.loads(jwks_path.read_text())
    except (ValueError, UnicodeDecodeError):
        document = None
    return document if isinstance(document, dict) else {}


def _public_entry(pem: bytes) -> dict[str, Any]:
    public = jwk.construct(pem, "RS256").public_key().to_dict()
    # RFC 7638 thumbprint: SHA-256 over the required members in lexical order.
    canonical = json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]}, separators=(",", ":"))
    kid = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def _names(document: dict[str, Any], kid: str) -> bool:
    keys = document.get("keys")
    return isinstance(keys, list) and any(isinstance(k, dict) and k.get("kid") == kid for k in keys)


def check_key_set(jwks_path: Path) -> None:
    """Refuse (ForeignKeySet) a JWKS file that ``ensure_key`` would have to overwrite but did
    not make: one with keys, without the marker, that does not already name the key beside
    it (a file from before the marker that does is only read). Cheap: it never makes a key."""
    document = _read(jwks_path)
    if document is None or document.get(MARKER) is True or document == {"keys": []}:
        return  # absent, the project's, or an empty key set: nothing of anyone's is lost
    key_path = jwks_path.parent / KEY_FILE
    if key_path.exists() and _names(document, _public_entry(key_path.read_bytes())["kid"]):
        return
    raise ForeignKeySet(
        f"{jwks_path} holds keys the development sign-in did not make; it will not overwrite them"
        " (point APP_AUTH_JWKS_FILE at a file of its own, or remove this one if it was a copy)"
    )


def ensure_key(jwks_path: Path) -> tuple[bytes, str]:
    """The private key PEM and its kid, creating both files if needed; a JWKS file the
    project did not make is never written (ForeignKeySet)."""
    check_key_set(jwks_path)
    key_path = jwks_path.parent / KEY_FILE
    jwks_path.parent.mkdir(parents=True, exist_ok=True)
    if not key_path.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    pem = key_path.read_bytes()
    entry = _public_entry(pem)
    if not _names(_read(jwks_path) or {}, entry["kid"]):
        jwks_path.write_text(json.dumps({MARKER: True, "keys": [entry]}, indent=2) + "\n")
    return pem, entry["kid"]


def mint(sub: str, scope: str, ttl: int, audience: str | None = None, groups: Sequence[str] = ()) -> str:
    settings = get_settings()
    if not settings.is_local:
        raise SystemExit("devtoken: only for APP_STAGE=local; the cloud stack never trusts this key")
    jwks_file = settings.jwks_file
    if jwks_file is None:
        raise SystemExit(
            "devtoken: the local key file applies only to the local dev issuer, without"
            " APP_AUTH_JWKS_URL and outside Lambda; unset APP_AUTH_ISSUER and APP_AUTH_JWKS_URL"
        )
    pem, kid = ensure_key(Path(jwks_file))
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": audience or settings.auth_audience[0],
        "sub": sub,
        "scope": " ".join(settings.auth_scope_prefix + s for s in scope.split()),
        "token_use": "access",
        "iat": now,
        "exp": now + ttl,
    }
    if groups:
        claims["cognito:groups"] = list(groups)
    return str(jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": kid}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.devtoken", description=__doc__.splitlines()[0])
    parser.add_argument("--sub", default="alice", help="the caller's subject (default: alice)")
    parser.add_argument(
        "--scope",
        default="orders:read orders:write",
        help='space-separated scopes, e.g. "orders:read orders:write menu:write orders:admin"',
    )
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default: 3600)")
    parser.add_argument("--aud", default=None, help="audience (default: the first APP_AUTH_AUDIENCE)")
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        help="a user-pool group for cognito:groups, e.g. staff or chef (repeatable)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.ttl <= 7 * 24 * 3600:
        parser.error("--ttl must be between 1 second and 7 days")
    try:
        print(mint(args.sub, args.scope, args.ttl, args.aud, args.group))
    except (ConfigurationError, ForeignKeySet) as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
