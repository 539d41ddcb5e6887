"""Bearer token verification, at least as strict as AWS's own JWT verifiers.

python-jose checks the signature, but with a key *we* chose by ``kid`` and an
algorithm *we* allow: left to itself, python-jose tries every key in a set and
ignores ``kid``. Every claim is then checked here, types included, so a string
``exp`` or an ``Infinity`` is a refusal and never a crash.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from app.auth.keys import ALLOWED_ALGORITHMS, EC_ALGORITHMS, FetchPending, JwksCache, KeyNotFound
from app.auth.principal import Principal

if TYPE_CHECKING:
    from jose.backends.base import Key

MAX_TOKEN_BYTES = 8 * 1024
LEEWAY_SECONDS = 30
MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z
# Cognito lists the user's groups here in access and ID tokens alike (Cognito API
# reference, AdminAddUserToGroup: a user in a group "populates a cognito:groups claim
# to their access and identity tokens"); the web client's tokens carry customer scopes only.
GROUPS_CLAIM = "cognito:groups"


class InvalidToken(Exception):
    """The token is not acceptable; the message is safe to show the client."""


def _no_constants(name: str) -> Any:
    raise InvalidToken("token JSON contains a non-finite number")


def _load_json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except InvalidToken:
        raise
    except Exception:
        raise InvalidToken(f"token {what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken(f"token {what} is not a JSON object")
    return value


def _int_claim(claims: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required or name in claims:
            raise InvalidToken(f"token has no valid {name}")
        return None
    # bool is an int in Python; a float must be finite (RFC 7519 NumericDate).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"token {name} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidToken(f"token {name} is not a number")
    # JSON integers have no size limit: 401 digits would overflow math.isfinite
    # and every float conversion. No real date lies past the year 9999.
    if not -MAX_NUMERIC_DATE <= value <= MAX_NUMERIC_DATE:
        raise InvalidToken(f"token {name} is out of range")
    return int(value)


def _str_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidToken(f"token {name} is not a string")
    return value


class TokenVerifier:
    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audiences: Iterable[str],
        scope_prefix: str = "",
        group_roles: Mapping[str, frozenset[str]] | None = None,
        token_use: Literal["access", "id", "any"] = "access",  # noqa: S107 - a claim value
        leeway: int = LEEWAY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self.scope_prefix = scope_prefix
        self.group_roles = dict(group_roles or {})
        self.token_use = token_use
        self.leeway = leeway
        self.clock = clock

    def header(self, token: str) -> dict[str, Any]:
        """Structural checks and the protected header, before any key is looked up."""
        if len(token) > MAX_TOKEN_BYTES:
            raise InvalidToken("token too large")
        if token.count(".") != 2:
            # JWE (five parts), unsecured or truncated tokens: all refused.
            raise InvalidToken("token is not a signed JWT")
        from jose import jws  # imported at the first token (see keys.py)

        try:
            header = jws.get_unverified_header(token)
        except Exception:
            raise InvalidToken("token header is malformed") from None
        if not isinstance(header, dict):
            raise InvalidToken("token header is malformed")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken("token algorithm is not allowed")
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise InvalidToken("token has no kid")
        if "crit" in header:
            # No JWS extension is understood here, so any critical one is refused (RFC 7515 4.1.11).
            raise InvalidToken("token has unsupported critical header parameters")
        # jku, x5u and an embedded jwk are ignored: keys only ever come from our JWKS.
        return header

    def verify(self, token: str, header: dict[str, Any] | None = None, *, wait: bool = True) -> Principal:
        """The token's principal, or :class:`InvalidToken`.

        Without ``wait`` it never blocks on the JWKS and raises
        :class:`~app.auth.keys.FetchPending` when only waiting for a fetch
        could find the key (call it again with ``wait`` from a worker thread).
        """
        header = header if header is not None else self.header(token)
        alg: str = header["alg"]
        try:
            key, entry = self.keys.key(header["kid"], alg, wait=wait)
        except KeyNotFound:
            raise InvalidToken("token signed by an unknown key") from None
        except FetchPending:
            raise
        except Exception:
            # python-jose's JWKError and friends: the JWK does not fit this alg.
            raise InvalidToken("token key does not match its algorithm") from None
        self._check_key_fits(entry, alg)
        payload = self._verify_signature(token, key, alg)
        return self._principal(_load_json_object(payload, "payload"))

    @staticmethod
    def _check_key_fits(entry: dict[str, Any], alg: str) -> None:
        if "alg" in entry and entry["alg"] != alg:
            raise InvalidToken("token algorithm does not match its key")
        expected_kty = "EC" if alg in EC_ALGORITHMS else "RSA"
        if entry.get("kty") != expected_kty or (
            expected_kty == "EC" and entry.get("crv") != EC_ALGORITHMS[alg]
        ):
            raise InvalidToken("token algorithm does not match its key")

    @staticmethod
    def _verify_signature(token: str, key: Key, alg: str) -> bytes:
        from jose import jws

        try:
            payload = jws.verify(token, key, algorithms=[alg])
        except Exception:
            # JWSError, JWKError, TypeError, OverflowError, binascii errors...
            raise InvalidToken("token signature is invalid") from None
        if not isinstance(payload, bytes):
            raise InvalidToken("token payload is malformed")
        return payload

    def _principal(self, claims: dict[str, Any]) -> Principal:
        now = self.clock()
        exp = _int_claim(claims, "exp", required=True)
        assert exp is not None
        if exp <= now - self.leeway:
            raise InvalidToken("token has expired")
        nbf = _int_claim(claims, "nbf", required=False)
        if nbf is not None and nbf > now + self.leeway:
            raise InvalidToken("token is not yet valid")
        iat = _int_claim(claims, "iat", required=False)
        if iat is not None and iat > now + self.leeway:
            raise InvalidToken("token was issued in the future")

        if _str_claim(claims, "iss") != self.issuer:
            raise InvalidToken("token issuer is not accepted")
        self._check_audience(claims)

        token_use = _str_claim(claims, "token_use")
        expected = self.token_use
        if token_use is not None and expected not in ("any", token_use):
            raise InvalidToken(f"token_use must be {self.token_use}")

        sub = _str_claim(claims, "sub")
        if not sub:
            raise InvalidToken("token has no sub")
        # Only here, after the issuer and audience checks: a group grants only in a
        # token from the issuer this API trusts.
        scopes = self._scopes(claims) | self._group_scopes(claims)
        return Principal(sub=sub, scopes=scopes, claims=claims)

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if "aud" in claims:
            aud = claims["aud"]
            values = [aud] if isinstance(aud, str) else aud
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise InvalidToken("token aud is malformed")
        else:
            # Cognito access tokens carry the app client in client_id, not aud.
            client_id = _str_claim(claims, "client_id")
            values = [client_id] if client_id else []
        if not self.audiences.intersection(values):
            raise InvalidToken("token audience is not accepted")

    def _scopes(self, claims: dict[str, Any]) -> frozenset[str]:
        raw: list[str] = []
        scope = _str_claim(claims, "scope")
        if scope:
            raw.extend(scope.split())
        scp = claims.get("scp")
        if scp is not None:
            if not isinstance(scp, list) or not all(isinstance(s, str) for s in scp):
                raise InvalidToken("token scp is malformed")
            raw.extend(scp)
        prefix = self.scope_prefix
        if not prefix:
            return frozenset(raw)
        return frozenset(s[len(prefix) :] for s in raw if s.startswith(prefix))

    def _group_scopes(self, claims: dict[str, Any]) -> frozenset[str]:
        groups = claims.get(GROUPS_CLAIM)
        if groups is None:
            return frozenset()
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidToken(f"token {GROUPS_CLAIM} is malformed")
        return frozenset().union(*(self.group_roles.get(group, frozenset()) for group in groups))
