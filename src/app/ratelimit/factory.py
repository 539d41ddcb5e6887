"""The configured limiter, built once per container.

With the DynamoDB store the counter lives in the same table and uses the
container's one SDK client (``client``, shared with the store), built at init.
Locally the counters are in memory and the SDK is never imported.
"""

from __future__ import annotations

from typing import Any

from app.ratelimit.limiter import Limiter, MemoryCounter
from app.settings import Settings


def build_limiter(settings: Settings, *, client: Any = None) -> Limiter | None:
    rate = settings.rate
    if not rate.enabled:
        return None
    if settings.store == "dynamodb":
        from app.ratelimit.dynamodb import DynamoCounter

        table, endpoint = settings.dynamodb_table, settings.dynamodb_endpoint_url
        assert table is not None
        return Limiter(rate, DynamoCounter(table, endpoint_url=endpoint, client=client))
    # One process's memory: right for local runs and a single uvicorn worker.
    return Limiter(rate, MemoryCounter())
