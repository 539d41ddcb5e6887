"""The stack as deployed, read from template.yaml through SAM's own translator.

``load_stack`` runs the SAM transform (``aws-sam-translator``, the library
``sam deploy`` uses, from the SAM CLI's environment) with the parameter values
of a ``samconfig.toml`` environment, then evaluates the CloudFormation that
comes out, the way CloudFormation would for those values: conditions, ``Ref``,
``Fn::GetAtt``, ``Fn::Sub``, ``Fn::If`` and the condition functions. What the
twin needs from it (the API's routes, stage and throttling, the function's
handler, runtime, memory, timeout and environment, the table's definition)
comes from there, never from constants here, so a template change shows up in
the twin without touching the twin.

Resources that have no local counterpart get stand-in physical ids that keep
their logical id readable (``serverless-api-dev-DataTable-twin``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
REGION = "us-east-1"
ACCOUNT = "123456789012"

# Run in the SAM CLI's environment, which has the translator. Managed policy ARNs
# are never looked up (that needs IAM); the twin does not model IAM.
_TRANSFORM = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
class NoManagedPolicies:
    def load(self):
        return {}
template = yaml_parse(open(sys.argv[1]).read())
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function":
        resource.setdefault("Properties", {})["CodeUri"] = "s3://twin/artifact.zip"
json.dump(transform(template, json.loads(sys.argv[2]), NoManagedPolicies()), sys.stdout)
"""


class StackError(Exception):
    """The template asks for something the twin does not model; the message says what."""


@dataclass(frozen=True)
class Route:
    method: str  # "ANY" or an HTTP method
    path: str  # an OpenAPI path: "/", "/{proxy+}", "/menu/{id}"
    function: str  # the logical id of the function it invokes
    payload_version: str
    authorizer: dict[str, Any] | None = None  # {"issuer":..., "audience": [...], "identity_source": ...}

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    architecture: str
    environment: dict[str, str]


@dataclass(frozen=True)
class Table:
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass
class Stack:
    name: str
    parameters: dict[str, str]
    api_id: str
    stage: str
    burst_limit: int | None
    rate_limit: float | None
    routes: list[Route]
    functions: dict[str, Function]
    tables: dict[str, Table]
    notes: list[str] = field(default_factory=list)


# -- samconfig.toml -------------------------------------------------------------------


def samconfig_environment(
    config_env: str, path: Path = ROOT / "samconfig.toml"
) -> tuple[str, dict[str, str]]:
    """(stack name, parameter overrides) that `sam deploy --config-env ENV` would use."""
    config = tomllib.loads(path.read_text())
    if config_env not in config:
        raise StackError(f"samconfig.toml has no environment {config_env!r}")
    deploy = config[config_env].get("deploy", {}).get("parameters", {})
    raw = deploy.get("parameter_overrides", [])
    items = raw if isinstance(raw, list) else raw.split()
    overrides = dict(item.split("=", 1) for item in items)
    name = (
        deploy.get("stack_name") or config[config_env].get("global", {}).get("parameters", {})["stack_name"]
    )
    return str(name), overrides


# -- the transform ----------------------------------------------------------------------


def transform(template: Path, parameters: dict[str, str]) -> dict[str, Any]:
    if not SAM_PYTHON.exists():
        raise StackError(f"{SAM_PYTHON} is missing: run `make .venv-sam/.installed` (make cloud does)")
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION, "SAM_CLI_TELEMETRY": "0"}
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    result = subprocess.run(  # noqa: S603 - a fixed interpreter and script
        [str(SAM_PYTHON), "-c", _TRANSFORM, str(template), json.dumps(parameters)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"the SAM transform failed:\n{result.stderr.strip()[-2000:]}")
    transformed: dict[str, Any] = json.loads(result.stdout)
    return transformed


# -- evaluation -------------------------------------------------------------------------

_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")
_NO_VALUE = object()


class Evaluator:
    """CloudFormation's evaluation of the transformed template, for given parameters."""

    def __init__(self, template: dict[str, Any], stack_name: str, parameters: dict[str, str]) -> None:
        self.template = template
        self.stack_name = stack_name
        unknown = set(parameters) - set(template.get("Parameters", {}))
        if unknown:
            raise StackError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        defaults = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters = defaults | parameters
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def resources(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if self.exists(k)}

    def exists(self, logical_id: str) -> bool:
        resource = self.template["Resources"][logical_id]
        return "Condition" not in resource or self.condition(resource["Condition"])

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.template["Conditions"][name]))

    def physical_id(self, logical_id: str) -> str:
        resource = self.template["Resources"][logical_id]
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function":
            return f"{self.stack_name}-{logical_id}"
        if kind == "AWS::Lambda::Alias":
            function = resource["Properties"]["FunctionName"]["Ref"]
            name = self.evaluate(resource["Properties"]["Name"])
            return f"{self.function_arn(function)}:{name}"
        if kind == "AWS::ApiGatewayV2::Api":
            return "twin000000"
        return f"{self.stack_name}-{logical_id}-twin"

    def function_arn(self, logical_id: str) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.physical_id(logical_id)}"

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name not in self.template["Resources"]:
            raise StackError(f"Ref to unknown {name}")
        return self.physical_id(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.template["Resources"][logical_id]["Type"]
        if attribute == "Arn" and kind == "AWS::Lambda::Function":
            return self.function_arn(logical_id)
        if attribute.endswith("DomainName"):
            # A host name (CloudFront's, S3's): the app may validate it as one (a CORS origin).
            return f"{self.physical_id(logical_id).lower()}.twin.invalid"
        service = kind.split("::")[1].lower()
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{self.physical_id(logical_id)}/{attribute}"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            name = match.group(2)
            if name in variables:
                return str(self.evaluate(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def evaluate(self, value: Any) -> Any:
        """A value with every intrinsic function in it evaluated (AWS::NoValue left out)."""
        if isinstance(value, list):
            evaluated = [self.evaluate(item) for item in value]
            return [item for item in evaluated if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        items = {key: self.evaluate(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not _NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(logical_id, attribute)
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.evaluate(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = self.evaluate(argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.evaluate(argument[0])
        if name == "Fn::And":
            return all(self.evaluate(argument))
        if name == "Fn::Or":
            return any(self.evaluate(argument))
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self.sub(text, variables)
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.evaluate(items))
        if name == "Fn::Select":
            index, items = argument
            return self.evaluate(items)[int(self.evaluate(index))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self.evaluate(text)).split(separator)
        raise StackError(f"the twin cannot evaluate {name}")


# -- what the twin needs ----------------------------------------------------------------


def _functions(ev: Evaluator) -> dict[str, Function]:
    functions = {}
    for logical_id, resource in ev.resources().items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = ev.evaluate(resource["Properties"])
        variables = props.get("Environment", {}).get("Variables", {})
        functions[logical_id] = Function(
            logical_id=logical_id,
            name=ev.physical_id(logical_id),
            handler=props["Handler"],
            runtime=props["Runtime"],
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_s=int(props.get("Timeout", 3)),
            architecture=(props.get("Architectures") or ["x86_64"])[0],
            environment={name: str(value) for name, value in variables.items()},
        )
    return functions


def _target_function(ev: Evaluator, uri: str) -> str:
    """The function an integration URI invokes (the function itself or an alias of it)."""
    for logical_id, resource in ev.resources().items():
        if resource["Type"] == "AWS::Lambda::Function" and f"{ev.function_arn(logical_id)}/" in uri:
            return logical_id
        if resource["Type"] == "AWS::Lambda::Function" and f"{ev.function_arn(logical_id)}:" in uri:
            return logical_id
    raise StackError(f"no function of this stack behind the integration {uri}")


_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _authorizer(ev: Evaluator, body: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    """An operation's JWT authorizer, from its `security` and the API's security schemes.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-open-api.html
    (x-amazon-apigateway-authorizer) and http-api-jwt-authorizer.html.
    """
    requirements = operation.get("security", body.get("security")) or []
    schemes = body.get("components", {}).get("securitySchemes", {})
    for requirement in requirements:
        for name, scopes in requirement.items():
            spec = schemes[name].get("x-amazon-apigateway-authorizer", {})
            if spec.get("type") != "jwt":
                raise StackError(f"authorizer {name}: only JWT authorizers are modelled")
            config = spec["jwtConfiguration"]
            audience = config.get("audience", [])
            return {
                "name": name,
                "issuer": config["issuer"],
                "audience": audience if isinstance(audience, list) else [audience],
                "identity_source": spec.get("identitySource", "$request.header.Authorization"),
                "scopes": list(scopes),
            }
    return None


def _routes(ev: Evaluator, body: dict[str, Any]) -> list[Route]:
    routes = []
    for path, item in body.get("paths", {}).items():
        for key, operation in item.items():
            if key == "x-amazon-apigateway-any-method":
                method = "ANY"
            elif key in _METHODS:
                method = key.upper()
            else:
                continue
            integration = operation.get("x-amazon-apigateway-integration")
            if not integration:
                continue
            if integration.get("type") != "aws_proxy":
                raise StackError(f"{method} {path}: only Lambda proxy integrations are modelled")
            routes.append(
                Route(
                    method=method,
                    path=path,
                    function=_target_function(ev, str(integration["uri"])),
                    payload_version=str(integration.get("payloadFormatVersion", "2.0")),
                    authorizer=_authorizer(ev, body, operation),
                )
            )
    return routes


def load_stack(
    config_env: str = "default",
    *,
    template: Path = ROOT / "template.yaml",
    overrides: dict[str, str] | None = None,
    optional: dict[str, str] | None = None,
    stack_name: str | None = None,
) -> Stack:
    """``optional`` parameters apply only where the template declares them."""
    name, parameters = samconfig_environment(config_env) if config_env else ("twin", {})
    parameters = (optional or {}) | parameters | (overrides or {})
    name = stack_name or name
    transformed = transform(template, parameters)
    declared = transformed.get("Parameters", {})
    parameters = {k: v for k, v in parameters.items() if k in declared or k not in (optional or {})}
    ev = Evaluator(transformed, name, parameters)
    resources = ev.resources()
    apis = [k for k, v in resources.items() if v["Type"] == "AWS::ApiGatewayV2::Api"]
    if len(apis) != 1:
        raise StackError(f"expected one HTTP API in the template, found {len(apis)}")
    (api,) = apis
    body = ev.evaluate(resources[api]["Properties"]["Body"])
    stages = [
        ev.evaluate(v["Properties"])
        for v in resources.values()
        if v["Type"] == "AWS::ApiGatewayV2::Stage" and v["Properties"].get("ApiId") == {"Ref": api}
    ]
    if len(stages) != 1:
        raise StackError(f"expected one stage of {api}, found {len(stages)}")
    (stage,) = stages
    throttling = stage.get("DefaultRouteSettings", {})
    burst = throttling.get("ThrottlingBurstLimit")
    rate = throttling.get("ThrottlingRateLimit")
    tables = {
        k: Table(k, ev.physical_id(k), ev.evaluate(v["Properties"]))
        for k, v in resources.items()
        if v["Type"] == "AWS::DynamoDB::Table"
    }
    return Stack(
        name=name,
        parameters=ev.parameters,
        api_id=ev.physical_id(api),
        stage=str(stage["StageName"]),
        burst_limit=int(burst) if burst is not None else None,
        rate_limit=float(rate) if rate is not None else None,
        routes=_routes(ev, body),
        functions=_functions(ev),
        tables=tables,
    )
