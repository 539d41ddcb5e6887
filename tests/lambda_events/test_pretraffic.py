"""CodeDeploy's pre-traffic hook (app.aws_lambda.pretraffic), driven as CodeDeploy drives
it, against the real app: its Lambda client invokes the app's handler in-process (as
app.main builds it), so a broken release fails the hook, and its CodeDeploy client
records the status reported. moto has no PutLifecycleEventHookExecutionStatus (5.2),
and invoking a function through moto's Lambda needs Docker, hence the two small fakes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

import app.system.router
from app.aws_lambda import pretraffic
from app.aws_lambda.adapter import LambdaAdapter

from .conftest import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:serverless-api-dev-ApiFunction-Ab12:7"
# What CodeDeploy sends a lifecycle hook (AWS: "AppSpec 'hooks' section for an AWS Lambda deployment").
HOOK_EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "eyJleGVjdXRpb25JZCI6IjEifQ=="}


class FakeLambda:
    """lambda:Invoke, answered by the app's Lambda handler in this process."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self.handler = handler
        self.invoked: list[tuple[str, str]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        event = json.loads(Payload)
        self.invoked.append((FunctionName, event["rawPath"]))
        result = self.handler(event, LambdaContext(function_name="ApiFunction"))
        return {"StatusCode": 200, "ExecutedVersion": "7", "Payload": io.BytesIO(json.dumps(result).encode())}


class CrashingLambda(FakeLambda):
    """A version whose init fails: Lambda answers 200 with FunctionError and the error."""

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        error = {"errorMessage": "No module named 'app.mian'", "errorType": "Runtime.ImportModuleError"}
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": io.BytesIO(json.dumps(error).encode()),
        }


class FakeCodeDeploy:
    def __init__(self) -> None:
        self.reported: list[dict[str, str]] = []

    def put_lifecycle_event_hook_execution_status(
        self,
        *,
        deploymentId: str,
        lifecycleEventHookExecutionId: str,
        status: str,
    ) -> dict[str, Any]:
        self.reported.append(
            {
                "deploymentId": deploymentId,
                "lifecycleEventHookExecutionId": lifecycleEventHookExecutionId,
                "status": status,
            }
        )
        return {"lifecycleEventHookExecutionId": lifecycleEventHookExecutionId}


@pytest.fixture
def release(make_app: Callable[..., FastAPI], trust: dict[str, Any]) -> LambdaAdapter:
    """The new version as deployed on the dev stage: the app behind its Lambda adapter."""
    return LambdaAdapter(make_app(stage="dev", **trust))


def run_hook(
    lambda_client: FakeLambda, slept: list[float] | None = None
) -> tuple[dict[str, Any], FakeCodeDeploy]:
    codedeploy = FakeCodeDeploy()
    sleep = (slept if slept is not None else []).append
    result = pretraffic.run(
        HOOK_EVENT, lambda_client, codedeploy, function=VERSION_ARN, stage="dev", sleep=sleep
    )
    return result, codedeploy


def test_a_healthy_version_passes_every_check_and_the_hook_reports_succeeded(release: LambdaAdapter) -> None:
    lambda_client = FakeLambda(release)
    result, codedeploy = run_hook(lambda_client)
    assert result == {"status": "Succeeded", "failures": {}}
    # Exactly one report, for this deployment's hook execution.
    assert codedeploy.reported == [
        {
            "deploymentId": HOOK_EVENT["DeploymentId"],
            "lifecycleEventHookExecutionId": HOOK_EVENT["LifecycleEventHookExecutionId"],
            "status": "Succeeded",
        }
    ]
    # Every check reached the new version itself, by its qualified ARN, on the stage's path.
    assert lambda_client.invoked == [
        (VERSION_ARN, "/dev/hello"),
        (VERSION_ARN, "/dev/openapi.json"),
        (VERSION_ARN, "/dev/orders"),
        (VERSION_ARN, "/dev/no-such-route/pre-traffic"),
    ]


def test_a_version_whose_hello_is_broken_is_reported_failed(
    release: LambdaAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.system.router, "HELLO_BODY", b'{"message":"Hello, Cloud Explorer!"}')
    result, codedeploy = run_hook(FakeLambda(release))
    assert [r["status"] for r in codedeploy.reported] == ["Failed"]
    assert list(result["failures"]) == ["hello"]  # the other checks still ran, and passed


def test_a_version_that_answers_500_is_reported_failed(release: LambdaAdapter) -> None:
    def failing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {**release(event, context), "statusCode": 500}

    result, codedeploy = run_hook(FakeLambda(failing))
    assert [r["status"] for r in codedeploy.reported] == ["Failed"]
    assert set(result["failures"]) == {c.name for c in pretraffic.CHECKS}


def test_a_version_whose_errors_are_no_longer_problem_json_is_reported_failed(release: LambdaAdapter) -> None:
    """Clients rely on RFC 9457 problem documents for every error, not just the status."""

    def plain_errors(event: dict[str, Any], context: Any) -> dict[str, Any]:
        answer = release(event, context)
        if answer["statusCode"] >= 400:
            headers = {k: v for k, v in answer["headers"].items() if k.lower() != "content-type"}
            answer["headers"] = {**headers, "content-type": "application/json"}
        return answer

    result, codedeploy = run_hook(FakeLambda(plain_errors))
    assert [r["status"] for r in codedeploy.reported] == ["Failed"]
    assert set(result["failures"]) == {"401 without a token", "unknown route"}


def test_a_version_that_crashes_is_reported_failed_not_raised() -> None:
    result, codedeploy = run_hook(CrashingLambda(lambda event, context: {}))
    assert [r["status"] for r in codedeploy.reported] == ["Failed"]
    assert "Runtime.ImportModuleError" in result["failures"]["hello"]


def test_an_invoke_that_raises_is_reported_failed() -> None:
    class Denied(FakeLambda):
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            raise PermissionError("AccessDeniedException: not authorized to perform lambda:InvokeFunction")

    slept: list[float] = []
    result, codedeploy = run_hook(Denied(lambda event, context: {}), slept)
    assert [r["status"] for r in codedeploy.reported] == ["Failed"]
    assert "AccessDeniedException" in result["failures"]["hello"]
    # Each check tried three times, then given up: the hook ends well inside its timeout.
    assert slept == [5.0, 10.0] * len(pretraffic.CHECKS)


def test_a_call_denied_while_iam_catches_up_is_tried_again(release: LambdaAdapter) -> None:
    """The hook's role gains the new version in the same stack update as the version."""

    class DeniedOnce(FakeLambda):
        denied = 0

        def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
            if not self.denied:
                self.denied += 1
                raise PermissionError(
                    "AccessDeniedException: not authorized to perform lambda:InvokeFunction"
                )
            return super().invoke(FunctionName=FunctionName, InvocationType=InvocationType, Payload=Payload)

    slept: list[float] = []
    result, codedeploy = run_hook(DeniedOnce(release), slept)
    assert [r["status"] for r in codedeploy.reported] == ["Succeeded"]
    assert (result["failures"], slept) == ({}, [5.0])


def test_the_hook_module_imports_no_sdk_until_it_runs() -> None:
    """Loading the handler's module (Lambda's init) imports neither boto3 nor the app."""
    code = (
        "import sys, app.aws_lambda.pretraffic\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('boto3', 'botocore', 'fastapi', 'app')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["['app',", "'app.aws_lambda',", "'app.aws_lambda.pretraffic']"]


def test_the_handler_reads_what_the_template_sets_and_builds_its_clients_on_first_call(
    release: LambdaAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda's entry point, with the environment template.yaml gives the hook."""
    import boto3

    from tests.deploy.stack import STAND_IN_IDS, Stack, load_template

    template = load_template()
    environment = Stack(template).resolve(
        template["Resources"]["PreTrafficHook"]["Properties"]["Environment"]
    )
    for name, value in environment["Variables"].items():
        monkeypatch.setenv(name, value)
    lambda_client, codedeploy = FakeLambda(release), FakeCodeDeploy()
    clients = {"lambda": lambda_client, "codedeploy": codedeploy}
    monkeypatch.setattr(boto3, "client", lambda service: clients[service])

    assert pretraffic.handler(HOOK_EVENT, LambdaContext())["status"] == "Succeeded"
    assert {function for function, _ in lambda_client.invoked} == {STAND_IN_IDS["ApiFunction.Version"]}
    assert lambda_client.invoked[0][1] == "/dev/hello"  # on the template's Stage
    assert [r["status"] for r in codedeploy.reported] == ["Succeeded"]
