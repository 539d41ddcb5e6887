"""The Live* functions' handlers import no web framework: each cold start pays only
for what its handler imports (docs/architecture.md, "Live orders"). The socket and
stream handlers import no settings model (pydantic) and no JWT library either."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = {"fastapi", "starlette", "mangum"}
# Imported one after another in one fresh interpreter: what each adds is its own cost.
HANDLERS = ("app.aws_lambda.live_socket", "app.aws_lambda.live_stream", "app.aws_lambda.live_authorizer")
REPORT = """
import importlib, json, sys
loaded = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    loaded[name] = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(loaded))
"""


def test_each_live_handler_imports_only_what_it_needs() -> None:
    environment = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    report = subprocess.check_output([sys.executable, "-c", REPORT, *HANDLERS], env=environment, timeout=60)
    loaded = {name: set(modules) for name, modules in json.loads(report).items()}
    socket, stream, authorizer = (loaded[name] for name in HANDLERS)
    assert socket & (WEB | {"pydantic", "jose"}) == set()
    assert stream & (WEB | {"pydantic", "jose"}) == set()
    assert authorizer & WEB == set()
    # The SDK comes at the first invocation (the clients), not at import.
    assert "app" in stream
    assert "botocore" not in stream
