"""What each role of ops/pipeline.yaml can reach, read from the template as
CloudFormation would evaluate it (pipeline stack serverless-api-pipeline, app stacks
serverless-api-dev and serverless-api-prod): who may assume each deploy role, every
Allow statement's actions and resources, and IAM's own evaluation of a few requests
(an explicit Deny wins; an Allow needs its action, resource and condition to match).
A resource pattern that could name the pipeline's own roles, policies or stack fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.pipeline_policy import (
    ACCOUNT,
    IAM,
    PIPELINE,
    PIPELINE_OWN,
    PIPELINE_STACK,
    allows,
    arns_overlap,
    listed,
)
from tests.deploy.stack import Stack, load_template

HERE = f"us-east-1:{ACCOUNT}"  # the app's region and account


@pytest.mark.parametrize(
    ("env", "subjects"),
    [
        ("dev", ["repo:org/repo:ref:refs/heads/main", "repo:org/repo:environment:dev"]),
        ("prod", "repo:org/repo:environment:production"),
    ],
)
def test_each_deploy_role_trusts_exactly_its_own_github_subjects(env: str, subjects: Any) -> None:
    (trust,) = PIPELINE.properties(f"{env.title()}DeployRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": f"{IAM}:oidc-provider/token.actions.githubusercontent.com"}
    # StringEquals only: no pattern that a branch or another environment could match.
    assert trust["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subjects,
        }
    }


def deploy_reach(env: str) -> dict[str, tuple[list[str], list[str]]]:
    stack = f"serverless-api-{env}"
    changes = [
        f"cloudformation:{verb}"
        for verb in ("CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DeleteChangeSet",
                     "DescribeStacks", "DescribeStackEvents", "DescribeStackResource", "GetTemplateSummary",
                     "ListStackResources")
    ]  # fmt: skip
    sam_bucket = "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-*"
    return {
        "ThisStack": (changes, [
            f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{stack}/*",
            f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/aws-sam-cli-managed-default/*",
        ]),
        "SamTransform": (["cloudformation:CreateChangeSet"],
                         ["arn:aws:cloudformation:us-east-1:aws:transform/Serverless-2016-10-31"]),
        "PassOnlyItsExecutionRole": (["iam:PassRole"], [f"{IAM}:role/{PIPELINE_STACK}-cfn-{env}"]),
        "SamArtifacts": (["s3:PutObject", "s3:GetObject"], [f"{sam_bucket}/{stack}/*"]),
        "SamArtifactBucket": (["s3:ListBucket", "s3:GetBucketLocation"], [sam_bucket]),
        "WebUpload": (["s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{stack}-webbucket-*/*"]),
        "WebList": (["s3:ListBucket"], [f"arn:aws:s3:::{stack}-webbucket-*"]),
        "WebInvalidation": (["cloudfront:CreateInvalidation"],
                            [f"arn:aws:cloudfront::{ACCOUNT}:distribution/*"]),
        "SmokeToken": (["cognito-idp:DescribeUserPoolClient"],
                       [f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/*"]),
    }  # fmt: skip


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_deploy_role_reaches_only_its_own_stack_bucket_distribution_and_pool(env: str) -> None:
    statements = PIPELINE.statements(f"{env.title()}DeployRole")
    assert all(s["Effect"] == "Allow" for s in statements)
    reach = {s["Sid"]: (listed(s["Action"]), listed(s["Resource"])) for s in statements}
    assert reach == deploy_reach(env)
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["PassOnlyItsExecutionRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }
    # The distribution and the pool: only those tagged with its own stack (template.yaml).
    for sid in ("WebInvalidation", "SmokeToken"):
        assert by_sid[sid]["Condition"] == {
            "StringEquals": {"aws:ResourceTag/serverless-api:stack": f"serverless-api-{env}"}
        }


def named(env: str) -> list[str]:
    """The resources CloudFormation names after the app's stack ({stack}-{logical id}-{suffix}),
    and the release hook template.yaml names CodeDeployHook_{stack}-pre-traffic."""
    stack, region = f"serverless-api-{env}", f"us-east-1:{ACCOUNT}"
    return [
        f"arn:aws:lambda:{region}:function:{stack}-*",
        f"arn:aws:lambda:{region}:function:CodeDeployHook_{stack}-*",
        f"arn:aws:dynamodb:{region}:table/{stack}-*",
        f"arn:aws:logs:{region}:log-group:{stack}-*",
        f"arn:aws:logs:{region}:log-group:/aws/lambda/{stack}-*",
        f"arn:aws:sns:{region}:{stack}-*",
        f"arn:aws:cloudwatch:{region}:alarm:{stack}-*",
        f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{stack}-*",
        f"arn:aws:codedeploy:{region}:application:{stack}-*",
        f"arn:aws:codedeploy:{region}:deploymentgroup:{stack}-*",
        f"arn:aws:s3:::{stack}-*",
        f"arn:aws:cloudfront::{ACCOUNT}:function/{stack}-*",
        f"arn:aws:sqs:{region}:{stack}-*",
    ]


GENERATED_IDS = [
    "arn:aws:apigateway:us-east-1::/apis",
    "arn:aws:apigateway:us-east-1::/apis/*",
    "arn:aws:apigateway:us-east-1::/domainnames",
    "arn:aws:apigateway:us-east-1::/domainnames/*",
    "arn:aws:apigateway:us-east-1::/tags/*",
    f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/*",
    *(f"arn:aws:cloudfront::{ACCOUNT}:{kind}/*"
      for kind in ("distribution", "cache-policy", "response-headers-policy", "origin-access-control")),
]  # fmt: skip


LOG_DELIVERY = ("CreateLogDelivery", "GetLogDelivery", "UpdateLogDelivery", "DeleteLogDelivery",
                "ListLogDeliveries", "PutResourcePolicy", "DescribeResourcePolicies")  # fmt: skip


def execution_reach(env: str) -> dict[str, tuple[list[str], list[str]]]:
    roles = [f"{IAM}:role/serverless-api-{env}-*"]
    return {
        "StackNamedResources": (
            [f"{service}:*" for service in
             ("lambda", "dynamodb", "logs", "sns", "cloudwatch", "codedeploy", "s3", "cloudfront", "sqs")],
            named(env),
        ),
        "StackEventSourceMappings": (
            [f"lambda:{verb}EventSourceMapping" for verb in ("Create", "Get", "Update", "Delete")],
            [f"arn:aws:lambda:{HERE}:event-source-mapping:*"]),
        "RolesOnlyWithTheBoundary": (
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
             "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary"], roles),
        "StackRoles": (
            ["iam:GetRole", "iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:GetRolePolicy",
             "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:UpdateAssumeRolePolicy",
             "iam:UpdateRoleDescription"], roles),
        "PassStackRoles": (["iam:PassRole"], roles),
        "GeneratedIds": (
            ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE",
             "cognito-idp:*", "cloudfront:*"], GENERATED_IDS),
        "Reads": (["logs:DescribeLogGroups", "route53:ListHostedZones", "route53:GetChange",
                   "acm:DescribeCertificate"], ["*"]),
        "ReleaseConfigs": (["codedeploy:GetDeploymentConfig"],
                           [f"arn:aws:codedeploy:{HERE}:deploymentconfig:CodeDeployDefault.Lambda*"]),
        "AccessLogDelivery": ([f"logs:{verb}" for verb in LOG_DELIVERY], ["*"]),
        "DnsRecords": (["route53:ChangeResourceRecordSets"], ["arn:aws:route53:::hostedzone/*"]),
    }  # fmt: skip


def boundary_arn(env: str) -> str:
    return f"{IAM}:policy/{PIPELINE_STACK}-boundary-{env}"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_execution_role_reaches_only_its_stacks_names_and_the_ids_it_creates(env: str) -> None:
    statements = PIPELINE.statements(f"{env.title()}ExecutionRole")
    allowing = [s for s in statements if s["Effect"] == "Allow"]
    reach = {s["Sid"]: (listed(s["Action"]), listed(s["Resource"])) for s in allowing}
    assert reach == execution_reach(env)
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["RolesOnlyWithTheBoundary"]["Condition"] == {
        "StringEquals": {"iam:PermissionsBoundary": boundary_arn(env)}
    }
    assert by_sid["StackEventSourceMappings"]["Condition"] == {
        "ArnLike": {"lambda:FunctionArn": f"arn:aws:lambda:{HERE}:function:serverless-api-{env}-*"}
    }
    assert by_sid["PassStackRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "codedeploy.amazonaws.com"]}
    }
    # Denied whatever an Allow says: a role without this boundary, removing a boundary,
    # and anything of the pipeline's own (also in the boundary the stack's roles carry).
    denies = {s["Sid"]: s for s in statements if s["Effect"] == "Deny"}
    assert set(denies) == {"NoRoleWithoutTheBoundary", "KeepBoundaries", "NotThePipeline"}
    assert denies["NoRoleWithoutTheBoundary"]["Condition"] == {
        "StringNotEquals": {"iam:PermissionsBoundary": boundary_arn(env)}
    }
    assert denies["KeepBoundaries"]["Action"] == "iam:DeleteRolePermissionsBoundary"
    not_the_pipeline = denies["NotThePipeline"]
    assert (not_the_pipeline["Action"], not_the_pipeline["Resource"]) == (
        ["cloudformation:*", "iam:*"],
        PIPELINE_OWN,
    )
    assert not_the_pipeline in PIPELINE.boundary(env)
    # `*` only for reads, never a whole service.
    for sid, (actions, resources) in reach.items():
        if "*" in resources:
            assert not [a for a in actions if a.endswith(":*") or a == "*"], sid


def pipeline_allows(statements: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(Sid, pattern) of every Allow resource that could name the pipeline's own."""
    found = []
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        services = {a.split(":")[0] for a in listed(statement["Action"])}
        for pattern in listed(statement["Resource"]):
            if pattern == "*" and not services & {"iam", "cloudformation", "*"}:
                continue  # reads of other services
            if any(arns_overlap(pattern, own) for own in PIPELINE_OWN):
                found.append((statement["Sid"], pattern))
    return found


def test_the_matcher_catches_a_prefix_that_names_the_pipeline() -> None:
    # The pattern the single execution role used to have reaches this stack's roles.
    assert arns_overlap(f"{IAM}:role/serverless-api-*", f"{IAM}:role/{PIPELINE_STACK}-*")
    assert arns_overlap(f"{IAM}:role/serverless-api-?ipeline-x", f"{IAM}:role/{PIPELINE_STACK}-*")
    assert arns_overlap("arn:aws:iam::*:role/*", f"{IAM}:role/{PIPELINE_STACK}-*")
    assert arns_overlap("*", f"{IAM}:role/{PIPELINE_STACK}-*")
    assert not arns_overlap(f"{IAM}:role/serverless-api-dev-*", f"{IAM}:role/{PIPELINE_STACK}-*")
    assert not arns_overlap(f"{IAM}:role/serverless-api-dev-*", f"{IAM}:role/serverless-api-prod-*")
    stacks = f"arn:aws:cloudformation:*:{ACCOUNT}:stack"
    assert not arns_overlap(f"{stacks}/serverless-api-dev/*", f"{stacks}/{PIPELINE_STACK}/*")
    assert arns_overlap(f"{stacks}/serverless-api*", f"{stacks}/{PIPELINE_STACK}/*")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_execution_role_or_boundary_allow_names_the_pipeline(env: str) -> None:
    assert pipeline_allows(PIPELINE.statements(f"{env.title()}ExecutionRole")) == []
    assert pipeline_allows(PIPELINE.boundary(env)) == []
    # A deploy role reaches one thing of the pipeline's: passing its own execution role.
    assert pipeline_allows(PIPELINE.statements(f"{env.title()}DeployRole")) == [
        ("PassOnlyItsExecutionRole", f"{IAM}:role/{PIPELINE_STACK}-cfn-{env}")
    ]


@pytest.mark.parametrize(("env", "other"), [("dev", "prod"), ("prod", "dev")])
def test_iam_lets_each_execution_role_change_only_its_stack_and_bounded_roles(env: str, other: str) -> None:
    statements = PIPELINE.statements(f"{env.title()}ExecutionRole")
    mine, theirs = f"serverless-api-{env}", f"serverless-api-{other}"
    bounded = {"iam:PermissionsBoundary": boundary_arn(env)}

    def can(action: str, resource: str, **context: str) -> bool:
        return allows(statements, action, resource, context)

    assert can("iam:CreateRole", f"{IAM}:role/{mine}-ApiFunctionRole-AB12", **bounded)
    assert not can("iam:CreateRole", f"{IAM}:role/{mine}-ApiFunctionRole-AB12")
    assert not can("iam:CreateRole", f"{IAM}:role/{mine}-ApiFunctionRole-AB12",
                   **{"iam:PermissionsBoundary": boundary_arn(other)})  # fmt: skip
    assert not can("iam:PutRolePermissionsBoundary", f"{IAM}:role/{mine}-ApiFunctionRole-AB12",
                   **{"iam:PermissionsBoundary": f"{IAM}:policy/AdministratorAccess"})  # fmt: skip
    assert not can("iam:DeleteRolePermissionsBoundary", f"{IAM}:role/{mine}-ApiFunctionRole-AB12")
    assert not can("iam:CreateRole", f"{IAM}:role/{theirs}-ApiFunctionRole-AB12", **bounded)
    assert not can("iam:PutRolePolicy", f"{IAM}:role/{PIPELINE_STACK}-deploy-{env}", **bounded)
    assert not can("iam:CreatePolicyVersion", boundary_arn(env))
    assert not can("cloudformation:UpdateStack", f"arn:aws:cloudformation:{HERE}:stack/{PIPELINE_STACK}/1")
    assert can("lambda:UpdateFunctionCode", f"arn:aws:lambda:{HERE}:function:{mine}-ApiFunction-X")
    assert not can("lambda:UpdateFunctionCode", f"arn:aws:lambda:{HERE}:function:{theirs}-ApiFunction-X")
    assert not can("s3:PutBucketPolicy", f"arn:aws:s3:::{theirs}-webbucket-abc")
    assert not can("dynamodb:DeleteTable", f"arn:aws:dynamodb:{HERE}:table/{theirs}-DataTable-X")
    # Live orders: the stream's event source mapping for its own functions only, its queue.
    mapping = f"arn:aws:lambda:{HERE}:event-source-mapping:0b1c2d3e-0000-4000-8000-000000000001"
    for verb in ("Create", "Update", "Delete"):
        own = {"lambda:FunctionArn": f"arn:aws:lambda:{HERE}:function:{mine}-LiveStreamFunction-X"}
        theirs_fn = {"lambda:FunctionArn": f"arn:aws:lambda:{HERE}:function:{theirs}-LiveStreamFunction-X"}
        assert can(f"lambda:{verb}EventSourceMapping", mapping, **own), verb
        assert not can(f"lambda:{verb}EventSourceMapping", mapping, **theirs_fn), verb
        assert not can(f"lambda:{verb}EventSourceMapping", mapping), verb
    assert can("sqs:CreateQueue", f"arn:aws:sqs:{HERE}:{mine}-LiveFailureQueue-X")
    assert not can("sqs:CreateQueue", f"arn:aws:sqs:{HERE}:{theirs}-LiveFailureQueue-X")
    # The boundary: the stack's roles reach the stack's own data, never IAM or the pipeline.
    boundary = PIPELINE.boundary(env)
    assert allows(boundary, "sqs:SendMessage", f"arn:aws:sqs:{HERE}:{mine}-LiveFailureQueue-X", {})
    assert not allows(boundary, "sqs:SendMessage", f"arn:aws:sqs:{HERE}:{theirs}-LiveFailureQueue-X", {})
    assert not allows(boundary, "sqs:DeleteQueue", f"arn:aws:sqs:{HERE}:{mine}-LiveFailureQueue-X", {})
    post = f"arn:aws:execute-api:{HERE}:w5s0ck3t1d/{env}/POST/@connections/abc="
    assert allows(boundary, "execute-api:ManageConnections", post, {})
    assert not allows(boundary, "execute-api:Invoke", post, {})
    stream = f"arn:aws:dynamodb:{HERE}:table/{mine}-DataTable-X/stream/2026-12-05T00:00:00.000"
    assert allows(boundary, "dynamodb:GetRecords", stream, {})
    assert allows(boundary, "dynamodb:PutItem", f"arn:aws:dynamodb:{HERE}:table/{mine}-DataTable-X", {})
    assert not allows(boundary, "dynamodb:PutItem", f"arn:aws:dynamodb:{HERE}:table/{theirs}-DataTable-X", {})
    assert not allows(boundary, "iam:CreateRole", f"{IAM}:role/{mine}-x", {})
    assert not allows(boundary, "iam:PassRole", f"{IAM}:role/{PIPELINE_STACK}-cfn-{env}", {})


@pytest.mark.parametrize(("env", "other"), [("dev", "prod"), ("prod", "dev")])
def test_iam_lets_each_deploy_role_deploy_only_its_stack(env: str, other: str) -> None:
    statements = PIPELINE.statements(f"{env.title()}DeployRole")
    stack = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack"
    assert allows(statements, "cloudformation:ExecuteChangeSet", f"{stack}/serverless-api-{env}/1", {})
    assert not allows(statements, "cloudformation:ExecuteChangeSet", f"{stack}/serverless-api-{other}/1", {})
    assert not allows(statements, "cloudformation:ExecuteChangeSet", f"{stack}/{PIPELINE_STACK}/1", {})
    passed = {"iam:PassedToService": "cloudformation.amazonaws.com"}
    assert allows(statements, "iam:PassRole", f"{IAM}:role/{PIPELINE_STACK}-cfn-{env}", passed)
    assert not allows(statements, "iam:PassRole", f"{IAM}:role/{PIPELINE_STACK}-cfn-{other}", passed)
    pool = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_X"
    tag = "aws:ResourceTag/serverless-api:stack"
    secret = "cognito-idp:DescribeUserPoolClient"
    assert allows(statements, secret, pool, {tag: f"serverless-api-{env}"})
    assert not allows(statements, secret, pool, {tag: f"serverless-api-{other}"})
    site = f"arn:aws:s3:::serverless-api-{other}-webbucket-a/index.html"
    assert not allows(statements, "s3:PutObject", site, {})


def test_the_app_stack_tags_what_the_deploy_role_finds_by_tag() -> None:
    stack = Stack(load_template())
    tags = stack.properties("WebDistribution")["Tags"]
    assert {"Key": "serverless-api:stack", "Value": "serverless-api-dev"} in tags
    assert stack.properties("UserPool")["UserPoolTags"] == {"serverless-api:stack": "serverless-api-dev"}


def test_the_account_gets_api_gateways_logs_role_for_the_websocket_access_log() -> None:
    """WebSocket stages log only with the account's CloudWatch role (template.yaml,
    WebSocketStage); the pipeline sets it unless told the account has one."""
    resources = PIPELINE.template["Resources"]
    assert resources["ApiGatewayAccount"]["Condition"] == resources["ApiGatewayLogsRole"]["Condition"]
    assert PIPELINE.template["Parameters"]["SetApiGatewayLogsRole"]["Default"] == "true"
    role = PIPELINE.properties("ApiGatewayLogsRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    ]
    assert "Policies" not in role
    logs_role = f"{IAM}:role/{PIPELINE_STACK}-apigateway-logs"
    assert PIPELINE.properties("ApiGatewayAccount") == {"CloudWatchRoleArn": logs_role}
