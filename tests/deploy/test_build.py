"""`sam build` for both architectures: the recipe (lambda-build.mk) and a complete
artifact. The build itself is conftest.py's `sam_build`, shared with test_artifact.py.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.stack import ROOT, tool_env

pytestmark = pytest.mark.deploy

# ELF e_machine values (both targets are 64-bit little-endian).
ELF_MACHINE = {"x86_64": 62, "arm64": 183}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def test_recipe_refuses_an_unknown_architecture(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", "lambda-build.mk", "build-ApiFunction"],
        cwd=ROOT,
        env=tool_env(LAMBDA_ARCHITECTURE="sparc", ARTIFACTS_DIR=str(tmp_path / "out")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "LAMBDA_ARCHITECTURE must be arm64 or x86_64" in result.stderr
    assert not (tmp_path / "out").exists()


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert header[4:6] == b"\x02\x01", f"{path} is not 64-bit little-endian"
    return int.from_bytes(header[18:20], "little")


def pinned_distributions() -> dict[str, str]:
    text = (ROOT / "requirements" / "runtime.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M)
    return {re.sub(r"[-_.]+", "_", name).lower(): version for name, version in pins}


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_sam_build_makes_a_complete_artifact(sam_build: Callable[[str], Path], architecture: str) -> None:
    build_dir = sam_build(architecture)
    artifact = build_dir / "ApiFunction"
    assert (build_dir / "template.yaml").is_file()

    # The app, exactly the source files of src/app (no bytecode from this machine)...
    source = ROOT / "src" / "app"
    assert (artifact / "app" / "main.py").is_file()
    shipped = {
        p.relative_to(artifact / "app")
        for p in (artifact / "app").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    expected = {
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert shipped == expected
    # ...and bytecode for every module in the artifact, compiled by the recipe for
    # python3.13 as unchecked-hash .pyc (PEP 552 flags word 0b01): never compared
    # with the source, so SAM's 1980 zip timestamps cannot make it stale, and
    # /var/task being read-only no longer means compiling on every cold start.
    missing = [
        str(p.relative_to(artifact))
        for p in artifact.rglob("*.py")
        if not (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").is_file()
    ]
    assert not missing, f"no bytecode for {len(missing)} modules, e.g. {missing[:5]}"
    for pyc in artifact.rglob("*.pyc"):
        assert pyc.parent.name == "__pycache__", pyc
        assert pyc.name.endswith(".cpython-313.pyc"), pyc
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc}: not unchecked-hash bytecode (flags {flags:#04b})"

    # Every pinned runtime dependency, in its pinned version, and nothing the
    # Lambda runtime already has or that never runs there.
    installed = {}
    for dist_info in artifact.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[re.sub(r"[-_.]+", "_", name).lower()] = version
    assert installed == pinned_distributions()
    for package in ("mangum", "fastapi", "pydantic", "pydantic_core", "starlette", "jose", "cryptography"):
        assert (artifact / package / "__init__.py").is_file(), package
    for absent in ("boto3", "botocore", "bin", "tests", ".venv", "src"):
        assert not (artifact / absent).exists(), absent

    # Compiled extensions for the function's architecture, pydantic_core's above all.
    pydantic_so = list((artifact / "pydantic_core").glob("_pydantic_core*.so"))
    assert len(pydantic_so) == 1
    triplet = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    assert f"-{triplet}-linux-gnu" in pydantic_so[0].name
    extensions = list(artifact.rglob("*.so"))
    wrong = [str(p.relative_to(artifact)) for p in extensions if elf_machine(p) != ELF_MACHINE[architecture]]
    assert not wrong, f"not built for {architecture}: {wrong}"

    size = sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file())
    assert size < LAMBDA_UNZIPPED_LIMIT
