"""The WebSocket API's $connect authorizer (template.yaml LiveAuthorizerFunction).

API Gateway sends a REQUEST authorizer event ("Control access to WebSocket APIs
with AWS Lambda REQUEST authorizers"): ``methodArn`` ends in ``/$connect``, the
token is in ``queryStringParameters.token`` (the route's identity source; a browser
cannot set headers on a WebSocket). The token is verified with the HTTP API's own
verifier (app.auth.verify), and:

- a good token that may listen (``orders:read`` or ``orders:admin``,
  app.live.audience.admit): an Allow policy on ``methodArn``, with the context the
  $connect integration reads: ``sub``, ``staff`` ("true"/"false") and ``expiresAt``
  (epoch seconds, the token's ``exp`` capped at connect + 2 h);
- a good token that may not: a Deny policy (API Gateway answers 403);
- no token, a bad or an expired one: ``Exception("Unauthorized")``, which API
  Gateway turns into 401 ("Lambda authorizer output": the error message must be
  exactly that).

The token is never logged: the event holds it, so nothing here logs the event;
refusals log the verifier's reason, which never quotes the token.
Imports no FastAPI: its cold start is the verifier's and the settings'.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any

from app.auth.factory import build_verifier
from app.auth.verify import InvalidToken, TokenVerifier
from app.http.logs import configure_logging
from app.live.audience import admit
from app.settings import get_settings

log = logging.getLogger("app.live.authorizer")
UNAUTHORIZED = "Unauthorized"  # API Gateway's 401: the exact message it looks for


@functools.cache
def verifier() -> TokenVerifier:
    """Once per container: the settings, the log format and the key cache."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return build_verifier(settings)


def _connected_at(context: Mapping[str, Any]) -> int:
    """Epoch seconds of the connect (requestContext.connectedAt is in milliseconds)."""
    millis = context.get("connectedAt")
    if isinstance(millis, int) and not isinstance(millis, bool) and millis > 0:
        return millis // 1000
    return int(time.time())


def _policy(principal_id: str, effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    tokens = verifier()
    request = event.get("requestContext")
    request = request if isinstance(request, Mapping) else {}
    query = event.get("queryStringParameters")
    token = query.get("token") if isinstance(query, Mapping) else None
    if not isinstance(token, str) or not token:
        log.warning("live connect refused: no token")
        raise Exception(UNAUTHORIZED)
    try:
        principal = tokens.verify(token)
    except InvalidToken as error:
        # The verifier's messages are safe to show and never quote the token.
        log.warning("live connect refused: %s", error)
        raise Exception(UNAUTHORIZED) from None
    method_arn = str(event.get("methodArn", ""))
    exp = int(principal.claims["exp"])
    listener = admit(
        str(request.get("connectionId", "")), principal.sub, principal.scopes, exp, now=_connected_at(request)
    )
    if listener is None:
        log.warning("live connect refused: the token may not read orders", extra={"sub": principal.sub})
        return _policy(principal.sub, "Deny", method_arn)
    log.info("live connect allowed", extra={"sub": principal.sub, "staff": listener.staff})
    return _policy(principal.sub, "Allow", method_arn) | {
        "context": {
            "sub": listener.sub,
            "staff": "true" if listener.staff else "false",
            "expiresAt": str(listener.expires_at),
        }
    }
