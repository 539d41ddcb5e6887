"""bench/cost.py's live-orders rows: what a million changes cost when each reaches N
WebSocket connections, term by term from the list prices the module records."""

from __future__ import annotations

import pytest

from bench import cost


@pytest.mark.parametrize("connections", [1, 10, 100, 1000])
def test_a_million_changes_to_n_connections(connections: int) -> None:
    row = cost.live_per_million_changes(connections)
    # One WebSocket message per connection per change (an order's JSON fits one 32 KB unit):
    # $1.00 per million messages.
    assert row["messages"] == 1_000_000 * connections
    assert row["websocket_messages"] == pytest.approx(1.00 * connections)
    # One stream invocation per change at $0.20 per million, and its GB-seconds.
    assert row["lambda_requests"] == pytest.approx(0.20)
    seconds = (cost.LIVE_BASE_MS + cost.LIVE_POST_MS * connections) / 1000
    assert row["lambda_compute"] == pytest.approx(1e6 * seconds * 0.25 * cost.LAMBDA_ARM64_GB_SECOND_USD)
    # The stream's GetRecords by Lambda are free; the connections Query is not.
    assert row["stream_reads"] == 0
    assert row["dynamodb"] >= 1e6 * 0.5 * cost.DYNAMODB_RRU_USD
    parts = ("websocket_messages", "lambda_requests", "lambda_compute", "dynamodb", "stream_reads")
    assert row["total"] == pytest.approx(sum(row[p] for p in parts))
    # Connections are billed by the minute, apart from the changes: $0.25 per million.
    assert row["connections_month"] == pytest.approx(connections * 43_200 * 0.25 / 1e6)


def test_the_query_grows_with_the_audience_in_4_kb_steps() -> None:
    assert cost.live_per_million_changes(1)["dynamodb"] == cost.live_per_million_changes(40)["dynamodb"]
    assert cost.live_per_million_changes(41)["dynamodb"] > cost.live_per_million_changes(40)["dynamodb"]


def test_the_tables_show_one_row_per_audience_size_with_the_price_pages() -> None:
    found = {"prices_recorded": cost.PRICES_RECORDED, "rows": [], "live": cost.live_model()}
    table = cost.markdown(found)
    rows = [line for line in table.splitlines() if line.startswith("| 1") and "$0.00 |" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| 1", "| 10", "| 100", "| 1000"]
    assert "| 100 | $100.00 |" in table
    text = cost.render(found)
    assert cost.API_GATEWAY_PRICING in text
    assert cost.DYNAMODB_PRICING in text
