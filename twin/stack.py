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

The transform and what the twin reads from its output are here; the
CloudFormation evaluation is twin/cfn.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.cfn import ACCOUNT, REGION, Evaluator, StackError
from twin.live_stack import StreamMapping, WebSocketApi, stream_mappings, websocket_api

__all__ = [  # ACCOUNT, REGION and StackError: where the twin's modules have found them
    "ACCOUNT",
    "REGION",
    "ROOT",
    "SAM_PYTHON",
    "Function",
    "Route",
    "Stack",
    "StackError",
    "Table",
    "load_stack",
    "samconfig_environment",
    "transform",
]

ROOT = Path(__file__).resolve().parents[1]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"

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
    websocket: WebSocketApi | None = None
    mappings: list[StreamMapping] = field(default_factory=list)
    queues: dict[str, str] = field(default_factory=dict)  # logical id -> queue name


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
    apis = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::ApiGatewayV2::Api" and v["Properties"].get("ProtocolType") != "WEBSOCKET"
    ]
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
    # The twin serves the APIs and the stream consumers: the functions their routes,
    # authorizers and mappings invoke. Others in the template (CodeDeploy's pre-traffic
    # hook) run only during a cloud deployment.
    routes = _routes(ev, body)
    websocket = websocket_api(ev)
    mappings = stream_mappings(ev)
    routed = {route.function for route in routes} | {m.function for m in mappings}
    routed |= websocket.functions() if websocket else set()
    functions = {k: v for k, v in _functions(ev).items() if k in routed}
    return Stack(
        name=name,
        parameters=ev.parameters,
        api_id=ev.physical_id(api),
        stage=str(stage["StageName"]),
        burst_limit=int(burst) if burst is not None else None,
        rate_limit=float(rate) if rate is not None else None,
        routes=routes,
        functions=functions,
        tables=tables,
        websocket=websocket,
        mappings=mappings,
        queues={k: ev.physical_id(k) for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue"},
    )
