"""The performance page's charts (bench/charts.py) carry the figures of the run they
were drawn from, the published one is the published run's, and `make bench` draws them."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench import charts, publish, scaling
from bench.workspace import SMOKE

SVG = "{http://www.w3.org/2000/svg}"
# bench/live.py's entry (`local`), and one with its own label and a distribution.
LIVE = {
    "local": {"p50_ms": 32.0, "p95_ms": 48.5, "target_p95_ms": 50.0, "changes": 200},
    "twin": {"label": "make cloud (the twin)", "delivery_ms": {"p50": 512.0, "p95": 1030.5, "n": 200}},
}
LOCAL = "make run (uvicorn, SQLite feed): p50 32.0 ms, p95 48.5 ms (target p95 <= 50.0 ms)"


def latest() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(charts.LATEST.read_text())
    return results


def parse(drawn: str | None) -> ET.Element:
    assert drawn is not None
    return ET.fromstring(drawn)  # noqa: S314 - the SVG these tests drew, not untrusted input


def bars(drawn: str | None) -> dict[str, tuple[float, str]]:
    """Each bar's width and its tooltip (label: figures), by the figures' text."""
    root = parse(drawn)
    found = {}
    for rect in root.iter(SVG + "rect"):
        title = rect.find(SVG + "title")
        if title is not None and title.text:
            found[title.text] = (float(rect.attrib["width"]), title.text)
    return found


def texts(drawn: str | None) -> list[str]:
    return [t.text or "" for t in parse(drawn).iter(SVG + "text")]


def test_the_published_charts_are_the_published_runs() -> None:
    """docs/img is what `python -m bench.charts` draws from bench/results/latest.json
    (so a table republished without its charts fails here)."""
    results = charts.with_live(latest())
    redraw = "redraw them: python -m bench.charts"
    assert (charts.DOCS_IMG / "bench-cold.svg").read_text() == charts.cold_chart(results), redraw
    assert (charts.DOCS_IMG / "bench-live.svg").read_text() == charts.live_chart(results), redraw


def test_every_cold_start_of_the_run_is_on_the_chart_at_its_length() -> None:
    results = latest()
    drawn = charts.cold_chart(results)
    widths = bars(drawn)
    expected = [(charts.LABELS[s], f["total_ms"]) for s, f in results["cold"].items()] + [
        (charts.LABELS[s], f[field])
        for field in ("order_total_ms", "hello_total_ms")
        for s, f in results["deployed"].items()
    ]
    assert len(widths) == len(expected) == 10
    per_ms = set()
    for label, dist in expected:
        figures = f"{dist['median']:,.1f} ms (p99 {dist['p99']:,.1f} ms)"
        assert figures in texts(drawn)
        width, _ = widths[f"{label}: {figures}"]
        per_ms.add(round(width / dist["median"], 2))
    assert len(per_ms) == 1, "one scale for every bar"
    assert results["meta"]["commit"][:10] in texts(drawn)[-1]


def test_another_run_draws_another_chart() -> None:
    results = latest()
    slower = copy.deepcopy(results)
    slower["cold"]["ours"]["total_ms"] = {"median": 1234.5, "p99": 1300.0, "n": 12}
    drawn = charts.cold_chart(slower)
    assert "1,234.5 ms (p99 1,300.0 ms)" in texts(drawn)
    assert drawn != charts.cold_chart(results)


def test_live_latencies_are_drawn_when_the_run_has_them() -> None:
    results = {**latest(), "live": LIVE}
    drawn = charts.live_chart(results)
    shown = bars(drawn)
    assert set(shown) == {
        LOCAL,
        "make cloud (the twin): p50 512.0 ms, p95 1,030.5 ms",
    }
    ratio = shown["make cloud (the twin): p50 512.0 ms, p95 1,030.5 ms"][0] / shown[LOCAL][0]
    assert ratio == pytest.approx(512.0 / 32.0, rel=0.02)
    nothing = charts.live_chart(latest() | {"live": {}})
    assert bars(nothing) == {}
    assert "no live figures in this run" in texts(nothing)[-1]


def test_make_bench_publishes_the_charts_and_the_scaling_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A full run's publication writes both charts and the scaling model's tables beside
    latest.json; a smoke run none of them."""
    monkeypatch.setattr(publish, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(charts, "DOCS_IMG", tmp_path / "img")
    results = {k: v for k, v in latest().items() if k not in {"meta", "verdicts", "table", "cost"}}
    results["live"] = LIVE
    assert publish.publish(
        copy.deepcopy(results), SMOKE, smoke=True, only=set(), timings={}, started=0.0
    ) in {0, 1}
    assert not (tmp_path / "img").exists()
    publish.publish(results, SMOKE, smoke=False, only=set(), timings={}, started=0.0)
    published = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert (tmp_path / "img" / "bench-cold.svg").read_text() == charts.cold_chart(published)
    assert (tmp_path / "results" / "scaling.md").read_text() == scaling.markdown(
        scaling.Traffic(), scaling.durations(published)
    )
    assert LOCAL in bars((tmp_path / "img" / "bench-live.svg").read_text())


def test_bench_lives_figures_join_the_run_they_are_drawn_with(tmp_path: Path) -> None:
    live = tmp_path / "live.json"
    assert "live" not in charts.with_live(latest(), live)  # none measured
    live.write_text(json.dumps({"local": LIVE["local"]}))
    assert charts.with_live(latest(), live)["live"] == {"local": LIVE["local"]}
    assert charts.with_live({**latest(), "live": LIVE}, live)["live"] == LIVE  # the run's own first
