"""The 401 a deployed client gets from API Gateway, in the OpenAPI document.

With the stack's ``GatewayAuthorizer`` on (``APP_GATEWAY_AUTHORIZER``), the HTTP API's
JWT authorizer refuses a missing or bad token before the function runs, with its own
body: ``401`` ``application/json`` ``{"message":"Unauthorized"}`` and a
``www-authenticate`` header saying why
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html).
A token the authorizer accepts can still fail the app's own checks (``token_use``: an ID
token has the client as its ``aud``), and that 401 is the app's problem+json. So every
documented 401 names both bodies; without the gateway (a local run) the document is
unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

GATEWAY_JSON = "application/json"
SCHEMA_NAME = "GatewayUnauthorized"
GATEWAY_UNAUTHORIZED_SCHEMA: dict[str, Any] = {
    "title": SCHEMA_NAME,
    "description": "API Gateway's JWT authorizer refused the token; WWW-Authenticate says why.",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string", "examples": ["Unauthorized"]}},
}
DESCRIPTION = (
    ". The gateway's JWT authorizer answers a missing or refused token itself, as application/json"
    ' {"message":"Unauthorized"}; a token it accepts that the app refuses gets the app\'s problem+json.'
)


def document(app: FastAPI) -> None:
    """Every 401 of the document also describes the gateway's body."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    response = operation.get("responses", {}).get("401")
                    if response is None or GATEWAY_JSON in response["content"]:
                        continue  # none, or the same dict as another operation's, done
                    response["content"][GATEWAY_JSON] = {
                        "schema": {"$ref": f"#/components/schemas/{SCHEMA_NAME}"}
                    }
                    response["description"] += DESCRIPTION
            document.setdefault("components", {}).setdefault("schemas", {})[SCHEMA_NAME] = (
                GATEWAY_UNAUTHORIZED_SCHEMA
            )
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
