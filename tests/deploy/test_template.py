"""The template and its configuration: one function behind one HTTP API, samconfig.toml's
environments, tracing, and `sam validate --lint` on the template as it is and on a copy
whose defaults turn every option on (cfn-lint only sees the defaults).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from tests.deploy.stack import (
    ALL_OPTIONS,
    SAM,
    SAMCONFIG,
    TEMPLATE,
    Stack,
    load_template,
    parameter_overrides,
    routes,
    run,
)

pytestmark = pytest.mark.deploy


# --- the template and its configuration -------------------------------------------


def test_template_has_one_function_behind_one_http_api() -> None:
    template = load_template()
    resources = template["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    apis = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::HttpApi"}
    # And CodeDeploy's pre-traffic hook, which no route reaches (test_releases.py), and
    # live orders' three, behind the WebSocket API and the stream (test_live_template.py).
    assert list(functions) == [
        "ApiFunction",
        "PreTrafficHook",
        "LiveAuthorizerFunction",
        "LiveSocketFunction",
        "LiveStreamFunction",
    ]
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
    # the alias; see test_snapstart.py::test_api_invokes_the_alias_in_every_mode).
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


def test_tracing_is_a_parameter_off_by_default() -> None:
    template = load_template()
    parameter = template["Parameters"]["EnableTracing"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("false", ["false", "true"])
    off, on = Stack(template), Stack(template, {"EnableTracing": "true"})
    assert off.properties("ApiFunction")["Tracing"] == "PassThrough"
    assert on.properties("ApiFunction")["Tracing"] == "Active"
    # The function's environment is the same either way.
    assert off.function_environment() == on.function_environment()


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
