"""This project against a typical FastAPI + Mangum DynamoDB app, through the twin.

    .venv/bin/python -m bench.twin_report [--cold 5] [--warm 50]      (make bench-twin)

Both subjects run in the twin's Lambda workers (twin/lambda_service.py) with the
template's function definition (memory, timeout, environment, with the twin's
identity substitution), behind the twin's HTTP API (its JWT authorizer, payload
2.0), on moto's DynamoDB with the template's table: this project's built
artifact (``app.main.handler``), and bench/baselines/orders_typical.py added to a
copy of the same artifact (``orders_typical.handler``: identical dependencies),
reading the same table. One order of the benchmark's customer is seeded.

Requests arrive as through a custom domain mapped at the API's root, so the path
has no stage: the baseline keeps Mangum's defaults, which do not strip a named
stage. The endpoint is the SDK's standard ``AWS_ENDPOINT_URL_DYNAMODB`` for both
(the cloud's code path), not the twin's ``APP_DYNAMODB_ENDPOINT_URL``, with which
this project creates or checks its table at init as it does for a local server.

For each subject and route (``GET /orders/{id}``, authenticated, and ``GET
/hello``): ``--cold`` fresh containers (``Init Duration`` and the first
invocation's ``Duration``), then ``--warm`` invocations on a warm one (median and
p95 ``Duration``), subjects interleaved; ``Max Memory Used`` after the first
invocation and at the end. Every figure is read from the twin's ``REPORT`` lines.
Prints the table and writes bench/results/twin.json and bench/results/twin.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.local import free_port
from twin.gateway import Gateway, Request
from twin.lambda_service import LambdaService
from twin.stack import REGION

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BASELINE = ROOT / "bench" / "baselines" / "orders_typical.py"
BASELINE_HANDLER = "orders_typical.handler"
# The custom domain the requests arrive through (mapped at the API's root: no stage in the path).
DOMAIN = "api.twin.invalid"
SUBJECTS = {
    "project": "this project (app.main.handler)",
    "typical": "typical FastAPI + Mangum DynamoDB app (orders_typical.handler)",
}
ROUTES = ("order", "hello")

# Lambda's REPORT line as the twin writes it (twin/lambda_service.py), as CloudWatch shows it.
REPORT = re.compile(
    r"REPORT RequestId: (?P<request_id>\S+)\tDuration: (?P<duration_ms>[\d.]+) ms\t"
    r"Billed Duration: (?P<billed_ms>\d+) ms\tMemory Size: (?P<memory_mb>\d+) MB\t"
    r"Max Memory Used: (?P<max_memory_mb>\d+) MB"
    r"(?:\tInit Duration: (?P<init_ms>[\d.]+) ms)?(?:\tStatus: (?P<status>\w+))?"
)


# -- REPORT lines and figures: pure functions ------------------------------------------


def parse_report(line: str) -> dict[str, Any]:
    """One REPORT line's fields (durations in ms as floats, sizes in MB as ints;
    ``init_ms`` None when the invocation was warm, ``status`` "ok" unless it says)."""
    match = REPORT.search(line)
    if match is None:
        raise ValueError(f"not a REPORT line: {line!r}")
    fields = match.groupdict()
    return {
        "request_id": fields["request_id"],
        "duration_ms": float(fields["duration_ms"]),
        "billed_ms": int(fields["billed_ms"]),
        "memory_mb": int(fields["memory_mb"]),
        "max_memory_mb": int(fields["max_memory_mb"]),
        "init_ms": float(fields["init_ms"]) if fields["init_ms"] is not None else None,
        "status": fields["status"] or "ok",
    }


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def figures(cold: Sequence[str], warm: Sequence[str]) -> dict[str, float]:
    """A subject's figures for one route from its REPORT lines: ``cold`` the first
    invocation of each fresh container, ``warm`` the warm series on one container."""
    first = [parse_report(line) for line in cold]
    series = [parse_report(line) for line in warm]
    if any(r["init_ms"] is None for r in first) or any(r["init_ms"] is not None for r in series):
        raise ValueError("cold lines need an Init Duration, warm lines none")
    if any(r["status"] != "ok" for r in first + series):
        raise ValueError("an invocation failed (Status in its REPORT line)")
    return {
        "init_ms": statistics.median(r["init_ms"] for r in first),
        "first_ms": statistics.median(r["duration_ms"] for r in first),
        "warm_median_ms": statistics.median(r["duration_ms"] for r in series),
        "warm_p95_ms": p95([r["duration_ms"] for r in series]),
        "first_memory_mb": statistics.median(r["max_memory_mb"] for r in first),
        "max_memory_mb": max(r["max_memory_mb"] for r in series),
        "memory_size_mb": first[0]["memory_mb"],
    }


FIGURES = (
    ("init_ms", "cold start, `Init Duration` (median)", "ms"),
    ("first_ms", "its first invocation, `Duration` (median)", "ms"),
    ("warm_median_ms", "warm invocations, median `Duration`", "ms"),
    ("warm_p95_ms", "warm invocations, p95 `Duration`", "ms"),
    ("first_memory_mb", "`Max Memory Used` after the first invocation (median)", "MB"),
    ("max_memory_mb", "`Max Memory Used` after the warm series", "MB"),
)


def ratios(project: dict[str, float], typical: dict[str, float]) -> dict[str, float]:
    """project / baseline for each figure (below 1: this project is faster or smaller)."""
    return {key: project[key] / typical[key] for key, _, _ in FIGURES}


def fmt(value: float, unit: str) -> str:
    return f"{value:.0f} {unit}" if unit == "MB" or value >= 100 else f"{value:.1f} {unit}"


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for route in ROUTES:
        found = result["routes"][route]
        for key, label, unit in FIGURES:
            rows.append(
                (
                    f"{found['request']}: {label}",
                    fmt(found["project"][key], unit),
                    fmt(found["typical"][key], unit),
                    f"{found['ratio'][key]:.2f}",
                )
            )
    return rows


HEADER = ("figure", "this project", "typical FastAPI+Mangum", "ratio")


def markdown(result: dict[str, Any]) -> str:
    lines = [f"| {' | '.join(HEADER)} |", "|---|---:|---:|---:|"]
    lines += [f"| {' | '.join(row)} |" for row in table_rows(result)]
    return "\n".join(lines) + "\n"


def text_table(result: dict[str, Any]) -> str:
    rows = [HEADER, *table_rows(result)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        out.append("  ".join(cells))
    return "\n".join(out)


# -- the run ---------------------------------------------------------------------------


class ReportLines(logging.Handler):
    """The REPORT lines the twin's Lambda service logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("REPORT "):
            self.lines.append(message)


def baseline_code(artifact: Path, runtime_python: str, dest: Path) -> Path:
    """A copy of the artifact with the baseline added, its bytecode made as the build makes the app's."""
    code = dest / "typical"
    shutil.copytree(artifact, code, symlinks=True)
    shutil.copy2(BASELINE, code / BASELINE.name)
    subprocess.run(  # noqa: S603 - the runtime's interpreter, a fixed module
        [
            runtime_python,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            str(code / BASELINE.name),
        ],
        check=True,
    )
    return code


@contextmanager
def subjects(
    args: argparse.Namespace, work: Path
) -> Iterator[tuple[dict[str, tuple[Gateway, LambdaService]], str]]:
    """Both subjects behind their own gateway, and the seeded order's id."""
    import boto3

    from app.store.dynamodb import DynamoStore
    from bench.dynamo import seed
    from twin import __main__ as twin_cli  # after TWIN_STATE_DIR is set (main)

    twin = twin_cli.Twin(
        argparse.Namespace(
            config_env=args.config_env,
            template=args.template,
            parameter_overrides=[],
            port=free_port(),
            artifact=str(args.artifact),
            runtime_venv=args.runtime_venv,
            max_workers=1,
            custom_domain=None,
            web_port=0,
            ws_port=0,  # the HTTP API's figures alone: no WebSocket API, no stream consumer
        )
    )
    services: list[LambdaService] = []
    sink = (work / "function.log").open("ab")  # the functions' own output
    try:
        twin.start()
        stack = twin.stack
        assert twin.dynamo is not None
        host, port = twin.dynamo.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        logical_id, function = next(iter(stack.functions.items()))
        table = function.environment["APP_DYNAMODB_TABLE"]
        session = boto3.Session(region_name=REGION, **twin_cli.FAKE_CREDENTIALS)  # type: ignore[arg-type]
        client = session.client("dynamodb", endpoint_url=endpoint)
        order_id = seed(DynamoStore(table, client=client))
        # The twin's substitutions, with the cloud's endpoint setting (see the docstring).
        overrides = dict(twin.services[logical_id].overrides)
        overrides.pop("APP_DYNAMODB_ENDPOINT_URL", None)
        overrides["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        python = twin.services[logical_id].python
        runtime_dir = twin.services[logical_id].runtime_dir
        definitions = {
            "project": (function, Path(args.artifact).resolve(), overrides),
            "typical": (
                dataclasses.replace(function, handler=BASELINE_HANDLER),
                baseline_code(Path(args.artifact).resolve(), python, work),
                {**overrides, "TABLE_NAME": table},
            ),
        }
        # The stage's throttling is the API's, not what is measured here.
        unthrottled = dataclasses.replace(stack, burst_limit=None, rate_limit=None)
        found = {}
        for name, (definition, code, env) in definitions.items():
            service = LambdaService(
                definition, code_dir=code, python=python, runtime_dir=runtime_dir, overrides=env,
                max_workers=1, log_sink=sink,
            )  # fmt: skip
            services.append(service)
            found[name] = (Gateway(unthrottled, {logical_id: service}, custom_domain=DOMAIN), service)
        yield found, order_id
    finally:
        for service in services:
            service.stop()
        twin.stop()
        sink.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.twin_report", description=__doc__.splitlines()[0])
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    parser.add_argument(
        "--artifact", default=str(ROOT / ".aws-sam" / "bench" / arch / "build" / "ApiFunction")
    )
    parser.add_argument("--config-env", default="default")
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    parser.add_argument("--runtime-venv", default=str(ROOT / ".venv-lambda"))
    parser.add_argument("--cold", type=int, default=5, help="fresh containers per subject and route")
    parser.add_argument("--warm", type=int, default=50, help="warm invocations per subject and route")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    if not (Path(args.artifact) / "app" / "main.py").is_file():
        raise SystemExit(f"twin_report: no artifact at {args.artifact} (make bench-twin builds it)")
    # The twin's issuer keeps its key and state here, apart from a running `make cloud`.
    os.environ.setdefault("TWIN_STATE_DIR", str(ROOT / ".local" / "twin-report"))
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    reports = ReportLines()
    lambda_log = logging.getLogger("twin.lambda")
    lambda_log.setLevel(logging.INFO)
    lambda_log.propagate = False  # collected, not printed
    lambda_log.addHandler(reports)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="twin-report-") as tmp:
        work = Path(tmp)
        try:
            lines, requests, function = run(args, work, reports)
        except Exception:
            log_file = work / "function.log"
            if log_file.exists():
                sys.stderr.write(log_file.read_text(errors="replace")[-4000:])
            raise
    result = summarize(args, lines, requests, function, time.monotonic() - started)
    print(text_table(result))
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "twin.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "twin.md").write_text(header_note(result) + "\n" + markdown(result))
    print(f"twin_report: wrote {out / 'twin.json'} and {out / 'twin.md'}")
    return 0


def run(
    args: argparse.Namespace, work: Path, reports: ReportLines
) -> tuple[dict[str, dict[str, dict[str, list[str]]]], dict[str, str], dict[str, Any]]:
    from twin import __main__ as twin_cli

    lines: dict[str, dict[str, dict[str, list[str]]]] = {
        route: {name: {"cold": [], "warm": []} for name in SUBJECTS} for route in ROUTES
    }
    with subjects(args, work) as (found, order_id):
        token = twin_cli.mint("bench-customer", "orders:read")
        paths = {"order": f"/orders/{order_id}", "hello": "/hello"}
        headers = {
            "order": [("Host", DOMAIN), ("Authorization", f"Bearer {token}")],
            "hello": [("Host", DOMAIN)],
        }
        function: dict[str, Any] = {}

        def invoke(name: str, route: str, phase: str) -> None:
            gateway, _ = found[name]
            before = len(reports.lines)
            response = gateway.handle(Request("GET", paths[route], headers[route], b"", "198.51.100.7"))
            body = json.loads(response.body or b"null")
            expected = body.get("id") == order_id if route == "order" else "message" in body
            if response.status != 200 or not expected:
                raise SystemExit(f"twin_report: {name} GET {paths[route]} answered {response.status} {body}")
            new = reports.lines[before:]
            if len(new) != 1:
                raise SystemExit(f"twin_report: {len(new)} REPORT lines for one invocation")
            lines[route][name][phase].append(new[0])

        for round_number in range(args.cold):
            for route in ROUTES:
                order = list(SUBJECTS) if round_number % 2 == 0 else list(reversed(SUBJECTS))
                for name in order:
                    found[name][1].stop()  # the next invocation starts a fresh container
                    invoke(name, route, "cold")
        for number in range(args.warm):
            for route in ROUTES:
                order = list(SUBJECTS) if number % 2 == 0 else list(reversed(SUBJECTS))
                for name in order:
                    invoke(name, route, "warm")
        definition = found["project"][1].function
        function = {
            "name": definition.name,
            "memory_mb": definition.memory_mb,
            "timeout_s": definition.timeout_s,
            "runtime": definition.runtime,
            "log_level": definition.environment.get("APP_LOG_LEVEL", ""),
            "handlers": {name: service.function.handler for name, (_, service) in found.items()},
        }
    requests = {"order": "GET /orders/{id} (authenticated)", "hello": "GET /hello"}
    return lines, requests, function


def summarize(
    args: argparse.Namespace,
    lines: dict[str, dict[str, dict[str, list[str]]]],
    requests: dict[str, str],
    function: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    routes: dict[str, Any] = {}
    for route, by_subject in lines.items():
        project = figures(by_subject["project"]["cold"], by_subject["project"]["warm"])
        typical = figures(by_subject["typical"]["cold"], by_subject["typical"]["warm"])
        routes[route] = {
            "request": requests[route],
            "project": project,
            "typical": typical,
            "ratio": ratios(project, typical),
            "report_lines": by_subject,
        }
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "cold_containers": args.cold,
        "warm_invocations": args.warm,
        "seconds": round(seconds, 1),
        "function": function,
        "subjects": SUBJECTS,
        "dynamodb": "moto's server on loopback (slower per call than DynamoDB)",
        "routes": routes,
    }


def header_note(result: dict[str, Any]) -> str:
    function = result["function"]
    return (
        f"Through the twin, {result['date']}, {result['machine']}: {result['cold_containers']} fresh "
        f"containers and {result['warm_invocations']} warm invocations per subject and route, "
        f"{function['memory_mb']} MB, `APP_LOG_LEVEL={function['log_level']}`; DynamoDB is moto's server "
        "on loopback, slower per call than DynamoDB. Ratio: this project / the typical app.\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
