"""The two commands install the web app's pieces before they need them, on a fresh clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def prerequisites(target: str) -> list[str]:
    database = subprocess.run(
        ["make", "-pn", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    ).stdout
    (line,) = [line for line in database.splitlines() if line.startswith(f"{target}:")]
    return line.split(":", 1)[1].split()


def test_make_test_builds_the_web_app_before_the_browser_journeys() -> None:
    # A fresh clone has no web/dist: pytest must build it (tests/web serves the build).
    assert "web/dist/index.html" in prerequisites("pytest")


def test_make_run_installs_the_web_apps_packages_before_starting_vite() -> None:
    assert "web/node_modules/.installed" in prerequisites("run")
