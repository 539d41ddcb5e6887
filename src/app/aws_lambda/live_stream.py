"""DataTable's stream to the WebSocket connections (template.yaml LiveStreamFunction).

Lambda's event source mapping invokes it with a batch of stream records (already
filtered to orders and menu items). Each record, in order, becomes a change
(app.live.changes) delivered to its audiences (app.live.fanout.deliver) through
the @connections API. On the first record that fails, the handler stops and
reports that record's ``SequenceNumber`` as the batch's one item failure
(``ReportBatchItemFailures``): Lambda then retries from that record, so the ones
before it are not sent again and the ones after it keep their order ("Configuring
partial batch response with DynamoDB and Lambda"). After the mapping's retries the
record goes to the on-failure queue.

A change's posts run concurrently, on POST_CONCURRENCY threads (boto3's clients are
thread-safe; the management client keeps as many connections): one after another, a
kitchen of 1,000 connections would take about 10 s a change at ~10 ms a post.

Imports no FastAPI: its cold start is the two SDK clients'.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.http.logs import configure_logging
from app.live.changes import from_stream_record
from app.live.dynamo_registry import DynamoRegistry, from_environment
from app.live.fanout import deliver
from app.live.management import POST_CONCURRENCY, ManagementTransport, new_client

log = logging.getLogger("app.live.stream")


@functools.cache
def runtime() -> tuple[DynamoRegistry, ManagementTransport, ThreadPoolExecutor]:
    configure_logging(os.environ.get("APP_LOG_LEVEL", "INFO"))
    pool = ThreadPoolExecutor(max_workers=POST_CONCURRENCY, thread_name_prefix="post")
    return from_environment(os.environ), ManagementTransport(new_client(os.environ)), pool


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    registry, transport, pool = runtime()
    sent = 0
    for record in event.get("Records", []):
        try:
            change = from_stream_record(record)
            if change is not None:
                sent += deliver(change, registry, transport, now=int(time.time()), pool=pool)
        except Exception as error:
            sequence = str(record.get("dynamodb", {}).get("SequenceNumber", ""))
            # The error's type and message only: a record's image holds customers' orders.
            log.error(
                "live delivery failed; the batch resumes here",
                extra={"sequenceNumber": sequence, "error": type(error).__name__},
            )
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    log.info("live batch delivered", extra={"records": len(event.get("Records", [])), "messages": sent})
    return {"batchItemFailures": []}
