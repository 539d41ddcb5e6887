"""The deploy package, for real: SAM validates the template, builds the artifact for
both architectures, and the x86_64 artifact, zipped the way `sam deploy` zips it,
answers an HTTP API event in a bare python3.13 that sees nothing but that artifact
and the standard library (as on Lambda, where /var/task is all there is).

The auth wiring (the stack's own Cognito user pool, or an external issuer) is
checked by evaluating the template's conditions, rules and substitutions for
both modes with stand-in ids for the resources CloudFormation would create.

The DynamoDB table is checked against the store module itself: its key schema,
index and TTL attribute are the module's constants, and the function's IAM policy
grants exactly the DynamoDB actions the module's cloud code path calls (read from
its syntax tree), in the template and in what the SAM transform makes of it.

The options (EnableCdn, EnableSnapStart, EnableTracing, AlarmEmail) are checked the
same way in both positions, against the app where the template mirrors it (the menu's
Cache-Control, the public prefix the app derives from the request), through the SAM
transform, and with cfn-lint on a copy of the template whose defaults are flipped
(cfn-lint only sees the defaults).

No Docker here, so no `sam local invoke`; the fresh interpreter stands in for it.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import tomllib
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard

import pytest
import yaml
from packaging.requirements import Requirement

from app.aws_lambda.stage import public_paths
from app.menu import router as menu_router
from app.store import dynamodb as store_module

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
EVENT_FIXTURE = ROOT / "tests" / "lambda_events" / "fixtures" / "http-api-v2.json"

HELLO = {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}
# ELF e_machine values (both targets are 64-bit little-endian).
ELF_MACHINE = {"x86_64": 62, "arm64": 183}
# The parameters that switch the stack from its own Cognito user pool to an external issuer.
EXTERNAL_AUTH = {"AuthIssuer": "https://issuer.example.test", "AuthAudience": "deploy-test"}
# The stack's own user pool needs the web client's redirect URL (no default).
OWN_POOL = {"AuthCallbackUrl": "https://app.example.test/callback"}
# The API's scopes, as routes declare them, and the Cognito resource server that issues them.
API_SCOPES = {"orders:read", "orders:write", "orders:admin", "menu:write"}
RESOURCE_SERVER_ID = "orders-api"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


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
CDN_DOMAIN = "d111111abcdef8.cloudfront.net"
WEB_DOMAIN = "d222222abcdef8.cloudfront.net"
STAND_IN_ATTRIBUTES = {
    ("DataTable", "Arn"): TABLE_ARN,
    ("ApiFunction", "Arn"): FUNCTION_ARN,
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
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


class _NoValue:
    """What Ref AWS::NoValue evaluates to: the property or list item is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Stack:
    """The template as CloudFormation would evaluate it for the given parameters:
    conditions, rules, Ref, Fn::GetAtt, Fn::If, Fn::Sub and the condition functions,
    no more.
    Anything else fails the test, so a new construct cannot be waved through."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        self.template = template
        unknown = set(overrides or {}) - set(template["Parameters"])
        assert not unknown, f"unknown parameters {unknown}"
        defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
        self.parameters = defaults | (overrides or {})

    def condition(self, name: str) -> bool:
        value = self.evaluate(self.template["Conditions"][name])
        assert isinstance(value, bool), f"condition {name} is not a boolean"
        return value

    def exists(self, logical_id: str) -> bool:
        resource = self.template["Resources"][logical_id]
        return "Condition" not in resource or self.condition(resource["Condition"])

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name.endswith(".Alias"):  # SAM: the alias of a function with AutoPublishAlias
            function = name.removesuffix(".Alias")
            assert "AutoPublishAlias" in self.template["Resources"][function]["Properties"], name
            return STAND_IN_IDS[name]
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        assert self.exists(name), f"Ref to {name}, which this stack does not create"
        assert name in STAND_IN_IDS, f"no stand-in id for {name}; add one to STAND_IN_IDS"
        return STAND_IN_IDS[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert self.exists(logical_id), f"GetAtt of {logical_id}, which this stack does not create"
        key = (logical_id, attribute)
        assert key in STAND_IN_ATTRIBUTES, f"no stand-in for {logical_id}.{attribute}; add one"
        return STAND_IN_ATTRIBUTES[key]

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1):  # ${!Literal} stands for ${Literal}
                return "${" + match.group(2) + "}"
            name = match.group(2)
            if name in variables:
                return str(self.evaluate(variables[name]))
            if name.endswith(".Alias"):
                return str(self.ref(name))
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, value: Any) -> Any:
        """A property value with every intrinsic function in it evaluated, and what
        evaluates to AWS::NoValue left out."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        (first,) = value if len(value) == 1 else ("",)
        if first in ("Ref", "Condition") or first.startswith("Fn::"):
            return self.resolve(self.evaluate(value))
        items = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def properties(self, logical_id: str) -> dict[str, Any]:
        assert self.exists(logical_id), f"{logical_id} is not created by this stack"
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))

    def evaluate(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.evaluate(item) for item in value]
        if not isinstance(value, dict):
            return value
        assert len(value) == 1, f"not an intrinsic function: {value!r}"
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            return self.get_att(logical_id, attribute)
        if function == "Fn::If":
            # A branch may be a plain value (a mapping, a list) as well as a function.
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(name) else when_false)
        if function == "Fn::Equals":
            left, right = self.evaluate(argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.evaluate(argument[0])
        if function == "Fn::And":
            return all(self.evaluate(argument))
        if function == "Fn::Or":
            return any(self.evaluate(argument))
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self.sub(text, variables)
        if function == "Fn::Split":
            separator, text = argument
            return str(self.evaluate(text)).split(separator)
        pytest.fail(f"the test cannot evaluate {function}; teach Stack.evaluate()")

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


def cognito_domain(stack: Stack) -> str:
    return str(stack.evaluate(stack.template["Resources"]["UserPoolDomain"]["Properties"]["Domain"]))


# --- the template and its configuration -------------------------------------------


def test_template_has_one_function_behind_one_http_api() -> None:
    template = load_template()
    resources = template["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    apis = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::HttpApi"}
    assert list(functions) == ["ApiFunction"]
    assert list(apis) == ["HttpApi"]

    function = functions["ApiFunction"]
    props = function["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Handler"] == "app.main.handler"
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    assert function["Metadata"]["BuildMethod"] == "makefile"

    # Every path and method, the root included, reaches the app as payload 2.0, through
    # the API's own definition (not function Events, which SAM would always point at
    # the alias; see test_api_invokes_the_function_or_with_snapstart_its_alias).
    assert "Events" not in props
    api = apis["HttpApi"]["Properties"]
    # ANY on both catches every method; the public routes and OPTIONS are routes of
    # their own only so that the gateway's authorizer can leave them out
    # (tests/deploy/test_gateway_authorizer.py).
    assert {("ANY", "/"), ("ANY", "/{proxy+}")} <= routes(api["DefinitionBody"])
    for path_item in api["DefinitionBody"]["paths"].values():
        for operation in path_item.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert integration["httpMethod"] == "POST"
            assert integration["payloadFormatVersion"] == "2.0"

    # The app answers CORS; a gateway CorsConfiguration would override its headers.
    assert "CorsConfiguration" not in api
    assert api["StageName"] == {"Ref": "Stage"}
    assert api["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
    }
    log_format = json.loads(api["AccessLogSettings"]["Format"])
    assert {"requestId", "ip", "method", "path", "status", "latency"} <= set(log_format)
    log_group = api["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert {"ApiUrl", "DocsUrl", "FunctionName"} <= set(template["Outputs"])


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


def test_samconfig_has_dev_and_prod_with_known_parameters() -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    parameters = set(load_template()["Parameters"])
    assert str(config["version"]) == "0.1"
    stacks = set()
    for name, stage in (("default", "dev"), ("prod", "prod")):
        env = config[name]
        assert env["validate"]["parameters"]["lint"] is True
        assert "build" in env
        deploy = env["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        assert deploy["confirm_changeset"] is True
        stacks.add(deploy["stack_name"])
        overrides = parameter_overrides(env)
        assert overrides["Stage"] == stage
        assert {"ThrottlingBurstLimit", "ThrottlingRateLimit"} <= set(overrides)
        assert set(overrides) <= parameters, f"[{name}] overrides unknown parameters"
        assert Stack(load_template(), overrides).broken_rules() == [], name
    assert len(stacks) == 2, "dev and prod must be different stacks"


@pytest.mark.parametrize("config_env", ["default", "prod"])
def test_sam_validate_lint(config_env: str) -> None:
    run([str(SAM), "validate", "--lint", "--template", str(TEMPLATE), "--config-env", config_env])


# --- auth: the stack's own Cognito user pool, or an external issuer -------------------

COGNITO = "AWS::Cognito::"


def cognito_resources(template: dict[str, Any], kind: str = "") -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"].startswith(COGNITO + kind)}


def test_cognito_resources_exist_only_without_an_external_issuer() -> None:
    template = load_template()
    assert template["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "AuthIssuer"}, ""]}
    assert template["Parameters"]["AuthIssuer"]["Default"] == ""
    resources = cognito_resources(template)
    assert sorted(r["Type"].removeprefix(COGNITO) for r in resources.values()) == [
        "UserPool",
        "UserPoolClient",
        "UserPoolClient",
        "UserPoolDomain",
        "UserPoolResourceServer",
    ]
    for logical_id, resource in resources.items():
        assert resource.get("Condition") == "CreateUserPool", logical_id

    own, external = Stack(template), Stack(template, EXTERNAL_AUTH)
    assert all(own.exists(logical_id) for logical_id in resources)
    assert not any(external.exists(logical_id) for logical_id in resources)
    # The app and its API exist in both modes.
    for stack in (own, external):
        assert stack.exists("ApiFunction")
        assert stack.exists("HttpApi")


def test_rules_allow_either_mode_and_refuse_half_configurations() -> None:
    template = load_template()
    assert Stack(template, OWN_POOL).broken_rules() == []
    assert Stack(template, EXTERNAL_AUTH).broken_rules() == []
    assert Stack(template, EXTERNAL_AUTH | {"AuthScopePrefix": "api://orders/"}).broken_rules() == []
    # An external issuer without an audience: the app would refuse to start.
    assert Stack(template, {"AuthIssuer": "https://issuer.example.test"}).broken_rules()
    # External-only settings next to the stack's own pool would be silently ignored.
    assert Stack(template, OWN_POOL | {"AuthAudience": "abc"}).broken_rules()
    assert Stack(template, OWN_POOL | {"AuthScopePrefix": "x/"}).broken_rules()


LOCAL_STAGE_REFUSED = (
    "Stage=local is a developer's machine, never a stack: choose another name (dev, prod, ...)."
)


def test_the_template_refuses_the_local_stage() -> None:
    """`local` is the stage of a developer's machine, where the app may default to the
    dev key file (issue 11, defect 5). A stack can never be deployed with it; the
    app's settings are the second wall (tests/unit/test_settings.py::
    test_the_dev_key_file_is_never_a_default_on_lambda)."""
    template = load_template()
    assert Stack(template, OWN_POOL | {"Stage": "local"}).broken_rules() == [LOCAL_STAGE_REFUSED]
    assert Stack(template, EXTERNAL_AUTH | {"Stage": "local"}).broken_rules() == [LOCAL_STAGE_REFUSED]
    for stage in ("dev", "prod", "staging", "local-test", "mylocal"):
        assert re.fullmatch(template["Parameters"]["Stage"]["AllowedPattern"], stage), stage
        assert Stack(template, OWN_POOL | {"Stage": stage}).broken_rules() == [], stage


def test_resource_server_has_exactly_the_four_scopes() -> None:
    template = load_template()
    (server,) = cognito_resources(template, "UserPoolResourceServer").values()
    props = server["Properties"]
    assert props["UserPoolId"] == {"Ref": "UserPool"}
    assert props["Identifier"] == RESOURCE_SERVER_ID
    names = [scope["ScopeName"] for scope in props["Scopes"]]
    assert sorted(names) == sorted(API_SCOPES)
    assert all(scope["ScopeDescription"] for scope in props["Scopes"])


def test_app_clients_split_machine_and_web_flows() -> None:
    """Cognito does not allow client_credentials on the same app client as the code
    (or implicit) grant, so there are two clients: a confidential one for services
    and a public one for people."""
    template = load_template()
    clients = cognito_resources(template, "UserPoolClient")
    assert set(clients) == {"MachineClient", "WebClient"}
    for logical_id, client in clients.items():
        props = client["Properties"]
        assert props["UserPoolId"] == {"Ref": "UserPool"}
        assert props["AllowedOAuthFlowsUserPoolClient"] is True
        flows = set(props["AllowedOAuthFlows"])
        assert not ("client_credentials" in flows and flows & {"code", "implicit"}), logical_id
        assert "implicit" not in flows, logical_id
        # Custom scopes must exist when the client is created, and be the API's own.
        assert client["DependsOn"] in ("ApiResourceServer", ["ApiResourceServer"]), logical_id
        custom = {s for s in props["AllowedOAuthScopes"] if "/" in s}
        assert {s.split("/", 1)[0] for s in custom} == {RESOURCE_SERVER_ID}, logical_id
        assert {s.split("/", 1)[1] for s in custom} <= API_SCOPES, logical_id

    machine = clients["MachineClient"]["Properties"]
    assert machine["AllowedOAuthFlows"] == ["client_credentials"]
    assert machine["GenerateSecret"] is True
    assert set(machine["AllowedOAuthScopes"]) == {f"{RESOURCE_SERVER_ID}/{s}" for s in API_SCOPES}

    web = clients["WebClient"]["Properties"]
    assert web["AllowedOAuthFlows"] == ["code"]
    assert web["GenerateSecret"] is False
    callback = OWN_POOL["AuthCallbackUrl"]
    callbacks = Stack(template, OWN_POOL).properties("WebClient")["CallbackURLs"]
    # The parameter's callback first; the web app's follows (tests/deploy/test_web.py).
    assert callbacks == [callback, f"https://{WEB_DOMAIN}/callback"]
    web_scopes = {s.split("/", 1)[1] for s in web["AllowedOAuthScopes"] if "/" in s}
    assert web_scopes == {"orders:read", "orders:write"}, "staff scopes only through the machine client"
    assert "openid" in web["AllowedOAuthScopes"]


CALLBACK_REQUIRED = "AuthCallbackUrl is required with the stack's user pool (the web client's redirect URL)."


def test_no_web_client_accepts_a_localhost_redirect_unless_an_environment_asks() -> None:
    """Issue 11, defect 6. A user pool client that accepts http://localhost as its redirect lets any local
    process receive sign-in codes for real accounts. The template has no callback
    default (with its own user pool one must be given), prod's is https, and only
    the dev environment names localhost, on purpose."""
    template = load_template()
    parameter = template["Parameters"]["AuthCallbackUrl"]
    assert parameter.get("Default", "") == ""
    for stage in ("dev", "prod"):
        stack = Stack(template, {"Stage": stage})
        assert stack.broken_rules() == [CALLBACK_REQUIRED], stage
        # Without the parameter, only the stack's own site: never a localhost default.
        assert stack.properties("WebClient")["CallbackURLs"] == [f"https://{WEB_DOMAIN}/callback"]
    assert Stack(template, EXTERNAL_AUTH | {"Stage": "prod"}).broken_rules() == []

    config = tomllib.loads(SAMCONFIG.read_text())
    prod = Stack(template, parameter_overrides(config["prod"]))
    assert prod.broken_rules() == []
    callbacks = prod.properties("WebClient")["CallbackURLs"]
    assert callbacks
    for url in callbacks:
        assert url.startswith("https://"), url
        assert not re.search(r"localhost|127\.0\.0\.1|\[::1\]", url), url
    dev = Stack(template, parameter_overrides(config["default"]))
    assert dev.properties("WebClient")["CallbackURLs"] == [
        "http://localhost:3000/callback",
        f"https://{WEB_DOMAIN}/callback",
    ]

    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("https://app.example.com/callback", "http://localhost:5173/callback", ""):
        assert pattern.fullmatch(good), good
    for bad in ("http://app.example.com/callback", "http://localhost.evil.example/cb", "javascript:x"):
        assert not pattern.fullmatch(bad), bad


def test_user_pool_domain_is_a_valid_unique_prefix() -> None:
    template = load_template()
    domain_pattern = re.compile(template["Parameters"]["AuthDomainPrefix"]["AllowedPattern"])
    derived = cognito_domain(Stack(template))
    assert derived == "serverless-api-dev-123456789012"
    assert domain_pattern.fullmatch(derived)
    assert not re.search("aws|amazon|cognito", derived), "reserved words in a Cognito domain prefix"
    assert cognito_domain(Stack(template, {"AuthDomainPrefix": "orders-auth"})) == "orders-auth"
    for bad in ("Orders", "-orders", "orders-", "a" * 64, "orders.auth"):
        assert not domain_pattern.fullmatch(bad), bad


def test_function_environment_wires_issuer_audience_and_scope_prefix() -> None:
    template = load_template()
    variables = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    for name, parameter in [
        ("APP_AUTH_ISSUER", "AuthIssuer"),
        ("APP_AUTH_AUDIENCE", "AuthAudience"),
        ("APP_AUTH_SCOPE_PREFIX", "AuthScopePrefix"),
    ]:
        condition, _, external = variables[name]["Fn::If"]
        assert condition == "CreateUserPool", name
        assert external == {"Ref": parameter}, name
    assert variables["APP_AUTH_TOKEN_USE"] == "access"
    # The app derives the JWKS from the issuer; a key file never applies in the cloud.
    assert "APP_AUTH_JWKS_URL" not in variables
    assert "APP_AUTH_JWKS_FILE" not in variables

    own = Stack(template).function_environment()
    assert own["APP_AUTH_ISSUER"] == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Te5tPoo1"
    # Cognito access tokens have no aud: the app matches client_id against both clients.
    assert own["APP_AUTH_AUDIENCE"].split(",") == [STAND_IN_IDS["MachineClient"], STAND_IN_IDS["WebClient"]]
    assert own["APP_AUTH_SCOPE_PREFIX"] == f"{RESOURCE_SERVER_ID}/"
    assert own["APP_AUTH_TOKEN_USE"] == "access"

    external = Stack(template, EXTERNAL_AUTH | {"AuthScopePrefix": "api://orders/"}).function_environment()
    assert external["APP_AUTH_ISSUER"] == EXTERNAL_AUTH["AuthIssuer"]
    assert external["APP_AUTH_AUDIENCE"] == EXTERNAL_AUTH["AuthAudience"]
    assert external["APP_AUTH_SCOPE_PREFIX"] == "api://orders/"


def test_api_has_no_gateway_cors() -> None:
    """The app answers CORS; API Gateway does not (its authorizer is the subject of
    tests/deploy/test_gateway_authorizer.py)."""
    template = load_template()
    api = template["Resources"]["HttpApi"]["Properties"]
    assert "CorsConfiguration" not in api
    assert "Auth" not in api  # the authorizer is in the definition, conditional on GatewayAuthorizer
    assert "Events" not in template["Resources"]["ApiFunction"]["Properties"]
    assert '"x-amazon-apigateway-cors"' not in json.dumps(api["DefinitionBody"])


def test_outputs_tell_how_to_get_a_token_in_both_modes() -> None:
    template = load_template()
    outputs = template["Outputs"]
    everywhere = {
        "ApiUrl",
        "DocsUrl",
        "FunctionName",
        "AuthIssuer",
        "AuthAudience",
        "AuthScopes",
        "AuthTokenEndpoint",
    }
    cognito_only = {
        "UserPoolId",
        "MachineClientId",
        "WebClientId",
        "AuthAuthorizeEndpoint",
        "AuthClientSecretCommand",
        "AuthTokenCurlExample",
    }
    assert everywhere | cognito_only <= set(outputs)
    for name in everywhere:
        assert "Condition" not in outputs[name], name
    for name in cognito_only:
        assert outputs[name]["Condition"] == "CreateUserPool", name
    for name, output in outputs.items():
        assert output.get("Description"), name
    # Outputs (and environment variables) are readable by whoever can describe the
    # stack or the function: the template never reads the client secret at all.
    text = json.dumps(template)
    assert not re.search(r'"Fn::GetAtt": \["\w+", "ClientSecret"\]|\.ClientSecret\}', text)

    own = Stack(template)
    values = own.outputs()
    machine, web, pool = STAND_IN_IDS["MachineClient"], STAND_IN_IDS["WebClient"], STAND_IN_IDS["UserPool"]
    env = own.function_environment()
    assert values["ApiUrl"] == "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev"
    assert values["AuthIssuer"] == env["APP_AUTH_ISSUER"]
    assert values["AuthAudience"] == env["APP_AUTH_AUDIENCE"]
    assert set(values["AuthScopes"].split()) == {f"{RESOURCE_SERVER_ID}/{s}" for s in API_SCOPES}
    base = f"https://{cognito_domain(own)}.auth.us-east-1.amazoncognito.com/oauth2"
    assert values["AuthTokenEndpoint"] == f"{base}/token"
    assert values["AuthAuthorizeEndpoint"] == f"{base}/authorize"
    assert (values["UserPoolId"], values["MachineClientId"], values["WebClientId"]) == (pool, machine, web)
    secret_command = values["AuthClientSecretCommand"].split()
    assert secret_command[:3] == ["aws", "cognito-idp", "describe-user-pool-client"]
    for flag, value in [
        ("--user-pool-id", pool),
        ("--client-id", machine),
        ("--query", "UserPoolClient.ClientSecret"),
        ("--region", "us-east-1"),
    ]:
        assert secret_command[secret_command.index(flag) + 1] == value, flag
    curl = values["AuthTokenCurlExample"]
    assert curl.startswith("curl ")
    assert f'-u "{machine}:$CLIENT_SECRET"' in curl
    assert "grant_type=client_credentials" in curl
    assert curl.endswith(f" {base}/token")
    requested = re.search(r'"scope=([^"]*)"', curl)
    assert requested
    assert set(requested.group(1).split()) <= {f"{RESOURCE_SERVER_ID}/{s}" for s in API_SCOPES}

    # With an external issuer the outputs resolve without any Cognito resource
    # (Stack.ref fails on a Ref to a resource that is not created).
    external = Stack(template, EXTERNAL_AUTH).outputs()
    assert not cognito_only & set(external)
    assert external["AuthIssuer"] == EXTERNAL_AUTH["AuthIssuer"]
    assert external["AuthAudience"] == EXTERNAL_AUTH["AuthAudience"]
    assert EXTERNAL_AUTH["AuthIssuer"] in external["AuthTokenEndpoint"]
    assert "amazoncognito" not in json.dumps(external)


# --- data: the table, and the function's access to it ---------------------------------

STORE_MODULE = ROOT / "src" / "app" / "store" / "dynamodb.py"
# The store's table set-up (CreateTable, DescribeTable, the TTL calls): it runs only
# against a local DynamoDB-compatible endpoint, where no IAM applies.
LOCAL_SETUP = "ensure_table"
# Client methods that send no request.
NO_REQUEST = {"close"}
# TransactWriteItems has no IAM action: each part needs its single-item action.
TRANSACT_WRITE_PARTS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _is_store_client(node: ast.AST) -> TypeGuard[ast.Attribute]:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "_client"
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def store_client_calls() -> list[tuple[str, str, ast.Call]]:
    """(client method, enclosing function, call) for every `self._client.<method>(...)`
    in the store module. Any other use of the client (an alias, passing it on) fails:
    its calls could not be seen here."""
    tree = ast.parse(STORE_MODULE.read_text())
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    calls = []
    for node in ast.walk(tree):
        if not _is_store_client(node):
            continue
        parent = parents[node]
        function = parent
        while not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            function = parents[function]
        assigned = (isinstance(parent, ast.Assign) and node in parent.targets) or (
            isinstance(parent, ast.AnnAssign) and node is parent.target
        )
        if assigned and function.name == "__init__":
            continue  # self._client = client
        call = parents.get(parent)
        if not (isinstance(parent, ast.Attribute) and isinstance(call, ast.Call) and call.func is parent):
            pytest.fail(
                f"{STORE_MODULE.name}:{node.lineno}: self._client used other than as "
                f"self._client.<method>(...); this test cannot see what it calls"
            )
        calls.append((parent.attr, function.name, call))
    return calls


def transact_write_actions(call: ast.Call) -> set[str]:
    (items,) = [k.value for k in call.keywords if k.arg == "TransactItems"]
    assert isinstance(items, ast.List), f"line {call.lineno}: TransactItems is not a literal list"
    actions = set()
    for item in items.elts:
        assert isinstance(item, ast.Dict), f"line {call.lineno}: a TransactItems entry is not a literal dict"
        for key in item.keys:
            assert isinstance(key, ast.Constant), f"line {call.lineno}: a TransactItems key is not literal"
            assert key.value in TRANSACT_WRITE_PARTS, f"line {call.lineno}: unknown part {key.value!r}"
            actions.add(TRANSACT_WRITE_PARTS[key.value])
    return actions


def cloud_dynamodb_actions() -> set[str]:
    """The IAM actions of every client call outside the local-only table set-up:
    get_item -> dynamodb:GetItem, and a transaction -> the actions of its parts."""
    actions = set()
    for method, function, call in store_client_calls():
        if function == LOCAL_SETUP or method in NO_REQUEST:
            continue
        if method == "transact_write_items":
            actions |= transact_write_actions(call)
        elif method in {"transact_get_items", "execute_transaction", "get_waiter", "get_paginator"}:
            pytest.fail(f"line {call.lineno}: map {method} to its IAM actions in this test")
        else:
            actions.add("dynamodb:" + "".join(part.capitalize() for part in method.split("_")))
    return actions


def data_table(template: dict[str, Any]) -> dict[str, Any]:
    tables = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert list(tables) == ["DataTable"]
    return tables["DataTable"]


def function_policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = template["Resources"]["ApiFunction"]["Properties"]["Policies"]
    assert all(isinstance(policy, dict) and "Statement" in policy for policy in policies), (
        "only inline policy documents: a named policy or a SAM policy template grants more than it says"
    )
    return [statement for policy in policies for statement in policy["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_table_is_the_store_modules_table() -> None:
    """Keys, index, billing and TTL come from the module's own constants (the ones
    its ensure_table creates locally), so template and code cannot drift apart."""
    table = data_table(load_template())
    props = table["Properties"]
    assert props["KeySchema"] == store_module.KEY_SCHEMA
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(
        store_module.ATTRIBUTE_DEFINITIONS, key=str
    )
    assert props["GlobalSecondaryIndexes"] == store_module.GLOBAL_SECONDARY_INDEXES
    assert props["BillingMode"] == store_module.BILLING_MODE == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert "LocalSecondaryIndexes" not in props
    assert props["TimeToLiveSpecification"] == {"AttributeName": store_module.TTL_ATTRIBUTE, "Enabled": True}
    assert store_module.TTL_ATTRIBUTE == "expires_at"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    # A fixed name would make CloudFormation unable to replace the table.
    assert "TableName" not in props
    # CloudFormation refuses attribute definitions that no key uses.
    key_attributes = {k["AttributeName"] for k in props["KeySchema"]} | {
        k["AttributeName"] for index in props["GlobalSecondaryIndexes"] for k in index["KeySchema"]
    }
    assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == key_attributes


def test_table_survives_stack_deletion_and_is_protected_in_prod() -> None:
    template = load_template()
    table = data_table(template)
    # Literals, in every stage (template.yaml says why not Fn::If).
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    protection = table["Properties"]["DeletionProtectionEnabled"]
    config = tomllib.loads(SAMCONFIG.read_text())
    for name, expected in (("default", False), ("prod", True)):
        stack = Stack(template, parameter_overrides(config[name]))
        assert stack.evaluate(protection) is expected, name
    assert Stack(template).evaluate(protection) is False  # the template's default stage is dev


def test_function_reaches_the_table_through_its_environment() -> None:
    template = load_template()
    env = Stack(template).function_environment()
    assert env["APP_STORE"] == "dynamodb"
    assert env["APP_DYNAMODB_TABLE"] == STAND_IN_IDS["DataTable"]
    # In the cloud: the regional endpoint, and the app never creates the table.
    assert "APP_DYNAMODB_ENDPOINT_URL" not in env
    assert "APP_SQLITE_PATH" not in env
    # The same in both auth modes.
    assert (
        Stack(template, EXTERNAL_AUTH).function_environment()["APP_DYNAMODB_TABLE"]
        == env["APP_DYNAMODB_TABLE"]
    )
    outputs = Stack(template).outputs()
    assert outputs["TableName"] == env["APP_DYNAMODB_TABLE"]


def test_the_table_is_set_up_by_the_app_only_against_a_local_endpoint() -> None:
    """What the IAM policy leaves out (CreateTable, DescribeTable, UpdateTimeToLive)
    runs only in ensure_table, and the app calls ensure_table only with an endpoint
    URL, which the template never sets."""
    local = {method for method, function, _ in store_client_calls() if function == LOCAL_SETUP}
    assert "create_table" in local
    for path in (ROOT / "src" / "app").rglob("*.py"):
        tree = ast.parse(path.read_text())
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == LOCAL_SETUP
            ):
                continue
            guards = []
            ancestor = parents.get(node)
            while ancestor is not None:
                if isinstance(ancestor, ast.If):
                    guards.append(ast.unparse(ancestor.test))
                ancestor = parents.get(ancestor)
            assert any("endpoint_url" in guard for guard in guards), (
                f"{path.relative_to(ROOT)}:{node.lineno}: {LOCAL_SETUP}() outside an endpoint-URL branch"
            )


def test_function_may_call_exactly_what_the_store_calls() -> None:
    expected = cloud_dynamodb_actions()
    # The derivation found the store's calls (a broken walk would find nothing).
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} <= expected
    template = load_template()
    props = template["Resources"]["ApiFunction"]["Properties"]
    statements = function_policy_statements(template)
    stack = Stack(template)
    indexes = [index["IndexName"] for index in store_module.GLOBAL_SECONDARY_INDEXES]

    granted: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, "no NotAction/NotResource"
        for resource in as_list(statement["Resource"]):
            granted.setdefault(stack.evaluate(resource), set()).update(as_list(statement["Action"]))
    # The table: exactly the store's calls. Its index: Query only, and only the
    # indexes the store has (an index ARN is not covered by the table's).
    assert granted.pop(TABLE_ARN) == expected
    assert granted == {f"{TABLE_ARN}/index/{name}": {"dynamodb:Query"} for name in indexes}
    assert "dynamodb:Query" in expected
    # Nothing broad anywhere in the template: no wildcards, no Scan, no SAM
    # policy templates that bring their own action lists.
    text = json.dumps(template)
    assert not re.search(r'"dynamodb:[^"]*\*', text)
    assert "dynamodb:Scan" not in text
    assert not re.search(r"DynamoDB\w*Policy", text)
    assert "Role" not in props, "the function's role is SAM's, made from Policies"
    assert "scan" not in {method for method, _, _ in store_client_calls()}


# SAM's transform, run with SAM's own translator on the template as `sam package`
# leaves it, with the given parameter values (the transform resolves a few of them
# itself, e.g. a Ref in AutoPublishAlias; everything else stays for CloudFormation).
TRANSFORM = (
    "import json, sys\n"
    "from samtranslator.translator.transform import transform\n"
    "from samtranslator.yaml_helper import yaml_parse\n"
    "class NoManagedPolicies:\n"
    "    def load(self):\n"
    "        return {}\n"
    "template = yaml_parse(open(sys.argv[1]).read())\n"
    "template['Resources']['ApiFunction']['Properties']['CodeUri'] = 's3://bucket/key'\n"
    "parameters = json.loads(sys.argv[3])\n"
    "json.dump(transform(template, parameters, NoManagedPolicies()), open(sys.argv[2], 'w'))\n"
)
# Every option on, as parameter values and as a template whose defaults say so.
ALL_OPTIONS = {
    "EnableCdn": "true",
    "EnableSnapStart": "true",
    "EnableTracing": "true",
    "AlarmEmail": "ops@example.com",
}


@pytest.fixture(scope="module")
def sam_transform(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, str]], dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}

    def transformed(parameters: dict[str, str]) -> dict[str, Any]:
        key = json.dumps(parameters, sort_keys=True)
        if key not in results:
            out = tmp_path_factory.mktemp("transformed") / "template.json"
            run(
                [str(SAM_PYTHON), "-c", TRANSFORM, str(TEMPLATE), str(out), key],
                env=tool_env(AWS_DEFAULT_REGION="us-east-1"),
                timeout=60,
            )
            results[key] = json.loads(out.read_text())
        return results[key]

    return transformed


# SAM adds this managed policy whenever Tracing is set to anything but a literal
# "Disabled"; with Tracing: !If [...] that is in both modes (template.yaml says why).
XRAY_WRITE_ONLY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"


@pytest.mark.parametrize("options", [{}, ALL_OPTIONS], ids=["defaults", "all-options"])
def test_transformed_template_grants_only_that(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]], options: dict[str, str]
) -> None:
    """What CloudFormation deploys after the SAM transform: one role, the basic
    execution policy for logs, X-Ray's write-only policy, and the statements above; no
    other DynamoDB action anywhere. The same with every option on."""
    transformed = sam_transform(options)
    iam = {k: v for k, v in transformed["Resources"].items() if v["Type"].startswith("AWS::IAM::")}
    assert list(iam) == ["ApiFunctionRole"]
    role = iam["ApiFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [BASIC_EXECUTION_ROLE, XRAY_WRITE_ONLY]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == function_policy_statements(load_template())
    text = json.dumps(transformed)
    assert set(re.findall(r'"(dynamodb:[^"]*)"', text)) == cloud_dynamodb_actions()
    table = transformed["Resources"]["DataTable"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


# --- the API's target: the function, or with SnapStart its alias ----------------------

ALIAS = "live"


def integration_targets(stack: Stack) -> set[str]:
    """The Lambda ARN in every route's integration URI, as the stack evaluates it."""
    body = stack.resolve(stack.template["Resources"]["HttpApi"]["Properties"]["DefinitionBody"])
    found = set()
    for item in body["paths"].values():
        for operation in item.values():
            uri = operation["x-amazon-apigateway-integration"]["uri"]
            match = re.fullmatch(
                r"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/(.+)/invocations", uri
            )
            assert match, uri
            found.add(match.group(1))
    return found


def test_snapstart_is_a_parameter_off_by_default() -> None:
    template = load_template()
    parameter = template["Parameters"]["EnableSnapStart"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("false", ["false", "true"])
    props = template["Resources"]["ApiFunction"]["Properties"]
    # Python SnapStart needs python3.12 or later.
    major, minor = map(int, props["Runtime"].removeprefix("python").split("."))
    assert (major, minor) >= (3, 12)
    # SnapStart applies to published versions only: SAM publishes one per change and
    # keeps only the current one (old versions would keep their snapshots, and their
    # cache charges, alive).
    assert props["AutoPublishAlias"] == ALIAS
    assert props["AutoPublishAliasAllProperties"] is True
    assert props["VersionDeletionPolicy"] == "Delete"

    off = Stack(template).properties("ApiFunction")
    on = Stack(template, {"EnableSnapStart": "true"}).properties("ApiFunction")
    assert off["SnapStart"] == {"ApplyOn": "None"}
    assert on["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "VersionDescription" not in off
    assert on["VersionDescription"]
    # Nothing else about the function changes.
    for props in (off, on):
        del props["SnapStart"]
        props.pop("VersionDescription", None)
    assert off == on


def test_api_invokes_the_function_or_with_snapstart_its_alias() -> None:
    """Without SnapStart the API invokes the unqualified function, as before; with it,
    the alias, since only a published version restores from the snapshot. The one
    invoke permission follows, for this API's stage only."""
    template = load_template()
    for options, target in (
        ({}, FUNCTION_ARN),
        ({"EnableSnapStart": "true"}, STAND_IN_IDS["ApiFunction.Alias"]),
    ):
        stack = Stack(template, options)
        assert integration_targets(stack) == {target}, options
        permissions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Permission"]
        assert permissions == ["ApiFunctionInvokePermission"]
        permission = stack.properties("ApiFunctionInvokePermission")
        assert permission == {
            "Action": "lambda:InvokeFunction",
            "FunctionName": target,
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": f"arn:aws:execute-api:us-east-1:123456789012:{STAND_IN_IDS['HttpApi']}/dev/*",
        }


def test_transform_wires_the_alias_and_nothing_else(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    """After SAM's transform: one version (deleted when replaced) and the alias; the
    routes and the permission are the template's own, pointing at the function or
    the alias by the same condition."""
    for options, target in (({}, FUNCTION_ARN), (ALL_OPTIONS, STAND_IN_IDS["ApiFunctionAliaslive"])):
        transformed = sam_transform(options)
        resources = transformed["Resources"]
        versions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Version"}
        ((version_id, version),) = versions.items()
        assert version["DeletionPolicy"] == "Delete"
        aliases = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Alias"}
        assert list(aliases) == [f"ApiFunctionAlias{ALIAS}"]
        assert aliases[f"ApiFunctionAlias{ALIAS}"]["Properties"]["FunctionVersion"] == {
            "Fn::GetAtt": [version_id, "Version"]
        }
        assert [k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Permission"] == [
            "ApiFunctionInvokePermission"
        ]
        stack = Stack(transformed, options)
        body = resources["HttpApi"]["Properties"]["Body"]
        assert {("ANY", "/"), ("ANY", "/{proxy+}")} <= routes(body)
        uris = {
            str(stack.evaluate(operation["x-amazon-apigateway-integration"]["uri"]))
            for item in body["paths"].values()
            for operation in item.values()
        }
        assert uris == {f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{target}/invocations"}
        assert (
            stack.evaluate(resources["ApiFunctionInvokePermission"]["Properties"]["FunctionName"]) == target
        )
        snap_start = stack.resolve(resources["ApiFunction"]["Properties"]["SnapStart"])
        assert snap_start == {"ApplyOn": "PublishedVersions" if options else "None"}


def parameters_used(template: dict[str, Any], value: Any) -> set[str]:
    """The parameters a value depends on: through Ref, Fn::Sub and conditions."""
    parameters = template["Parameters"]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, item in node.items():
                if key == "Ref" and item in parameters:
                    found.add(item)
                elif key == "Fn::Sub":
                    text, variables = (item, {}) if isinstance(item, str) else item
                    found.update(
                        n for _, n in _SUB_VARIABLE.findall(text) if n in parameters and n not in variables
                    )
                    walk(variables)
                elif key == "Fn::If":
                    walk(template["Conditions"][item[0]])
                    walk(item[1:])
                elif key == "Condition" and isinstance(item, str):
                    walk(template["Conditions"][item])
                else:
                    walk(item)

    walk(value)
    return found


def test_with_snapstart_every_parameter_change_publishes_a_version() -> None:
    """SAM hashes the function's properties as written, not the parameter values in
    them, so a change of LogLevel alone would publish no version and the alias would
    keep the old configuration. With SnapStart, the version's description carries
    every parameter the function depends on: a change replaces the version. Its 256
    characters must hold the configurations in samconfig.toml."""
    template = load_template()
    props = template["Resources"]["ApiFunction"]["Properties"]
    depends_on = parameters_used(template, {k: v for k, v in props.items() if k != "VersionDescription"})
    assert {
        "Stage",
        "MemorySize",
        "LogLevel",
        "CorsAllowOrigins",
        "AuthIssuer",
        "EnableTracing",
    } <= depends_on
    condition, fingerprint, otherwise = props["VersionDescription"]["Fn::If"]
    assert condition == "SnapStartEnabled"
    assert otherwise == {"Ref": "AWS::NoValue"}
    # EnableSnapStart itself: the description appears (a replacement) when it turns on.
    assert parameters_used(template, fingerprint) == depends_on - {"EnableSnapStart"}

    config = tomllib.loads(SAMCONFIG.read_text())
    for name in ("default", "prod"):
        for extra in ({}, EXTERNAL_AUTH | {"AuthScopePrefix": "api://orders/"}):
            overrides = parameter_overrides(config[name]) | extra | {"EnableSnapStart": "true"}
            description = Stack(template, overrides).properties("ApiFunction")["VersionDescription"]
            assert len(description) <= 256, (name, description)


def test_tracing_is_a_parameter_off_by_default() -> None:
    template = load_template()
    parameter = template["Parameters"]["EnableTracing"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("false", ["false", "true"])
    off, on = Stack(template), Stack(template, {"EnableTracing": "true"})
    assert off.properties("ApiFunction")["Tracing"] == "PassThrough"
    assert on.properties("ApiFunction")["Tracing"] == "Active"
    # The function's environment is the same either way.
    assert off.function_environment() == on.function_environment()


# --- the optional edge cache -------------------------------------------------------------

CLOUDFRONT = "AWS::CloudFront::"
# AWS managed policies, by the ids CloudFront documents for CloudFormation.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
# The statuses CloudFront caches by default (for 10 seconds) when the origin says nothing.
CACHED_ERROR_STATUSES = {400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
API_HOST = f"{STAND_IN_IDS['HttpApi']}.execute-api.us-east-1.amazonaws.com"


def cloudfront_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The API's optional edge cache; the web app's own distribution (Web*) is tests/deploy/test_web.py's."""
    return {
        k: v
        for k, v in template["Resources"].items()
        if v["Type"].startswith(CLOUDFRONT) and not k.startswith("Web")
    }


def menu_max_age() -> int:
    match = re.search(r"\bmax-age=(\d+)", menu_router.PUBLIC_CACHE)
    assert match, menu_router.PUBLIC_CACHE
    assert "public" in menu_router.PUBLIC_CACHE
    return int(match.group(1))


def behaviour_for(config: dict[str, Any], path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks for a viewer path: the first path pattern
    that matches (* any characters, ? one), else the default."""
    for behaviour in config.get("CacheBehaviors", []):
        if fnmatch.fnmatchcase(path, "/" + behaviour["PathPattern"].lstrip("/")):
            return behaviour
    return config["DefaultCacheBehavior"]


def test_cdn_is_off_by_default() -> None:
    template = load_template()
    parameter = template["Parameters"]["EnableCdn"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("false", ["false", "true"])
    resources = cloudfront_resources(template)
    assert {r["Type"] for r in resources.values()} == {
        f"{CLOUDFRONT}Distribution",
        f"{CLOUDFRONT}CachePolicy",
    }
    stack = Stack(template)
    assert not any(stack.exists(logical_id) for logical_id in resources)
    assert not {"CdnUrl", "CdnDistributionId"} & set(stack.outputs())


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdn_caches_public_menu_reads_and_passes_everything_else_through(stage: str) -> None:
    template = load_template()
    stack = Stack(template, {"EnableCdn": "true", "Stage": stage})
    assert all(stack.exists(logical_id) for logical_id in cloudfront_resources(template))
    config = stack.properties("Cdn")["DistributionConfig"]
    assert config["Enabled"] is True

    # One origin, the API, over HTTPS only; no OriginPath (see the next test).
    (origin,) = config["Origins"]
    assert origin["DomainName"] == API_HOST
    assert "OriginPath" not in origin
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]

    behaviours = [*config["CacheBehaviors"], config["DefaultCacheBehavior"]]
    assert len(behaviours) == 2
    for behaviour in behaviours:
        assert behaviour["TargetOriginId"] == origin["Id"]
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        # Writes and CORS preflights pass everywhere; only GET and HEAD may be cached.
        assert set(behaviour["AllowedMethods"]) == ALL_METHODS
        assert set(behaviour["CachedMethods"]) == {"GET", "HEAD"}
        # Every viewer header but Host reaches the API (Origin, Access-Control-Request-*,
        # Content-Type, If-Match...); API Gateway must see its own host name.
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert "ForwardedValues" not in behaviour  # legacy settings

    # The menu: the collection and every item, nothing else.
    menu = behaviour_for(config, f"/{stage}/menu")
    assert menu is config["CacheBehaviors"][0]
    assert behaviour_for(config, f"/{stage}/menu/pizza-margherita") is menu
    for path in (f"/{stage}/orders", f"/{stage}/orders/abc", f"/{stage}/hello", f"/{stage}/docs", "/menu"):
        assert behaviour_for(config, path) is config["DefaultCacheBehavior"], path
    assert menu["CachePolicyId"] == STAND_IN_IDS["MenuCachePolicy"]
    assert menu["Compress"] is True
    policy = stack.properties("MenuCachePolicy")["CachePolicyConfig"]
    # Only what the app marks cacheable is cached (DefaultTTL 0: no Cache-Control, no
    # cache; MinTTL 0: private/no-store are honoured), for as long as it says, capped.
    assert policy["MinTTL"] == 0
    assert policy["DefaultTTL"] == 0
    assert menu_max_age() <= policy["MaxTTL"] <= 3600
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    # Origin because the app's CORS headers depend on it (Vary: Origin); Authorization
    # because the menu's writes need their token at the origin (see the next test).
    assert key["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    assert sorted(key["HeadersConfig"]["Headers"]) == ["Authorization", "Origin"]
    assert key["EnableAcceptEncodingGzip"] is True
    assert key["EnableAcceptEncodingBrotli"] is True

    # Everything else: not cached; with caching disabled the origin request policy
    # also forwards Authorization.
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == CACHING_DISABLED
    assert "PathPattern" not in default

    # No error is cached (CloudFront would keep a 404 or a 503 for 10 seconds).
    errors = {e["ErrorCode"]: e for e in config["CustomErrorResponses"]}
    assert set(errors) == CACHED_ERROR_STATUSES
    assert all(e == {"ErrorCode": code, "ErrorCachingMinTTL": 0} for code, e in errors.items())

    outputs = stack.outputs()
    assert outputs["CdnUrl"] == f"https://{CDN_DOMAIN}/{stage}"
    assert outputs["CdnDistributionId"] == STAND_IN_IDS["Cdn"]
    assert template["Outputs"]["CdnUrl"]["Condition"] == template["Resources"]["Cdn"]["Condition"]


WRITE_METHODS = {"PUT", "PATCH", "POST", "DELETE"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_writes_through_the_cdn_keep_their_token(stage: str) -> None:
    """Issue 11, defect 8. CloudFront forwards the viewer's Authorization header to the
    origin only when the behaviour's cache policy puts it in the cache key; an origin
    request policy cannot name it, and the managed AllViewer* policies forward it only
    with caching disabled (AWS, "Configure CloudFront to forward the Authorization
    header", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
    add-origin-custom-headers.html#add-origin-custom-headers-forward-authorization).
    So every behaviour that passes writes (PUT /menu/{id} needs menu:write) either
    does not cache or names Authorization in its cache key. Anonymous reads carry no
    Authorization, so they still share one cache entry."""
    template = load_template()
    stack = Stack(template, {"EnableCdn": "true", "Stage": stage})
    config = stack.properties("Cdn")["DistributionConfig"]
    policies = {
        STAND_IN_IDS[logical_id]: stack.properties(logical_id)["CachePolicyConfig"]
        for logical_id, resource in cloudfront_resources(template).items()
        if resource["Type"] == f"{CLOUDFRONT}CachePolicy"
    }
    for path in (f"/{stage}/menu", f"/{stage}/menu/margherita", f"/{stage}/orders"):
        behaviour = behaviour_for(config, path)
        assert set(behaviour["AllowedMethods"]) >= WRITE_METHODS, path
        if behaviour["CachePolicyId"] == CACHING_DISABLED:
            assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER, path
            continue
        headers = policies[behaviour["CachePolicyId"]]["ParametersInCacheKeyAndForwardedToOrigin"][
            "HeadersConfig"
        ]
        assert headers["HeaderBehavior"] == "whitelist", path
        assert "authorization" in {name.lower() for name in headers["Headers"]}, path


def test_cdn_urls_are_the_ones_the_app_advertises() -> None:
    """Behind CloudFront the API still sees its execute-api host, so the app takes the
    stage as its public prefix (Location headers, the docs' spec URL). The CDN
    therefore keeps the stage in its URLs: every URL the app hands out through it
    leads back to the same origin path."""
    template = load_template()
    stack = Stack(template, {"EnableCdn": "true"})
    config = stack.properties("Cdn")["DistributionConfig"]
    (origin,) = config["Origins"]
    cdn_url = stack.outputs()["CdnUrl"]
    for route in ("/menu", "/orders/01J0000000000000000000000", "/docs"):
        viewer_path = cdn_url.removeprefix(f"https://{CDN_DOMAIN}") + route
        origin_path = origin.get("OriginPath", "") + viewer_path
        event = http_api_event("dev", route)
        event["rawPath"] = event["requestContext"]["http"]["path"] = origin_path
        # CloudFront sends the origin's host name (AllViewerExceptHostHeader).
        event["headers"]["host"] = event["requestContext"]["domainName"] = origin["DomainName"]
        root_path, path = public_paths(event, origin_path)
        assert path == root_path + route
        # What the app advertises (root_path + route) is what the viewer asked for.
        assert path == viewer_path, (route, root_path)


# --- alarms ---------------------------------------------------------------------------

ALARM = "AWS::CloudWatch::Alarm"


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == ALARM}


def test_alarms_watch_5xx_rate_errors_throttles_and_duration_and_notify_the_topic() -> None:
    template = load_template()
    found = alarms(template)
    assert set(found) == {
        "Api5xxRateAlarm",
        "FunctionErrorsAlarm",
        "FunctionThrottlesAlarm",
        "FunctionDurationAlarm",
    }
    stack = Stack(template)
    topic = STAND_IN_IDS["AlarmTopic"]
    for logical_id, alarm in found.items():
        assert "Condition" not in alarm, logical_id
        props = stack.properties(logical_id)
        assert props["AlarmActions"] == [topic], logical_id
        assert props["OKActions"] == [topic], logical_id
        assert props["TreatMissingData"] == "notBreaching", logical_id
        assert props["AlarmDescription"], logical_id
        assert props["EvaluationPeriods"] >= 1

    # The function's own metrics, every version and alias together (FunctionName only).
    for logical_id, metric, statistic in (
        ("FunctionErrorsAlarm", "Errors", "Sum"),
        ("FunctionThrottlesAlarm", "Throttles", "Sum"),
    ):
        props = stack.properties(logical_id)
        assert (props["Namespace"], props["MetricName"], props["Statistic"]) == (
            "AWS/Lambda",
            metric,
            statistic,
        )
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": STAND_IN_IDS["ApiFunction"]}]
        assert (props["ComparisonOperator"], props["Threshold"], props["Period"]) == (
            "GreaterThanThreshold",
            0,
            300,
        )

    # p99 duration close to the timeout.
    duration = stack.properties("FunctionDurationAlarm")
    assert (duration["MetricName"], duration["ExtendedStatistic"]) == ("Duration", "p99")
    assert duration["Dimensions"] == [{"Name": "FunctionName", "Value": STAND_IN_IDS["ApiFunction"]}]
    timeout_ms = template["Resources"]["ApiFunction"]["Properties"]["Timeout"] * 1000
    assert 0.5 * timeout_ms <= duration["Threshold"] < timeout_ms
    assert duration["Unit"] == "Milliseconds"

    # 5xx rate: the stage's 5xx over its request count, in percent, over 5 minutes.
    rate = stack.properties("Api5xxRateAlarm")
    metrics = {m["Id"]: m for m in rate["Metrics"]}
    dimensions = [{"Name": "ApiId", "Value": STAND_IN_IDS["HttpApi"]}, {"Name": "Stage", "Value": "dev"}]
    for metric_id, name in (("errors", "5xx"), ("requests", "Count")):
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"] == {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": dimensions}
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
        assert metrics[metric_id]["ReturnData"] is False
    (expression,) = [m for m in metrics.values() if "Expression" in m]
    assert expression["ReturnData"] is True
    assert re.search(r"100 \* FILL\(errors, 0\) / requests", expression["Expression"])
    assert (rate["ComparisonOperator"], rate["Threshold"]) == ("GreaterThanThreshold", 5)


def test_alarm_topic_always_exists_and_mails_only_when_asked() -> None:
    template = load_template()
    parameter = template["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("", "ops@example.com", "on-call+api@team.example.co.uk"):
        assert pattern.fullmatch(good), good
    for bad in ("ops", "ops@example", "two words@example.com", "@example.com"):
        assert not pattern.fullmatch(bad), bad

    topics = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::SNS::Topic"]
    assert topics == ["AlarmTopic"]
    assert "Condition" not in template["Resources"]["AlarmTopic"]
    subscriptions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::SNS::Subscription"]
    assert subscriptions == ["AlarmEmailSubscription"]
    assert not Stack(template).exists("AlarmEmailSubscription")
    with_email = Stack(template, {"AlarmEmail": "ops@example.com"})
    assert with_email.properties("AlarmEmailSubscription") == {
        "TopicArn": STAND_IN_IDS["AlarmTopic"],
        "Protocol": "email",
        "Endpoint": "ops@example.com",
    }
    assert Stack(template).outputs()["AlarmTopicArn"] == STAND_IN_IDS["AlarmTopic"]


# --- cfn-lint on the other branch ---------------------------------------------------------


def test_sam_validate_lint_with_every_option_on(tmp_path: Path) -> None:
    """cfn-lint checks the template as its defaults make it; a copy whose defaults
    turn every option on checks the other branch (CloudFront, SnapStart, X-Ray, the
    e-mail subscription)."""
    text = TEMPLATE.read_text()
    for name, value in ALL_OPTIONS.items():
        default = '""' if name == "AlarmEmail" else '"false"'
        text, count = re.subn(
            rf"(\n  {name}:\n    Type: String\n    Default: ){re.escape(default)}\n",
            rf'\g<1>"{value}"\n',
            text,
        )
        assert count == 1, name
    flipped = tmp_path / "template.yaml"
    flipped.write_text(text)
    template = load_template(flipped)
    assert {name: template["Parameters"][name]["Default"] for name in ALL_OPTIONS} == ALL_OPTIONS
    run([str(SAM), "validate", "--lint", "--template", str(flipped)])


# --- the build -------------------------------------------------------------------


def test_recipe_refuses_an_unknown_architecture(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", "lambda-build.mk", "build-ApiFunction"],
        cwd=ROOT,
        env=tool_env(LAMBDA_ARCHITECTURE="sparc", ARTIFACTS_DIR=str(tmp_path / "out")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "LAMBDA_ARCHITECTURE must be arm64 or x86_64" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`sam build` for an architecture, once per module; returns the build directory."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "build-ApiFunction", "ARTIFACTS_DIR=/tmp/dry-run/x"],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    missing = "sam build runs `make build-ApiFunction` with the Makefile, which must include lambda-build.mk"
    assert dry_run.returncode == 0, f"{missing}\n{dry_run.stderr}"
    assert "pip install" in dry_run.stdout, missing
    builds: dict[str, Path] = {}

    def build(architecture: str) -> Path:
        if architecture not in builds:
            # Each build gets its own parent: SAM writes build.toml next to --build-dir.
            base = tmp_path_factory.mktemp(f"sam-{architecture}")
            run(
                [
                    str(SAM),
                    "build",
                    "--template",
                    str(TEMPLATE),
                    "--build-dir",
                    str(base / "build"),
                    "--cache-dir",
                    str(base / "cache"),
                    "--parameter-overrides",
                    f"Architecture={architecture}",
                ],
                env=tool_env(LAMBDA_ARCHITECTURE=architecture),
            )
            builds[architecture] = base / "build"
        return builds[architecture]

    return build


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert header[4:6] == b"\x02\x01", f"{path} is not 64-bit little-endian"
    return int.from_bytes(header[18:20], "little")


def pinned_distributions() -> dict[str, str]:
    text = (ROOT / "requirements" / "runtime.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M)
    return {re.sub(r"[-_.]+", "_", name).lower(): version for name, version in pins}


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_sam_build_makes_a_complete_artifact(sam_build: Callable[[str], Path], architecture: str) -> None:
    build_dir = sam_build(architecture)
    artifact = build_dir / "ApiFunction"
    assert (build_dir / "template.yaml").is_file()

    # The app, exactly the source files of src/app (no bytecode from this machine)...
    source = ROOT / "src" / "app"
    assert (artifact / "app" / "main.py").is_file()
    shipped = {
        p.relative_to(artifact / "app")
        for p in (artifact / "app").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    expected = {
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert shipped == expected
    # ...and bytecode for every module in the artifact, compiled by the recipe for
    # python3.13 as unchecked-hash .pyc (PEP 552 flags word 0b01): never compared
    # with the source, so SAM's 1980 zip timestamps cannot make it stale, and
    # /var/task being read-only no longer means compiling on every cold start.
    missing = [
        str(p.relative_to(artifact))
        for p in artifact.rglob("*.py")
        if not (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").is_file()
    ]
    assert not missing, f"no bytecode for {len(missing)} modules, e.g. {missing[:5]}"
    for pyc in artifact.rglob("*.pyc"):
        assert pyc.parent.name == "__pycache__", pyc
        assert pyc.name.endswith(".cpython-313.pyc"), pyc
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc}: not unchecked-hash bytecode (flags {flags:#04b})"

    # Every pinned runtime dependency, in its pinned version, and nothing the
    # Lambda runtime already has or that never runs there.
    installed = {}
    for dist_info in artifact.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[re.sub(r"[-_.]+", "_", name).lower()] = version
    assert installed == pinned_distributions()
    for package in ("mangum", "fastapi", "pydantic", "pydantic_core", "starlette", "jose", "cryptography"):
        assert (artifact / package / "__init__.py").is_file(), package
    for absent in ("boto3", "botocore", "bin", "tests", ".venv", "src"):
        assert not (artifact / absent).exists(), absent

    # Compiled extensions for the function's architecture, pydantic_core's above all.
    pydantic_so = list((artifact / "pydantic_core").glob("_pydantic_core*.so"))
    assert len(pydantic_so) == 1
    triplet = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    assert f"-{triplet}-linux-gnu" in pydantic_so[0].name
    extensions = list(artifact.rglob("*.so"))
    wrong = [str(p.relative_to(artifact)) for p in extensions if elf_machine(p) != ELF_MACHINE[architecture]]
    assert not wrong, f"not built for {architecture}: {wrong}"

    size = sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file())
    assert size < LAMBDA_UNZIPPED_LIMIT


# --- the x86_64 artifact, as deployed, in a bare interpreter ---------------------------

# Runs in the fresh interpreter: /var/task first on sys.path (as the Lambda runtime
# puts it), the runtime's own packages (boto3) last, then the handler, then a report
# of where every loaded module came from.
INVOKE = r"""
import json, socket, sys, sysconfig
task_root, runtime_root, out = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, task_root)
if runtime_root:
    sys.path.append(runtime_root)
event = json.load(sys.stdin)

class Context:
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    function_name = "ApiFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/ApiFunction"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"
    def get_remaining_time_in_millis(self):
        return 9000

def sdk_modules():
    return sorted(name for name in sys.modules if name.partition(".")[0] in ("boto3", "botocore"))

import app.main
sdk_at_import = sdk_modules()
print("=== app.main imported", file=sys.stderr, flush=True)
result = app.main.handler(event, Context())

def under(path, root):
    return bool(root) and path.startswith(root + "/")

def foreign(path):
    if under(path, task_root) or under(path, runtime_root):
        return False
    stdlib = (sysconfig.get_paths()["stdlib"] + "/", sysconfig.get_paths()["platstdlib"] + "/")
    return not path.startswith(stdlib) or "/site-packages/" in path or "/dist-packages/" in path

files = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
with open(out, "w") as f:
    json.dump({
        "result": result,
        "site": "site" in sys.modules,
        "foreign_path": [p for p in sys.path[1:] if p != runtime_root and (
                         not p.startswith(sys.base_prefix + "/lib/") or "site-packages" in p)],
        "foreign_modules": sorted(name for name, file in files.items() if file and foreign(file)),
        "runtime_packages": sorted({name.partition(".")[0] for name, file in files.items()
                                    if file and under(file, runtime_root)}),
        "sdk_at_import": sdk_at_import,
        "store": type(app.main.app.state.store).__name__,
        "interfaces": [name for _, name in socket.if_nameindex()],
        "sys_path": sys.path,
    }, f)
"""

# What the Lambda runtime brings besides the standard library, and the artifact must
# not (lambda-build.mk leaves it out): the AWS SDK. The runtime's copy is stood in
# for by this project's pinned boto3 and its dependencies.
RUNTIME_DISTRIBUTION = "boto3"


def distribution_closure(name: str) -> list[importlib.metadata.Distribution]:
    """The installed distribution and everything it requires (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [name]
    while pending:
        dist = importlib.metadata.distribution(pending.pop())
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in found:
            continue
        found[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return list(found.values())


@pytest.fixture(scope="module")
def runtime_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory standing in for the runtime's own packages (on Lambda, boto3 lives
    next to the interpreter and comes after /var/task on sys.path): links to the
    test environment's installed boto3, botocore and their dependencies."""
    root = tmp_path_factory.mktemp("lambda-runtime")
    for dist in distribution_closure(RUNTIME_DISTRIBUTION):
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            target = Path(str(dist.locate_file(top)))
            if not (root / top).exists():
                (root / top).symlink_to(target, target_is_directory=target.is_dir())
    return root


@cache
def no_network_prefix() -> tuple[str, ...]:
    """A command prefix that runs a process in a network namespace of its own, with
    no interface but a loopback that is down, so that anything reaching for the
    network fails; empty where unprivileged namespaces are not available."""
    prefix = ("unshare", "--user", "--map-root-user", "--net")
    if shutil.which("unshare") is None:
        return ()
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else ()


def lambda_environment(
    build_dir: Path, task_root: Path, tmp_path: Path, overrides: dict[str, str]
) -> dict[str, str]:
    """The environment Lambda gives the function: its own variables, the template's
    (as built) and the role's temporary credentials (stand-ins here; nothing checks
    them before a request is signed). No shared config or credentials files."""
    return {
        "PATH": f"{PY313.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIADEPLOYTESTSTANDIN",
        "AWS_SECRET_ACCESS_KEY": "deploy-test-stand-in-secret",
        "AWS_SESSION_TOKEN": "deploy-test-stand-in-token",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        **function_environment(build_dir, overrides),
    }


def invoke(
    task_root: Path, runtime: Path | None, env: dict[str, str], event: dict[str, Any], out: Path
) -> subprocess.CompletedProcess[str]:
    # -I: no user site, no PYTHON* variables, no script or working directory on the
    # path; -S: no site-packages at all; -B: write nothing (/var/task is read-only).
    return subprocess.run(
        [
            *no_network_prefix(),
            str(PY313),
            "-I",
            "-S",
            "-B",
            "-c",
            INVOKE,
            str(task_root),
            str(runtime or ""),
            str(out),
        ],
        cwd=task_root,
        env=env,
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def task_root(sam_build: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The x86_64 artifact zipped by SAM's own zip function (the one sam package and
    sam deploy use), then unzipped into an empty directory, as Lambda does."""
    artifact = sam_build("x86_64") / "ApiFunction"
    base = tmp_path_factory.mktemp("deployed")
    run(
        [
            str(SAM_PYTHON),
            "-c",
            "import sys; from samcli.lib.package.utils import make_zip_with_lambda_permissions as z;"
            " z(sys.argv[1], sys.argv[2])",
            str(base / "function"),
            str(artifact),
        ]
    )
    task = base / "task"
    with zipfile.ZipFile(base / "function.zip") as archive:
        archive.extractall(task)
    return task


def function_environment(build_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
    """The function's environment as the built template sets it, parameters at their
    defaults (or the given overrides), resources at their stand-in ids."""
    return Stack(yaml.safe_load((build_dir / "template.yaml").read_text()), overrides).function_environment()


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


@pytest.mark.parametrize(
    ("stage", "path", "auth"),
    [("dev", "/hello", "cognito"), ("dev", "/hello", "external"), ("$default", "/hello", "cognito")],
)
def test_deployed_artifact_answers_hello_in_a_bare_python313(
    sam_build: Callable[[str], Path],
    task_root: Path,
    runtime_root: Path,
    tmp_path: Path,
    stage: str,
    path: str,
    auth: str,
) -> None:
    """The app starts with the built template's environment, unchanged, in either
    auth mode (its settings are checked at start-up): APP_STORE=dynamodb, so the
    first invocation builds the DynamoDB client from the runtime's boto3. It needs
    no network for that, nor for the public /hello: where the machine allows it, the
    interpreter runs without any network at all."""
    build_dir = sam_build("x86_64")
    auth_parameters = EXTERNAL_AUTH if auth == "external" else {}
    env = lambda_environment(build_dir, task_root, tmp_path, {"Stage": "dev", **auth_parameters})
    assert env["APP_STORE"] == "dynamodb"
    assert env["APP_DYNAMODB_TABLE"] == STAND_IN_IDS["DataTable"]
    before = sorted(str(p.relative_to(task_root)) for p in task_root.rglob("*"))
    out = tmp_path / "result.json"
    result = invoke(task_root, runtime_root, env, http_api_event(stage, path), out)
    assert result.returncode == 0, f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    report = json.loads(out.read_text())

    # Nothing but the artifact, the runtime's SDK and the standard library was on
    # the path or loaded; and of the runtime's packages only botocore (boto3's core,
    # which the store and the limiter use directly: app.store.sdk) and what it needs.
    assert report["site"] is False
    assert report["sys_path"][0] == str(task_root)
    assert report["sys_path"][-1] == str(runtime_root)
    assert report["foreign_path"] == [], report["sys_path"]
    assert report["foreign_modules"] == []
    assert "botocore" in set(report["runtime_packages"])
    assert "boto3" not in set(report["runtime_packages"])
    assert set(report["runtime_packages"]) <= {p.name.removesuffix(".py") for p in runtime_root.iterdir()}
    # The SDK is imported and its one client built at init (the import of app.main:
    # Lambda's init phase, before a SnapStart snapshot), never at the first request
    # (app.store.sdk); the store is the DynamoDB one.
    assert "botocore" in report["sdk_at_import"]
    assert report["store"] == "DynamoStore"
    if no_network_prefix():
        assert report["interfaces"] == ["lo"], "the invocation was meant to run without a network"

    response = report["result"]
    assert response["statusCode"] == 200, response
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"]) == HELLO
    assert response["headers"]["content-type"].startswith("application/json")
    assert sorted(str(p.relative_to(task_root)) for p in task_root.rglob("*")) == before, "wrote to /var/task"


def test_deployed_artifact_relies_on_the_runtimes_boto3(
    sam_build: Callable[[str], Path], task_root: Path, tmp_path: Path
) -> None:
    """The artifact carries no boto3 or botocore (the build test checks it): without
    the runtime's copy the function's init fails loudly for exactly that reason (the
    SDK client is built at init), rather than falling back to another store."""
    env = lambda_environment(sam_build("x86_64"), task_root, tmp_path, {"Stage": "dev"})
    result = invoke(task_root, None, env, http_api_event("dev", "/hello"), tmp_path / "result.json")
    assert result.returncode != 0
    assert "=== app.main imported" not in result.stderr
    assert "ModuleNotFoundError: No module named 'botocore'" in result.stderr, result.stderr
    assert not (tmp_path / "result.json").exists()
