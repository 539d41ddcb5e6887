"""The shared live path imports no web framework, no pydantic and no SDK: the stream
consumer on Lambda loads it at every cold start and pays for what it imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.child_report import report_line
from tests.unit.test_import_cost import cloud_env

ROOT = Path(__file__).resolve().parents[2]
PURE = ("app.live.audience", "app.live.changes", "app.live.fanout", "app.live.local", "app.live.sqlite_feed")
HEAVY = ("fastapi", "starlette", "pydantic", "boto3", "botocore", "jose")


def test_the_live_path_imports_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in PURE)
        + f"print('REPORT', json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(report_line(result.stdout)) == []


def test_a_deployed_function_never_loads_the_local_websocket_server(tmp_path: Path) -> None:
    """On Lambda, API Gateway's WebSocket API is the server: app.main skips /ws and its feed."""
    assert live_modules_of_app_main(cloud_env(tmp_path)) == []
    local = live_modules_of_app_main({"APP_SQLITE_PATH": str(tmp_path / "a.db")})
    assert {"app.live.websocket", "app.live.sqlite_feed"} <= set(local)


def live_modules_of_app_main(env: dict[str, str]) -> list[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
    code = (
        "import json, sys\nimport app.main\n"
        "print('REPORT', json.dumps([n for n in sys.modules if 'app.live' in n]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(report_line(result.stdout)))
