"""What limits the deployed stack at 10x, 100x and 1000x today's traffic, on paper.

    python -m bench.scaling [bench/results/latest.json] [--write]

A small model (pure functions; stdlib only; docs/scaling.md explains it). It takes
the durations `make bench` measured as deployed (bench/results/latest.json), turns
them into requests per second per unit of Lambda concurrency, and multiplies
today's traffic (`Traffic`: one busy restaurant's peak, stated explicitly) to find,
for every quota below, the multiple of today's traffic at which it is reached.

Scaling means N times the people on one deployment: N times the customers and the
staff devices. The keys carry no restaurant id, so all of them share the one menu
partition, the one open-orders index partition and the one staff audience.
Every quota is the AWS default, with the page it comes from; the stage throttle is
this project's own setting (template.yaml), raised with a parameter.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.live import management

LATEST = Path(__file__).resolve().parent / "results" / "latest.json"
RESULTS_MD = LATEST.with_name("scaling.md")  # included by docs/scaling.md
SCALES = (1, 10, 100, 1000)

LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
LAMBDA_STREAM_PARAMS = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html"
APIGW_ACCOUNT = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
APIGW_STAGE = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html"
APIGW_WEBSOCKET = "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html"
DYNAMODB_PARTITION = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
DYNAMODB_QUOTAS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"

# Synchronous invocations: "each instance of your execution environment can serve up
# to 10 requests per second" (LAMBDA_QUOTAS, Lambda API requests).
RPS_PER_ENVIRONMENT = 10.0
STAGE_RATE_LIMIT = 50.0  # template.yaml ThrottlingRateLimit's default (prod: 100)
CLIENT_RATE_PER_MINUTE = 120.0  # src/app/settings.py rate_limit's default, per client
PARTITION_WCU, PARTITION_RCU = 1000.0, 3000.0
# Assumptions, not measurements (docs/scaling.md): an @connections POST from the stream
# consumer, in-Region; the size of one connection's membership item and of a board marker.
POST_MS = 10.0
# A change's posts in flight at once (app.live.fanout.deliver with the consumer's pool).
POST_CONCURRENCY = management.POST_CONCURRENCY
MEMBERSHIP_BYTES, MARKER_BYTES, MENU_BYTES = 200, 150, 4096
BOARD_LIMIT = 100  # GET /kitchen/orders reads at most this many markers per Query


@dataclass(frozen=True)
class Traffic:
    """Today's traffic: one busy restaurant's Friday-evening peak. Per order placed: the
    customer reads the menu and their order a few times and lists their orders once;
    staff move it placed -> preparing -> ready -> served and reread the board."""

    orders_per_hour: float = 120.0
    busiest_minute: float = 2.0  # the peak minute's rate over the peak hour's average
    menu_reads: float = 4.0
    order_reads: float = 3.0
    list_reads: float = 1.0
    status_changes: float = 3.0
    board_reads: float = 2.0
    order_lines: float = 2.0
    staff_devices: float = 3.0  # kitchen screen, counter tablet, manager's phone
    connected_minutes: float = 30.0  # a customer's page stays open (one WebSocket)
    menu_changes_per_hour: float = 6.0  # dishes marked sold out, prices changed

    def orders_per_second(self, scale: float) -> float:
        return self.orders_per_hour * self.busiest_minute * scale / 3600


@dataclass(frozen=True)
class Route:
    label: str
    per_order: Callable[[Traffic], float]
    round_trips: int  # DynamoDB calls, the limiter's UpdateItem included


ROUTES = (
    Route("GET /menu", lambda t: t.menu_reads, 2),  # limiter, menu Query (cached 5 s)
    Route("POST /orders", lambda t: 1.0, 3),  # limiter, BatchGetItem, TransactWriteItems
    Route("GET /orders/{id}", lambda t: t.order_reads, 2),  # limiter, GetItem (measured)
    Route("GET /orders", lambda t: t.list_reads, 2),  # limiter, Query GSI1
    Route("PATCH /orders/{id}", lambda t: t.status_changes, 3),  # limiter, GetItem, PutItem
    Route("GET /kitchen/orders", lambda t: t.board_reads, 3),  # limiter, Query, BatchGetItem
)


@dataclass(frozen=True)
class Durations:
    """Medians measured as deployed (DynamoDB store and limiter; moto's server on loopback)."""

    hello_ms: float  # warm GET /hello: one DynamoDB call (the limiter)
    order_ms: float  # warm GET /orders/{id}: two (limiter, GetItem)
    cold_ms: float  # cold start to the first GET /orders/{id}

    def route_ms(self, route: Route) -> float:
        """A route's duration: the measured order read's time per DynamoDB call, times its calls."""
        return self.order_ms / 2 * route.round_trips


def durations(results: dict[str, Any]) -> Durations:
    deployed = results["deployed"]["ours_deployed"]
    return Durations(
        hello_ms=results["snapstart"]["ours_deployed"]["hello_warm_us"]["median"] / 1000,
        order_ms=deployed["order_warm_us"]["median"] / 1000,
        cold_ms=deployed["order_total_ms"]["median"],
    )


def per_unit(duration_ms: float) -> float:
    """Requests per second one unit of concurrency (one environment) serves."""
    return min(RPS_PER_ENVIRONMENT, 1000 / duration_ms)


def route_rps(traffic: Traffic, scale: float) -> dict[str, float]:
    orders = traffic.orders_per_second(scale)
    return {r.label: orders * r.per_order(traffic) for r in ROUTES}


def concurrency(traffic: Traffic, timing: Durations, scale: float) -> float:
    """The API function's concurrency: each route's rate over what one unit serves."""
    rps = route_rps(traffic, scale)
    return sum(rps[r.label] / per_unit(timing.route_ms(r)) for r in ROUTES)


def items_rcu(count: float, size: int, *, consistent: bool = False) -> float:
    """Read units of one Query returning ``count`` items of ``size`` bytes (4 KB units;
    half a unit each when eventually consistent)."""
    units = max(1, math.ceil(count * size / 4096))
    return units if consistent else units / 2


@dataclass(frozen=True)
class Limit:
    key: str
    what: str
    quota: float
    unit: str
    source: str
    demand: Callable[[Traffic, Durations, float], float]


def _live(traffic: Traffic, scale: float) -> tuple[float, float, float]:
    """Order changes per second, staff connections, and messages per change."""
    changes = traffic.orders_per_second(scale) * (1 + traffic.status_changes)
    staff = traffic.staff_devices * scale
    return changes, staff, staff + 1  # every staff connection and the order's customer


def _posts(t: Traffic, d: Durations, s: float) -> float:
    changes, _, per_change = _live(t, s)
    return changes * per_change


def _consumer_busy(t: Traffic, d: Durations, s: float) -> float:
    """Seconds of each second the consumer spends posting: a change's posts run
    POST_CONCURRENCY at a time."""
    return _posts(t, d, s) * POST_MS / 1000 / POST_CONCURRENCY


def _connects(t: Traffic, d: Durations, s: float) -> float:
    """New WebSocket connections per second: each ordering customer's page, and each
    staff device reconnecting once an hour (a token lives an hour)."""
    return t.orders_per_second(s) + t.staff_devices * s / 3600


def _http(t: Traffic, d: Durations, s: float) -> float:
    return sum(route_rps(t, s).values())


def _busiest_client(t: Traffic, d: Durations, s: float) -> float:
    """One staff device's requests per second: its share of the moves and board reads
    (more staff share more orders, so it does not grow with the scale)."""
    return t.orders_per_second(s) * (t.status_changes + t.board_reads) / (t.staff_devices * s)


def _table_wru(t: Traffic, d: Durations, s: float) -> float:
    orders = t.orders_per_second(s)
    # Every request's limiter write; a transaction of three items costs two units each;
    # a move is one conditional put, and serving deletes the board's marker.
    return _http(t, d, s) + orders * (6 + t.status_changes + 1)


LIMITS = (
    Limit("stage", "HTTP API stage throttle (this project's setting)", STAGE_RATE_LIMIT, "requests/s",
          APIGW_STAGE, _http),
    Limit("account_rps", "API Gateway account throttle: HTTP + @connections posts", 10_000, "requests/s",
          APIGW_ACCOUNT, lambda t, d, s: _http(t, d, s) + _posts(t, d, s)),
    Limit("lambda_concurrency", "Lambda concurrent executions (API function + stream consumer)", 1000,
          "environments", LAMBDA_QUOTAS,
          lambda t, d, s: concurrency(t, d, s) + _consumer_busy(t, d, s)),
    Limit("lambda_scaling", "Lambda scaling rate: a cold burst of the API function", 1000,
          "environments/10 s", LAMBDA_SCALING, concurrency),
    Limit("ws_connect", "WebSocket new connections per second", 500, "connections/s", APIGW_WEBSOCKET,
          _connects),
    Limit("stream_consumer", "stream consumer, one batch at a time per shard (ParallelizationFactor 1)",
          1.0, "busy s/s", LAMBDA_STREAM_PARAMS, lambda t, d, s: _consumer_busy(t, d, s)),
    Limit("kitchen_writes", "KITCHEN#OPEN (GSI1) writes: a marker put and deleted per order",
          PARTITION_WCU, "WCU/s", DYNAMODB_PARTITION, lambda t, d, s: 2 * t.orders_per_second(s)),
    Limit("kitchen_reads", "KITCHEN#OPEN (GSI1) reads: the board's Query", PARTITION_RCU, "RCU/s",
          DYNAMODB_PARTITION,
          lambda t, d, s: route_rps(t, s)["GET /kitchen/orders"] * items_rcu(BOARD_LIMIT, MARKER_BYTES)),
    Limit("rate_counter", "RATE#<client> writes: the busiest client's counter", PARTITION_WCU, "WCU/s",
          DYNAMODB_PARTITION, _busiest_client),
    Limit("client_limit", "per-client rate limit (this project's setting, 120/minute)",
          CLIENT_RATE_PER_MINUTE / 60, "requests/s", "src/app/settings.py rate_limit", _busiest_client),
    Limit("menu_reads", "MENU reads: menu Query per container per 5 s, each order's lines",
          PARTITION_RCU, "RCU/s", DYNAMODB_PARTITION,
          lambda t, d, s: min(route_rps(t, s)["GET /menu"], concurrency(t, d, s) / 5)
          * items_rcu(1, MENU_BYTES, consistent=True) + t.orders_per_second(s) * t.order_lines),
    Limit("staff_reads", "AUD#staff reads: one Query of the staff audience per order change",
          PARTITION_RCU, "RCU/s", DYNAMODB_PARTITION,
          lambda t, d, s: _live(t, s)[0] * items_rcu(_live(t, s)[1], MEMBERSHIP_BYTES)),
    Limit("all_writes", "AUD#all writes: every connection's membership, put and deleted",
          PARTITION_WCU, "WCU/s", DYNAMODB_PARTITION,
          lambda t, d, s: 2 * _connects(t, d, s)),
    Limit("table_wru", "DynamoDB on-demand table write units (data table)", 40_000, "WRU/s",
          DYNAMODB_QUOTAS, _table_wru),
)  # fmt: skip


def breaking_point(limit: Limit, traffic: Traffic, timing: Durations, *, ceiling: float = 1e7) -> float:
    """The multiple of today's traffic at which ``limit`` is reached (inf: never, its
    demand does not grow with the traffic). Demands grow monotonically with the scale."""

    def over(scale: float) -> bool:
        return limit.demand(traffic, timing, scale) >= limit.quota

    if over(1e-9):
        return 0.0
    if not over(ceiling):
        return math.inf
    low, high = 1e-9, ceiling
    while high / low > 1.0001:
        middle = math.sqrt(low * high)
        low, high = (low, middle) if over(middle) else (middle, high)
    return high


def first_breaks(traffic: Traffic, timing: Durations) -> list[tuple[float, Limit]]:
    """Every limit with its breaking point, first to break first."""
    return sorted(((breaking_point(lim, traffic, timing), lim) for lim in LIMITS), key=lambda p: p[0])


def share(demand: float, quota: float) -> str:
    """A demand as a share of its quota: 81%, or 80x once it is ten times over."""
    ratio = demand / quota
    return f"{ratio:.0%}" if ratio < 10 else f"{ratio:,.0f}x"


def render(traffic: Traffic, timing: Durations) -> str:
    """What `python -m bench.scaling` prints: the inputs, the model's tables, the first breaks."""
    lines = [
        f"Measured as deployed (medians): warm GET /hello {timing.hello_ms:.2f} ms, warm GET /orders/{{id}} "
        f"{timing.order_ms:.2f} ms, cold start to the first GET /orders/{{id}} {timing.cold_ms:.0f} ms",
        f"Today: {traffic.orders_per_hour:g} orders an hour, the busiest minute {traffic.busiest_minute:g}x "
        f"that: {traffic.orders_per_second(1) * 60:.1f} orders/min, {_http(traffic, timing, 1):.2f} HTTP "
        f"requests/s, {traffic.staff_devices:g} staff devices",
        "",
        "Requests per second per unit of Lambda concurrency (at most 10: Lambda's per-environment rate),",
        "and each quota's demand at 1x, 10x, 100x and 1000x today's traffic:",
        "",
        markdown(traffic, timing),
        "Breaks first:",
    ]
    for point, lim in first_breaks(traffic, timing)[:3]:
        lines.append(f"  at {point:,.0f}x: {lim.what} ({lim.quota:,g} {lim.unit}; {lim.source})")
    return "\n".join(lines)


def markdown(traffic: Traffic, timing: Durations) -> str:
    """The model's tables for docs/scaling.md (bench/results/scaling.md, included there)."""
    out = [
        "| route | duration as deployed | requests/s per unit of concurrency |",
        "|---|---|---|",
        *(
            f"| `{r.label}` | {timing.route_ms(r):.2f} ms | {per_unit(timing.route_ms(r)):.1f} |"
            for r in ROUTES
        ),
        f"| a cold environment's first request | {timing.cold_ms:.0f} ms | {per_unit(timing.cold_ms):.1f} |",
        "",
        "| limit | quota | " + " | ".join(f"{s}x" for s in SCALES) + " | reached at | source |",
        "|---|---|" + "---|" * len(SCALES) + "---|---|",
    ]
    for point, lim in first_breaks(traffic, timing):
        shares = " | ".join(share(lim.demand(traffic, timing, s), lim.quota) for s in SCALES)
        at = "never" if math.isinf(point) else f"**{point:,.0f}x**"
        link = f"[AWS]({lim.source})" if lim.source.startswith("https://") else f"`{lim.source}`"
        what = lim.what.replace("<", "&lt;")  # RATE#<client> is not an HTML tag
        out.append(f"| {what} | {lim.quota:,g} {lim.unit} | {shares} | {at} | {link} |")
    return "\n".join(out) + "\n"


def write(results: dict[str, Any], path: Path = RESULTS_MD) -> Path:
    path.write_text(markdown(Traffic(), durations(results)))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.splitlines()[0])
    parser.add_argument(
        "results", nargs="?", type=Path, default=LATEST, help="a run's JSON (default: latest)"
    )
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS_MD} for docs/scaling.md")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    print(render(Traffic(), durations(results)))
    if args.write:
        print(f"bench: wrote {write(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
