"""`make user ENV=... EMAIL=... ROLE=customer|staff|chef` (or `REMOVE=1`): the people of
the restaurant, in the stack's own Cognito user pool.

  python -m ops.users --env default --email kim@example.com --role staff
  python -m ops.users --env default --email kim@example.com --remove

A new person is invited (AdminCreateUser: Cognito emails them a temporary password,
valid for the pool's TemporaryPasswordValidityDays, and their email counts as verified,
so they can recover their account); an existing one gets the role asked for. A role is
a group of the pool (template.yaml, StaffGroup and ChefGroup): exactly one of them, or
none for a customer. The API grants by group (APP_AUTH_GROUP_ROLES), read from the
`cognito:groups` claim of each token Cognito issues, so a changed role applies to tokens
issued after it; an access token already issued keeps its groups until it expires (the
web client's live 60 minutes). A role taken away also signs the person out everywhere
(AdminUserGlobalSignOut revokes their refresh tokens), so they sign in again. ``--remove``
deletes the person from the pool. The pool is the stack's ``UserPoolId`` output, found as
``make deploy`` finds outputs; credentials come from the usual chain.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ops.deploy import stack_outputs, stack_parser
from twin.stack import StackError, samconfig_environment

# Role -> its group in the pool (None: no group, a customer). The group names are the
# template's (StaffGroup, ChefGroup) and the keys of the API's default group mapping.
ROLE_GROUPS: dict[str, str | None] = {"customer": None, "staff": "staff", "chef": "chef"}
ROLES = ", ".join(ROLE_GROUPS)
# Enough to catch a typo before Cognito does; Cognito checks the address itself.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def user_pool_id(outputs: dict[str, str], stack_name: str) -> str:
    if "UserPoolId" not in outputs:
        raise SystemExit(
            f"user: stack {stack_name} trusts an external issuer (no UserPoolId output): "
            "manage people and their groups at that issuer"
        )
    return outputs["UserPoolId"]


def current_groups(cognito: Any, pool: str, email: str) -> set[str] | None:
    """The person's groups, or None if the pool has no such person."""
    try:
        cognito.admin_get_user(UserPoolId=pool, Username=email)
    except cognito.exceptions.UserNotFoundException:
        return None
    pages = cognito.get_paginator("admin_list_groups_for_user").paginate(UserPoolId=pool, Username=email)
    return {group["GroupName"] for page in pages for group in page["Groups"]}


def set_role(cognito: Any, pool: str, email: str, role: str) -> str:
    """Invites the person if new, then makes their role groups exactly the role's; what was done."""
    wanted = ROLE_GROUPS[role]
    groups = current_groups(cognito, pool, email)
    invited = groups is None
    if groups is None:
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                # Marked verified: the operator vouches for the address, and account
                # recovery (AccountRecoverySetting: verified_email) needs it.
                {"Name": "email_verified", "Value": "true"},
            ],
            DesiredDeliveryMediums=["EMAIL"],
        )
        groups = set()
    role_groups = {group for group in ROLE_GROUPS.values() if group is not None}
    previous = next((r for r, g in ROLE_GROUPS.items() if g is not None and g in groups), "customer")
    taken_away = (groups & role_groups) - {wanted}
    for group in sorted(taken_away):
        cognito.admin_remove_user_from_group(UserPoolId=pool, Username=email, GroupName=group)
    if wanted is not None and wanted not in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=wanted)
    if invited:
        return f"user: invited {email} as {role}; Cognito emails them a temporary password"
    if taken_away:
        # A role taken away: end their sessions (refresh tokens revoked), so they sign in again.
        cognito.admin_user_global_sign_out(UserPoolId=pool, Username=email)
        return (
            f"user: {email} is now {role} (was {previous}); signed out everywhere, "
            "and a token already issued keeps the old role until it expires (at most an hour)"
        )
    if previous == role:
        return f"user: {email} is already {role}"
    return f"user: {email} is now {role} (was {previous}); it applies at their next sign-in"


def remove(cognito: Any, pool: str, email: str) -> str:
    try:
        cognito.admin_delete_user(UserPoolId=pool, Username=email)
    except cognito.exceptions.UserNotFoundException:
        return f"user: {email} is not in the pool; nothing to remove"
    return f"user: removed {email}; their refresh tokens no longer work"


def main(argv: list[str] | None = None) -> int:
    parser = stack_parser("python -m ops.users", __doc__)
    parser.add_argument("--email", default="", help="the person's email address (EMAIL=)")
    parser.add_argument("--role", default="", help=f"one of {ROLES} (ROLE=)")
    parser.add_argument("--remove", action="store_true", help="remove the person (REMOVE=1)")
    args = parser.parse_args(argv)
    email = args.email.strip().lower()  # the pool's user names are case-insensitive
    if not _EMAIL.fullmatch(email):
        parser.error(f"EMAIL must be a person's email address (got {args.email!r})")
    if args.remove and args.role:
        parser.error("REMOVE=1 takes no ROLE")
    if not args.remove and args.role not in ROLE_GROUPS:
        parser.error(f"ROLE must be one of {ROLES} (got {args.role!r})")
    if not args.region:
        parser.error("no region: set AWS_REGION or pass --region")
    try:
        stack_name, _ = samconfig_environment(args.env)
    except StackError as error:
        parser.error(str(error))

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=args.region)
    try:
        pool = user_pool_id(stack_outputs(session.client("cloudformation"), stack_name), stack_name)
        cognito = session.client("cognito-idp")
        print(remove(cognito, pool, email) if args.remove else set_role(cognito, pool, email, args.role))
    except (ClientError, BotoCoreError) as error:
        print(f"user: AWS refused: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
