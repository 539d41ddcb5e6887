"""The gateway's own wall (GatewayAuthorizer): the HTTP API's JWT authorizer on every
route but the app's public ones, and a drift check that keeps the two lists equal."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.http.routes import public
from app.main import create_app
from app.settings import Settings
from tests.deploy.stack import OPENAPI_METHODS, SAM, TEMPLATE, Stack, load_template, run

EXTERNAL = {"AuthIssuer": "https://login.example.com", "AuthAudience": "aud-1,aud-2", "AuthScopePrefix": ""}


def app_routes(app: Any = None) -> dict[tuple[str, str], bool]:
    """(method, path) of every route of the app as deployed -> whether it is public (its
    @public endpoints and the docs). A GET route answers HEAD too (app.http.head)."""
    from fastapi.routing import iter_route_contexts

    from app.http.routes import route_rules

    # As deployed: the development sign-in is mounted only in the local stage, never on
    # Lambda (Settings.serves_dev_signin), so it is no route of the cloud's.
    app = app or create_app(Settings(docs_enabled=True, dev_signin=False))
    routes = [r for r in iter_route_contexts(app.routes) if isinstance(getattr(r, "path", None), str)]
    rules = route_rules(app)
    assert len(rules) == len(routes)
    found: dict[tuple[str, str], bool] = {}
    for route, (_, methods, is_public) in zip(routes, rules, strict=True):
        if is_public:
            assert methods, f"public route {route.path} serves every method; the gateway cannot say that"
        for method in (methods or set()) | ({"HEAD"} if "GET" in (methods or set()) else set()):
            found[(method, route.path)] = found.get((method, route.path), False) or is_public
    return found


def app_public_routes(app: Any = None) -> set[tuple[str, str]]:
    return {route for route, is_public in app_routes(app).items() if is_public}


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


def unauthenticated_routes(transformed: dict[str, Any]) -> set[tuple[str, str]]:
    """The gateway's routes without the authorizer, preflights aside."""
    routes = gateway_routes(transformed, {})
    return {route for route, guarded in routes.items() if not guarded and route[0] != "OPTIONS"}


def public_but_guarded(public: set[tuple[str, str]], unauthenticated: set[tuple[str, str]]) -> list[str]:
    """One direction of the drift: the app serves it without a token, the gateway refuses it."""
    return [
        f"{method} {path} is @public in the app, but the gateway's authorizer guards it: add it to "
        "HttpApi's DefinitionBody in template.yaml (a route made public needs both)"
        for method, path in sorted(public - unauthenticated)
    ]


def open_but_protected(public: set[tuple[str, str]], unauthenticated: set[tuple[str, str]]) -> list[str]:
    """The other direction: the gateway lets it through without a token, the app protects it."""
    return [
        f"{method} {path} has no authorizer at the gateway, but the app protects it: remove it from "
        "HttpApi's DefinitionBody (a protected route needs no template change)"
        for method, path in sorted(unauthenticated - public)
    ]


def test_every_public_route_of_the_app_is_open_at_the_gateway(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    assert public_but_guarded(app_public_routes(), unauthenticated_routes(sam_transform({}))) == []


def test_the_gateway_opens_no_route_the_app_protects(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    assert open_but_protected(app_public_routes(), unauthenticated_routes(sam_transform({}))) == []


@pytest.mark.parametrize(
    ("path", "method"),
    [("/orders", "put"), ("/orders/{order_id}", "patch"), ("/menu/{item_id}", "put"), ("/kitchen/x", "post")],
)
def test_a_route_opened_in_the_template_alone_is_caught_on_its_own(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]], path: str, method: str
) -> None:
    drifted = copy.deepcopy(sam_transform({}))
    paths = drifted["Resources"]["HttpApi"]["Properties"]["Body"]["paths"]
    integration = paths["/hello"]["get"]["x-amazon-apigateway-integration"]
    paths.setdefault(path, {})[method] = {"x-amazon-apigateway-integration": integration}
    public, unauthenticated = app_public_routes(), unauthenticated_routes(drifted)
    assert open_but_protected(public, unauthenticated) == [
        f"{method.upper()} {path} has no authorizer at the gateway, but the app protects it: remove it from "
        "HttpApi's DefinitionBody (a protected route needs no template change)"
    ]
    assert public_but_guarded(public, unauthenticated) == []


@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST", "DELETE", "GET"])
def test_a_route_made_public_in_the_app_alone_is_caught_on_its_own(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]], method: str
) -> None:
    app = create_app(Settings(docs_enabled=True, dev_signin=False))

    @public
    def left_open() -> dict[str, str]:
        return {}

    app.add_api_route("/orders/{order_id}/notes", left_open, methods=[method])
    public_routes, unauthenticated = app_public_routes(app), unauthenticated_routes(sam_transform({}))
    found = public_but_guarded(public_routes, unauthenticated)
    methods = [method, "HEAD"] if method == "GET" else [method]
    assert [line.split(" is @public")[0] for line in found] == [
        f"{m} /orders/{{order_id}}/notes" for m in sorted(methods)
    ]
    assert open_but_protected(public_routes, unauthenticated) == []


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
