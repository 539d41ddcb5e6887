"""CI/CD for the team's own repository: the workflows deploy with OIDC credentials only,
the pipeline template trusts exactly this repository's main branch and environments, and
every checkov skip has its reason in place and a line in the deploy guide (docs/deploy.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.stack import ALL_OPTIONS, OWN_POOL, ROOT, Stack, load_template

WORKFLOWS = ROOT / ".github" / "workflows"
PIPELINE = ROOT / "ops" / "pipeline.yaml"


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def test_every_push_and_pull_request_runs_make_test() -> None:
    test = workflow("test.yml")
    assert set(test["on"]) == {"push", "pull_request"}
    assert test["permissions"] == {"contents": "read"}
    (job,) = test["jobs"].values()
    assert any(step.get("run") == "make test" for step in job["steps"])


def test_deploys_use_oidc_credentials_and_prod_waits_for_approval() -> None:
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert deploy["permissions"] == {"contents": "read"}
    jobs = deploy["jobs"]
    assert jobs["dev"]["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["prod"]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    # Each job's environment is the OIDC subject its role trusts, and holds its variables.
    assert (jobs["dev"]["environment"], jobs["prod"]["environment"]) == ("dev", "production")
    for name, job in jobs.items():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        steps = job["steps"]
        (credentials,) = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
        assert set(credentials["with"]) == {"role-to-assume", "aws-region", "role-session-name"}, name
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}", name
        (deploying,) = [step for step in steps if "make deploy ENV=" in step.get("run", "")]
        assert 'PERMISSIONS_BOUNDARY="$BOUNDARY_ARN"' in deploying["run"], name
        assert "--role-arn $CFN_ROLE_ARN" in deploying["run"], name
        assert deploying["env"] == {
            "CFN_ROLE_ARN": "${{ vars.AWS_CLOUDFORMATION_ROLE_ARN }}",
            "BOUNDARY_ARN": "${{ vars.AWS_PERMISSIONS_BOUNDARY_ARN }}",
        }, name
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "aws-access-key-id" not in text
    assert "secrets." not in text
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            if "uses:" in line:  # every action pinned to a full commit
                ref = line.split("@", 1)[1].split()[0]
                assert len(ref) == 40, line


def test_the_deploy_passes_the_boundary_with_every_samconfig_parameter() -> None:
    from ops.deploy import deploy_command
    from twin.stack import samconfig_environment

    boundary = "arn:aws:iam::123456789012:policy/serverless-api-pipeline-boundary-prod"
    command = deploy_command("prod", "eu-west-1", boundary, ["--role-arn", "arn:x"])
    start = command.index("--parameter-overrides") + 1
    given = dict(item.split("=", 1) for item in command[start:-2])
    # A command-line list replaces samconfig's: every parameter must be in it.
    assert given == {**samconfig_environment("prod")[1], "PermissionsBoundaryArn": boundary}
    assert command[-2:] == ["--role-arn", "arn:x"]
    assert "--parameter-overrides" not in deploy_command("prod", "eu-west-1", "", [])


def checkov_skips(path: Path) -> list[tuple[str, str, str]]:
    skips = []
    for name, resource in load_template(path)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips.append((name, skip["id"], skip["comment"]))
    return skips


def test_every_checkov_skip_has_a_reason_and_is_listed_in_the_deploy_guide() -> None:
    guide = " ".join((ROOT / "docs" / "deploy.md").read_text().split())  # line breaks are spaces
    skips = checkov_skips(ROOT / "template.yaml") + checkov_skips(PIPELINE)
    assert skips
    for resource, check, comment in skips:
        assert len(comment) > 20, (resource, check)
        assert f"`{check}` on `{resource}`" in guide, f"docs/deploy.md lists no skip of {check} on {resource}"


def test_every_role_the_app_stack_creates_carries_the_pipelines_boundary(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    boundary = "arn:aws:iam::123456789012:policy/serverless-api-pipeline-boundary-dev"
    for parameters, expected in (({"PermissionsBoundaryArn": boundary}, {"b": boundary}), ({}, {})):
        options = {**OWN_POOL, **ALL_OPTIONS, "AlarmEmail": "", **parameters}
        transformed = sam_transform(options)
        roles = {name: r for name, r in transformed["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
        assert "ApiFunctionRole" in roles
        stack = Stack(transformed, options)
        for name, role in roles.items():
            # Evaluated as CloudFormation would: the ARN, or no boundary at all.
            assert stack.resolve({"b": role["Properties"].get("PermissionsBoundary")}) == expected, name
