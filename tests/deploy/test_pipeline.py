"""CI/CD for the team's own repository: the workflows deploy with OIDC credentials only,
the pipeline template trusts exactly this repository's main branch and environments, and
every checkov skip has its reason in place and a line in the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.deploy.stack import ROOT, load_template

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
    assert jobs["prod"]["environment"] == "production"
    for name, job in jobs.items():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        steps = job["steps"]
        (credentials,) = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]
        assert set(credentials["with"]) == {"role-to-assume", "aws-region", "role-session-name"}, name
        assert any("make deploy ENV=" in step.get("run", "") for step in steps), name
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "aws-access-key-id" not in text
    assert "secrets." not in text
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            if "uses:" in line:  # every action pinned to a full commit
                ref = line.split("@", 1)[1].split()[0]
                assert len(ref) == 40, line


def test_the_pipeline_role_trusts_only_this_repositorys_main_and_environments() -> None:
    template = load_template(PIPELINE)
    role = template["Resources"]["DeployRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    subjects = [s["Fn::Sub"] for s in condition["StringLike"]["token.actions.githubusercontent.com:sub"]]
    assert subjects == [
        "repo:${GitHubRepository}:ref:refs/heads/main",
        "repo:${GitHubRepository}:environment:dev",
        "repo:${GitHubRepository}:environment:production",
    ]
    # It passes exactly one role, and only to CloudFormation.
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Resource"] == {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    assert not [s for s in statements if s["Resource"] == "*"]
    execution = template["Resources"]["CloudFormationExecutionRole"]["Properties"]
    (trust,) = execution["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}


def checkov_skips(path: Path) -> list[tuple[str, str, str]]:
    skips = []
    for name, resource in load_template(path)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            skips.append((name, skip["id"], skip["comment"]))
    return skips


def test_every_checkov_skip_has_a_reason_and_is_listed_in_the_readme() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())  # line breaks are spaces
    skips = checkov_skips(ROOT / "template.yaml") + checkov_skips(PIPELINE)
    assert skips
    for resource, check, comment in skips:
        assert len(comment) > 20, (resource, check)
        assert f"`{check}` on `{resource}`" in readme, f"README lists no skip of {check} on {resource}"
