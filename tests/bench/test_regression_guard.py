"""The benchmark's verdicts and its regression guard, as rules (nothing is timed here).

The guard itself is `make bench-smoke`, a run of fresh processes outside pytest
that `make test` depends on; these tests pin down what it decides from a run's
figures, and that it is wired in.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import importtime, report, run

ROOT = Path(__file__).resolve().parents[2]


def run_with(cold: float = 100.0, warm: float = 100.0, deployed: float = 100.0) -> dict[str, Any]:
    """Figures where this project's cold starts and warm /hello are the given
    percentages of their targets (100: exactly on target)."""
    typical, typical_pyc, async_hello, powertools = 500.0, 300.0, 100.0, 40.0
    ours_cold = min(0.6 * typical, 1.2 * typical_pyc) * cold / 100
    ours_warm = 1.5 * async_hello * warm / 100
    typical_order, typical_hello = 900.0, 850.0

    def ms(median: float) -> dict[str, float]:
        return {"median": median, "p99": median * 1.2, "n": 7}

    return {
        "deployed": {
            "ours_deployed": {
                "order_total_ms": ms(typical_order * deployed / 100),
                "hello_total_ms": ms(typical_hello * deployed / 100),
            },
            "typical_deployed": {"order_total_ms": ms(typical_order), "hello_total_ms": ms(typical_hello)},
        },
        "cold": {
            "ours": {"total_ms": ms(ours_cold)},
            "typical": {"total_ms": ms(typical)},
            "typical_pyc": {"total_ms": ms(typical_pyc)},
        },
        "warm": {
            "ours": {"hello": ms(ours_warm)},
            "typical_async": {"hello": ms(async_hello)},
            "typical_async_logged": {"hello": ms(async_hello)},
            "powertools": {"hello": ms(powertools)},
        },
    }


def verdicts(results: dict[str, Any]) -> dict[str, report.Verdict]:
    return {v.target.key: v for v in report.judge_all(results)}


GUARDED = {
    "deployed_cold_order",
    "deployed_cold_hello",
    "cold_vs_typical",
    "cold_vs_typical_pyc",
    "warm_hello_vs_async_logged",
}


def test_figures_on_target_pass_and_do_not_trip_the_guard() -> None:
    found = verdicts(run_with(cold=100, warm=100, deployed=100))
    for key in GUARDED:
        assert found[key].word == "PASS", key
        assert not found[key].guard_failed, key


def test_a_miss_by_up_to_25_percent_is_reported_but_does_not_fail_the_guard() -> None:
    found = verdicts(run_with(cold=124, warm=124, deployed=124))
    # warm_hello_vs_async: judged and published, not guarded (its baseline logs nothing)
    assert {key for key, v in found.items() if v.word == "MISS"} == GUARDED | {"warm_hello_vs_async"}
    assert not any(v.guard_failed for v in found.values())


@pytest.mark.parametrize("key", sorted(GUARDED))
def test_a_guarded_ratio_over_25_percent_worse_than_its_guard_level_fails_the_guard(key: str) -> None:
    target = next(t for t in report.TARGETS if t.key == key)
    results = run_with()
    baseline = report.value(results, target.section, target.baseline or "", target.field)
    assert baseline
    holder = results[target.section][target.subject][target.field]
    holder["median"] = baseline * target.guard_level * 1.24
    assert not verdicts(results)[key].guard_failed
    holder["median"] = baseline * target.guard_level * 1.26
    assert verdicts(results)[key].guard_failed


def test_a_missed_target_is_guarded_at_the_level_reached_never_below_its_target() -> None:
    for target in report.TARGETS:
        assert target.guard_level >= target.limit, target.key


def test_the_guard_covers_the_as_deployed_cold_starts_and_the_warm_hello_with_its_log_line() -> None:
    assert {t.key for t in report.TARGETS if t.guarded} == GUARDED


def test_the_retired_targets_are_context_only() -> None:
    """Powertools (a bare FastAPI + Mangum hello is itself ~6x it) and the 10 MB zip
    (cryptography alone is 4.6 MB; Lambda allows 50 MB) are reported, never judged."""
    keys = {t.key for t in report.TARGETS}
    assert not keys & {"warm_hello_vs_powertools", "zip_arm64"}
    text = report.table(run_with())
    assert "warm GET /hello (retired target, context)" in text


def test_a_figure_this_run_did_not_measure_is_not_a_verdict() -> None:
    found = verdicts(run_with())
    assert found["uvicorn_hello"].word == "n/a"
    assert found["memory_growth"].word == "n/a"
    assert not found["uvicorn_hello"].guard_failed


def test_throughput_must_reach_at_least_its_share_of_the_baseline() -> None:
    def local(ours: float) -> dict[str, Any]:
        return {"local": {"ours": {"rps": {"median": ours}}, "starlette": {"rps": {"median": 1000.0}}}}

    assert verdicts(local(700.0))["uvicorn_hello"].word == "PASS"
    assert verdicts(local(690.0))["uvicorn_hello"].word == "MISS"


def test_the_table_shows_a_verdict_for_every_measured_target_only() -> None:
    text = report.table(run_with(cold=130))
    assert "MISS (guard: FAIL)" in text
    for target in report.TARGETS:
        measured = target.section in ("cold", "warm", "deployed") and target.field != "order"
        assert (target.figure in text) == measured, target.key


def test_p99_is_the_nearest_rank() -> None:
    assert report.p99(list(range(1, 101))) == 99
    assert report.p99([3.0, 1.0, 2.0]) == 3.0


def test_importtime_lines_are_parsed_with_their_nesting() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |     _io\n"
        "import time:      1500 |       9000 |   pydantic.main\n"
        "import time:      2000 |      30000 | app.main\n"
    )
    parsed = importtime.parse(stderr)
    assert [(e["module"], e["self_us"], e["cumulative_us"], e["depth"]) for e in parsed] == [
        ("_io", 120, 120, 2),
        ("pydantic.main", 1500, 9000, 1),
        ("app.main", 2000, 30000, 0),
    ]


def test_make_test_runs_the_smoke_guard() -> None:
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert "-m bench.run --smoke" in dry_run.stdout


def pins(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {
        m[0].lower().replace("_", "-"): m[1] for m in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
    }


def test_the_baselines_run_the_deployed_versions() -> None:
    runtime, bench = pins("runtime.txt"), pins("bench.txt")
    for name in ("fastapi", "mangum", "pydantic", "pydantic-core", "starlette", "anyio"):
        assert bench[name] == runtime[name], name


def test_the_published_results_name_the_commit_and_the_source_they_measured() -> None:
    """bench/results/latest.json (the README's table) says what it measured; the
    guard (make bench-smoke) judges only figures of its own fresh run and says
    when the published table is older than src/app."""
    latest = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    meta = latest["meta"]
    assert meta["profile"] == "full"
    assert re.fullmatch(r"[0-9a-f]{7,40}(-dirty)?", meta["commit"]), meta["commit"]
    assert re.fullmatch(r"[0-9a-f]{64}", meta["src_app"]), meta["src_app"]
    assert {v["target"] for v in latest["verdicts"]} == {t.key for t in report.TARGETS}
    assert all(v["verdict"] in ("PASS", "MISS") for v in latest["verdicts"])


def test_the_source_fingerprint_follows_src_app_only(tmp_path: Path) -> None:
    (tmp_path / "app" / "__pycache__").mkdir(parents=True)
    (tmp_path / "app" / "main.py").write_text("x = 1\n")
    before = run.src_fingerprint(tmp_path / "app")
    (tmp_path / "app" / "__pycache__" / "main.cpython-313.pyc").write_bytes(b"\0")
    assert run.src_fingerprint(tmp_path / "app") == before
    (tmp_path / "app" / "main.py").write_text("x = 2\n")
    assert run.src_fingerprint(tmp_path / "app") != before
