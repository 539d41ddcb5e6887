"""The benchmark suite: `make bench` (full) and `make bench-smoke` (the regression guard).

    .venv-bench/bin/python -m bench.run [--smoke]

Prints one table (figure, this project, baseline, ratio, target, verdict) and
writes the run as JSON: bench/results/<timestamp>.json and latest.json for the
full suite, bench/results/smoke.json for the smoke run. Every figure comes from
fresh processes of a bare python3.13 (bench/child.py); nothing is timed inside
a test. The smoke run measures only the guarded figures (cold start, warm
/hello) with fewer repetitions and exits 1 when one of them is more than 25%
worse than its target.

This module runs the sections in order; bench/workspace.py is what they run in,
bench/measure.py the measurements, bench/publish.py the verdicts and results.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.measure import (
    SNAPSTART_RUNS,
    run_cold,
    run_deployed,
    run_importtime,
    run_local,
    run_memory,
    run_package,
    run_snapstart,
    run_warm,
)
from bench.publish import publish, src_fingerprint
from bench.workspace import FULL, SMOKE, DeployedServers, Workspace

__all__ = ["main", "src_fingerprint"]  # src_fingerprint: where the guard's tests have found it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the regression guard: guarded figures only")
    parser.add_argument(
        "--only",
        nargs="*",
        metavar="SECTION",
        help="only these sections (partial.json)",
    )
    parser.add_argument("--runs", type=int, help="override the profile's cold and deployed repetitions")
    args = parser.parse_args()
    profile = SMOKE if args.smoke else FULL
    if args.runs:
        profile = replace(profile, cold_runs=args.runs, deployed_runs=args.runs)
    only = set(args.only or ())
    started = time.monotonic()
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}

    def timed(section: str, work: Any) -> None:
        if only and section not in only:
            return
        begun = time.monotonic()
        results[section] = work()
        timings[section] = round(time.monotonic() - begun, 1)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ws = Workspace(Path(tmp), profile)
        timings["prepare"] = round(time.monotonic() - started, 1)
        if profile.deployed_runs and (not only or only & {"deployed", "snapstart", "memory"}):
            ws.deployed = DeployedServers(ws.jwks)
        try:
            if profile.deployed_runs:
                timed("deployed", lambda: run_deployed(ws, profile))
                timed("snapstart", lambda: run_snapstart(ws, SNAPSTART_RUNS if not args.smoke else 1))
            if profile.memory:  # as deployed too: the DynamoDB store and limiter
                timed("memory", lambda: run_memory(ws))
        finally:
            if ws.deployed is not None:
                ws.deployed.close()
        timed("cold", lambda: run_cold(ws, profile))
        timed("warm", lambda: run_warm(ws, profile))
        if profile.package:
            timed("package", lambda: run_package(ws))
        if profile.local_seconds:
            timed("local", lambda: run_local(ws, profile.local_seconds))
        if profile.importtime_runs:
            timed("importtime", lambda: run_importtime(ws, profile.importtime_runs))
        ws.check_untouched()

    return publish(results, profile, smoke=args.smoke, only=only, timings=timings, started=started)


if __name__ == "__main__":
    raise SystemExit(main())
