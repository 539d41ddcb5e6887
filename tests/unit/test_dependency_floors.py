"""Runtime dependencies stay at or above the releases that fixed their published
advisories (SECURITY.md lists them). No vulnerability database is reachable from
these machines, so the floors are written down and checked here: both what is
installed in this environment and what the hashed pins ship in the artifact."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]

# package: (floor, why)
FLOORS: dict[str, tuple[str, str]] = {
    "python-jose": ("3.4.0", "CVE-2024-33663 (algorithm confusion), CVE-2024-33664 (JWE size bomb)"),
    "cryptography": ("44.0.1", "CVE-2024-12797 (OpenSSL in wheels), CVE-2024-26130, CVE-2023-50782"),
    "starlette": ("0.49.1", "CVE-2025-62727 (Range DoS in FileResponse), CVE-2025-54121, CVE-2024-47874"),
    "fastapi": ("0.109.1", "CVE-2024-24762 (Content-Type ReDoS)"),
    "pydantic": ("2.4.0", "CVE-2024-3772 (e-mail ReDoS)"),
    "idna": ("3.7", "CVE-2024-3651 (quadratic encode)"),
    "rsa": ("4.7", "CVE-2020-25658 (Bleichenbacher timing)"),
}


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "runtime.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_installed_runtime_dependency_is_at_or_above_its_floor(package: str) -> None:
    floor, why = FLOORS[package]
    assert Version(version(package)) >= Version(floor), f"{package} below {floor}: {why}"


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_shipped_pin_is_at_or_above_its_floor(package: str) -> None:
    floor, why = FLOORS[package]
    pins = pinned()
    assert package in pins, f"{package} is not pinned in requirements/runtime.txt"
    assert Version(pins[package]) >= Version(floor), f"{package} pinned below {floor}: {why}"


def test_security_md_lists_every_floor() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    for package, (floor, _) in FLOORS.items():
        assert f"`{package}` >= {floor}" in text, package
