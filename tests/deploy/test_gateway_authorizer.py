"""The gateway's own wall (GatewayAuthorizer): the HTTP API's JWT authorizer on every
route but the app's public ones, and a drift check that keeps the two lists equal."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.main import create_app
from app.settings import Settings
from tests.deploy.stack import OPENAPI_METHODS, SAM, TEMPLATE, Stack, load_template, run

EXTERNAL = {"AuthIssuer": "https://login.example.com", "AuthAudience": "aud-1,aud-2", "AuthScopePrefix": ""}


def app_public_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves without a token: its @public
    endpoints and the docs, each for GET and HEAD (app.http.head answers HEAD)."""
    from fastapi.routing import iter_route_contexts

    from app.http.routes import route_rules

    # As deployed: the development sign-in is mounted only in the local stage, never on
    # Lambda (Settings.serves_dev_signin), so it is no route of the cloud's.
    app = create_app(Settings(docs_enabled=True, dev_signin=False))
    routes = list(iter_route_contexts(app.routes))
    rules = route_rules(app)
    assert len(rules) == len([r for r in routes if isinstance(getattr(r, "path", None), str)])
    public: set[tuple[str, str]] = set()
    for route, (_, methods, is_public) in zip(
        [r for r in routes if isinstance(getattr(r, "path", None), str)], rules, strict=True
    ):
        if not is_public:
            continue
        assert methods, f"public route {route.path} serves every method; the gateway cannot say that"
        for method in methods | ({"HEAD"} if "GET" in methods else set()):
            public.add((method, route.path))
    return public


def gateway_routes(transformed: dict[str, Any], parameters: dict[str, str]) -> dict[tuple[str, str], bool]:
    """(method, path) of every route of the transformed API -> whether it has an authorizer."""
    stack = Stack(transformed, parameters)
    body = stack.resolve(transformed["Resources"]["HttpApi"]["Properties"]["Body"])
    found = {}
    for path, item in body["paths"].items():
        for key, operation in item.items():
            method = "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()
            assert method == "ANY" or key in OPENAPI_METHODS, key
            found[(method, path)] = bool(operation.get("security"))
    return found


def test_the_gateway_leaves_out_exactly_the_apps_public_routes(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    routes = gateway_routes(sam_transform({}), {})
    unauthenticated = {route for route, guarded in routes.items() if not guarded and route[0] != "OPTIONS"}
    public = app_public_routes()
    for method, path in sorted(public - unauthenticated):
        raise AssertionError(
            f"{method} {path} is @public in the app, but the gateway's authorizer guards it: add it to "
            "HttpApi's DefinitionBody in template.yaml (a route made public needs both)"
        )
    for method, path in sorted(unauthenticated - public):
        raise AssertionError(
            f"{method} {path} has no authorizer at the gateway, but the app protects it: remove it from "
            "HttpApi's DefinitionBody (a protected route needs no template change)"
        )
    assert public == unauthenticated


def test_every_other_route_has_the_authorizer_and_options_never(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    routes = gateway_routes(sam_transform({}), {})
    assert routes[("ANY", "/")] is True
    assert routes[("ANY", "/{proxy+}")] is True
    # Preflights carry no token: OPTIONS goes to the app's CORS layer on every path.
    assert routes[("OPTIONS", "/")] is False
    assert routes[("OPTIONS", "/{proxy+}")] is False
    guarded = {route for route, has in routes.items() if has}
    assert guarded == {("ANY", "/"), ("ANY", "/{proxy+}")}


def test_guarded_routes_require_no_scope_so_roles_by_group_pass(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    """A cook's token from the web client has customer scopes and `cognito:groups`; a route
    scope (the token "must include at least one of the route's scopes", API Gateway's
    http-api-jwt-authorizer page) would refuse it with 403 before the app maps the group.
    The gateway checks signature, issuer, audience and expiry; the app checks scopes."""
    transformed = sam_transform({})
    body = Stack(transformed, {}).resolve(transformed["Resources"]["HttpApi"]["Properties"]["Body"])
    requirements = [
        operation["security"]
        for item in body["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and operation.get("security")
    ]
    assert requirements
    assert all(requirement == [{"JwtAuthorizer": []}] for requirement in requirements), requirements


def authorizer_of(transformed: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any] | None:
    stack = Stack(transformed, parameters)
    body = stack.resolve(transformed["Resources"]["HttpApi"]["Properties"]["Body"])
    schemes = body.get("components", {}).get("securitySchemes", {})
    if not schemes:
        return None
    assert list(schemes) == ["JwtAuthorizer"]
    return dict(schemes["JwtAuthorizer"]["x-amazon-apigateway-authorizer"])


def test_the_authorizer_trusts_exactly_what_the_app_trusts(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    for parameters in ({}, EXTERNAL):
        transformed = sam_transform(parameters)
        authorizer = authorizer_of(transformed, parameters)
        assert authorizer is not None
        assert authorizer["type"] == "jwt"
        assert authorizer["identitySource"] == "$request.header.Authorization"
        environment = Stack(load_template(), parameters).function_environment()
        config = authorizer["jwtConfiguration"]
        assert config["issuer"] == environment["APP_AUTH_ISSUER"], parameters
        assert config["audience"] == environment["APP_AUTH_AUDIENCE"].split(","), parameters


def test_with_the_wall_off_no_route_has_an_authorizer(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    parameters = {"GatewayAuthorizer": "false"}
    transformed = sam_transform(parameters)
    assert authorizer_of(transformed, parameters) is None
    routes = gateway_routes(transformed, parameters)
    assert not any(routes.values())
    assert {("ANY", "/"), ("ANY", "/{proxy+}")} <= set(routes)


def test_the_wall_is_on_by_default_and_in_both_environments() -> None:
    template = load_template()
    assert template["Parameters"]["GatewayAuthorizer"]["Default"] == "true"
    text = Path(TEMPLATE.parent / "samconfig.toml").read_text()
    assert text.count('"GatewayAuthorizer=true"') == 2


def test_sam_validate_lint_with_the_wall_off(tmp_path: Path) -> None:
    text, count = re.subn(
        r'(\n  GatewayAuthorizer:\n    Type: String\n    Default: )"true"\n',
        r'\g<1>"false"\n',
        TEMPLATE.read_text(),
    )
    assert count == 1
    flipped = tmp_path / "template.yaml"
    flipped.write_text(text)
    assert load_template(flipped)["Parameters"]["GatewayAuthorizer"]["Default"] == "false"
    run([str(SAM), "validate", "--lint", "--template", str(flipped)])
