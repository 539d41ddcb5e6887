"""The OpenAPI document the deployed stack serves describes the 401s its clients really
get: with GatewayAuthorizer on, the gateway's own ``application/json``
``{"message":"Unauthorized"}`` for a missing or refused token, and the app's
problem+json for a token the gateway accepts but the app refuses (an ID token). Checked
through the twin with the dev and prod environments' parameters: each real 401 body is
valid against the schema the document gives for its content type."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from jose import jwt

from app.devtoken import ensure_key
from tests.twin.conftest import Twin, built_artifact, get, run_twin

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    artifact = str(built_artifact())
    with run_twin(tmp_path_factory.mktemp("prod"), "--config-env", "prod", "--artifact", artifact) as twin:
        yield twin


@pytest.fixture(params=["dev", "prod"])
def twin(request: pytest.FixtureRequest) -> Twin:
    return request.getfixturevalue("cloud" if request.param == "dev" else "prod")  # type: ignore[no-any-return]


def documented_401s(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation["responses"]["401"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "401" in operation.get("responses", {})
    ]


def assert_documented(
    document: dict[str, Any], response_doc: dict[str, Any], response: httpx.Response
) -> None:
    """The response's body is valid against the schema documented for its content type."""
    assert response.status_code == 401
    kind = response.headers["content-type"].split(";")[0]
    assert kind in response_doc["content"], (kind, list(response_doc["content"]))
    schema = {**response_doc["content"][kind]["schema"], "components": document["components"]}
    jsonschema.validate(response.json(), schema)
    for name, header in response_doc.get("headers", {}).items():
        if header.get("required"):
            assert name.lower() in response.headers, name


def id_token(twin: Twin) -> str:
    """An ID token of the twin's issuer: aud is the client, so the gateway accepts it; the
    app wants access tokens only (APP_AUTH_TOKEN_USE) and refuses it with its own 401."""
    access = jwt.get_unverified_claims(twin.token("alice", "orders:read"))
    pem, kid = ensure_key(twin.state_dir / "jwks.json")
    claims = {"iss": access["iss"], "aud": access["client_id"], "sub": "alice", "token_use": "id"}
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 600}
    return str(jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": kid}))


def test_every_401_a_client_gets_is_the_one_the_document_describes(twin: Twin) -> None:
    twin.settle()
    document = get(f"{twin.url}/openapi.json").json()
    operations = documented_401s(document)
    assert len(operations) >= 8
    seen = set()
    for method, path, response_doc in operations:
        url = twin.url + re.sub(r"\{[^}]+\}", "margherita", path)
        body = {"json": {}} if method in ("PUT", "PATCH", "POST") else {}
        no_token = httpx.request(method, url, timeout=30, **body)  # type: ignore[arg-type]
        assert no_token.json() == {"message": "Unauthorized"}  # the gateway's, as deployed
        assert_documented(document, response_doc, no_token)
        seen.add(no_token.headers["content-type"])
    method, path, response_doc = next(op for op in operations if op[:2] == ("GET", "/orders"))
    refused = get(f"{twin.url}/orders", headers={"Authorization": f"Bearer {id_token(twin)}"})
    assert refused.headers["content-type"] == "application/problem+json"  # the app's own
    assert_documented(document, response_doc, refused)
    assert seen == {"application/json"}
    twin.settle()
