"""What a deployed function imports at init is what it pays for on every cold start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.child_report import report_line

ROOT = Path(__file__).resolve().parents[2]
CLOSED_JWKS_URL = "http://127.0.0.1:9/.well-known/jwks.json"  # nothing listens (discard port)
LOCAL_ONLY = ("app.devsignin", "app.devtoken")


def cloud_env(tmp_path: Path) -> dict[str, str]:
    """A deployed function's environment (SQLite, so nothing else is needed)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "ApiFunction",
        "APP_STAGE": "dev",
        "APP_AUTH_ISSUER": "https://issuer.example.com",
        "APP_AUTH_JWKS_URL": CLOSED_JWKS_URL,  # init fetches the keys: loopback only
        "APP_AUTH_AUDIENCE": "api",
        "APP_STORE": "sqlite",
        "APP_SQLITE_PATH": str(tmp_path / "a.db"),
    }


def imported_local_only_modules(env: dict[str, str]) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    code = (
        "import json, sys\nimport app.main as m\n"
        f"print('REPORT', json.dumps(sorted(n for n in sys.modules if n.startswith({LOCAL_ONLY!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return list(json.loads(report_line(result.stdout)))


def test_a_deployed_function_never_imports_the_development_sign_in(tmp_path: Path) -> None:
    """The dev sign-in and the dev key's crypto are local-stage tools: on Lambda they
    are never served, so their import (about 50 ms of init) must not happen there."""
    cloud = cloud_env(tmp_path)
    assert imported_local_only_modules(cloud) == []


def test_the_local_stage_still_serves_the_development_sign_in(tmp_path: Path) -> None:
    local = {"APP_STAGE": "local", "APP_SQLITE_PATH": str(tmp_path / "a.db")}
    assert "app.devsignin.router" in imported_local_only_modules(local)


def _init_report(env: dict[str, str], before: str = "") -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    code = (
        f"import gc, json, sys, time\n{before}\nimport app.main as m\n"
        "print('REPORT', json.dumps({'collecting': gc.isenabled(), 'frozen': gc.get_freeze_count(),"
        " 'modules': sorted(sys.modules)}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(report_line(result.stdout))
    return report


def test_init_collects_nothing_and_freezes_what_it_made(tmp_path: Path) -> None:
    """Init's objects live as long as the container: no cyclic collection while they
    are made, then frozen (never scanned again), and collection back on after."""
    report = _init_report({"APP_SQLITE_PATH": str(tmp_path / "a.db")})
    assert report["collecting"] is True
    assert isinstance(report["frozen"], int)
    assert report["frozen"] > 50_000
    # A host that turned collection off keeps it off.
    assert _init_report({"APP_SQLITE_PATH": str(tmp_path / "a.db")}, "gc.disable()")["collecting"] is False


def test_init_imports_no_settings_framework(tmp_path: Path) -> None:
    """Settings are a pydantic model reading APP_* itself: pydantic-settings and its
    dotenv and CLI sources cost about 20 ms of every cold start for nothing."""
    cloud = cloud_env(tmp_path)
    modules = _init_report(cloud)["modules"]
    assert isinstance(modules, list)
    assert not [m for m in modules if m.split(".")[0] in ("pydantic_settings", "dotenv", "argparse")]
