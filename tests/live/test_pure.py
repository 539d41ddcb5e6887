"""The shared live path imports no web framework, no pydantic and no SDK: the stream
consumer on Lambda loads it at every cold start and pays for what it imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ("app.live.audience", "app.live.changes", "app.live.fanout", "app.live.local")
HEAVY = ("fastapi", "starlette", "pydantic", "boto3", "botocore", "jose")


def test_the_live_path_imports_nothing_heavy() -> None:
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in PURE)
        + f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
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
    assert json.loads(result.stdout) == []
