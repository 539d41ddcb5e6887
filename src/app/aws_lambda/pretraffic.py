"""CodeDeploy's pre-traffic hook: the stateless smoke checks against the new version.

SAM's ``DeploymentPreference`` (template.yaml, ApiFunction) has CodeDeploy call this
function after it publishes a version and before the alias ``live`` sends it any
traffic. The hook invokes that version directly, by its qualified ARN (environment
``NEW_VERSION_ARN``, the template's ``!Ref ApiFunction.Version``), with the HTTP API
payload 2.0 events the stage would send, checks the answers, and reports
``Succeeded`` or ``Failed`` with ``PutLifecycleEventHookExecutionStatus``. Failed (or
no report within an hour) stops the deployment: the alias never moves and CloudFormation
rolls the stack back. AWS: "Deploying serverless applications gradually with AWS SAM"
(the PreTraffic hook), CodeDeploy API PutLifecycleEventHookExecutionStatus.

Only checks that need no state and no token run here: nothing is written, so a failed
or repeated hook leaves nothing behind (``make smoke`` does the rest after a deploy).
The invocations bypass the gateway, so the 401 comes from the app's own JWT layer.

The handler lives in the API's own source tree but ``app.main`` never imports it, and
it imports only the standard library at module level: boto3 (in the Lambda runtime) is
imported on the first invocation, so the API's cold start pays nothing for it.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

# What GET /hello answers (app.system.router.HELLO); ops/smoke.py checks the same text.
HELLO_TEXT = "Serverless code is running"
PROBLEM_JSON = "application/problem+json"
# Documentation addresses (RFC 5737 TEST-NET-1): the per-client rate limit keys on it.
SOURCE_IP = "192.0.2.10"
# A failed call (not a wrong answer) is tried again: the hook's role gets the new
# version in the same stack update, and IAM changes take a few seconds to apply.
INVOKE_DELAYS = (5.0, 10.0)


@dataclass(frozen=True)
class Check:
    name: str
    path: str
    status: int
    content_type: str = "application/json"
    body_contains: str = ""


CHECKS = (
    Check("hello", "/hello", 200, body_contains=HELLO_TEXT),
    Check("OpenAPI document", "/openapi.json", 200, body_contains='"openapi"'),
    Check("401 without a token", "/orders", 401, PROBLEM_JSON),
    Check("unknown route", "/no-such-route/pre-traffic", 404, PROBLEM_JSON),
)


class LambdaClient(Protocol):
    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]: ...


class CodeDeployClient(Protocol):
    def put_lifecycle_event_hook_execution_status(
        self, *, deploymentId: str, lifecycleEventHookExecutionId: str, status: str
    ) -> dict[str, Any]: ...


def http_event(stage: str, path: str, request_id: str) -> dict[str, Any]:
    """GET {path} as the HTTP API's greedy route hands it to the function (payload 2.0).

    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
    """
    raw_path = f"/{stage}{path}"
    host = "pre-traffic.execute-api.invalid"
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"host": host, "accept": "application/json", "user-agent": "codedeploy-pre-traffic"},
        "pathParameters": {"proxy": path.lstrip("/")},
        "isBase64Encoded": False,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "pre-traffic",
            "domainName": host,
            "domainPrefix": "pre-traffic",
            "http": {
                "method": "GET",
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": "codedeploy-pre-traffic",
            },
            "requestId": request_id,
            "routeKey": "ANY /{proxy+}",
            "stage": stage,
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
    }


def run_check(lambda_client: LambdaClient, function: str, stage: str, check: Check) -> str | None:
    """None when the new version answers as expected, otherwise what it did instead."""
    event = http_event(stage, check.path, f"pre-traffic-{check.path.strip('/').replace('/', '-')}")
    answer = lambda_client.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    payload = answer["Payload"].read()
    if "FunctionError" in answer:  # a crash, timeout or out-of-memory of the new version
        return f"the function failed ({answer['FunctionError']}): {payload[:300]!r}"
    try:
        response = json.loads(payload)
        headers = {str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()}
        body = response.get("body") or ""
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        status = response.get("statusCode")
    except (ValueError, AttributeError) as error:
        return f"not an HTTP API response: {error}"
    content_type = headers.get("content-type", "").split(";")[0].strip()
    if status != check.status or content_type != check.content_type or check.body_contains not in body:
        return f"{status} {content_type!r} {body[:200]!r}; expected {check.status} {check.content_type!r}"
    return None


def run(
    event: dict[str, Any],
    lambda_client: LambdaClient,
    codedeploy: CodeDeployClient,
    *,
    function: str,
    stage: str,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Every check runs; the status reported is Succeeded only if all passed."""
    failures: dict[str, str] = {}
    for check in CHECKS:
        for delay in (*INVOKE_DELAYS, None):
            try:
                problem = run_check(lambda_client, function, stage, check)
                break
            except Exception as error:  # a call that keeps failing fails the release, reported
                problem = f"could not invoke: {type(error).__name__}: {error}"
                if delay is not None:
                    sleep(delay)
        if problem is not None:
            failures[check.name] = problem
    status = "Failed" if failures else "Succeeded"
    # One line the operator finds in the hook's log (docs/operating.md, Releases and rollbacks).
    print(json.dumps({"pre_traffic": status, "version": function, "failures": failures}), flush=True)
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status, "failures": failures}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3  # here, not at import: see the module's docstring

    return run(
        event,
        boto3.client("lambda"),
        boto3.client("codedeploy"),
        function=os.environ["NEW_VERSION_ARN"],
        stage=os.environ["API_STAGE"],
    )
