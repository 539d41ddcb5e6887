"""The table: pure functions of a run's measurements and verdicts (stdlib only).

Every target of issue 6 is a ratio within one run (or, for the few absolute
ones, a bound that does not depend on the machine's speed), so the table reads
the same on a fast laptop and a slow CI runner. Absolute numbers are context.
The targets and how a run is judged against them are bench/targets.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.targets import (
    GUARD_SLACK,
    MB,
    TARGETS,
    Target,
    Verdict,
    judge,
    judge_all,
    median,
    p99,
    summary,
    value,
)

# The names the suite and its tests have always read from here.
__all__ = [
    "GUARD_SLACK",
    "MB",
    "SUBJECTS",
    "TARGETS",
    "Row",
    "Target",
    "Verdict",
    "fmt",
    "fmt_limit",
    "fmt_ratio",
    "judge",
    "judge_all",
    "markdown",
    "median",
    "p99",
    "rows",
    "summary",
    "table",
    "value",
]

# Display names of the subjects, as the table shows them.
SUBJECTS = {
    "ours": "this project",
    "ours_nopyc": "this project, artifact without bytecode",
    "ours_deployed": "this project as deployed (DynamoDB store and limiter, JWKS over HTTP)",
    "typical_deployed": "FastAPI+Mangum typical DynamoDB app (boto3.resource, sync get_item), with bytecode",
    "typical": "FastAPI+Mangum typical (sync def, no bytecode)",
    "typical_pyc": "FastAPI+Mangum typical, with bytecode",
    "typical_async": "FastAPI+Mangum async def",
    "typical_async_logged": "FastAPI+Mangum async def + one JSON log line per request",
    "powertools": "Powertools APIGatewayHttpResolver",
    "raw": "raw dict-returning handler",
    "python": "bare python3.13 -I -S (no import)",
    "starlette": "bare Starlette",
    "fastapi": "bare FastAPI async def",
}


def fmt(amount: float | None, unit: str) -> str:
    if amount is None:
        return "-"
    if unit == "bytes":  # decimal, as the targets are written
        return f"{amount / MB:.2f} MB" if abs(amount) >= MB else f"{amount / 1000:.0f} kB"
    if unit == "rps":
        return f"{amount:,.0f}/s"
    if unit == "us":
        return f"{amount:,.1f} us"
    if unit == "x":
        return f"{amount:.2f}x"
    return f"{amount:,.1f} {unit}"


def fmt_ratio(ratio: float) -> str:
    """Three decimals below 1, so 0.596x and 0.604x do not both read 0.60x."""
    return f"{ratio:.3f}x" if abs(ratio) < 1 else f"{ratio:.2f}x"


def fmt_limit(target: Target) -> str:
    if target.kind == "max_ratio":
        return f"<= {target.limit:g}x"
    if target.kind == "min_ratio":
        return f">= {target.limit:g}x"
    return f"< {fmt(target.limit, target.unit)}"


@dataclass(frozen=True)
class Row:
    figure: str
    ours: str
    baseline: str
    baseline_value: str
    ratio: str
    target: str
    verdict: str


def _dist(results: dict[str, Any], section: str, subject: str, field: str, unit: str) -> str:
    found = results.get(section, {}).get(subject, {}).get(field)
    if not isinstance(found, dict):
        return fmt(found, unit)
    if "p99" in found:
        return f"{fmt(found['median'], unit)} (p99 {fmt(found['p99'], unit)})"
    return f"{fmt(found['median'], unit)} (worst {fmt(found['worst'], unit)})"


def _ratio(ours: float | None, baseline: float | None) -> str:
    if ours is None or not baseline:
        return "-"
    return fmt_ratio(ours / baseline)


IMPORT_LABEL, FIRST_LABEL = "  import to handler ready", "  first invocation"


def rows(results: dict[str, Any]) -> list[Row]:
    """Every target row, each followed by the context rows that explain it."""
    out: list[Row] = []
    verdicts = {v.target.key: v for v in judge_all(results)}

    def target_row(key: str) -> None:
        verdict = verdicts[key]
        t = verdict.target
        if verdict.passed is None:  # not measured in this run (the smoke run measures few)
            return
        base_name = SUBJECTS.get(t.baseline or "", "-")
        base_value = _dist(results, t.section, t.baseline, t.field, t.unit) if t.baseline else "-"
        ours = _dist(results, t.section, t.subject, t.field, t.unit)
        ratio = fmt_ratio(verdict.ratio) if verdict.ratio is not None else "-"
        word = verdict.word + (" (guard: FAIL)" if verdict.guard_failed else "")
        out.append(Row(t.figure, ours, base_name, base_value, ratio, fmt_limit(t), word))

    def context(
        figure: str, section: str, field: str, subject: str, unit: str, ours_name: str = "ours"
    ) -> None:
        """A row without a target: ours against one more subject, for the reader."""
        if results.get(section, {}).get(subject, {}).get(field) is None:
            return
        ours = _dist(results, section, ours_name, field, unit)
        base = _dist(results, section, subject, field, unit)
        ratio = _ratio(value(results, section, ours_name, field), value(results, section, subject, field))
        out.append(Row(figure, ours, SUBJECTS[subject], base, ratio, "", ""))

    def ours_only(figure: str, section: str, field: str, unit: str) -> None:
        subject = "ours_deployed" if section == "snapstart" else "ours"
        if results.get(section, {}).get(subject, {}).get(field) is not None:
            out.append(Row(figure, _dist(results, section, subject, field, unit), "", "", "", "", ""))

    # as deployed: the headline
    target_row("deployed_cold_order")
    for field, label in (
        ("order_import_ms", "  import to handler ready"),
        ("order_first_ms", "  first invocation"),
    ):
        context(label, "deployed", field, "typical_deployed", "ms", "ours_deployed")
    target_row("deployed_cold_hello")
    for field, label in (
        ("hello_import_ms", "  import to handler ready"),
        ("hello_first_ms", "  first invocation"),
    ):
        context(label, "deployed", field, "typical_deployed", "ms", "ours_deployed")
    context(
        "warm GET /orders/{id} as deployed (auth, limiter UpdateItem, GetItem)",
        "deployed", "order_warm_us", "typical_deployed", "us", "ours_deployed",
    )  # fmt: skip
    # SnapStart: the restore path
    target_row("snapstart_order")
    for route in ("order", "hello"):
        for field, label in ((f"{route}_first_us", "first after restore"), (f"{route}_warm_us", "warm")):
            ours_only(
                f"  GET /{'orders/{id}' if route == 'order' else 'hello'}, {label}", "snapstart", field, "us"
            )
    ours_only("  GET /hello: 1st after restore vs warm", "snapstart", "hello_first_vs_warm", "x")
    # cold, SQLite (context for the headline: the local store, no SDK)
    target_row("cold_vs_typical")
    target_row("cold_vs_typical_pyc")
    for subject in ("ours_nopyc", "powertools", "raw"):
        context("  cold start to first response", "cold", "total_ms", subject, "ms")
    for field, label in (("import_ms", "  import to handler ready"), ("first_ms", "  first invocation")):
        for subject in ("typical", "typical_pyc", "ours_nopyc", "powertools"):
            context(label, "cold", field, subject, "ms")
    # warm
    target_row("warm_hello_vs_async")
    # The same bare hello writing one log line per request: like for like (the guard),
    # and what the line alone costs it.
    target_row("warm_hello_vs_async_logged")
    context(
        "  the bare hello's log line alone", "warm", "hello", "typical_async", "us", "typical_async_logged"
    )
    # A retired target (was <= 4x): the bare FastAPI + Mangum hello is itself ~6x it.
    context("  warm GET /hello (retired target, context)", "warm", "hello", "powertools", "us")
    context("  warm GET /hello", "warm", "hello", "typical", "us")
    context("  warm GET /hello", "warm", "hello", "raw", "us")
    ours_only("warm GET /menu", "warm", "menu", "us")
    ours_only("warm POST /orders (RS256, SQLite)", "warm", "post_order", "us")
    target_row("warm_order_p99")
    # memory
    for baseline in ("typical", "powertools"):
        context(
            "RSS after init (import + 1st invocation), as deployed",
            "memory", "rss_init_bytes", baseline, "bytes", "ours_deployed",
        )  # fmt: skip
    target_row("memory_peak")
    target_row("memory_growth")
    if value(results, "memory", "typical", "growth_bytes") is not None:  # a ratio of near-zeros means nothing
        base = fmt(value(results, "memory", "typical", "growth_bytes"), "bytes")
        out.append(Row("  RSS growth, invocation 1,000 -> 10,000", "", SUBJECTS["typical"], base, "", "", ""))
    # package
    # A retired target (was < 10 MB): cryptography alone is 4.6 MB; Lambda allows 50 MB.
    ours_only("zip, arm64 as deployed (retired target, context)", "package", "arm64_zip_bytes", "bytes")
    ours_only("  zip, x86_64", "package", "x86_64_zip_bytes", "bytes")
    ours_only("  zip, arm64 without bytecode", "package", "arm64_zip_nopyc_bytes", "bytes")
    ours_only("  unzipped, arm64", "package", "arm64_unzipped_bytes", "bytes")
    # local
    target_row("uvicorn_hello")
    context("  uvicorn GET /hello, requests/s", "local", "rps", "fastapi", "rps")
    context("  the bare FastAPI hello itself", "local", "rps", "starlette", "rps", "fastapi")
    return out


def table(results: dict[str, Any]) -> str:
    header = Row("figure", "this project", "baseline", "baseline value", "ratio", "target", "verdict")
    body = rows(results)
    fields = list(Row.__dataclass_fields__)
    widths = {f: max(len(getattr(r, f)) for r in [header, *body]) for f in fields}

    def line(row: Row) -> str:
        return " | ".join(getattr(row, f).ljust(widths[f]) for f in fields).rstrip()

    rule = "-+-".join("-" * widths[f] for f in fields)
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def markdown(results: dict[str, Any]) -> str:
    """The same table as Markdown, for the README's Performance section."""
    header = Row("figure", "this project", "baseline", "baseline value", "ratio", "target", "verdict")
    fields = list(Row.__dataclass_fields__)
    lines = ["| " + " | ".join(getattr(header, f) for f in fields) + " |", "|" + "---|" * len(fields)]
    for row in rows(results):
        cells = [getattr(row, f).strip().replace("|", "\\|") for f in fields]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Re-render a saved run: python -m bench.report [--markdown] bench/results/latest.json"""
    import json
    import sys

    args = sys.argv[1:]
    markdown_out = "--markdown" in args
    path = next(a for a in args if not a.startswith("--"))
    with open(path) as f:
        results = json.load(f)
    print(markdown(results) if markdown_out else table(results))


if __name__ == "__main__":
    main()
