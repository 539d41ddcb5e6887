"""A run's publication: its meta (the commit and src/app measured, the machine),
the verdicts, the table on stdout, the JSON in bench/results/, and the
regression guard's answer.
"""

# ruff: noqa: S607 - fixed commands of this suite (git from PATH)
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import charts, cost, importtime, report, scaling, subjects
from bench.subjects import PYTHON_FLAGS
from bench.workspace import Profile

RESULTS = Path(__file__).resolve().parent / "results"
SRC_APP = Path(__file__).resolve().parents[1] / "src" / "app"


def src_fingerprint(root: Path = SRC_APP) -> str:
    """sha256 over src/app's files (paths and contents; no bytecode): what the
    artifact is built from, committed or not."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stale_note() -> str | None:
    """A line when the published table (latest.json) measured another src/app."""
    try:
        meta = json.loads((RESULTS / "latest.json").read_text())["meta"]
    except (OSError, ValueError, KeyError):
        return "bench: no published results (bench/results/latest.json): run `make bench`"
    if meta.get("src_app") != src_fingerprint():
        return (
            f"bench: the published table (bench/results/latest.json, commit {meta.get('commit', '?')}) "
            "measured another src/app: run `make bench` to republish it"
        )
    return None


def source_commit() -> str:
    """The commit measured (its full id; "-dirty" when the tree differed from it)."""
    found = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=RESULTS.parent.parent, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src/app"], cwd=RESULTS.parent.parent,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return (found.stdout.strip() or "unknown") + ("-dirty" if dirty.stdout.strip() else "")


def source_version() -> str:
    """The commit measured, marked when the working tree differed from it."""
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=RESULTS.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def publish(
    results: dict[str, Any],
    profile: Profile,
    *,
    smoke: bool,
    only: set[str],
    timings: dict[str, float],
    started: float,
) -> int:
    """Judges, prints and writes the run; the exit status (1: the smoke run's guard failed)."""
    verdicts = report.judge_all(results)
    results["meta"] = {
        "profile": "smoke" if smoke else "full",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_version(),
        "commit": source_commit(),
        "src_app": src_fingerprint(),
        "interpreter": subjects.describe_interpreter(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "flags": list(PYTHON_FLAGS),
        "seconds": {**timings, "total": round(time.monotonic() - started, 1)},
        "settings": {
            "cold_runs": profile.cold_runs,
            "warm_iterations_per_round": profile.warm_iterations,
            "warm_rounds": profile.warm_rounds,
            "warm_warmup": profile.warm_warmup,
        },
    }
    results["verdicts"] = [
        {
            "target": v.target.key,
            "figure": v.target.figure,
            "ours": v.ours,
            "baseline": v.target.baseline,
            "baseline_value": v.baseline,
            "ratio": v.ratio,
            "limit": v.target.limit,
            "verdict": v.word,
            "guard_failed": v.guard_failed,
        }
        for v in verdicts
    ]
    results["table"] = report.table(results)
    print(results["table"])
    if "importtime" in results:
        print()
        print(importtime.render(results["importtime"]))
    results["cost"] = cost.model(results)
    if results["cost"]["rows"]:
        print()
        print(cost.render(results["cost"]))
    meta = results["meta"]
    print(f"\n{meta['interpreter']}, {meta['machine']}; {meta['profile']} run took {meta['seconds']}")

    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=1)
    if only:
        (RESULTS / "partial.json").write_text(text)
    elif smoke:
        (RESULTS / "smoke.json").write_text(text)
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (RESULTS / f"{stamp}.json").write_text(text)
        shutil.copyfile(RESULTS / f"{stamp}.json", RESULTS / "latest.json")
        (RESULTS / "latest.md").write_text(
            report.markdown(results) + "\n\n" + cost.markdown(results["cost"]) + "\n"
        )
        # The performance page's charts and the scaling page's tables, from the figures
        # just published.
        for path in [
            *charts.write(charts.with_live(results), charts.DOCS_IMG),
            scaling.write(results, RESULTS / "scaling.md"),
        ]:
            print(f"bench: wrote {path}")

    failed = [v for v in verdicts if v.guard_failed]
    for v in failed:
        print(
            f"regression guard: {v.target.figure.strip()} vs {report.SUBJECTS[v.target.baseline or '']} is "
            f"{v.ratio:.2f}x, more than 25% worse than the target {report.fmt_limit(v.target)}"
        )
    if smoke and failed:
        return 1
    if smoke:
        print(
            "regression guard: as-deployed and SQLite cold starts, warm /hello against the logged bare "
            "hello: within 25% of their targets"
        )
        note = stale_note()
        if note:
            print(note)
    return 0
