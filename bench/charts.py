"""The performance page's charts, drawn as SVG by `make bench` from the run it publishes.

Hand-built SVG (stdlib only: no plotting dependency in any environment), so the
pictures on docs/performance.md are regenerated with the table, never hand-drawn:

- docs/img/bench-cold.svg: cold start to first response, this project against the
  baselines, as deployed (DynamoDB) and with the local artifact (SQLite);
- docs/img/bench-live.svg: live-order delivery latency, per setting (`make run`, the
  twin) its p50 and p95, from bench/results/live.json as bench/live.py writes it (or a
  run's own "live" section); a chart saying there are none when there are none.

Each bar is the median (p50 for live), its whisker the p99 (p95 for live); every
figure is also written as text, so the chart can be read and checked without the bars.

    python -m bench.charts [bench/results/latest.json] [--live bench/results/live.json] [--out docs/img]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
LATEST = ROOT / "bench" / "results" / "latest.json"
LIVE = LATEST.with_name("live.json")  # bench/live.py's figures, one entry per setting
DOCS_IMG = ROOT / "docs" / "img"

# Shorter names than the table's (bench.report.SUBJECTS): a label column, not a cell.
LABELS = {
    "ours": "this project",
    "ours_nopyc": "this project, no bytecode",
    "typical": "FastAPI+Mangum typical, no bytecode",
    "typical_pyc": "FastAPI+Mangum typical, bytecode",
    "powertools": "Powertools resolver",
    "raw": "raw dict-returning handler",
    "ours_deployed": "this project",
    "typical_deployed": "typical FastAPI+Mangum DynamoDB app",
}
OURS = {"ours", "ours_deployed"}
LIVE_LABELS = {"local": "make run (uvicorn, SQLite feed)", "twin": "make cloud (the twin)"}

WIDTH, LABEL_W, ROW_H, BAR_H = 820, 300, 22, 14
CHAR_W = 7.0  # a generous average advance of a 12 px sans-serif character
COLOURS = {"ours": "#3f51b5", "other": "#9e9e9e", "whisker": "#212121"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # the bar's length: median (p50)
    spread: float | None  # the whisker's end: p99 (p95)
    ours: bool
    text: str  # the figures, as written beside the bar


@dataclass(frozen=True)
class Group:
    title: str
    bars: list[Bar]


def ms(value: float) -> str:
    return f"{value:,.1f} ms"


def cold_groups(results: dict[str, Any]) -> list[Group]:
    """The cold-start bars of a run: as deployed per route, then the local artifact."""
    groups = []
    deployed = results.get("deployed", {})
    for route, field in (("GET /orders/{id}", "order_total_ms"), ("GET /hello", "hello_total_ms")):
        bars = [
            _dist_bar(subject, figures[field])
            for subject, figures in deployed.items()
            if isinstance(figures.get(field), dict)
        ]
        if bars:
            title = f"As deployed (DynamoDB store and limiter): cold start to the first {route}"
            groups.append(Group(title, bars))
    cold = [
        _dist_bar(subject, figures["total_ms"])
        for subject, figures in results.get("cold", {}).items()
        if isinstance(figures.get("total_ms"), dict)
    ]
    if cold:
        groups.append(Group("Local artifact (SQLite store): cold start to the first GET /hello", cold))
    return groups


def _dist_bar(subject: str, dist: dict[str, float]) -> Bar:
    median, p99 = dist["median"], dist.get("p99")
    text = ms(median) + (f" (p99 {ms(p99)})" if p99 is not None else "")
    return Bar(LABELS.get(subject, subject), median, p99, subject in OURS, text)


def with_live(results: dict[str, Any], live: Path | None = None) -> dict[str, Any]:
    """The run's results with bench/live.py's figures (default: live.json) as their
    "live" section, unless the run has its own (or there are none)."""
    live = live or LIVE
    if "live" in results or not live.is_file():
        return results
    return {**results, "live": json.loads(live.read_text())}


def live_groups(results: dict[str, Any]) -> list[Group]:
    """The delivery-latency bars: one per setting of the results' "live" section,
    whose entries carry ``p50_ms`` and ``p95_ms`` (or a ``delivery_ms`` distribution
    with ``p50``/``median`` and ``p95``), perhaps ``target_p95_ms`` and a ``label``."""
    bars = []
    for setting, figures in results.get("live", {}).items():
        if not isinstance(figures, dict):
            continue
        dist = figures.get("delivery_ms", figures)
        p50 = dist.get("p50_ms", dist.get("p50", dist.get("median")))
        p95 = dist.get("p95_ms", dist.get("p95"))
        if not isinstance(p50, int | float):
            continue
        text = f"p50 {ms(p50)}" + (f", p95 {ms(p95)}" if isinstance(p95, int | float) else "")
        target = figures.get("target_p95_ms")
        text += f" (target p95 <= {ms(target)})" if isinstance(target, int | float) else ""
        bars.append(Bar(str(figures.get("label", LIVE_LABELS.get(setting, setting))), p50, p95, True, text))
    if not bars:
        return []
    return [Group("Live orders: a change's HTTP response to the message at another client", bars)]


def svg(title: str, groups: list[Group], footer: str) -> str:
    """One chart: the groups' bars on one scale, as long as every bar's figures
    written after its whisker still fit in the width."""
    fits = [
        (WIDTH - 12 - LABEL_W - 6 - CHAR_W * len(b.text)) / top
        for g in groups
        for b in g.bars
        if (top := max(b.value, b.spread or 0.0)) > 0
    ]
    scale = max(0.0, min(fits, default=0.0))
    parts: list[str] = []
    y = 44
    for group in groups:
        parts.append(_text(12, y, group.title, weight="bold"))
        y += 10
        for bar in group.bars:
            parts.extend(_bar(bar, y, scale))
            y += ROW_H
        y += 18
    height = y + 8
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12" role="img">'
    )
    return "\n".join(
        [
            head,
            f"<title>{escape(title)}</title>",
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
            _text(12, 22, title, size=15, weight="bold"),
            *parts,
            _text(12, height - 10, footer, size=10, fill="#616161"),
            "</svg>",
            "",
        ]
    )


def _bar(bar: Bar, y: int, scale: float) -> Iterable[str]:
    x0, length = LABEL_W, bar.value * scale
    fill = COLOURS["ours"] if bar.ours else COLOURS["other"]
    yield _text(LABEL_W - 8, y + BAR_H - 3, bar.label, anchor="end", weight="bold" if bar.ours else None)
    yield (
        f'<rect x="{x0}" y="{y}" width="{length:.1f}" height="{BAR_H}" fill="{fill}">'
        f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
    )
    end = x0 + length
    if bar.spread is not None and bar.spread > bar.value:
        end = x0 + bar.spread * scale
        mid = y + BAR_H / 2
        yield (
            f'<path d="M{x0 + length:.1f} {mid:.1f}H{end:.1f}M{end:.1f} {y + 3}V{y + BAR_H - 3}" '
            f'stroke="{COLOURS["whisker"]}" fill="none"/>'
        )
    yield _text(int(end) + 6, y + BAR_H - 3, bar.text)


def _text(
    x: int, y: float, content: str, *, size: int = 12, anchor: str | None = None,
    weight: str | None = None, fill: str = "#212121",
) -> str:  # fmt: skip
    attrs = f'x="{x}" y="{y:g}" fill="{fill}"' + (f' font-size="{size}"' if size != 12 else "")
    attrs += (f' text-anchor="{anchor}"' if anchor else "") + (f' font-weight="{weight}"' if weight else "")
    return f"<text {attrs}>{escape(content)}</text>"


def footer(results: dict[str, Any], what: str) -> str:
    meta = results.get("meta", {})
    return (
        f"make bench, commit {str(meta.get('commit', '?'))[:10]}, {meta.get('when', '?')}, "
        f"{meta.get('machine', '?')}; {what}"
    )


def cold_chart(results: dict[str, Any]) -> str | None:
    """None when the run measured no cold starts (a partial run)."""
    groups = cold_groups(results)
    if not groups:
        return None
    return svg("Cold starts against the baselines", groups, footer(results, "bar: median, whisker: p99"))


def live_chart(results: dict[str, Any]) -> str:
    """With no live figures in the run, a chart that says so: the page's picture is
    then never a stale one from an earlier run, and never a broken link."""
    title = "Live-order delivery latency"
    groups = live_groups(results)
    if not groups:
        return svg(title, [], footer(results, "no live figures in this run (bench/live.py): run make bench"))
    return svg(title, groups, footer(results, "bar: p50, whisker: p95"))


def write(results: dict[str, Any], out: Path = DOCS_IMG) -> list[Path]:
    """Writes the charts a run has figures for; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, drawn in (("bench-cold.svg", cold_chart(results)), ("bench-live.svg", live_chart(results))):
        if drawn is not None:
            (out / name).write_text(drawn)
            written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.charts", description=__doc__.splitlines()[0])
    parser.add_argument(
        "results", nargs="?", type=Path, default=LATEST, help="a run's JSON (default: latest)"
    )
    parser.add_argument(
        "--live", type=Path, default=LIVE, help="bench/live.py's figures (default: live.json)"
    )
    parser.add_argument("--out", type=Path, default=DOCS_IMG, help="where the SVGs go (default: docs/img)")
    args = parser.parse_args(argv)
    for path in write(with_live(json.loads(args.results.read_text()), args.live), args.out):
        print(f"bench: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
