"""What the twin reads of a stack's live parts: its WebSocket API (routes, authorizer,
stage) and the event source mappings of its DynamoDB streams, from the SAM-transformed
template as CloudFormation would evaluate it (twin/stack.py reads the rest).

References between resources are read as written (``Ref``, ``Fn::GetAtt``,
``integrations/${Integration}``) and mapped back to logical ids, so a route names the
function it invokes and a mapping the table and the queue it uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from twin.cfn import Evaluator, StackError


@dataclass(frozen=True)
class WsRoute:
    key: str  # "$connect", "$disconnect", "$default" or a selection value ("ping")
    function: str  # logical id of the function its integration invokes
    authorizer: str | None = None  # logical id of the REQUEST authorizer's function
    identity_source: tuple[str, ...] = ()  # "route.request.querystring.token", ...
    two_way: bool = False  # a RouteResponse sends the integration's answer back


@dataclass(frozen=True)
class WebSocketApi:
    logical_id: str
    api_id: str
    stage: str
    selection_expression: str  # "$request.body.action"
    routes: dict[str, WsRoute]
    burst_limit: int | None = None
    rate_limit: float | None = None

    def functions(self) -> set[str]:
        names = {route.function for route in self.routes.values()}
        return names | {route.authorizer for route in self.routes.values() if route.authorizer}


@dataclass(frozen=True)
class StreamMapping:
    """An ``AWS::Lambda::EventSourceMapping`` on a DynamoDB table's stream
    (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html)."""

    logical_id: str
    function: str  # logical id
    table: str  # logical id of the table whose stream it reads
    starting_position: str = "LATEST"
    batch_size: int = 100
    window_s: float = 0.0
    filters: list[dict[str, Any]] = field(default_factory=list)
    report_item_failures: bool = False
    bisect: bool = False
    max_retries: int = -1  # -1: until the record expires
    max_record_age_s: int = -1
    on_failure: str | None = None  # logical id of the SQS queue
    enabled: bool = True


def _logical(ev: Evaluator, value: Any, kind: str) -> str:
    """The logical id a Ref or GetAtt names, of the given resource type (a function
    through its alias too)."""
    if isinstance(value, dict) and "Ref" in value:
        target = str(value["Ref"])
    elif isinstance(value, dict) and "Fn::GetAtt" in value:
        argument = value["Fn::GetAtt"]
        target = argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0]
    else:
        raise StackError(f"expected a Ref or Fn::GetAtt to a {kind}, found {value!r}")
    resource = ev.template["Resources"].get(target, {})
    if resource.get("Type") == "AWS::Lambda::Alias" and kind == "AWS::Lambda::Function":
        return _logical(ev, resource["Properties"]["FunctionName"], kind)
    if resource.get("Type") != kind:
        raise StackError(f"{target} is not a {kind}")
    return target


def _function_in(ev: Evaluator, uri: str) -> str:
    for logical_id, resource in ev.resources().items():
        arn = ev.function_arn(logical_id)
        if resource["Type"] == "AWS::Lambda::Function" and (f"{arn}/" in uri or f"{arn}:" in uri):
            return logical_id
    raise StackError(f"no function of this stack behind the integration {uri}")


def websocket_api(ev: Evaluator) -> WebSocketApi | None:
    """The template's WebSocket API (at most one), or None."""
    resources = ev.resources()
    apis = [k for k, v in resources.items() if _is_websocket(v)]
    if not apis:
        return None
    if len(apis) > 1:
        raise StackError(f"expected at most one WebSocket API, found {len(apis)}")
    (api,) = apis

    def of_api(kind: str) -> dict[str, dict[str, Any]]:
        return {
            k: v
            for k, v in resources.items()
            if v["Type"] == kind and v["Properties"].get("ApiId") == {"Ref": api}
        }

    integrations = {
        ev.physical_id(k): _function_in(ev, str(ev.evaluate(v["Properties"]["IntegrationUri"])))
        for k, v in of_api("AWS::ApiGatewayV2::Integration").items()
    }
    authorizers = {}
    for logical_id, resource in of_api("AWS::ApiGatewayV2::Authorizer").items():
        props = ev.evaluate(resource["Properties"])
        if props.get("AuthorizerType") != "REQUEST":
            raise StackError(f"{logical_id}: only REQUEST authorizers are modelled for WebSocket APIs")
        sources = props.get("IdentitySource") or []
        authorizers[ev.physical_id(logical_id)] = (
            _function_in(ev, str(props["AuthorizerUri"])),
            tuple(sources if isinstance(sources, list) else str(sources).split(",")),
        )
    two_way = {
        _logical(ev, v["Properties"]["RouteId"], "AWS::ApiGatewayV2::Route")
        for v in of_api("AWS::ApiGatewayV2::RouteResponse").values()
    }
    routes = {}
    for logical_id, resource in of_api("AWS::ApiGatewayV2::Route").items():
        props = ev.evaluate(resource["Properties"])
        target = str(props.get("Target", "")).removeprefix("integrations/")
        if target not in integrations:
            raise StackError(f"{logical_id}: its target {target!r} is no Lambda proxy integration of the API")
        authorizer = authorizers.get(str(props.get("AuthorizerId", ""))) if "AuthorizerId" in props else None
        routes[props["RouteKey"]] = WsRoute(
            key=props["RouteKey"],
            function=integrations[target],
            authorizer=authorizer[0] if authorizer else None,
            identity_source=authorizer[1] if authorizer else (),
            two_way=logical_id in two_way and "RouteResponseSelectionExpression" in props,
        )
    stages = [ev.evaluate(v["Properties"]) for v in of_api("AWS::ApiGatewayV2::Stage").values()]
    if len(stages) != 1:
        raise StackError(f"expected one stage of {api}, found {len(stages)}")
    settings = stages[0].get("DefaultRouteSettings", {})
    burst, rate = settings.get("ThrottlingBurstLimit"), settings.get("ThrottlingRateLimit")
    props = ev.evaluate(resources[api]["Properties"])
    return WebSocketApi(
        logical_id=api,
        api_id=ev.physical_id(api),
        stage=str(stages[0]["StageName"]),
        selection_expression=str(props.get("RouteSelectionExpression", "$request.body.action")),
        routes=routes,
        burst_limit=int(burst) if burst is not None else None,
        rate_limit=float(rate) if rate is not None else None,
    )


def _is_websocket(resource: dict[str, Any]) -> bool:
    return bool(
        resource["Type"] == "AWS::ApiGatewayV2::Api"
        and resource.get("Properties", {}).get("ProtocolType") == "WEBSOCKET"
    )


def stream_mappings(ev: Evaluator) -> list[StreamMapping]:
    """The event source mappings that read a DynamoDB table's stream."""
    mappings = []
    for logical_id, resource in ev.resources().items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        raw = resource["Properties"]
        source = raw.get("EventSourceArn")
        if not (isinstance(source, dict) and "Fn::GetAtt" in source):
            continue  # not a stream of this stack's tables (SQS, Kinesis...): not modelled
        table = _logical(ev, source, "AWS::DynamoDB::Table")
        props = ev.evaluate(raw)
        on_failure = (raw.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        patterns = [f["Pattern"] for f in (props.get("FilterCriteria") or {}).get("Filters", [])]
        mappings.append(
            StreamMapping(
                logical_id=logical_id,
                function=_logical(ev, raw["FunctionName"], "AWS::Lambda::Function"),
                table=table,
                starting_position=str(props.get("StartingPosition", "LATEST")),
                batch_size=int(props.get("BatchSize", 100)),
                window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                filters=[p if isinstance(p, dict) else json.loads(p) for p in patterns],
                report_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                max_retries=int(props.get("MaximumRetryAttempts", -1)),
                max_record_age_s=int(props.get("MaximumRecordAgeInSeconds", -1)),
                on_failure=_logical(ev, on_failure, "AWS::SQS::Queue") if on_failure else None,
                enabled=str(props.get("Enabled", True)).lower() != "false",
            )
        )
    return mappings
