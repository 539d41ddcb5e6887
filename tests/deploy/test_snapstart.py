"""The alias `live` and SnapStart (EnableSnapStart): the API's target is always the
alias (CodeDeploy moves it, test_releases.py), in the template and through the SAM
transform; SnapStart only snapshots the versions; every parameter change publishes one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.stack import (
    ALL_OPTIONS,
    EXTERNAL_AUTH,
    SAMCONFIG,
    STAND_IN_IDS,
    Stack,
    load_template,
    parameter_overrides,
    routes,
)
from twin.cfn import SUB_VARIABLE

pytestmark = pytest.mark.deploy


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
    assert "snap=false" in off["VersionDescription"].split()
    assert "snap=true" in on["VersionDescription"].split()
    # Nothing else about the function changes.
    for props in (off, on):
        del props["SnapStart"]
        del props["VersionDescription"]
    assert off == on


def test_api_invokes_the_alias_in_every_mode() -> None:
    """The API invokes the alias `live`, never $LATEST: CodeDeploy releases a version by
    moving the alias, and only a published version restores from a SnapStart snapshot.
    The one invoke permission follows, for this API's stage only."""
    template = load_template()
    target = STAND_IN_IDS["ApiFunction.Alias"]
    for options in ({}, {"EnableSnapStart": "true"}):
        stack = Stack(template, options)
        assert integration_targets(stack) == {target}, options
        permissions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Permission"]
        # And live orders' two, for the WebSocket API (test_live_template.py).
        assert permissions == [
            "ApiFunctionInvokePermission",
            "LiveAuthorizerInvokePermission",
            "LiveSocketInvokePermission",
        ]
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
    routes and the permission are the template's own, pointing at the alias."""
    target = STAND_IN_IDS["ApiFunctionAliaslive"]
    for options in ({}, ALL_OPTIONS):
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
            "ApiFunctionInvokePermission",
            "LiveAuthorizerInvokePermission",
            "LiveSocketInvokePermission",
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
                        n for _, n in SUB_VARIABLE.findall(text) if n in parameters and n not in variables
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


def test_every_parameter_change_publishes_a_version() -> None:
    """SAM hashes the function's properties as written, not the parameter values in
    them, so a change of LogLevel alone would publish no version and the alias would
    keep the old configuration. The version's description carries every parameter the
    function depends on: a change replaces the version. Its 256 characters must hold
    the configurations in samconfig.toml."""
    template = load_template()
    props = template["Resources"]["ApiFunction"]["Properties"]
    # How a version is released (DeploymentType) is not part of the version.
    version_props = {
        k: v for k, v in props.items() if k not in ("VersionDescription", "DeploymentPreference")
    }
    depends_on = parameters_used(template, version_props)
    assert {
        "Stage",
        "MemorySize",
        "LogLevel",
        "CorsAllowOrigins",
        "AuthIssuer",
        "EnableTracing",
    } <= depends_on
    assert parameters_used(template, props["VersionDescription"]) == depends_on

    config = tomllib.loads(SAMCONFIG.read_text())
    for name in ("default", "prod"):
        for extra in ({}, EXTERNAL_AUTH | {"AuthScopePrefix": "api://orders/"}):
            overrides = parameter_overrides(config[name]) | extra
            description = Stack(template, overrides).properties("ApiFunction")["VersionDescription"]
            assert len(description) <= 256, (name, description)
