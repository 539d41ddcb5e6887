"""The deploy tests' expensive fixtures: `sam build` and SAM's transform, each run once
per session for whichever modules ask (test_build.py and test_artifact.py share the
build; the transform serves test_table_and_iam.py, test_snapstart.py and
test_gateway_authorizer.py). Both hand out read-only results: the tests read the build
directory and the transformed template, never change them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.stack import ROOT, SAM, SAM_PYTHON, TEMPLATE, run, tool_env

# SAM's transform, run with SAM's own translator on the template as `sam package`
# leaves it, with the given parameter values (the transform resolves a few of them
# itself, e.g. a Ref in AutoPublishAlias; everything else stays for CloudFormation).
TRANSFORM = (
    "import json, sys\n"
    "from samtranslator.translator.transform import transform\n"
    "from samtranslator.yaml_helper import yaml_parse\n"
    "class NoManagedPolicies:\n"
    "    def load(self):\n"
    "        return {}\n"
    "template = yaml_parse(open(sys.argv[1]).read())\n"
    "for resource in template['Resources'].values():\n"
    "    if resource['Type'] == 'AWS::Serverless::Function':\n"
    "        resource['Properties']['CodeUri'] = 's3://bucket/key'\n"
    "parameters = json.loads(sys.argv[3])\n"
    "json.dump(transform(template, parameters, NoManagedPolicies()), open(sys.argv[2], 'w'))\n"
)


@pytest.fixture(scope="session")
def sam_transform(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, str]], dict[str, Any]]:
    """The template after SAM's transform for the given parameters, once per set of them."""
    results: dict[str, dict[str, Any]] = {}

    def transformed(parameters: dict[str, str]) -> dict[str, Any]:
        key = json.dumps(parameters, sort_keys=True)
        if key not in results:
            out = tmp_path_factory.mktemp("transformed") / "template.json"
            run(
                [str(SAM_PYTHON), "-c", TRANSFORM, str(TEMPLATE), str(out), key],
                env=tool_env(AWS_DEFAULT_REGION="us-east-1"),
                timeout=60,
            )
            results[key] = json.loads(out.read_text())
        return results[key]

    return transformed


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`sam build` for an architecture, once per session; returns the build directory."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "build-ApiFunction", "ARTIFACTS_DIR=/tmp/dry-run/x"],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    missing = "sam build runs `make build-ApiFunction` with the Makefile, which must include lambda-build.mk"
    assert dry_run.returncode == 0, f"{missing}\n{dry_run.stderr}"
    assert "pip install" in dry_run.stdout, missing
    builds: dict[str, Path] = {}

    def build(architecture: str) -> Path:
        if architecture not in builds:
            # Each build gets its own parent: SAM writes build.toml next to --build-dir.
            base = tmp_path_factory.mktemp(f"sam-{architecture}")
            run(
                [
                    str(SAM),
                    "build",
                    "--template",
                    str(TEMPLATE),
                    "--build-dir",
                    str(base / "build"),
                    "--cache-dir",
                    str(base / "cache"),
                    "--parameter-overrides",
                    f"Architecture={architecture}",
                ],
                env=tool_env(LAMBDA_ARCHITECTURE=architecture),
            )
            builds[architecture] = base / "build"
        return builds[architecture]

    return build
