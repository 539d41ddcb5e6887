"""`make user` (ops/users.py) against moto's Cognito and CloudFormation on loopback: a
stack with the real `UserPoolId` output and a pool with the template's groups; a person
invited, moved between roles, and removed, as an operator runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.deploy.moto_aws import moto_aws, run_against
from tests.deploy.stack import load_template

STACK = "serverless-api-dev"  # samconfig.toml's default environment
EXTERNAL_STACK = "serverless-api-prod"


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    with moto_aws() as (endpoint, session):
        yield from _stacks(endpoint, session)


def _stacks(endpoint: str, session: boto3.session.Session) -> Iterator[dict[str, Any]]:
    cognito = session.client("cognito-idp", endpoint_url=endpoint)
    pool = cognito.create_user_pool(
        PoolName="serverless-api-dev-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    # The template's groups, by their names there.
    template = load_template()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Cognito::UserPoolGroup":
            cognito.create_group(UserPoolId=pool, GroupName=resource["Properties"]["GroupName"])
    cognito.create_group(UserPoolId=pool, GroupName="managers")  # one an operator made by hand
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    bucket = {"Resources": {"Site": {"Type": "AWS::S3::Bucket"}}}
    own = {**bucket, "Outputs": {"UserPoolId": {"Value": pool}}}
    # moto's state is the process's, shared by every server it starts: another module's
    # stack of the same name may be there already, and ours must not outlive this module.
    for name, body in ((STACK, own), (EXTERNAL_STACK, bucket)):
        cloudformation.delete_stack(StackName=name)
        cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(body))
    yield {"endpoint": endpoint, "cognito": cognito, "pool": pool}
    for name in (STACK, EXTERNAL_STACK):
        cloudformation.delete_stack(StackName=name)
    cognito.delete_user_pool(UserPoolId=pool)


def make_user(aws: dict[str, Any], *variables: str, status: int = 0) -> str:
    """`make user ...` as an operator types it, with AWS on loopback."""
    command = ["make", "--no-print-directory", "user", *variables]
    return run_against(aws["endpoint"], command, status, drop=("MAKE",))


def groups(aws: dict[str, Any], email: str) -> set[str]:
    found = aws["cognito"].admin_list_groups_for_user(UserPoolId=aws["pool"], Username=email)
    return {group["GroupName"] for group in found["Groups"]}


def attributes(aws: dict[str, Any], email: str) -> dict[str, str]:
    user = aws["cognito"].admin_get_user(UserPoolId=aws["pool"], Username=email)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]} | {"status": user["UserStatus"]}


def test_a_cook_is_invited_with_a_verified_email_and_the_staff_group(aws: dict[str, Any]) -> None:
    out = make_user(aws, "ENV=default", "EMAIL=Cook@Example.com", "ROLE=staff")
    assert "invited cook@example.com as staff; Cognito emails them a temporary password" in out
    person = attributes(aws, "cook@example.com")
    assert person["email"] == "cook@example.com"
    assert person["email_verified"] == "true"
    assert person["status"] == "FORCE_CHANGE_PASSWORD"  # they set their own at first sign-in
    assert groups(aws, "cook@example.com") == {"staff"}


def refresh_token(aws: dict[str, Any], email: str) -> tuple[str, str]:
    """(client id, refresh token) of a session of the person's, signed in with a password."""
    cognito, pool = aws["cognito"], aws["pool"]
    flows = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="t", ExplicitAuthFlows=flows)
    client_id = client["UserPoolClient"]["ClientId"]
    password = "Correct-Horse-9-Battery"  # moto's pool, in this test only
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    signed_in = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return client_id, signed_in["AuthenticationResult"]["RefreshToken"]


def refreshes(aws: dict[str, Any], client_id: str, token: str) -> bool:
    try:
        aws["cognito"].admin_initiate_auth(
            UserPoolId=aws["pool"],
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": token},
        )
    except aws["cognito"].exceptions.NotAuthorizedException:
        return False
    return True


def test_a_role_change_leaves_exactly_one_role_group_and_signs_out(aws: dict[str, Any]) -> None:
    email = "sam@example.com"
    make_user(aws, f"EMAIL={email}", "ROLE=chef")
    aws["cognito"].admin_add_user_to_group(UserPoolId=aws["pool"], Username=email, GroupName="managers")
    assert groups(aws, email) == {"chef", "managers"}
    session = refresh_token(aws, email)
    assert refreshes(aws, *session)

    out = make_user(aws, f"EMAIL={email}", "ROLE=staff")
    assert f"{email} is now staff (was chef); signed out everywhere" in out
    assert groups(aws, email) == {"staff", "managers"}  # groups that are no role stay
    # A role taken away ends the person's sessions: no refresh token of theirs works.
    assert not refreshes(aws, *session)

    assert f"{email} is already staff" in make_user(aws, f"EMAIL={email}", "ROLE=staff")
    assert "is now customer (was staff)" in make_user(aws, f"EMAIL={email}", "ROLE=customer")
    assert groups(aws, email) == {"managers"}
    out = make_user(aws, f"EMAIL={email}", "ROLE=chef")
    assert "is now chef (was customer); it applies at their next sign-in" in out
    assert groups(aws, email) == {"chef", "managers"}


def test_remove_deletes_the_person(aws: dict[str, Any]) -> None:
    make_user(aws, "EMAIL=leaving@example.com", "ROLE=customer")
    assert groups(aws, "leaving@example.com") == set()
    assert "removed leaving@example.com" in make_user(aws, "EMAIL=Leaving@example.com", "REMOVE=1")
    users = aws["cognito"].list_users(UserPoolId=aws["pool"])["Users"]
    emails = {a["Value"] for u in users for a in u["Attributes"] if a["Name"] == "email"}
    assert "leaving@example.com" not in emails
    assert "not in the pool; nothing to remove" in make_user(aws, "EMAIL=leaving@example.com", "REMOVE=1")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (["ROLE=staff"], "usage: make user ENV=default|prod EMAIL=person@example.com ROLE="),
        (["EMAIL=kim@example.com"], "ROLE must be one of customer, staff, chef (got '')"),
        (["EMAIL=kim@example.com", "ROLE=cook"], "ROLE must be one of customer, staff, chef (got 'cook')"),
        (["EMAIL=kim", "ROLE=staff"], "EMAIL must be a person's email address (got 'kim')"),
        (["EMAIL=kim@example.com", "ROLE=staff", "REMOVE=1"], "REMOVE=1 takes no ROLE"),
        (["EMAIL=kim@example.com", "ROLE=staff", "ENV=staging"], "no environment 'staging'"),
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(
    aws: dict[str, Any], variables: list[str], message: str
) -> None:
    out = make_user(aws, *variables, status=2)
    assert message in out
    assert "Traceback" not in out
    users = aws["cognito"].list_users(UserPoolId=aws["pool"])["Users"]
    assert not any(a["Value"] == "kim@example.com" for u in users for a in u["Attributes"])


def test_a_stack_that_trusts_an_external_issuer_says_so(aws: dict[str, Any]) -> None:
    out = make_user(aws, "ENV=prod", "EMAIL=kim@example.com", "ROLE=staff", status=2)
    assert "stack serverless-api-prod trusts an external issuer (no UserPoolId output)" in out
    assert "Traceback" not in out
