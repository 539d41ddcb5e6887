"""The targets and the verdicts: pure functions of a run's measurements (stdlib only).

Every target of issue 6 is a ratio within one run (or, for the few absolute
ones, a bound that does not depend on the machine's speed), so the verdict reads
the same on a fast laptop and a slow CI runner. Absolute numbers are context.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Guard: `make test` fails when a guarded ratio is more than this much worse
# than its target (issue 6, item 5).
GUARD_SLACK = 1.25

MB = 1_000_000


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(values: Sequence[float]) -> float:
    """Nearest-rank 99th percentile (with fewer than 100 samples: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"median": median(values), "p99": p99(values), "n": len(values)}


@dataclass(frozen=True)
class Target:
    """One target of issue 6, item 3.

    ``kind``: ``max_ratio`` (ours / baseline <= limit), ``min_ratio``
    (ours / baseline >= limit) or ``max_value`` (ours <= limit, in ``unit``).
    ``path`` locates the figure in the results: (section, field), and the
    subject's value is results[section][subject][field]["median"] (or a plain
    number).
    """

    key: str
    figure: str
    section: str
    field: str
    kind: str
    limit: float
    baseline: str | None = None
    unit: str = "ms"
    stat: str = "median"
    guarded: bool = False
    subject: str = "ours"
    # Where the guard holds the line when the target is not met yet: the level
    # reached today (the guard trips at it x GUARD_SLACK); None: the target itself.
    guard_at: float | None = None

    @property
    def guard_level(self) -> float:
        return self.guard_at if self.guard_at is not None else self.limit


TARGETS = (
    # The headline (issue 16): what users get, the built artifact as deployed.
    Target(
        "deployed_cold_order",
        "as deployed: cold start to first GET /orders/{id} (auth, limiter, get)",
        "deployed",
        "order_total_ms",
        "max_ratio",
        1.0,
        baseline="typical_deployed",
        guarded=True,
        subject="ours_deployed",
    ),
    Target(
        "deployed_cold_hello",
        "as deployed: cold start to first GET /hello (limiter)",
        "deployed",
        "hello_total_ms",
        "max_ratio",
        1.0,
        baseline="typical_deployed",
        guarded=True,
        subject="ours_deployed",
    ),
    Target(
        "snapstart_order",
        "SnapStart: 1st GET /orders/{id} after restore vs warm",
        "snapstart",
        "order_first_vs_warm",
        "max_value",
        2.0,
        unit="x",
        subject="ours_deployed",
    ),
    Target(
        "cold_vs_typical",
        "cold start to first response",
        "cold",
        "total_ms",
        "max_ratio",
        0.6,
        baseline="typical",
        guarded=True,
    ),
    Target(
        "cold_vs_typical_pyc",
        "cold start to first response",
        "cold",
        "total_ms",
        "max_ratio",
        1.2,
        baseline="typical_pyc",
        guarded=True,
    ),
    Target(
        "warm_hello_vs_async",
        "warm GET /hello",
        "warm",
        "hello",
        "max_ratio",
        1.5,
        baseline="typical_async",
        unit="us",
        # Judged and published, not guarded. The bare hello writes no log line, and one
        # line written to the same pipe costs it 1.16-1.67x of itself with the machine's
        # state (README), so this ratio moves with the pipe, whatever our code does: a
        # fresh-clone CI run read 2.26x where the run before read 1.74x, with ours
        # against the logged bare hello at 1.56x and 1.45x. The guard is the row below.
    ),
    Target(
        "warm_hello_vs_async_logged",
        "  warm GET /hello (both write one log line)",
        "warm",
        "hello",
        "max_ratio",
        1.5,
        baseline="typical_async_logged",
        unit="us",
        guarded=True,
        # Like for like: the bare hello writing the same one line to the same pipe, so
        # the pipe's cost is in both and what is left is mostly our code's. Still noisy:
        # 1.21-1.26x on a quiet machine on 2026-12-05, but 1.56x, 1.56x and 1.75x in
        # fresh-clone CI runs (make bench-smoke right after the whole suite) and 1.65x in
        # one full run, all on the same code. The guard holds it at 1.8x (it trips at
        # 2.25x), above that noise; the published verdict stays against 1.5x.
        guard_at=1.8,
    ),
    Target(
        "warm_order_p99",
        "warm GET /orders/{id} (RS256, SQLite)",
        "warm",
        "order",
        "max_value",
        1000.0,
        unit="us",
        stat="p99",
    ),
    Target(
        "memory_growth",
        "RSS growth, invocation 1,000 -> 10,000, as deployed",
        "memory",
        "growth_bytes",
        "max_value",
        1 * MB,
        unit="bytes",
        subject="ours_deployed",
    ),
    Target(
        "memory_peak",
        "peak RSS after 10,000 invocations, as deployed",
        "memory",
        "peak_after_bytes",
        "max_value",
        96 * MB,
        unit="bytes",
        subject="ours_deployed",
    ),  # a 128 MB function with a quarter to spare
    Target(
        "uvicorn_hello",
        "uvicorn GET /hello, requests/s",
        "local",
        "rps",
        "min_ratio",
        0.7,
        baseline="starlette",
        unit="rps",
    ),
)


def value(
    results: dict[str, Any], section: str, subject: str, field: str, stat: str = "median"
) -> float | None:
    """A figure from the results, or None when this run did not measure it."""
    found = results.get(section, {}).get(subject, {}).get(field)
    if found is None:
        return None
    if isinstance(found, dict):
        return float(found[stat])
    return float(found)


@dataclass(frozen=True)
class Verdict:
    target: Target
    ours: float | None
    baseline: float | None
    ratio: float | None
    passed: bool | None  # None: not measured in this run
    guard_failed: bool

    @property
    def word(self) -> str:
        if self.passed is None:
            return "n/a"
        return "PASS" if self.passed else "MISS"


def judge(target: Target, results: dict[str, Any]) -> Verdict:
    ours = value(results, target.section, target.subject, target.field, target.stat)
    baseline = None
    if target.baseline is not None:
        baseline = value(results, target.section, target.baseline, target.field, target.stat)
    if ours is None or (target.baseline is not None and not baseline):
        return Verdict(target, ours, baseline, None, None, False)
    if target.kind == "max_value":
        measured, ratio = ours, None
    else:
        assert baseline is not None
        measured = ratio = ours / baseline
    if target.kind == "min_ratio":
        passed = measured >= target.limit
        guard_failed = target.guarded and measured < target.guard_level / GUARD_SLACK
    else:
        passed = measured <= target.limit
        guard_failed = target.guarded and measured > target.guard_level * GUARD_SLACK
    return Verdict(target, ours, baseline, ratio, passed, guard_failed)


def judge_all(results: dict[str, Any]) -> list[Verdict]:
    return [judge(target, results) for target in TARGETS]
