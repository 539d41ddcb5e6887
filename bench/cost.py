"""What one million requests cost, from the durations `make bench` measured.

A small model, printed by `make bench` and shown in the README:

- Lambda (arm64): $0.20 per million requests, plus GB-seconds: the memory size
  times the billed duration (rounded up to 1 ms);
- API Gateway HTTP API: one request per call (up to 512 KB);
- DynamoDB on-demand: read and write request units per request of each kind
  (strongly consistent reads: 1 RRU per 4 KB; writes: 1 WRU per 1 KB).

Durations: the warm handler durations measured on this machine (DynamoDB a
local server), scaled to each memory size by Lambda's CPU share (a full vCPU
at 1,769 MB, proportionally less below): duration(M) = d * max(1, 1769 / M).
That scaling treats the whole duration as CPU work; the part spent waiting on
DynamoDB does not grow at low memory, so low sizes are overestimated.

Live orders (issue 24): what a million changes cost when each is delivered to N
WebSocket connections (``live_model``): API Gateway's WebSocket messages (metered in
32 KB units) and connection minutes, the stream consumer's invocations and compute,
and its Query of the connections table. The stream itself costs nothing here:
"GetRecords API calls invoked by AWS Lambda as part of DynamoDB triggers are free"
(DynamoDB pricing, DynamoDB Streams).

Left out: cold starts (INIT is billed since 1 August 2025 but is a small share of
a warm-heavy load), free tiers, data transfer, CloudWatch Logs ingestion of the
access-log line (about 0.5-0.8 KB per request), the table's storage, point-in-time
recovery, idempotency-record writes, GSI reads of GET /orders, CloudFront, Cognito.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# us-east-1 list prices, as published on these pages when recorded (2025-06);
# not fetched by this code: check them before relying on the table.
PRICES_RECORDED = "2025-06"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
API_GATEWAY_PRICING = "https://aws.amazon.com/api-gateway/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
LAMBDA_REQUEST_USD = 0.20 / 1e6
LAMBDA_ARM64_GB_SECOND_USD = 0.0000133334  # first 7.5 billion GB-s a month
HTTP_API_REQUEST_USD = 1.00 / 1e6  # first 300 million a month
DYNAMODB_WRU_USD = 0.625 / 1e6
DYNAMODB_RRU_USD = 0.125 / 1e6
FULL_VCPU_MB = 1769
MEMORY_SIZES_MB = (128, 256, 512, 1024)
MILLION = 1_000_000


@dataclass(frozen=True)
class Kind:
    """One request kind and the DynamoDB units each request spends."""

    label: str
    subject: str  # whose measured duration
    section: str
    field: str
    rru: float
    wru: float


KINDS = (
    # The limiter's UpdateItem (1 WRU) on every request of ours.
    Kind("GET /hello, this project", "ours", "warm", "hello", 0, 1),
    Kind("GET /orders/{id}, this project", "ours_deployed", "deployed", "order_warm_us", 1, 1),
    Kind("GET /orders/{id}, typical app (no limiter)", "typical_deployed", "deployed", "order_warm_us", 1, 0),
)


def per_million(duration_us: float, memory_mb: int, rru: float, wru: float) -> dict[str, float]:
    billed_ms = math.ceil(duration_us * max(1.0, FULL_VCPU_MB / memory_mb) / 1000)
    compute = MILLION * billed_ms / 1000 * memory_mb / 1024 * LAMBDA_ARM64_GB_SECOND_USD
    parts = {
        "lambda_requests": MILLION * LAMBDA_REQUEST_USD,
        "lambda_compute": compute,
        "http_api": MILLION * HTTP_API_REQUEST_USD,
        "dynamodb": MILLION * (rru * DYNAMODB_RRU_USD + wru * DYNAMODB_WRU_USD),
    }
    return {**parts, "total": sum(parts.values()), "billed_ms": billed_ms}


# Live orders. WebSocket APIs: $1.00 per million messages (first billion a month; a
# message is metered in 32 KB units) and $0.25 per million connection minutes
# (API_GATEWAY_PRICING). The stream's reads by Lambda: free (DYNAMODB_PRICING).
WEBSOCKET_MESSAGE_USD = 1.00 / 1e6
WEBSOCKET_CONNECTION_MINUTE_USD = 0.25 / 1e6
WEBSOCKET_MESSAGE_UNIT_BYTES = 32 * 1024
STREAM_READ_BY_LAMBDA_USD = 0.0
# Assumed, not measured (no cloud here): an order message is about 600 bytes; the
# consumer spends about 5 ms per change on its own (record, Query) and about 10 ms per
# post_to_connection (one in-region HTTPS call on a kept-alive connection, made one after
# another); at 256 MB (template.yaml) it has a sixth of a vCPU, counted as is.
LIVE_MESSAGE_BYTES = 600
LIVE_BASE_MS = 5
LIVE_POST_MS = 10
LIVE_MEMORY_MB = 256
MEMBERSHIP_ITEM_BYTES = 100  # a connections-table membership item (app/live/dynamo_registry.py)
CONNECTIONS = (1, 10, 100, 1000)
MINUTES_A_MONTH = 30 * 24 * 60


def live_per_million_changes(connections: int) -> dict[str, float]:
    """A million changes, each delivered to ``connections`` connections, one stream
    invocation per change (the worst case: Lambda batches up to 100 when they queue)."""
    messages = MILLION * connections * math.ceil(LIVE_MESSAGE_BYTES / WEBSOCKET_MESSAGE_UNIT_BYTES)
    billed_ms = LIVE_BASE_MS + LIVE_POST_MS * connections
    # One Query per change reading every membership: 0.5 RRU per 4 KB (eventually consistent).
    rru = 0.5 * max(1, math.ceil(connections * MEMBERSHIP_ITEM_BYTES / 4096))
    parts = {
        "websocket_messages": messages * WEBSOCKET_MESSAGE_USD,
        "lambda_requests": MILLION * LAMBDA_REQUEST_USD,
        "lambda_compute": MILLION * billed_ms / 1000 * LIVE_MEMORY_MB / 1024 * LAMBDA_ARM64_GB_SECOND_USD,
        "dynamodb": MILLION * rru * DYNAMODB_RRU_USD,
        "stream_reads": MILLION * STREAM_READ_BY_LAMBDA_USD,
    }
    return {
        **parts,
        "total": sum(parts.values()),
        "messages": messages,
        "billed_ms": billed_ms,
        # Separate: connections cost by the minute whether or not anything changes.
        "connections_month": connections * MINUTES_A_MONTH * WEBSOCKET_CONNECTION_MINUTE_USD,
    }


def live_model() -> list[dict[str, Any]]:
    return [{"connections": n, **live_per_million_changes(n)} for n in CONNECTIONS]


def model(results: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for kind in KINDS:
        found = results.get(kind.section, {}).get(kind.subject, {}).get(kind.field)
        if not isinstance(found, dict):
            continue
        for memory in MEMORY_SIZES_MB:
            rows.append(
                {"kind": kind.label, "memory_mb": memory, "duration_us": found["median"],
                 **per_million(found["median"], memory, kind.rru, kind.wru)}
            )  # fmt: skip
    return {"prices_recorded": PRICES_RECORDED, "rows": rows, "live": live_model()}


def render(found: dict[str, Any]) -> str:
    lines = [
        f"cost of 1M requests, arm64, us-east-1 list prices recorded {found['prices_recorded']} "
        f"({LAMBDA_PRICING}, {API_GATEWAY_PRICING}, {DYNAMODB_PRICING}):",
        f"  {'request':45} {'MB':>5} {'billed':>7} {'Lambda':>8} {'HTTP API':>9} "
        f"{'DynamoDB':>9} {'total':>8}",
    ]
    for r in found["rows"]:
        lam = r["lambda_requests"] + r["lambda_compute"]
        lines.append(
            f"  {r['kind']:45} {r['memory_mb']:>5} {r['billed_ms']:>5}ms ${lam:>7.2f} ${r['http_api']:>8.2f} "
            f"${r['dynamodb']:>8.2f} ${r['total']:>7.2f}"
        )
    lines.append(
        f"cost of 1M changes delivered to N WebSocket connections ({API_GATEWAY_PRICING}; stream reads by"
        f" Lambda free, {DYNAMODB_PRICING}):"
    )
    heading = ("connections", "messages", "Lambda", "DynamoDB", "total", "per conn-month")
    lines.append("  " + " ".join(f"{h:>{w}}" for h, w in zip(heading, (11, 9, 8, 9, 9, 15), strict=True)))
    for r in found.get("live", []):
        lam = r["lambda_requests"] + r["lambda_compute"]
        lines.append(
            f"  {r['connections']:>11} ${r['websocket_messages']:>8.2f} ${lam:>7.2f} ${r['dynamodb']:>8.2f}"
            f" ${r['total']:>8.2f} ${r['connections_month'] / r['connections']:>14.4f}"
        )
    return "\n".join(lines)


def markdown(found: dict[str, Any]) -> str:
    lines = [
        "| request | memory | billed per request | Lambda | HTTP API | DynamoDB | total per 1M |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found["rows"]:
        lam = r["lambda_requests"] + r["lambda_compute"]
        lines.append(
            f"| {r['kind']} | {r['memory_mb']} MB | {r['billed_ms']} ms | ${lam:.2f} | ${r['http_api']:.2f} "
            f"| ${r['dynamodb']:.2f} | ${r['total']:.2f} |"
        )
    lines += [
        "",
        "| 1M changes, each to N connections | WebSocket messages | Lambda (stream consumer) "
        "| DynamoDB (Query) | stream reads | total | N connections for a month |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in found.get("live", []):
        lam = r["lambda_requests"] + r["lambda_compute"]
        lines.append(
            f"| {r['connections']} | ${r['websocket_messages']:.2f} | ${lam:.2f} ({r['billed_ms']} ms) "
            f"| ${r['dynamodb']:.2f} | $0.00 | ${r['total']:.2f} | ${r['connections_month']:.2f} |"
        )
    return "\n".join(lines)
