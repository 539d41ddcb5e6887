"""The release resources of template.yaml (SAM's CodeDeploy application and deployment
group, the pre-traffic hook, CodeDeploy's service role, the release alarms, the
dashboard) against ops/pipeline.yaml, through the IAM evaluator of pipeline_policy.py:
each environment's execution role may create and change its own stack's and no one
else's, and the boundary every role of the stack carries lets the release roles do
what the template asks of them, on their own stack only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.pipeline_policy import ACCOUNT, IAM, PIPELINE, PIPELINE_STACK, allows, listed
from tests.deploy.stack import ALL_OPTIONS, OWN_POOL, load_template
from tests.deploy.test_releases import Transformed, statements

HERE = f"us-east-1:{ACCOUNT}"
ENVIRONMENTS = [("dev", "prod"), ("prod", "dev")]


def release_arns(stack: str) -> dict[str, str]:
    """The release resources of an app stack as CloudFormation names them: unnamed ones
    {stack}-{logical id}-{suffix} (a SAM stack's application is
    {stack}-ServerlessDeploymentApplication-{suffix}), the hook and the dashboard by
    the names template.yaml gives them."""
    application = f"{stack}-ServerlessDeploymentApplication-1A2B3C4D5E6F"
    group = f"{application}/{stack}-ApiFunctionDeploymentGroup-7G8H9I0J"
    return {
        "application": f"arn:aws:codedeploy:{HERE}:application:{application}",
        "group": f"arn:aws:codedeploy:{HERE}:deploymentgroup:{group}",
        "hook": f"arn:aws:lambda:{HERE}:function:CodeDeployHook_{stack}-pre-traffic",
        "dashboard": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{stack}-us-east-1",
        "alarm": f"arn:aws:cloudwatch:{HERE}:alarm:{stack}-ReleaseErrorsAlarm-9J0K",
    }


# What CloudFormation calls to create, update and delete them, and to run a release
# (CodeDeployLambdaAliasUpdate: a deployment of the application's group).
CLOUDFORMATION_CALLS = {
    "application": ["CreateApplication", "GetApplication", "UpdateApplication", "DeleteApplication",
                    "TagResource", "RegisterApplicationRevision", "GetApplicationRevision"],
    "group": ["CreateDeploymentGroup", "GetDeploymentGroup", "UpdateDeploymentGroup", "DeleteDeploymentGroup",
              "CreateDeployment", "GetDeployment"],
    "hook": ["lambda:CreateFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode",
             "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction"],
    "dashboard": ["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"],
    "alarm": ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
}  # fmt: skip


def calls(kind: str) -> list[str]:
    return [a if ":" in a else f"codedeploy:{a}" for a in CLOUDFORMATION_CALLS[kind]]


@pytest.mark.parametrize(("env", "other"), ENVIRONMENTS)
def test_each_execution_role_manages_only_its_own_stacks_release_resources(env: str, other: str) -> None:
    role = PIPELINE.statements(f"{env.title()}ExecutionRole")
    owners = {f"serverless-api-{env}": True, f"serverless-api-{other}": False, PIPELINE_STACK: False}
    for owner, expected in owners.items():
        arns = release_arns(owner)
        for kind in CLOUDFORMATION_CALLS:
            for action in calls(kind):
                assert allows(role, action, arns[kind], {}) is expected, (owner, action)


@pytest.mark.parametrize(("env", "other"), ENVIRONMENTS)
def test_each_execution_role_passes_only_its_stacks_roles_to_codedeploy(env: str, other: str) -> None:
    role = PIPELINE.statements(f"{env.title()}ExecutionRole")

    def passes(name: str, service: str) -> bool:
        passed = {"iam:PassedToService": f"{service}.amazonaws.com"}
        return allows(role, "iam:PassRole", f"{IAM}:role/{name}", passed)

    assert passes(f"serverless-api-{env}-CodeDeployRole-1A2B", "codedeploy")
    assert passes(f"serverless-api-{env}-PreTrafficHookRole-1A2B", "lambda")
    assert not passes(f"serverless-api-{other}-CodeDeployRole-1A2B", "codedeploy")
    assert not passes(f"{PIPELINE_STACK}-cfn-{env}", "codedeploy")
    assert not passes(f"{PIPELINE_STACK}-deploy-{env}", "codedeploy")
    assert not passes(f"serverless-api-{env}-CodeDeployRole-1A2B", "ec2")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_execution_role_reads_only_codedeploys_lambda_configurations(env: str) -> None:
    role = PIPELINE.statements(f"{env.title()}ExecutionRole")
    configs = f"arn:aws:codedeploy:{HERE}:deploymentconfig"
    # Every type the template offers (SAM: CodeDeployDefault.Lambda{DeploymentType}).
    for kind in load_template()["Parameters"]["DeploymentType"]["AllowedValues"]:
        assert allows(role, "codedeploy:GetDeploymentConfig", f"{configs}:CodeDeployDefault.Lambda{kind}", {})
    assert not allows(role, "codedeploy:GetDeploymentConfig", f"{configs}:CodeDeployDefault.OneAtATime", {})
    for action in ("CreateDeploymentConfig", "DeleteDeploymentConfig"):
        assert not allows(role, f"codedeploy:{action}", f"{configs}:serverless-api-{env}-x", {})


def release_requests(stack: Transformed) -> list[tuple[str, str]]:
    """(action, resource) of what the release roles do: the hook's own policy as the
    template writes it and its log (AWSLambdaBasicExecutionRole), and CodeDeploy's
    calls with CodeDeployRole (AWSCodeDeployRoleForLambdaLimited, AWS managed policy
    reference: read the alarms, read and move the alias, invoke the CodeDeployHook_
    function; its S3 reads fetch AppSpec files, which a SAM release passes inline)."""
    hook_role = [(a, r) for s in statements(stack, "PreTrafficHookRole")
                 for a in listed(s["Action"]) for r in listed(s["Resource"])]  # fmt: skip
    log = f"arn:aws:logs:{HERE}:log-group:{stack.ref('PreTrafficHookLogGroup')}:log-stream:1"
    alias = stack.ref("ApiFunctionAliaslive")
    moves = ("GetAlias", "UpdateAlias", "GetProvisionedConcurrencyConfig")
    (group,) = [r for r in stack.resources().values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    alarms = [stack.resolve(a["Name"]) for a in group["Properties"]["AlarmConfiguration"]["Alarms"]]
    hook = f"arn:aws:lambda:{HERE}:function:{stack.properties('PreTrafficHook')['FunctionName']}"
    return [
        *hook_role,
        ("logs:CreateLogStream", log),
        ("logs:PutLogEvents", log),
        *[("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{HERE}:alarm:{name}") for name in alarms],
        *[(f"lambda:{verb}", alias) for verb in moves],
        ("lambda:InvokeFunction", hook),
    ]


@pytest.mark.parametrize(("env", "other"), ENVIRONMENTS)
def test_the_boundary_lets_the_release_roles_work_on_their_own_stack_only(
    env: str, other: str, sam_transform: Callable[[dict[str, str]], dict[str, Any]]
) -> None:
    boundary_arn = f"{IAM}:policy/{PIPELINE_STACK}-boundary-dev"
    overrides = {**OWN_POOL, **ALL_OPTIONS, "AlarmEmail": "", "PermissionsBoundaryArn": boundary_arn}
    requests = release_requests(Transformed(sam_transform(overrides), overrides))
    assert len(requests) == 10
    boundary = PIPELINE.boundary(env)

    def named_for(stack: str) -> list[tuple[str, str]]:  # the stand-ins are the dev stack's names
        return [(action, resource.replace("serverless-api-dev", stack)) for action, resource in requests]

    for action, resource in named_for(f"serverless-api-{env}"):
        assert allows(boundary, action, resource, {}), (action, resource)
    # Writes and invocations reach only its own stack's.
    for action, resource in named_for(f"serverless-api-{other}"):
        if action != "cloudwatch:DescribeAlarms":  # a read of any alarm (the Limited policy's "*")
            assert not allows(boundary, action, resource, {}), (action, resource)
    # Invoking the hook is all a role of the stack may do to it.
    hook = f"arn:aws:lambda:{HERE}:function:CodeDeployHook_serverless-api-{env}-pre-traffic"
    assert not allows(boundary, "lambda:UpdateFunctionCode", hook, {})
