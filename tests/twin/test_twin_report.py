"""The twin's figures in docs/twin.md (`make bench-twin`, bench/twin_report.py) are read
from Lambda's REPORT lines: parsed field by field, summarized, compared as ratios; and
a REPORT line's Duration is the function's time, not the twin's plumbing."""

from __future__ import annotations

import logging
import statistics
from pathlib import Path

import pytest

from bench.twin_report import (
    ReportLines,
    figures,
    markdown,
    p95,
    parse_report,
    ratios,
)
from tests.twin.conftest import TINY, built_artifact
from twin.lambda_service import LambdaService, runtime_python
from twin.stack import ROOT, Function


def line(duration: float, used: int, init: float | None = None, status: str | None = None) -> str:
    """A REPORT line as twin/lambda_service.py writes it (CloudWatch's layout)."""
    text = (
        f"REPORT RequestId: 0f6c1b7e-5d1a-4a57-9a0e-2b8f7c3d4e5f\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 512 MB\tMax Memory Used: {used} MB"
    )
    if init is not None:
        text += f"\tInit Duration: {init:.2f} ms"
    if status is not None:
        text += f"\tStatus: {status}"
    return text


def test_a_report_line_field_by_field() -> None:
    cold = parse_report(line(81.35, 83, init=559.88))
    assert cold == {
        "request_id": "0f6c1b7e-5d1a-4a57-9a0e-2b8f7c3d4e5f",
        "duration_ms": 81.35,
        "billed_ms": 82,
        "memory_mb": 512,
        "max_memory_mb": 83,
        "init_ms": 559.88,
        "status": "ok",
    }
    warm = parse_report(line(9.25, 84))
    assert (warm["duration_ms"], warm["init_ms"], warm["max_memory_mb"]) == (9.25, None, 84)
    assert parse_report(line(10000.0, 90, status="timeout"))["status"] == "timeout"
    with pytest.raises(ValueError, match="not a REPORT line"):
        parse_report("START RequestId: 0f6c1b7e Version: $LATEST")


def test_figures_and_ratios_from_report_lines() -> None:
    project = figures(
        [line(80.0, 83, init=560.0), line(90.0, 82, init=500.0), line(70.0, 84, init=540.0)],
        [line(float(ms), 83 + ms // 10) for ms in range(1, 21)],  # 1..20 ms, memory growing to 85
    )
    typical = figures(
        [line(30.0, 68, init=480.0), line(40.0, 68, init=520.0), line(35.0, 67, init=500.0)],
        [line(5.0, 68)] * 19 + [line(50.0, 69)],
    )
    assert project == {
        "init_ms": 540.0,
        "first_ms": 80.0,
        "warm_median_ms": 10.5,
        "warm_p95_ms": 19.0,
        "first_memory_mb": 83,
        "max_memory_mb": 85,
        "memory_size_mb": 512,
    }
    assert (typical["init_ms"], typical["warm_median_ms"], typical["warm_p95_ms"]) == (500.0, 5.0, 5.0)
    ratio = ratios(project, typical)
    assert ratio["init_ms"] == pytest.approx(540 / 500)
    assert ratio["first_ms"] == pytest.approx(80 / 35)
    assert ratio["warm_median_ms"] == pytest.approx(10.5 / 5)
    assert ratio["max_memory_mb"] == pytest.approx(85 / 69)
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    result = {"routes": {route: {"request": route, "project": project, "typical": typical, "ratio": ratio}
                         for route in ("order", "hello")}}  # fmt: skip
    table = markdown(result)
    assert "| order: cold start, `Init Duration` (median) | 540 ms | 500 ms | 1.08 |" in table
    assert "| hello: warm invocations, median `Duration` | 10.5 ms | 5.0 ms | 2.10 |" in table


def test_a_failed_or_misfiled_invocation_is_no_figure() -> None:
    with pytest.raises(ValueError, match="failed"):
        figures([line(80.0, 83, init=560.0)], [line(10000.0, 90, status="timeout")])
    with pytest.raises(ValueError, match="Init Duration"):
        figures([line(80.0, 83)], [line(10.0, 83)])  # a "cold" invocation without init
    with pytest.raises(ValueError, match="Init Duration"):
        figures([line(80.0, 83, init=560.0)], [line(10.0, 83, init=500.0)])


@pytest.mark.timeout(120)
def test_a_warm_duration_is_the_functions_time(tmp_path: Path) -> None:
    """An instant handler's warm REPORT Duration is a few ms: the Runtime API adds no
    delayed-ACK wait (about 40 ms with Nagle's algorithm on its kept-alive connection)."""
    built_artifact()  # the runtime's environment, .venv-lambda
    function = Function(
        logical_id="Tiny", name="twin-Tiny", handler="handler.handler", runtime="python3.13",
        memory_mb=128, timeout_s=5, architecture="x86_64", environment={},
    )  # fmt: skip
    reports = ReportLines()
    logger = logging.getLogger("twin.lambda")
    logger.addHandler(reports)
    level = logger.level
    logger.setLevel(logging.INFO)
    with (tmp_path / "function.log").open("ab") as sink:
        service = LambdaService(
            function, code_dir=TINY / "fn", python=runtime_python(ROOT / ".venv-lambda"),
            runtime_dir=ROOT / ".venv-lambda", overrides={}, max_workers=1, log_sink=sink,
        )  # fmt: skip
        try:
            for _ in range(12):
                assert service.invoke({"rawPath": "/plain"}) == {"hello": "world"}
        finally:
            service.stop()
            logger.removeHandler(reports)
            logger.setLevel(level)
    parsed = [parse_report(text) for text in reports.lines]
    assert len(parsed) == 12
    assert parsed[0]["init_ms"] is not None
    assert statistics.median(r["duration_ms"] for r in parsed[1:]) < 25
