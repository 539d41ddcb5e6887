"""The OpenAPI document's 401s with and without the gateway's JWT authorizer in front
(APP_GATEWAY_AUTHORIZER): the deployed stack's clients get the gateway's JSON body, a
local run's only the app's problem+json (tests/twin/test_openapi_401.py checks the real
answers through the twin)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from app.main import create_app
from app.settings import Settings


def unauthorized_responses(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation["responses"]["401"]
        for item in document["paths"].values()
        for operation in item.values()
        if "401" in operation.get("responses", {})
    ]


def test_a_local_document_names_only_the_apps_problem() -> None:
    document = create_app(Settings()).openapi()
    responses = unauthorized_responses(document)
    assert len(responses) == 8
    assert all(list(response["content"]) == ["application/problem+json"] for response in responses)
    assert "GatewayUnauthorized" not in document["components"]["schemas"]


def test_behind_the_gateway_every_401_names_both_bodies() -> None:
    document = create_app(Settings(gateway_authorizer=True)).openapi()
    responses = unauthorized_responses(document)
    assert len(responses) == 8
    for response in responses:
        assert set(response["content"]) == {"application/problem+json", "application/json"}
        assert response["description"].count("gateway's JWT authorizer") == 1
    schema = {**responses[0]["content"]["application/json"]["schema"], "components": document["components"]}
    jsonschema.validate({"message": "Unauthorized"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": "Unauthorized"}, schema)
