"""`make smoke` against the twin, as `make test` runs it after every change, and what it
says when a check fails."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from tests.twin.conftest import ROOT, Twin


def smoke(twin: Twin, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.smoke", "--url", twin.url, *args],
        cwd=ROOT,
        env={**os.environ, "TWIN_STATE_DIR": str(twin.state_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_smoke_suite_passes_against_the_twin(cloud: Twin) -> None:
    cloud.settle()
    result = smoke(cloud)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "smoke: token from the twin's issuer" in lines
    for name in ("hello", "docs under the stage", "401 without a token", "CORS preflight", "menu write",
                 "order round trip", "clean-up"):  # fmt: skip
        assert any(line.startswith(f"ok    {name}: ") for line in lines), (name, result.stdout)
    assert "401 from the gateway" in result.stdout  # the template's authorizer answered
    assert lines[-1] == "smoke: 7 of 7 checks passed"
    # It cleaned up after itself: no smoke dish is left on the menu.
    menu = subprocess.run(
        [sys.executable, "-c", f"import httpx; print(httpx.get('{cloud.url}/menu').text)"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "smoke-" not in menu.stdout


def test_a_failing_check_fails_the_run_and_says_what_it_saw(tiny_twin: Callable[..., Any]) -> None:
    # The tiny stack is not this API: /hello is its echo, /docs has no Swagger UI.
    with tiny_twin() as twin:
        result = smoke(twin, "--token", "not-a-real-token")
    assert result.returncode == 1
    assert "FAIL  hello: unexpected body" in result.stdout
    assert "FAIL  docs under the stage:" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("smoke: ")
    assert "checks passed" in result.stdout.splitlines()[-1]
