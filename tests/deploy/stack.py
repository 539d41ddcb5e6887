"""The deploy tests' common ground: where the tools and the template are, how to run
SAM, and `Stack`, the template as CloudFormation would evaluate it for given parameters,
with stand-in ids for the resources CloudFormation would create. Fixtures that share
expensive work (sam build, the SAM transform) are in conftest.py.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.cfn import Evaluator

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
EVENT_FIXTURE = ROOT / "tests" / "lambda_events" / "fixtures" / "http-api-v2.json"

# The parameters that switch the stack from its own Cognito user pool to an external issuer.
EXTERNAL_AUTH = {"AuthIssuer": "https://issuer.example.test", "AuthAudience": "deploy-test"}
# The stack's own user pool needs the web client's redirect URL (no default).
OWN_POOL = {"AuthCallbackUrl": "https://app.example.test/callback"}
# The API's scopes, as routes declare them, and the Cognito resource server that issues them.
API_SCOPES = {"orders:read", "orders:write", "orders:admin", "menu:write"}
RESOURCE_SERVER_ID = "orders-api"


def find_python313() -> Path:
    """The interpreter the Lambda runtime matches, found as the Makefile finds it."""
    candidates = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    found = str(candidates[0]) if candidates else shutil.which("python3.13")
    if not found:
        pytest.fail("python3.13 not found (needed by sam build and as the stand-in Lambda runtime)")
    return Path(found)


PY313 = find_python313()


def tool_env(**extra: str) -> dict[str, str]:
    """This environment, minus what would leak into SAM's or make's own: an outer
    make's jobserver, a PYTHONPATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env["PATH"] = f"{PY313.parent}{os.pathsep}{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    env.update(extra)
    return env


def run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 240) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env or tool_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout + result.stderr


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: a short-form tag like !Ref x becomes {"Ref": x}."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def parameter_overrides(environment: dict[str, Any]) -> dict[str, str]:
    raw = environment["deploy"]["parameters"]["parameter_overrides"]
    items = raw if isinstance(raw, list) else raw.split()
    return dict(item.split("=", 1) for item in items)


# Pseudo parameters and stand-ins for the ids CloudFormation gives the resources
# (a Ref to a resource is its physical id).
PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "serverless-api-dev",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
STAND_IN_IDS = {
    "HttpApi": "abc123defg",
    "ApiFunction": "serverless-api-dev-ApiFunction-Ab12Cd34",
    "FunctionLogGroup": "serverless-api-dev-FunctionLogGroup-Ab12Cd34",
    "AccessLogGroup": "serverless-api-dev-AccessLogGroup-Ab12Cd34",
    "UserPool": "us-east-1_Te5tPoo1",
    "MachineClient": "1machineclient0000000000a",
    "WebClient": "2webclient000000000000000b",
    "DataTable": "serverless-api-dev-DataTable-1A2B3C4D5E6F",
    "AlarmTopic": "arn:aws:sns:us-east-1:123456789012:serverless-api-dev-AlarmTopic-Ab12Cd34",
    "AlarmEmailSubscription": "arn:aws:sns:us-east-1:123456789012:serverless-api-dev-AlarmTopic-Ab12Cd34:1",
    "MenuCachePolicy": "0a1b2c3d-0000-4000-8000-menucachepol",
    "Cdn": "E2TESTDISTRIBUTION",
    "ApiFunctionInvokePermission": "serverless-api-dev-ApiFunctionInvokePermission-Ab12Cd34",
    "WebBucket": "serverless-api-dev-webbucket-1a2b3c4d5e6f",
    "WebDistribution": "E3WEBDISTRIBUTION",
    "WebHeadersPolicy": "0a1b2c3d-0000-4000-8000-webheaderspol",
    "WebOriginAccessControl": "E4WEBOAC",
}
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{STAND_IN_IDS['DataTable']}"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{STAND_IN_IDS['ApiFunction']}"
# SAM's reference to the alias AutoPublishAlias creates, and that alias after the
# transform (Ref of an AWS::Lambda::Alias is its ARN).
STAND_IN_IDS["ApiFunction.Alias"] = STAND_IN_IDS["ApiFunctionAliaslive"] = f"{FUNCTION_ARN}:live"
# The version it publishes (Ref: its ARN; GetAtt Version: its number), and what SAM adds
# for the DeploymentPreference (Ref of a CodeDeploy application or group is its name).
NEW_VERSION = "7"
STAND_IN_IDS["ApiFunction.Version"] = f"{FUNCTION_ARN}:{NEW_VERSION}"
STAND_IN_IDS.update(
    PreTrafficHook="CodeDeployHook_serverless-api-dev-pre-traffic",
    PreTrafficHookLogGroup="serverless-api-dev-PreTrafficHookLogGroup-Ab12Cd34",
    **{
        alarm: f"serverless-api-dev-{alarm}-Ab12Cd34"
        for alarm in (
            "ReleaseErrorsAlarm",
            "ReleaseApi5xxAlarm",
            "Api5xxRateAlarm",
            "FunctionErrorsAlarm",
            "FunctionThrottlesAlarm",
            "FunctionDurationAlarm",
        )
    },
    Dashboard="serverless-api-dev-us-east-1",
    ServerlessDeploymentApplication="serverless-api-dev-ServerlessDeploymentApplication-Ab12Cd34",
    ApiFunctionDeploymentGroup="serverless-api-dev-ApiFunctionDeploymentGroup-Ab12Cd34",
)
CDN_DOMAIN = "d111111abcdef8.cloudfront.net"
WEB_DOMAIN = "d222222abcdef8.cloudfront.net"
STAND_IN_ATTRIBUTES = {
    ("DataTable", "Arn"): TABLE_ARN,
    ("ApiFunction", "Arn"): FUNCTION_ARN,
    ("ApiFunction", "Version.Version"): NEW_VERSION,  # SAM: the published version's number
    ("CodeDeployRole", "Arn"): "arn:aws:iam::123456789012:role/serverless-api-dev-CodeDeployRole-Ab12Cd34",
    ("Cdn", "DomainName"): CDN_DOMAIN,
    ("ApiDomain", "RegionalDomainName"): "d-abc123.execute-api.us-east-1.amazonaws.com",
    ("ApiDomain", "RegionalHostedZoneId"): "Z1UJRXOUMOOFQ8",
    ("WebDistribution", "DomainName"): WEB_DOMAIN,
    ("WebBucket", "Arn"): f"arn:aws:s3:::{STAND_IN_IDS['WebBucket']}",
    ("WebBucket", "RegionalDomainName"): f"{STAND_IN_IDS['WebBucket']}.s3.us-east-1.amazonaws.com",
    ("WebOriginAccessControl", "Id"): STAND_IN_IDS["WebOriginAccessControl"],
    ("WebRoutesFunction", "FunctionMetadata.FunctionARN"): (
        "arn:aws:cloudfront::123456789012:function/serverless-api-dev-web-routes"
    ),
}
# Live orders (issue 24): the WebSocket API, its connections table, queue and functions.
HERE_ARN = "arn:aws:{}:us-east-1:123456789012"
WEBSOCKET_API = "w5s0ck3t1d"
STAND_IN_IDS.update(
    WebSocketApi=WEBSOCKET_API,
    WebSocketAuthorizer="auth01",
    WebSocketSocketIntegration="integ01",
    WebSocketDeployment="deploy01",
    WebSocketPingRoute="route01",
    WebSocketDefaultRoute="route02",
    **{
        name: f"serverless-api-dev-{name}-Ab12Cd34"
        for name in (
            "ConnectionsTable",
            "LiveAuthorizerFunction",
            "LiveSocketFunction",
            "LiveStreamFunction",
            "LiveLogGroup",
            "WebSocketAccessLogGroup",
            "LiveFailureQueueDepthAlarm",
        )
    },
    LiveFailureQueue="https://sqs.us-east-1.amazonaws.com/123456789012/serverless-api-dev-LiveFailureQueue-Ab12Cd34",
)
CONNECTIONS_TABLE_ARN = f"{HERE_ARN.format('dynamodb')}:table/{STAND_IN_IDS['ConnectionsTable']}"
STAND_IN_ATTRIBUTES.update(
    {
        ("DataTable", "StreamArn"): f"{TABLE_ARN}/stream/2026-12-05T00:00:00.000",
        ("ConnectionsTable", "Arn"): CONNECTIONS_TABLE_ARN,
        ("LiveFailureQueue", "Arn"): f"{HERE_ARN.format('sqs')}:serverless-api-dev-LiveFailureQueue-Ab12Cd34",
        ("LiveFailureQueue", "QueueName"): "serverless-api-dev-LiveFailureQueue-Ab12Cd34",
        ("WebSocketAccessLogGroup", "Arn"): (
            f"arn:aws:logs:us-east-1:123456789012:log-group:{STAND_IN_IDS['WebSocketAccessLogGroup']}:*"
        ),
        **{
            (name, "Arn"): f"arn:aws:lambda:us-east-1:123456789012:function:{STAND_IN_IDS[name]}"
            for name in ("LiveAuthorizerFunction", "LiveSocketFunction", "LiveStreamFunction")
        },
    }
)


class Stack(Evaluator):
    """The template as CloudFormation would evaluate it for the given parameters
    (the twin's evaluator, twin/cfn.py), made strict for the deploy tests: every
    resource id and attribute a test reaches is a named stand-in, a Ref or GetAtt of
    a resource the stack does not create fails, conditions must be booleans, and the
    un-transformed template's ``Function.Alias`` resolves."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        super().__init__(template, PSEUDO_PARAMETERS["AWS::StackName"], overrides or {})
        self.pseudo = dict(PSEUDO_PARAMETERS)

    def condition(self, name: str) -> bool:
        value = self.evaluate(self.template["Conditions"][name])
        assert isinstance(value, bool), f"condition {name} is not a boolean"
        return value

    def ref(self, name: str) -> Any:
        if name not in self.template["Resources"] and not name.endswith((".Alias", ".Version")):
            return super().ref(name)  # parameters, pseudo parameters, AWS::NoValue
        if name.endswith((".Alias", ".Version")):  # SAM: AutoPublishAlias's alias and version
            function = name.rpartition(".")[0]
            assert "AutoPublishAlias" in self.template["Resources"][function]["Properties"], name
            return STAND_IN_IDS[name]
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        assert self.exists(name), f"Ref to {name}, which this stack does not create"
        assert name in STAND_IN_IDS, f"no stand-in id for {name}; add one to STAND_IN_IDS"
        return STAND_IN_IDS[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert self.exists(logical_id), f"GetAtt of {logical_id}, which this stack does not create"
        key = (logical_id, attribute)
        if attribute == "Arn" and self.template["Resources"][logical_id]["Type"] == "AWS::CloudWatch::Alarm":
            return f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{self.ref(logical_id)}"
        assert key in STAND_IN_ATTRIBUTES, f"no stand-in for {logical_id}.{attribute}; add one"
        return STAND_IN_ATTRIBUTES[key]

    def resolve(self, value: Any) -> Any:
        """A property value with every intrinsic function in it evaluated, and what
        evaluates to AWS::NoValue left out."""
        return self.evaluate(value)

    def properties(self, logical_id: str) -> dict[str, Any]:
        assert self.exists(logical_id), f"{logical_id} is not created by this stack"
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))

    def broken_rules(self) -> list[str]:
        """The AssertDescriptions of the template's Rules this stack would fail."""
        broken = []
        for rule in self.template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.evaluate(rule["RuleCondition"]):
                continue
            broken += [a["AssertDescription"] for a in rule["Assertions"] if not self.evaluate(a["Assert"])]
        return broken

    def function_environment(self) -> dict[str, str]:
        variables = self.template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
        return {name: str(self.evaluate(value)) for name, value in variables.items()}

    def outputs(self) -> dict[str, str]:
        return {
            name: str(self.evaluate(output["Value"]))
            for name, output in self.template["Outputs"].items()
            if "Condition" not in output or self.condition(output["Condition"])
        }


OPENAPI_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def routes(definition: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path) of every operation of an OpenAPI definition; ANY for API
    Gateway's any-method extension."""
    found = set()
    for path, item in definition["paths"].items():
        for key in item:
            if key == "x-amazon-apigateway-any-method":
                found.add(("ANY", path))
            elif key in OPENAPI_METHODS:
                found.add((key.upper(), path))
    return found


# Every option on, as parameter values and as a template whose defaults say so.
ALL_OPTIONS = {
    "EnableCdn": "true",
    "EnableSnapStart": "true",
    "EnableTracing": "true",
    "AlarmEmail": "ops@example.com",
}


def http_api_event(stage: str, path: str) -> dict[str, Any]:
    """The committed `sam local generate-event apigateway http-api-proxy` event, as
    the stack's HTTP API sends it for GET {path} through the greedy route."""
    event = copy.deepcopy(json.loads(EVENT_FIXTURE.read_text()))
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event.update(
        routeKey="ANY /{proxy+}",
        rawPath=raw_path,
        rawQueryString="",
        headers={
            "host": "abc123defg.execute-api.us-east-1.amazonaws.com",
            "user-agent": "deploy-test",
            "accept": "application/json",
            "x-forwarded-for": "203.0.113.9",
            "x-forwarded-proto": "https",
        },
        pathParameters={"proxy": path.lstrip("/")},
        isBase64Encoded=False,
    )
    for key in ("body", "cookies", "queryStringParameters", "stageVariables"):
        event.pop(key, None)
    context = event["requestContext"]
    context.pop("authorizer", None)  # the API has no gateway authorizer
    context.pop("authentication", None)  # nor mutual TLS
    context.update(
        routeKey="ANY /{proxy+}",
        stage=stage,
        domainName="abc123defg.execute-api.us-east-1.amazonaws.com",
        domainPrefix="abc123defg",
    )
    context["http"].update(method="GET", path=raw_path, sourceIp="203.0.113.9")
    return event
