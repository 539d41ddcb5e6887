"""The development sign-in's protocol, framework-free.

What it implements, and nothing more: OpenID Connect discovery, the JWKS, the
authorization endpoint (RFC 6749 4.1: a form, then a redirect with a one-time
code), PKCE with S256 only (RFC 7636: ``plain`` is refused, as a public client
should never use it) and the token endpoint's code exchange (RFC 6749 4.1.3),
with the code bound to its client, redirect URI and challenge, single use, for
60 seconds, and the revocation endpoint (RFC 7009) the web app's sign-out calls. A
redirect URI must equal one of the registered ones, string for
string (RFC 9700 4.1.3: exact matching; the mounter registers each allowed web
origin's ``/callback``), so no page elsewhere, and no header line smuggled in
the URI, can ever receive a code.

Access tokens carry what Cognito's would for the chosen role: the web client's
customer scopes, and for staff and chefs their user-pool group in ``cognito:groups``
(the API maps groups to roles, ``APP_AUTH_GROUP_ROLES``). Their audience is shaped by
whoever mounts this: ``aud`` for the local API (as ``app.devtoken`` mints), or,
with ``audience=None``, Cognito's shape (``client_id`` and no ``aud``), which is
what the cloud twin's function expects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from jose import jwt

from app.devsignin.page import ROLES, STYLESHEET, error_page, sign_in_page
from app.devtoken import ensure_key

# Everyone signs in through the web client, whose scopes are the customer's
# (template.yaml, WebClient); a role is a group, as in the stack's user pool.
ROLE_SCOPES: dict[str, tuple[str, ...]] = dict.fromkeys(ROLES, ("orders:read", "orders:write"))
ROLE_GROUPS: dict[str, tuple[str, ...]] = {"customer": (), "staff": ("staff",), "chef": ("chef",)}
assert set(ROLE_GROUPS) == set(ROLES)

CODE_TTL = 60
MAX_PENDING_CODES = 1000
_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# RFC 7636 4.1/4.2: 43-128 characters of the unreserved set.
_PKCE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
# The web app's callback (web/src/features/auth/session.ts), as Cognito's web client
# registers it on the site's origin (template.yaml, WebClient's CallbackURLs).
CALLBACK_PATH = "/callback"
# A registered URI: http(s), printable ASCII without spaces, no fragment (RFC 6749 3.1.2).
_REGISTRABLE = re.compile(r"https?://[!-\"$-~]+")


def callback_uris(origins: Sequence[str]) -> list[str]:
    """The registered redirect URIs: each web origin's callback, exactly."""
    return [origin.rstrip("/") + CALLBACK_PATH for origin in origins]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    sub: str
    scopes: tuple[str, ...]
    groups: tuple[str, ...]
    nonce: str | None
    expires: float


def _json(status: int, body: object, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(body).encode())


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return _json(status, {"error": error, "error_description": description}, _NO_STORE)


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return {}
    # A parameter sent twice is an error in OAuth (RFC 6749 3.1); keep it unusable.
    return {name: values[0] for name, values in fields.items() if len(values) == 1}


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DevSignIn:
    def __init__(
        self,
        *,
        issuer: str,
        jwks_file: Path,
        client_id: str,
        audience: str | None,
        scope_prefix: str = "",
        redirect_uris: Sequence[str],
        token_ttl: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.base_path = urlsplit(self.issuer).path.rstrip("/")
        self.jwks_file = jwks_file
        self.client_id = client_id
        self.audience = audience
        self.scope_prefix = scope_prefix
        self.redirect_uris = frozenset(redirect_uris)
        if unfit := [uri for uri in self.redirect_uris if not _REGISTRABLE.fullmatch(uri)]:
            raise ValueError(f"not a redirect URI to register: {unfit!r}")
        origins = {"{0.scheme}://{0.netloc}".format(urlsplit(uri)) for uri in self.redirect_uris}
        self.token_ttl = token_ttl
        self.clock = clock
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self.page_csp = (
            "default-src 'none'; style-src 'self'; "
            f"form-action 'self' {' '.join(sorted(origins))}; "
            "frame-ancestors 'none'; base-uri 'none'"
        )

    # -- routing --------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: bytes) -> Reply | None:
        """The answer for a request under the issuer's path, or None if it is not one of ours."""
        if not path.startswith(self.base_path + "/"):
            return None
        route = (method, path[len(self.base_path) :])
        if route == ("GET", "/.well-known/openid-configuration"):
            return _json(200, self.discovery(), [("Cache-Control", "max-age=300")])
        if route == ("GET", "/.well-known/jwks.json"):
            self._key()
            return Reply(200, [("Content-Type", "application/json")], self.jwks_file.read_bytes())
        if route == ("GET", "/signin.css"):
            return Reply(200, [("Content-Type", "text/css; charset=utf-8")], STYLESHEET)
        if route == ("GET", "/authorize"):
            return self.authorize(_form(query.encode()), submitted=False)
        if route == ("POST", "/authorize"):
            return self.authorize(_form(body), submitted=True)
        if route == ("POST", "/token"):
            return self.token(_form(body))
        if route == ("POST", "/revoke"):
            return self.revoke(_form(body))
        return None

    def discovery(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "revocation_endpoint": f"{self.issuer}/revoke",
            "revocation_endpoint_auth_methods_supported": ["none"],
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", *ROLE_SCOPES["customer"]],
        }

    # -- authorization endpoint -----------------------------------------------------

    def _page(self, status: int, body: bytes) -> Reply:
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", self.page_csp),
            *_NO_STORE,
        ]
        return Reply(status, headers, body)

    def authorize(self, params: dict[str, str], *, submitted: bool) -> Reply:
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        # RFC 6749 4.1.2.1: with an unknown client or redirect URI, tell the person,
        # never redirect.
        if client_id != self.client_id:
            return self._page(400, error_page("Unknown client_id."))
        # RFC 9700 4.1.3: exact string matching, nothing else, and no redirect to the
        # rest (a control character would otherwise reach the Location header raw).
        if redirect_uri not in self.redirect_uris:
            return self._page(400, error_page("This redirect_uri is not registered for this client."))
        state = params.get("state")

        def back(query: dict[str, str]) -> Reply:
            if state is not None:
                query["state"] = state
            separator = "&" if urlsplit(redirect_uri).query else "?"
            return Reply(303, [("Location", redirect_uri + separator + urlencode(query)), *_NO_STORE], b"")

        if params.get("response_type") != "code":
            return back({"error": "unsupported_response_type"})
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not _PKCE.fullmatch(challenge):
            return back({"error": "invalid_request", "error_description": "PKCE with S256 is required"})
        hidden: dict[str, str] = {
            name: params[name]
            for name in (
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
            )
            if name in params
        }
        action, stylesheet = f"{self.issuer}/authorize", f"{self.issuer}/signin.css"
        if not submitted:
            return self._page(200, sign_in_page(action, stylesheet, hidden))
        username, role = params.get("username", ""), params.get("role", "")
        if not _USERNAME.fullmatch(username) or role not in ROLE_SCOPES:
            message = "A user name is 1-64 letters, digits, '.', '_' or '-', and a role must be chosen."
            return self._page(400, sign_in_page(action, stylesheet, hidden, message))
        scopes = ROLE_SCOPES[role]
        if "openid" in params.get("scope", "").split():
            scopes = ("openid", *scopes)
        code = secrets.token_urlsafe(32)
        grant = _Grant(
            client_id,
            redirect_uri,
            challenge,
            username,
            scopes,
            ROLE_GROUPS[role],
            params.get("nonce"),
            self.clock() + CODE_TTL,
        )
        with self._lock:
            now = self.clock()
            for stale in [c for c, g in self._grants.items() if g.expires <= now]:
                del self._grants[stale]
            if len(self._grants) >= MAX_PENDING_CODES:
                return back({"error": "temporarily_unavailable"})
            self._grants[code] = grant
        return back({"code": code})

    # -- token endpoint ---------------------------------------------------------------

    def token(self, params: dict[str, str]) -> Reply:
        if params.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "only authorization_code is supported")
        with self._lock:
            grant = self._grants.pop(params.get("code", ""), None)  # single use, even when it fails
        if grant is None or grant.expires <= self.clock():
            return _oauth_error("invalid_grant", "the code is unknown, used or expired")
        if params.get("client_id") != grant.client_id:
            return _oauth_error("invalid_grant", "the code was issued to another client")
        if params.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = params.get("code_verifier", "")
        if not _PKCE.fullmatch(verifier) or not secrets.compare_digest(s256(verifier), grant.challenge):
            return _oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        pem, kid = self._key()
        now = int(self.clock())
        scope = " ".join(s if s == "openid" else self.scope_prefix + s for s in grant.scopes)
        access: dict[str, object] = {
            "iss": self.issuer,
            "sub": grant.sub,
            "client_id": grant.client_id,
            "scope": scope,
            "token_use": "access",
            "username": grant.sub,
            "iat": now,
            "exp": now + self.token_ttl,
            "jti": secrets.token_urlsafe(12),
        }
        if self.audience is not None:
            access["aud"] = self.audience
        identity: dict[str, object] = {
            "iss": self.issuer,
            "sub": grant.sub,
            "aud": grant.client_id,
            "token_use": "id",
            "preferred_username": grant.sub,
            "iat": now,
            "exp": now + self.token_ttl,
        }
        if grant.nonce:
            identity["nonce"] = grant.nonce
        if grant.groups:
            # Cognito omits the claim for a user in no group, and puts it in both tokens.
            access["cognito:groups"] = identity["cognito:groups"] = list(grant.groups)
        headers = {"kid": kid}
        body = {
            "access_token": jwt.encode(access, pem, algorithm="RS256", headers=headers),
            "id_token": jwt.encode(identity, pem, algorithm="RS256", headers=headers),
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "scope": scope,
        }
        # As Cognito issues one; here it is good for nothing (the token endpoint grants
        # authorization_code only), so revoking it has nothing to invalidate.
        body["refresh_token"] = secrets.token_urlsafe(32)
        return _json(200, body, _NO_STORE)

    def revoke(self, params: dict[str, str]) -> Reply:
        """RFC 7009 2.1, as Cognito's /oauth2/revoke takes it from a public client: the
        token and the client id; 200 for any token (2.2), even one unknown or revoked."""
        if not params.get("token"):
            return _oauth_error("invalid_request", "token is required")
        if params.get("client_id") != self.client_id:
            return _oauth_error("invalid_client", "the token was not issued to this client", 401)
        return Reply(200, list(_NO_STORE), b"")

    def _key(self) -> tuple[str, str]:
        # The key is made on first use, as app.devtoken makes it: the local API
        # reads the JWKS file when it first sees a token, which comes after this.
        pem, kid = ensure_key(self.jwks_file)
        return pem.decode(), kid
