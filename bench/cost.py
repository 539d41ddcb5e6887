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
    return {"prices_recorded": PRICES_RECORDED, "rows": rows}


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
    return "\n".join(lines)
