"""What a deployed function imports at init is what it pays for on every cold start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("app.devsignin", "app.devtoken")


def imported_local_only_modules(env: dict[str, str]) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    code = (
        "import json, sys\nimport app.main as m\n"
        f"print(json.dumps(sorted(n for n in sys.modules if n.startswith({LOCAL_ONLY!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_a_deployed_function_never_imports_the_development_sign_in(tmp_path: Path) -> None:
    """The dev sign-in and the dev key's crypto are local-stage tools: on Lambda they
    are never served, so their import (about 50 ms of init) must not happen there."""
    cloud = {
        "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        "APP_STAGE": "dev",
        "APP_AUTH_ISSUER": "https://issuer.example.com",
        "APP_AUTH_AUDIENCE": "api",
        "APP_STORE": "sqlite",
        "APP_SQLITE_PATH": str(tmp_path / "a.db"),
    }
    assert imported_local_only_modules(cloud) == []


def test_the_local_stage_still_serves_the_development_sign_in(tmp_path: Path) -> None:
    local = {"APP_STAGE": "local", "APP_SQLITE_PATH": str(tmp_path / "a.db")}
    assert "app.devsignin.router" in imported_local_only_modules(local)
