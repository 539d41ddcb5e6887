"""Where the cold start goes: `python3.13 -X importtime` of `import app.main` from
the artifact, in the same bare interpreter as the cold figures.

The import is repeated a few times in fresh processes and each module's median
taken, so one slow run does not reorder the list. Two views: the top modules by
cumulative time (a package's own import plus everything it pulls in), and the
self time summed per top-level package (what a package costs by itself).
"""

# ruff: noqa: S603 - fixed commands of this suite
from __future__ import annotations

import re
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def parse(stderr: str) -> list[dict[str, Any]]:
    """The lines of -X importtime: self and cumulative microseconds, nesting depth."""
    entries = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            own, cumulative, indent, name = match.groups()
            entries.append(
                {
                    "module": name,
                    "self_us": int(own),
                    "cumulative_us": int(cumulative),
                    "depth": len(indent) // 2,
                }
            )
    return entries


def modules_of(
    python: Path, flags: list[str], task: Path, module: str, env: dict[str, str], runs: int
) -> list[dict[str, Any]]:
    """Each module that ``import {module}`` loads, with its median self and
    cumulative microseconds over ``runs`` fresh processes."""
    code = f"import sys; sys.path.insert(0, {str(task)!r}); import {module}"
    per_module: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(runs):
        result = subprocess.run(
            [str(python), *flags, "-X", "importtime", "-c", code],
            cwd=task, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"import {module} failed:\n{result.stderr[-3000:]}")
        for entry in parse(result.stderr):
            per_module[entry["module"]].append(entry)
    return [
        {
            "module": name,
            "self_us": statistics.median(e["self_us"] for e in found),
            "cumulative_us": statistics.median(e["cumulative_us"] for e in found),
            "depth": found[0]["depth"],
        }
        for name, found in per_module.items()
    ]


def by_package(modules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Self time summed per top-level package, largest first."""
    sums: dict[str, float] = defaultdict(float)
    for module in modules:
        sums[module["module"].partition(".")[0]] += module["self_us"]
    return [{"package": name, "self_ms": us / 1000} for name, us in sorted(sums.items(), key=lambda i: -i[1])]


def profile(
    python: Path,
    flags: list[str],
    ours: tuple[Path, dict[str, str]],
    typical: tuple[Path, dict[str, str]],
    runs: int,
) -> dict[str, Any]:
    """``import app.main`` from the artifact, and what of it the typical FastAPI +
    Mangum hello (same versions, bytecode) does not import at all: that part is
    this project's own start-up cost, and where to look for savings."""
    modules = modules_of(python, flags, ours[0], "app.main", ours[1], runs)
    baseline = {m["module"] for m in modules_of(python, flags, typical[0], "hello_sync", typical[1], runs)}
    extra = [m for m in modules if m["module"] not in baseline]
    return {
        "runs": runs,
        "total_ms": sum(m["self_us"] for m in modules) / 1000,
        "modules_imported": len(modules),
        "top_cumulative": sorted(modules, key=lambda m: -m["cumulative_us"])[:15],
        "top_packages_self": by_package(modules)[:15],
        "beyond_typical": {
            "modules": len(extra),
            "self_ms": sum(m["self_us"] for m in extra) / 1000,
            "top_packages_self": by_package(extra)[:15],
        },
    }


def render(found: dict[str, Any]) -> str:
    lines = [
        "import-time profile of `import app.main` from the artifact "
        f"(-X importtime, median of {found['runs']} runs): "
        f"{found['total_ms']:.1f} ms in {found['modules_imported']} modules",
        "  top 15 by cumulative time:",
    ]
    for m in found["top_cumulative"]:
        lines.append(
            f"    {m['cumulative_us'] / 1000:7.1f} ms  (self {m['self_us'] / 1000:5.1f})  {m['module']}"
        )
    lines.append("  top 15 packages by their own (self) time:")
    for p in found["top_packages_self"]:
        lines.append(f"    {p['self_ms']:7.1f} ms  {p['package']}")
    extra = found["beyond_typical"]
    lines.append(
        f"  not imported by the typical FastAPI+Mangum hello: {extra['modules']} modules, "
        f"{extra['self_ms']:.1f} ms self; by package:"
    )
    for p in extra["top_packages_self"]:
        lines.append(f"    {p['self_ms']:7.1f} ms  {p['package']}")
    return "\n".join(lines)
