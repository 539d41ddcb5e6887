"""Safe releases, through SAM's transform: CodeDeploy moves the alias `live` per
environment (AllAtOnce in dev, a canary in prod), the release alarms roll it back, the
pre-traffic hook may only invoke the new version and report its status, and the
operator's dashboard shows the API, the function and the table.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.stack import (
    FUNCTION_ARN,
    NEW_VERSION,
    SAMCONFIG,
    STAND_IN_ATTRIBUTES,
    STAND_IN_IDS,
    TEMPLATE,
    Stack,
    load_template,
    parameter_overrides,
)

pytestmark = pytest.mark.deploy

CONFIG = tomllib.loads(SAMCONFIG.read_text())
NEW_VERSION_ARN = f"{FUNCTION_ARN}:{NEW_VERSION}"
RELEASE_ALARMS = ["ReleaseErrorsAlarm", "ReleaseApi5xxAlarm"]


class Transformed(Stack):
    """A transformed template: the version SAM publishes has a hashed logical id."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str]) -> None:
        super().__init__(template, overrides)
        (self.version,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Version"]

    def ref(self, name: str) -> Any:
        return NEW_VERSION_ARN if name == self.version else super().ref(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) == (self.version, "Version"):
            return NEW_VERSION
        if attribute == "Arn" and self.template["Resources"][logical_id]["Type"] == "AWS::IAM::Role":
            return f"arn:aws:iam::123456789012:role/serverless-api-dev-{logical_id}-Ab12Cd34"
        return super().get_att(logical_id, attribute)

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources().items() if v["Type"] == kind}


@pytest.fixture(params=["default", "prod"])
def environment(
    request: pytest.FixtureRequest, sam_transform: Callable[[dict[str, str]], dict[str, Any]]
) -> tuple[str, Transformed]:
    overrides = parameter_overrides(CONFIG[request.param])
    return request.param, Transformed(sam_transform(overrides), overrides)


def test_deployment_type_is_a_parameter_all_at_once_in_dev_a_canary_in_prod() -> None:
    parameter = load_template()["Parameters"]["DeploymentType"]
    assert parameter["Default"] == "AllAtOnce"
    assert parameter_overrides(CONFIG["default"])["DeploymentType"] == "AllAtOnce"
    assert parameter_overrides(CONFIG["prod"])["DeploymentType"] == "Canary10Percent5Minutes"
    # Every allowed value is one of CodeDeploy's predefined Lambda configurations.
    assert set(parameter["AllowedValues"]) <= {
        "AllAtOnce",
        *(f"Canary10Percent{m}Minutes" for m in (5, 10, 15, 30)),
        *(f"Linear10PercentEvery{m}Minute{'s' if m > 1 else ''}" for m in (1, 2, 3, 10)),
    }


def test_each_environment_releases_through_codedeploy_with_its_own_configuration(
    environment: tuple[str, Transformed],
) -> None:
    name, stack = environment
    expected = {"default": "AllAtOnce", "prod": "Canary10Percent5Minutes"}[name]
    (application,) = stack.of_type("AWS::CodeDeploy::Application").values()
    assert application["Properties"] == {"ComputePlatform": "Lambda"}
    ((group_id, _),) = stack.of_type("AWS::CodeDeploy::DeploymentGroup").items()
    group = stack.properties(group_id)
    assert group["DeploymentConfigName"] == f"CodeDeployDefault.Lambda{expected}"
    assert group["DeploymentStyle"] == {
        "DeploymentType": "BLUE_GREEN",
        "DeploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    # Rolled back when an alarm fires, and when the deployment fails (the hook said Failed).
    assert group["AlarmConfiguration"] == {
        "Enabled": True,
        "Alarms": [{"Name": STAND_IN_IDS[alarm]} for alarm in RELEASE_ALARMS],
    }
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(
        group["AutoRollbackConfiguration"]["Events"]
    )
    assert group["ServiceRoleArn"] == stack.get_att("CodeDeployRole", "Arn")

    # CodeDeploy moves the alias the API invokes, after the hook, for this group.
    (alias_id,) = stack.of_type("AWS::Lambda::Alias")
    alias = stack.template["Resources"][alias_id]
    update = stack.resolve(alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"])
    assert update == {
        "ApplicationName": stack.ref(next(iter(stack.of_type("AWS::CodeDeploy::Application")))),
        "DeploymentGroupName": stack.ref(group_id),
        "BeforeAllowTrafficHook": STAND_IN_IDS["PreTrafficHook"],
    }
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [stack.version, "Version"]}
    integration = stack.resolve(stack.template["Resources"]["HttpApi"]["Properties"]["Body"])
    targets = {
        operation["x-amazon-apigateway-integration"]["uri"]
        for item in integration["paths"].values()
        for operation in item.values()
    }
    assert targets == {
        f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}:live/invocations"
    }


def test_the_release_alarms_watch_the_new_versions_errors_and_the_apis_5xx(
    environment: tuple[str, Transformed],
) -> None:
    _, stack = environment
    errors = stack.properties("ReleaseErrorsAlarm")
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    # The version being released, as invoked through the alias; not the old one.
    assert errors["Dimensions"] == [
        {"Name": "FunctionName", "Value": STAND_IN_IDS["ApiFunction"]},
        {"Name": "Resource", "Value": f"{STAND_IN_IDS['ApiFunction']}:live"},
        {"Name": "ExecutedVersion", "Value": NEW_VERSION},
    ]
    assert (errors["ComparisonOperator"], errors["Threshold"], errors["Period"]) == (
        "GreaterThanThreshold",
        0,
        60,
    )

    api = stack.properties("ReleaseApi5xxAlarm")
    metrics = {m["Id"]: m for m in api["Metrics"]}
    for metric_id, metric_name in (("errors", "5xx"), ("requests", "Count")):
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"] == {
            "Namespace": "AWS/ApiGateway",
            "MetricName": metric_name,
            "Dimensions": [
                {"Name": "ApiId", "Value": STAND_IN_IDS["HttpApi"]},
                {"Name": "Stage", "Value": stack.parameters["Stage"]},
            ],
        }
        assert (stat["Period"], stat["Stat"]) == (60, "Sum")
    assert [m["Id"] for m in api["Metrics"] if m["ReturnData"]] == ["rate"]
    assert (api["ComparisonOperator"], api["Threshold"]) == ("GreaterThanThreshold", 5)


def statements(stack: Transformed, role: str) -> list[dict[str, Any]]:
    props = stack.properties(role)
    return [s for policy in props.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def test_the_hook_may_only_invoke_the_new_version_and_report_its_status(
    environment: tuple[str, Transformed],
) -> None:
    _, stack = environment
    hook = stack.properties("PreTrafficHook")
    # CodeDeploy's role may invoke only functions named CodeDeployHook_*.
    assert hook["FunctionName"].startswith("CodeDeployHook_")
    assert len(hook["FunctionName"]) <= 64
    assert stack.properties("CodeDeployRole")["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited"
    ]
    # It checks the very version the alias is about to get.
    assert hook["Environment"]["Variables"]["NEW_VERSION_ARN"] == NEW_VERSION_ARN
    assert hook["Environment"]["Variables"]["API_STAGE"] == stack.parameters["Stage"]
    group = next(iter(stack.of_type("AWS::CodeDeploy::DeploymentGroup")))
    application = next(iter(stack.of_type("AWS::CodeDeploy::Application")))
    assert statements(stack, "PreTrafficHookRole") == [
        {
            "Sid": "InvokeTheNewVersion",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": NEW_VERSION_ARN,
        },
        {
            "Sid": "ReportToThisDeploymentGroup",
            "Effect": "Allow",
            "Action": "codedeploy:PutLifecycleEventHookExecutionStatus",
            "Resource": (
                "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:"
                f"{stack.ref(application)}/{stack.ref(group)}"
            ),
        },
    ]
    # Beyond those, only what every function gets: writing its own log (SAM's basic role).
    assert stack.properties("PreTrafficHookRole")["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    # The API function cannot invoke anything; the hook is the only one that can.
    assert not any("lambda:" in json.dumps(s["Action"]) for s in statements(stack, "ApiFunctionRole"))


def test_the_hook_ships_in_the_apis_artifact_with_its_own_handler() -> None:
    resources = load_template()["Resources"]
    api, hook = resources["ApiFunction"], resources["PreTrafficHook"]
    for key in ("CodeUri", "Runtime", "Architectures"):
        assert hook["Properties"][key] == api["Properties"][key], key
    assert hook["Metadata"]["BuildMethod"] == api["Metadata"]["BuildMethod"] == "makefile"
    module, _, function = hook["Properties"]["Handler"].rpartition(".")
    assert (TEMPLATE.parent / api["Properties"]["CodeUri"] / (module.replace(".", "/") + ".py")).is_file()
    assert function == "handler"
    # The hook's build target is the API's recipe (lambda-build.mk).
    assert "build-PreTrafficHook: build-ApiFunction" in (TEMPLATE.parent / "lambda-build.mk").read_text()


def test_sam_build_gives_the_hook_the_apis_artifact(sam_build: Callable[[str], Path]) -> None:
    """One artifact: the same files, the same sources and packages byte for byte, so the
    hook runs with the code it checks. (Bytecode is compiled once per build and marshal
    is not byte-reproducible, so .pyc files are compared by name only.)"""
    build = sam_build("arm64")

    def tree(root: Path) -> dict[str, str]:
        return {
            str(path.relative_to(root)): ""
            if path.suffix == ".pyc"
            else hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    api = tree(build / "ApiFunction")
    assert "app/aws_lambda/pretraffic.py" in api
    assert tree(build / "PreTrafficHook") == api
    # Live orders' three functions ship it too (lambda-build.mk), each its own handler.
    assert "app/aws_lambda/live_stream.py" in api
    for function in ("LiveAuthorizerFunction", "LiveSocketFunction", "LiveStreamFunction"):
        assert tree(build / function) == api, function


def widget_metrics(body: dict[str, Any]) -> dict[tuple[str, str], list[list[str]]]:
    """(namespace, metric) -> the dimension lists of every metric widget line."""
    found: dict[tuple[str, str], list[list[str]]] = {}
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            names = [part for part in line if isinstance(part, str)]
            found.setdefault((names[0], names[1]), []).append(names[2:])
    return found


def test_the_dashboard_is_json_and_shows_what_the_operator_needs() -> None:
    stack = Stack(load_template(), parameter_overrides(CONFIG["prod"]))
    body = json.loads(stack.properties("Dashboard")["DashboardBody"])
    metrics = widget_metrics(body)
    api = ["ApiId", STAND_IN_IDS["HttpApi"], "Stage", "prod"]
    for metric in ("Count", "4xx", "5xx", "Latency"):
        assert metrics[("AWS/ApiGateway", metric)][0] == api, metric
    latency = [w for w in body["widgets"] if w["properties"].get("title", "").startswith("Latency")]
    assert [line[-1]["stat"] for line in latency[0]["properties"]["metrics"]] == ["p50", "p99"]
    api_function = ["FunctionName", STAND_IN_IDS["ApiFunction"]]
    stream_function = ["FunctionName", STAND_IN_IDS["LiveStreamFunction"]]
    assert metrics[("AWS/Lambda", "Throttles")] == [api_function]
    assert metrics[("AWS/Lambda", "Errors")] == [api_function, stream_function]
    # Live orders: the WebSocket API's stage, the stream consumer and its failure queue.
    websocket = ["ApiId", STAND_IN_IDS["WebSocketApi"], "Stage", "prod"]
    for metric in ("ConnectCount", "MessageCount", "ExecutionError", "ClientError"):
        assert metrics[("AWS/ApiGateway", metric)] == [websocket], metric
    assert metrics[("AWS/Lambda", "IteratorAge")] == [stream_function]
    queue = STAND_IN_ATTRIBUTES[("LiveFailureQueue", "QueueName")]
    assert metrics[("AWS/SQS", "ApproximateNumberOfMessagesVisible")] == [["QueueName", queue]]
    assert "issue 24" not in json.dumps(body)
    table = ["TableName", STAND_IN_IDS["DataTable"]]
    index = [*table, "GlobalSecondaryIndexName", "GSI1"]  # the table's one index
    assert metrics[("AWS/DynamoDB", "ReadThrottleEvents")] == [table, index]
    assert metrics[("AWS/DynamoDB", "WriteThrottleEvents")] == [table, index]
    indexes = load_template()["Resources"]["DataTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == ["GSI1"]
    assert metrics[("ServerlessRestaurantApi", "Throttled")] == [["Stage", "prod"]]  # the app's EMF
    (cold_starts,) = [w for w in body["widgets"] if w["type"] == "log"]
    query = cold_starts["properties"]["query"]
    assert query.startswith(f"SOURCE '{STAND_IN_IDS['FunctionLogGroup']}' |")
    assert "@initDuration" in query
    (alarms,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert [a.rsplit(":", 1)[1] for a in alarms["properties"]["alarms"][:2]] == [
        STAND_IN_IDS[alarm] for alarm in RELEASE_ALARMS
    ]
    assert all(
        w["properties"]["region"] == "us-east-1" for w in body["widgets"] if w["type"] in ("metric", "log")
    )
    # No two widgets on the same cells of the 24-column grid.
    cells = [
        (w["x"] + dx, w["y"] + dy)
        for w in body["widgets"]
        for dx in range(w["width"])
        for dy in range(w["height"])
    ]
    assert len(cells) == len(set(cells))
    assert max(x for x, _ in cells) < 24
    assert stack.outputs()["DashboardUrl"].endswith(f"#dashboards/dashboard/{STAND_IN_IDS['Dashboard']}")


def test_the_twin_serves_the_api_function_and_never_starts_the_hook() -> None:
    """`make cloud` runs what the routes, the WebSocket API and the stream mapping invoke;
    the hook exists only in a cloud deployment."""
    from twin.stack import load_stack

    stack = load_stack("default")
    live = ["LiveAuthorizerFunction", "LiveSocketFunction", "LiveStreamFunction"]
    assert sorted(stack.functions) == ["ApiFunction", *live]
    assert {route.function for route in stack.routes} == {"ApiFunction"}
