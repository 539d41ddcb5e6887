"""Live orders in template.yaml (issue 24), read as CloudFormation deploys it: after
SAM's own translator, evaluated for the dev stack with stand-in ids. The WebSocket
API's routes, authorizer and stage; the stream's event source mapping; and the IAM
scope of the three Live* functions (ManageConnections on this API's stage only, the
connections table per function, no Scan anywhere, nothing for the authorizer)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from app.store.dynamodb_keys import idem_key, kitchen_marker_key, menu_to_item
from tests.deploy.pipeline_policy import listed
from tests.deploy.stack import STAND_IN_ATTRIBUTES, STAND_IN_IDS, TEMPLATE, WEBSOCKET_API, Stack
from tests.live.records import dish, order, order_record, record

pytestmark = pytest.mark.deploy

BOUNDARY = "arn:aws:iam::123456789012:policy/serverless-api-pipeline-boundary-dev"
PARAMETERS = {"AuthCallbackUrl": "https://app.example.test/callback", "PermissionsBoundaryArn": BOUNDARY}
EXECUTE_API = f"arn:aws:execute-api:us-east-1:123456789012:{WEBSOCKET_API}"
MANAGED = "arn:aws:iam::aws:policy/service-role"
CONNECTIONS = STAND_IN_ATTRIBUTES[("ConnectionsTable", "Arn")]
QUEUE = STAND_IN_ATTRIBUTES[("LiveFailureQueue", "Arn")]
LIVE_FUNCTIONS = ("LiveAuthorizerFunction", "LiveSocketFunction", "LiveStreamFunction")
WRITERS = {"LiveSocketFunctionRole", "LiveStreamFunctionRole"}


@pytest.fixture(scope="module")
def stack(sam_transform: Callable[[dict[str, str]], dict[str, Any]]) -> Stack:
    return Stack(sam_transform(PARAMETERS), PARAMETERS)


def of_type(stack: Stack, kind: str) -> dict[str, dict[str, Any]]:
    """Live orders' resources of a type (logical ids WebSocket* and Live*), evaluated."""
    live = [k for k, v in stack.template["Resources"].items() if v["Type"] == kind]
    return {k: stack.properties(k) for k in live if k.startswith(("WebSocket", "Live"))}


def raw(stack: Stack, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = stack.template["Resources"][logical_id]["Properties"]
    return properties


def variables(stack: Stack, function: str) -> dict[str, str]:
    found: dict[str, str] = stack.resolve(raw(stack, function)["Environment"]["Variables"])
    return found


def lambda_uri(function: str) -> str:
    arn = STAND_IN_ATTRIBUTES[(function, "Arn")]
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"


def test_the_websocket_api_routes_connect_through_the_token_authorizer(stack: Stack) -> None:
    apis = of_type(stack, "AWS::ApiGatewayV2::Api")
    assert list(apis) == ["WebSocketApi"]
    assert apis["WebSocketApi"]["ProtocolType"] == "WEBSOCKET"
    assert apis["WebSocketApi"]["RouteSelectionExpression"] == "$request.body.action"
    (authorizer,) = of_type(stack, "AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer == {
        "ApiId": WEBSOCKET_API,
        "Name": "serverless-api-dev-token",
        "AuthorizerType": "REQUEST",
        "IdentitySource": ["route.request.querystring.token"],
        "AuthorizerUri": lambda_uri("LiveAuthorizerFunction"),
    }
    routes = {r["RouteKey"]: r for r in of_type(stack, "AWS::ApiGatewayV2::Route").values()}
    assert {k: r["AuthorizationType"] for k, r in routes.items()} == {
        "$connect": "CUSTOM", "$disconnect": "NONE", "ping": "NONE", "$default": "NONE"
    }  # fmt: skip
    assert routes["$connect"]["AuthorizerId"] == STAND_IN_IDS["WebSocketAuthorizer"]
    # One integration: the socket function itself (unqualified; template.yaml says why).
    (integration,) = of_type(stack, "AWS::ApiGatewayV2::Integration").values()
    assert integration == {
        "ApiId": WEBSOCKET_API,
        "IntegrationType": "AWS_PROXY",
        "IntegrationUri": lambda_uri("LiveSocketFunction"),
    }
    assert {r["Target"] for r in routes.values()} == {
        f"integrations/{STAND_IN_IDS['WebSocketSocketIntegration']}"
    }
    # ping and $default are two-way: their answers reach the client.
    two_way = {k for k, r in routes.items() if r.get("RouteResponseSelectionExpression") == "$default"}
    assert two_way == {"ping", "$default"}
    responses = of_type(stack, "AWS::ApiGatewayV2::RouteResponse").values()
    answered = sorted(r["RouteId"] for r in responses if r["RouteResponseKey"] == "$default")
    assert answered == sorted(STAND_IN_IDS[f"WebSocket{name}Route"] for name in ("Ping", "Default"))
    # The deployment comes after every route and route response it snapshots.
    kinds = ("AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::RouteResponse")
    route_ids = [k for k, v in stack.template["Resources"].items() if v["Type"] in kinds]
    assert sorted(stack.template["Resources"]["WebSocketDeployment"]["DependsOn"]) == sorted(route_ids)


def test_the_stage_throttles_and_logs_without_the_query_string(stack: Stack) -> None:
    (stage,) = of_type(stack, "AWS::ApiGatewayV2::Stage").values()
    assert (stage["ApiId"], stage["StageName"]) == (WEBSOCKET_API, "dev")
    assert stage["DeploymentId"] == STAND_IN_IDS["WebSocketDeployment"]
    # The environment's own throttling parameters, as the HTTP API's stage has them.
    settings = raw(stack, "WebSocketStage")["DefaultRouteSettings"]
    throttling = ("ThrottlingBurstLimit", "ThrottlingRateLimit")
    # Execution logs off: data tracing would log each request whole, the token included.
    quiet = {"DataTraceEnabled": False, "LoggingLevel": "OFF"}
    assert settings == {**{name: {"Ref": name} for name in throttling}, **quiet}
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": "100",
        "ThrottlingRateLimit": "50",
        **quiet,
    }
    log = stage["AccessLogSettings"]
    assert log["DestinationArn"] == STAND_IN_ATTRIBUTES[("WebSocketAccessLogGroup", "Arn")]
    fields = json.loads(log["Format"])  # one JSON object per connect, message, disconnect
    used = re.findall(r"\$context\.[A-Za-z.]+", log["Format"])
    assert len(used) == len(fields)
    # Nothing that could hold the token: no query string, path, header or body.
    assert [v for v in used if re.search(r"query|path|header|body|token|request\.", v, re.I)] == []
    assert {"$context.connectionId", "$context.routeKey", "$context.status", "$context.eventType"} <= set(
        used
    )


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, the part these patterns use: nested keys, a list of
    exact strings or {"prefix": ...} ("Lambda event filtering", filter rule syntax)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(p, value[k]) for k, p in pattern.items()
        )
    prefixes = tuple(rule["prefix"] for rule in pattern if isinstance(rule, dict))
    return value in pattern or (bool(prefixes) and isinstance(value, str) and value.startswith(prefixes))


def test_the_stream_reaches_the_consumer_filtered_with_partial_failures_and_a_failure_queue(
    stack: Stack,
) -> None:
    assert stack.properties("DataTable")["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    (mapping,) = of_type(stack, "AWS::Lambda::EventSourceMapping").values()
    patterns = [json.loads(f["Pattern"]) for f in mapping.pop("FilterCriteria")["Filters"]]
    assert mapping == {
        "EventSourceArn": STAND_IN_ATTRIBUTES[("DataTable", "StreamArn")],
        "FunctionName": STAND_IN_IDS["LiveStreamFunction"],
        "StartingPosition": "LATEST",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 5,
        "MaximumRecordAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
    }
    # The filters pass the store's orders and menu items, and nothing else it writes.
    menu_item = dict(menu_to_item(dish()))
    passes = [
        order_record("INSERT", order()),
        order_record("MODIFY", order(status="ready", version=3)),
        record("INSERT", menu_item),
        record("REMOVE", menu_item),
    ]
    dropped = [
        record("INSERT", dict(idem_key("abc"))),
        record("INSERT", dict(kitchen_marker_key("01JDQ3V8Y6Q0W6D3W6X4T9M2KZ"))),  # ORDER#..., SK=OPEN
        record("INSERT", {"PK": {"S": "RATE#client"}, "SK": {"S": "WINDOW#1"}}),  # the limiter's
    ]
    assert patterns == [  # exactly the shared design's (the twin applies the same)
        {"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "ORDER#"}]}, "SK": {"S": ["ORDER"]}}}},
        {"dynamodb": {"Keys": {"PK": {"S": ["MENU"]}}}},
    ]
    assert all(any(matches(p, r) for p in patterns) for r in passes)
    assert not any(matches(p, r) for p in patterns for r in dropped)
    assert stack.properties("LiveFailureQueue")["SqsManagedSseEnabled"] is True


def role_statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    policies = raw(stack, role).get("Policies", [])
    return [stack.resolve(s) for p in policies for s in p["PolicyDocument"]["Statement"]]


def grants(stack: Stack, role: str) -> dict[str, set[str]]:
    """resource -> actions, over every statement of the role's inline policies."""
    found: dict[str, set[str]] = {}
    for statement in role_statements(stack, role):
        assert statement["Effect"] == "Allow"
        for resource in listed(statement["Resource"]):
            found.setdefault(resource, set()).update(listed(statement["Action"]))
    return found


def test_each_live_function_may_do_exactly_its_job(stack: Stack) -> None:
    # The authorizer: its log only (no table, no connection).
    authorizer = raw(stack, "LiveAuthorizerFunctionRole")
    assert "Policies" not in authorizer
    assert authorizer["ManagedPolicyArns"] == [f"{MANAGED}/AWSLambdaBasicExecutionRole"]
    assert grants(stack, "LiveSocketFunctionRole") == {
        CONNECTIONS: {"dynamodb:PutItem", "dynamodb:DeleteItem"}
    }
    assert grants(stack, "LiveStreamFunctionRole") == {
        CONNECTIONS: {"dynamodb:Query", "dynamodb:DeleteItem"},
        f"{EXECUTE_API}/dev/POST/@connections/*": {"execute-api:ManageConnections"},
        f"{EXECUTE_API}/dev/DELETE/@connections/*": {"execute-api:ManageConnections"},
        QUEUE: {"sqs:SendMessage"},
    }
    # The stream's reads: AWS's policy, on "*"; the pipeline's boundary keeps it to the stack's tables.
    assert (
        raw(stack, "LiveStreamFunctionRole")["ManagedPolicyArns"][1]
        == f"{MANAGED}/AWSLambdaDynamoDBExecutionRole"
    )
    # No other role reaches the connections table or any API's connections.
    for role, resource in stack.template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role" and role not in WRITERS:
            text = json.dumps(resource["Properties"])  # as written: a GetAtt names its resource
            assert "ManageConnections" not in text, role
            assert "ConnectionsTable" not in text, role
    text = json.dumps(stack.template)
    assert "dynamodb:Scan" not in text
    assert not re.search(r'"execute-api:[^"]*\*"', text)
    # Every role carries the pipeline's boundary, these three included.
    for function in LIVE_FUNCTIONS:
        assert stack.resolve(raw(stack, f"{function}Role")["PermissionsBoundary"]) == BOUNDARY


def test_api_gateway_may_invoke_the_two_functions_for_this_api_only(stack: Stack) -> None:
    permissions = of_type(stack, "AWS::Lambda::Permission")
    assert permissions == {
        "LiveAuthorizerInvokePermission": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": STAND_IN_IDS["LiveAuthorizerFunction"],
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": f"{EXECUTE_API}/authorizers/{STAND_IN_IDS['WebSocketAuthorizer']}",
        },
        "LiveSocketInvokePermission": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": STAND_IN_IDS["LiveSocketFunction"],
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": f"{EXECUTE_API}/dev/*",
        },
    }  # the stream consumer: invoked by its event source mapping, with its own role


def test_the_connections_table_expires_its_items_and_the_functions_find_it(stack: Stack) -> None:
    table = stack.properties("ConnectionsTable")
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
    assert (table["BillingMode"], table["SSESpecification"]) == ("PAY_PER_REQUEST", {"SSEEnabled": True})
    for function in ("LiveSocketFunction", "LiveStreamFunction"):
        assert variables(stack, function)["APP_LIVE_CONNECTIONS_TABLE"] == STAND_IN_IDS["ConnectionsTable"]
    management = variables(stack, "LiveStreamFunction")["APP_LIVE_MANAGEMENT_URL"]
    assert management == f"https://{WEBSOCKET_API}.execute-api.us-east-1.amazonaws.com/dev"
    # The authorizer trusts exactly what the HTTP API's function trusts.
    auth, api = variables(stack, "LiveAuthorizerFunction"), variables(stack, "ApiFunction")
    for name in ("ISSUER", "AUDIENCE", "SCOPE_PREFIX", "TOKEN_USE"):
        assert auth[f"APP_AUTH_{name}"] == api[f"APP_AUTH_{name}"], name
    assert auth["APP_STAGE"] == api["APP_STAGE"] == "dev"
    url = stack.evaluate(stack.template["Outputs"]["WebSocketUrl"]["Value"])
    assert url == f"wss://{WEBSOCKET_API}.execute-api.us-east-1.amazonaws.com/dev"


def test_one_artifact_three_handlers() -> None:
    from tests.deploy.stack import load_template

    resources = load_template()["Resources"]
    build = (TEMPLATE.parent / "lambda-build.mk").read_text()
    handlers = {}
    for function in LIVE_FUNCTIONS:
        assert (
            resources[function]["Properties"]["CodeUri"] == resources["ApiFunction"]["Properties"]["CodeUri"]
        )
        assert resources[function]["Metadata"]["BuildMethod"] == "makefile"
        target = rf"^(build-\S+ )*build-{function}( build-\S+)*: build-ApiFunction$"
        assert re.search(target, build, re.MULTILINE), function
        handlers[function] = resources[function]["Properties"]["Handler"]
    assert handlers == {
        "LiveAuthorizerFunction": "app.aws_lambda.live_authorizer.handler",
        "LiveSocketFunction": "app.aws_lambda.live_socket.handler",
        "LiveStreamFunction": "app.aws_lambda.live_stream.handler",
    }
