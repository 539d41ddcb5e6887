"""The Lambda handler, driven by real API Gateway events."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI, Request

from app.auth.middleware import public
from app.aws_lambda.adapter import LambdaAdapter
from app.aws_lambda.stage import public_paths
from app.system.router import HELLO
from tests.auth.tokens import Issuer

from .conftest import LambdaContext, http_v1, http_v2, json_body, load, rest_v1

ctx = LambdaContext()


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    app = make_app()

    @app.post("/test/echo/{name}")
    @public
    async def echo(name: str, request: Request) -> dict[str, Any]:
        return {
            "name": name,
            "query": sorted(request.query_params.multi_items()),
            "cookies": dict(request.cookies),
            "header": request.headers.get("x-custom"),
            "body": base64.b64encode(await request.body()).decode(),
            "client": request.client.host if request.client else None,
            "loop": id(asyncio.get_running_loop()),
            "url": str(request.url),
        }

    return app


@pytest.fixture
def handler(app: FastAPI) -> LambdaAdapter:
    return LambdaAdapter(app)


@pytest.mark.parametrize("stage", ["$default", "prod", "dev"])
def test_hello_on_every_stage(handler: LambdaAdapter, stage: str) -> None:
    result = handler(http_v2("GET", "/hello", stage=stage), ctx)
    assert result["statusCode"] == 200
    assert json_body(result) == {"message": HELLO}


def test_rest_api_proxy_event(handler: LambdaAdapter) -> None:
    result = handler(rest_v1("GET", "/hello", stage="prod"), ctx)
    assert result["statusCode"] == 200
    assert json_body(result) == {"message": HELLO}


def test_http_api_payload_1_0_event(handler: LambdaAdapter) -> None:
    result = handler(http_v1("GET", "/hello", stage="prod"), ctx)
    assert result["statusCode"] == 200
    assert json_body(result) == {"message": HELLO}


def event_for(event: dict[str, Any], public_path: str) -> dict[str, Any]:
    """The same kind of event for another public path."""
    event = json.loads(json.dumps(event))
    if "rawPath" in event:
        event["rawPath"] = event["requestContext"]["http"]["path"] = public_path
    else:
        stage = "/" + event["requestContext"]["stage"]
        event["requestContext"]["path"] = public_path
        is_rest = "version" not in event
        event["path"] = public_path.removeprefix(stage) if is_rest else public_path
    return event


@pytest.mark.parametrize(
    ("event", "spec_url"),
    [
        (http_v2("GET", "/docs"), ""),
        (http_v2("GET", "/docs", stage="prod"), "/prod"),
        (rest_v1("GET", "/docs", stage="prod"), "/prod"),
        (http_v1("GET", "/docs", stage="prod"), "/prod"),
    ],
)
def test_swagger_page_loads_the_spec_from_the_public_url(
    handler: LambdaAdapter, event: dict[str, Any], spec_url: str
) -> None:
    prefix = spec_url
    result = handler(event, ctx)
    assert result["statusCode"] == 200
    html = result["body"]
    assert f'data-spec-url="{prefix}/openapi.json"' in html
    assert f'src="{prefix}/docs/assets/swagger-ui-bundle.js"' in html
    # ...and the assets themselves load from that prefix, served by the app.
    loaded = handler(event_for(event, f"{prefix}/docs/assets/swagger-init.js"), ctx)
    assert loaded["statusCode"] == 200
    assert "SwaggerUIBundle" in loaded["body"]


def test_openapi_under_a_stage_names_the_stage_as_server(handler: LambdaAdapter) -> None:
    result = handler(http_v2("GET", "/openapi.json", stage="prod"), ctx)
    assert result["statusCode"] == 200
    spec = json_body(result)
    assert spec["servers"][0]["url"] == "/prod"
    assert "/hello" in spec["paths"]


def test_redoc_under_a_stage(handler: LambdaAdapter) -> None:
    result = handler(http_v2("GET", "/redoc", stage="prod"), ctx)
    assert result["statusCode"] == 200
    assert "/prod/openapi.json" in result["body"]


def test_root_of_a_stage_reaches_the_app(handler: LambdaAdapter) -> None:
    event = http_v2("GET", "", stage="prod")
    assert event["rawPath"] == "/prod"
    result = handler(event, ctx)
    assert result["statusCode"] == 200
    assert json_body(result)["docs"] == "/prod/docs"


@pytest.mark.parametrize(
    ("stage", "location"),
    [("prod", "/prod/orders?limit=5"), ("dev", "/dev/orders?limit=5"), ("$default", "/orders?limit=5")],
)
def test_trailing_slash_redirect_is_relative_and_stays_under_the_stage(
    handler: LambdaAdapter, stage: str, location: str
) -> None:
    """A relative Location (RFC 9110 10.2.2), never one built from the Host header:
    behind CloudFront that is the execute-api host (issue 11, defect 7)."""
    event = http_v2("GET", "/orders/", stage=stage, query="limit=5", headers={"host": "evil.example"})
    result = handler(event, ctx)
    assert result["statusCode"] == 307
    assert result["headers"]["location"] == location


def test_query_cookies_headers_and_base64_body_reach_the_route(handler: LambdaAdapter) -> None:
    payload = bytes(range(256))
    event = http_v2(
        "POST",
        "/test/echo/caf%C3%A9",
        stage="prod",
        query="a=1&a=2&b=x%20y",
        headers={"x-custom": "value", "content-type": "application/octet-stream"},
        cookies=["session=abc", "theme=dark"],
        body=payload,
        base64_body=True,
    )
    result = handler(event, ctx)
    assert result["statusCode"] == 200
    seen = json_body(result)
    assert seen["name"] == "café"
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "x y"]]
    assert seen["cookies"] == {"session": "abc", "theme": "dark"}
    assert seen["header"] == "value"
    assert base64.b64decode(seen["body"]) == payload
    assert seen["client"] == "203.0.113.7"
    assert seen["url"].startswith("https://id.execute-api.us-east-1.amazonaws.com/prod/test/echo/")


def test_plain_text_body(handler: LambdaAdapter) -> None:
    result = handler(http_v2("POST", "/test/echo/x", body=b'{"a": 1}'), ctx)
    assert base64.b64decode(json_body(result)["body"]) == b'{"a": 1}'


def test_errors_are_problem_json_text_not_base64(handler: LambdaAdapter) -> None:
    result = handler(http_v2("GET", "/missing", stage="prod"), ctx)
    assert result["statusCode"] == 404
    assert result["headers"]["content-type"] == "application/problem+json"
    assert result["isBase64Encoded"] is False
    assert json.loads(result["body"])["status"] == 404


def test_request_ids_come_from_the_event_and_context(
    handler: LambdaAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    event = http_v2("GET", "/hello")
    event["requestContext"]["requestId"] = "apigw-123"
    with caplog.at_level(logging.INFO, logger="app.access"):
        result = handler(event, LambdaContext(aws_request_id="lambda-456"))
    assert result["headers"]["x-request-id"] == "apigw-123"
    (record,) = [r for r in caplog.records if r.name == "app.access"]
    assert record.apigw_request_id == "apigw-123"
    assert record.lambda_request_id == "lambda-456"


def test_start_up_runs_once_and_the_event_loop_is_reused(app: FastAPI, handler: LambdaAdapter) -> None:
    first = json_body(handler(http_v2("POST", "/test/echo/a"), ctx))
    second = json_body(handler(http_v2("POST", "/test/echo/b"), ctx))
    assert app.state.startups == 1
    assert first["loop"] == second["loop"] == id(handler.loop)
    assert not handler.loop.is_closed()


@pytest.mark.parametrize("fixture", ["s3-put.json", "sqs-receive.json", "scheduled.json"])
def test_non_http_event_is_a_clear_logged_error(
    handler: LambdaAdapter, caplog: pytest.LogCaptureFixture, fixture: str
) -> None:
    with caplog.at_level(logging.ERROR):
        result = handler(load(fixture), ctx)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["type"].endswith("unsupported-event")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "event refused: This function only handles API Gateway HTTP events."
    ]
    assert errors[0].exc_info is None
    # ...and the next HTTP invocation is served normally.
    assert handler(http_v2("GET", "/hello"), ctx)["statusCode"] == 200


@pytest.mark.parametrize("event", [None, [], "GET /hello", 42])
def test_events_that_are_not_objects_are_refused(handler: LambdaAdapter, event: Any) -> None:
    assert handler(event, ctx)["statusCode"] == 400


@pytest.mark.parametrize(
    ("event", "path", "expected"),
    [
        ({"requestContext": {"stage": "$default"}}, "/hello", ("", "/hello")),
        (
            {"requestContext": {"stage": "prod", "domainName": "a.execute-api.eu-west-1.amazonaws.com"}},
            "/prod/hello",
            ("/prod", "/prod/hello"),
        ),
        (
            {"requestContext": {"stage": "prod", "domainName": "a.execute-api.eu-west-1.amazonaws.com"}},
            "/production/hello",
            ("", "/production/hello"),
        ),
        # A custom domain: the stage is not part of the public URL.
        ({"requestContext": {"stage": "prod", "domainName": "api.example.com"}}, "/prod/menu", ("", "/menu")),
        (
            {
                "requestContext": {"stage": "prod", "path": "/prod/hello"},
                "headers": {"Host": "x.execute-api.a"},
            },
            "/hello",
            ("/prod", "/prod/hello"),
        ),
    ],
)
def test_public_paths(event: dict[str, Any], path: str, expected: tuple[str, str]) -> None:
    assert public_paths(event, path) == expected


def test_access_log_line_carries_embedded_metrics_on_lambda(
    handler: LambdaAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    from app.http.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="app.access"):
        handler(http_v2("GET", "/me"), ctx)
    (record,) = [r for r in caplog.records if r.name == "app.access"]
    line = json.loads(JsonFormatter().format(record))
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Dimensions"] == [["Stage"]]
    names = {metric["Name"] for metric in directive["Metrics"]}
    # Every metric named in the directive has its value at the top level (EMF spec).
    assert all(name in line for name in names)
    assert line["Requests"] == 1
    assert line["Status4xx"] == 1
    assert line["AuthFailures"] == 1
    assert line["Status5xx"] == 0
    assert line["Stage"] == "local"


def test_failed_authentication_counts_against_the_events_source_ip(
    make_app: Callable[..., FastAPI], trust: dict[str, Any]
) -> None:
    issuer = Issuer()
    app = make_app(rate_limit="3/minute", **trust)
    handler = LambdaAdapter(app)
    # A published kid, signed by a key the issuer never published.
    forged = issuer.raw({"alg": "RS256", "kid": "rsa-1"}, json.dumps(issuer.claims()), key=issuer.rogue)
    results = [
        handler(http_v2("GET", "/me", headers={"authorization": f"Bearer {forged}"}), ctx) for _ in range(5)
    ]
    results += [handler(http_v2("GET", "/orders"), ctx) for _ in range(2)]  # no token: the same address
    assert [r["statusCode"] for r in results] == [401, 401, 401, 429, 429, 429, 429]
    for result in results:
        assert result["headers"]["ratelimit-policy"] == '"default";q=3;w=60'
        assert result["headers"]["ratelimit"].startswith('"default";r=')
    assert 1 <= int(results[-1]["headers"]["retry-after"]) <= 60
    # Another source address has its own quota.
    other = http_v2("GET", "/orders")
    other["requestContext"]["http"]["sourceIp"] = "198.51.100.9"
    assert handler(other, ctx)["statusCode"] == 401


@pytest.mark.parametrize(
    "build",
    [
        lambda path: http_v2("GET", path, stage="prod"),
        lambda path: http_v1("GET", path, stage="prod"),
        lambda path: rest_v1("GET", path, stage="prod"),
        lambda path: http_v2("GET", path),
    ],
    ids=["http-api-v2-prod", "http-api-v1-prod", "rest-api-prod", "http-api-v2-default"],
)
def test_an_undeclared_route_is_protected_under_a_named_stage(
    make_app: Callable[..., FastAPI], trust: dict[str, Any], build: Callable[[str], dict[str, Any]]
) -> None:
    issuer = Issuer()
    app = make_app(**trust)

    # Declared nowhere as public and asking for nothing: deny by default.
    @app.get("/test/undeclared")
    async def undeclared() -> dict[str, str]:
        return {"secret": "data"}

    handler = LambdaAdapter(app)
    anonymous = handler(build("/test/undeclared"), ctx)
    assert anonymous["statusCode"] == 401
    assert anonymous["headers"]["www-authenticate"] == 'Bearer realm="api"'
    assert "secret" not in anonymous["body"]
    # The route is there (the 401 is not a miss): with a token it answers.
    with_token = build("/test/undeclared")
    with_token["headers"]["authorization"] = f"Bearer {issuer.token()}"
    if with_token.get("multiValueHeaders"):
        with_token["multiValueHeaders"]["authorization"] = [with_token["headers"]["authorization"]]
    result = handler(with_token, ctx)
    assert result["statusCode"] == 200
    assert json_body(result) == {"secret": "data"}


def test_every_response_gets_each_header_once_and_a_reused_response_collects_none(
    make_app: Callable[..., FastAPI],
) -> None:
    """The security, CORS and rate-limit layers add their headers to a copy of what
    the response sends (a Starlette Response sends the very list it keeps): a
    response object that a route returns again and again never collects them."""
    from fastapi import Response

    app = make_app(cors_allow_origins=["https://app.example.com"], rate_limit="100/minute")
    shared = Response(b"{}", media_type="application/json")

    @app.get("/test/shared")
    @public
    async def same_response_every_time() -> Response:
        return shared

    handler = LambdaAdapter(app)
    event = http_v2("GET", "/test/shared", headers={"origin": "https://app.example.com"})
    answers = [handler(event, ctx) for _ in range(3)]
    first = answers[0]["headers"]
    assert first["vary"] == "Origin"
    assert first["access-control-allow-origin"] == "https://app.example.com"
    assert first["x-content-type-options"] == "nosniff"
    assert first["ratelimit-policy"] == '"default";q=100;w=60'
    assert [a["statusCode"] for a in answers] == [200, 200, 200]
    changing = {"ratelimit", "x-request-id"}
    for answer in answers[1:]:
        assert {k: v for k, v in answer["headers"].items() if k not in changing} == {
            k: v for k, v in first.items() if k not in changing
        }
    assert answers[2]["headers"]["ratelimit"].startswith('"default";r=97;')
    assert len(shared.raw_headers) == 2  # content-length and content-type, as built


def test_mangum_builds_each_events_scope_once(
    make_app: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mangum's HTTP API handler builds the ASGI scope (the headers copied, lowered and
    encoded) each time it is read, and Mangum reads it twice per invocation."""
    from mangum.handlers.api_gateway import HTTPGateway

    built = []
    scope = HTTPGateway.scope.fget  # type: ignore[attr-defined]
    monkeypatch.setattr(HTTPGateway, "scope", property(lambda self: built.append(1) or scope(self)))
    handler = LambdaAdapter(make_app())
    assert handler(http_v2("GET", "/hello"), ctx)["statusCode"] == 200
    assert len(built) == 1


def test_requests_build_no_route(make_app: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every route is built once, at init. FastAPI 0.165's include_router would nest
    each router and build its routes again at the first request that walks past
    them (a cold start pays it), and walk the nesting on every request after."""
    import fastapi.routing

    handler = LambdaAdapter(make_app())
    built = []
    get_dependant = fastapi.routing.get_dependant

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs.get("path"))
        return get_dependant(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "get_dependant", counted)
    assert handler(http_v2("GET", "/hello"), ctx)["statusCode"] == 200
    assert handler(http_v2("GET", "/menu"), ctx)["statusCode"] == 200
    assert handler(http_v2("GET", "/orders/01J0000000000000000000000Z"), ctx)["statusCode"] == 401
    assert handler(http_v2("GET", "/kitchen/orders"), ctx)["statusCode"] == 401
    assert handler(http_v2("GET", "/openapi.json"), ctx)["statusCode"] == 200
    assert built == []


@pytest.mark.parametrize(
    ("variable", "consulted"),
    [
        (None, False),
        ("OTEL_SERVICE_NAME", True),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", True),
        ("AWS_LAMBDA_EXEC_WRAPPER", True),  # the ADOT layer's /opt/otel-instrument
    ],
)
def test_fastapi_telemetry_follows_the_processs_opentelemetry_set_up(
    make_app: Callable[..., FastAPI],
    monkeypatch: pytest.MonkeyPatch,
    variable: str | None,
    consulted: bool,
) -> None:
    """Without OpenTelemetry set up, FastAPI's telemetry is off and no request looks
    for a tracer provider; set up (as the ADOT layer or OTEL_ variables do), FastAPI
    instruments each request with the global providers."""
    from opentelemetry import trace

    for name in [n for n in os.environ if n.startswith("OTEL_")] + ["AWS_LAMBDA_EXEC_WRAPPER"]:
        monkeypatch.delenv(name, raising=False)
    if variable is not None:
        monkeypatch.setenv(variable, "/opt/otel-instrument" if variable.startswith("AWS") else "x")
    handler = LambdaAdapter(make_app())
    looked_up = []
    provider = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: looked_up.append(1) or provider())
    assert handler(http_v2("GET", "/hello"), ctx)["statusCode"] == 200
    assert bool(looked_up) is consulted


def test_each_apps_dependency_overrides_reach_its_routes(make_app: Callable[..., FastAPI]) -> None:
    """FastAPI's test idiom works on routes built once and shared by every app of the
    process: an override set on one app applies to its requests only, and assigning
    a new dict (FastAPI's documented reset) undoes it."""
    from fastapi import HTTPException

    from app.menu.router import menu_service

    class Closed:
        async def snapshot(self) -> None:
            raise HTTPException(status_code=418, detail="a stand-in menu")

    overridden, other = make_app(), make_app()
    overridden.dependency_overrides[menu_service] = Closed
    first, second = LambdaAdapter(overridden), LambdaAdapter(other)
    assert first(http_v2("GET", "/menu"), ctx)["statusCode"] == 418
    assert second(http_v2("GET", "/menu"), ctx)["statusCode"] == 200
    overridden.dependency_overrides = {}
    assert first(http_v2("GET", "/menu"), ctx)["statusCode"] == 200
    # Every route sees them, not just the menu's: none comes from a bare APIRouter.
    from fastapi.routing import APIRoute

    from app.http.routes import ServingAppOverrides

    providers = {
        route.path: route.dependency_overrides_provider
        for route in other.routes
        if isinstance(route, APIRoute)
    }
    assert len(providers) > 10
    assert {
        path: provider
        for path, provider in providers.items()
        if not isinstance(provider, ServingAppOverrides) and provider is not other
    } == {}
