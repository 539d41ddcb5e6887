"""Lambda's event source mapping for a DynamoDB stream, locally: a poller per mapping
reading the local DynamoDB server's stream (``dynamodbstreams`` on moto's server) and
invoking the function in the Lambda workers the way Lambda does, each rule from the
AWS page cited beside it.

What moto's server returns was checked (2026-12-05): ``describe_stream`` has one shard;
``get_shard_iterator`` takes LATEST, TRIM_HORIZON, AT_/AFTER_SEQUENCE_NUMBER;
``get_records`` returns INSERT/MODIFY/REMOVE records with Keys, NewImage (for
NEW_IMAGE), numeric-string SequenceNumbers in write order, SizeBytes and
ApproximateCreationDateTime, with eventVersion "1.0" (Lambda's own records say "1.1").
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from twin.filters import passes
from twin.lambda_service import InvocationFailed, LambdaService
from twin.live_stack import StreamMapping
from twin.stack import ACCOUNT, REGION

log = logging.getLogger("twin.streams")

# https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, "Polling and batching
# streams": "Lambda polls shards in your DynamoDB stream for records at a base rate of
# 4 times per second. When records are available, Lambda invokes your function and waits
# for the result. If processing succeeds, Lambda resumes polling until it receives more
# records."
POLL_INTERVAL_S = 0.25
# GetRecords returns at most 1000 records (DynamoDB Streams API reference, Limit).
READ_LIMIT = 1000


def lambda_record(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One stream record as Lambda's event carries it (with-ddb.html, "Example event"):
    the stream's record plus eventSourceARN, eventVersion "1.1", the creation time in
    epoch seconds."""
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def first_failure(result: Any, batch: list[dict[str, Any]]) -> int | None:
    """Where a batch failed by its response, with ReportBatchItemFailures
    (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html):
    None if it succeeded (a null or empty response or list), else the index of the
    lowest failed sequence number; 0 (the whole batch) for an empty, null or unknown
    itemIdentifier."""
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return None
    sequence = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in sequence:
            return 0
        indexes.append(sequence[identifier])
    return min(indexes)


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    attempts: int = 0  # invocations of a batch starting at this record


def _iso(seconds: float, millis: bool = False) -> str:
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{int(seconds * 1000) % 1000:03d}Z" if millis else "Z")


class StreamPoller:
    """One event source mapping: polls its shard, batches, filters, invokes, retries."""

    def __init__(
        self,
        mapping: StreamMapping,
        service: LambdaService,
        streams: Any,  # a boto3 dynamodbstreams client
        stream_arn: str,
        sqs: Any = None,  # a boto3 sqs client, for the on-failure destination
        queue_url: str | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self.mapping = mapping
        self.service = service
        self.streams = streams
        self.stream_arn = stream_arn
        self.sqs = sqs
        self.queue_url = queue_url
        self.poll_interval_s = poll_interval_s
        self.pending: deque[_Batch] = deque()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"stream-{mapping.logical_id}", daemon=True)
        shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
        self.shard_id = shard["ShardId"]
        # StartingPosition LATEST: only what is written from now on (the mapping's creation).
        self.iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=self.shard_id, ShardIteratorType=mapping.starting_position
        )["ShardIterator"]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                if not self.pending and not self._read_batch():
                    self.stopping.wait(self.poll_interval_s)
                    continue
                self._process(self.pending.popleft())
            except Exception:  # the poller outlives any one failure, as Lambda's does
                log.exception("event source mapping %s: poll failed", self.mapping.logical_id)
                self.stopping.wait(self.poll_interval_s)

    def _read(self) -> list[dict[str, Any]]:
        answer = self.streams.get_records(ShardIterator=self.iterator, Limit=READ_LIMIT)
        self.iterator = answer.get("NextShardIterator") or self.iterator
        return [lambda_record(raw, self.stream_arn) for raw in answer.get("Records", [])]

    def _read_batch(self) -> bool:
        """Read until a full batch or the batching window's end (a window of 0: as soon as
        records are there); queue what passes the filters (with-ddb-filtering.html: a
        record that matches no filter is discarded, never sent). True if a batch was queued."""
        records: list[dict[str, Any]] = []
        window_ends = time.monotonic() + self.mapping.window_s
        while not self.stopping.is_set():
            read = self._read()
            records += [r for r in read if passes(self.mapping.filters, r)]
            if len(records) >= self.mapping.batch_size or (records and time.monotonic() >= window_ends):
                break
            if not read:
                if not records:
                    return False
                self.stopping.wait(min(self.poll_interval_s, max(0.0, window_ends - time.monotonic())))
        size = self.mapping.batch_size
        for start in range(0, len(records), size):
            self.pending.append(_Batch(records[start : start + size]))
        return bool(records)

    def _expired(self, batch: _Batch) -> bool:
        age = self.mapping.max_record_age_s
        if age < 0:
            return False
        oldest = batch.records[0]["dynamodb"].get("ApproximateCreationDateTime", time.time())
        return time.time() - float(oldest) > age

    def _process(self, batch: _Batch) -> None:
        """One invocation and what Lambda does with its outcome
        (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html and
        services-ddb-batchfailurereporting.html)."""
        mapping = self.mapping
        if self._expired(batch):
            self._give_up(batch, "RecordAgeExceeded", function_error=None)
            return
        batch.attempts += 1
        function_error = None
        try:
            result = self.service.invoke({"Records": batch.records}, wait_s=60.0)
        except InvocationFailed as failure:
            log.warning("event source mapping %s: invocation failed (%s)", mapping.logical_id, failure.kind)
            result, function_error = None, "Unhandled"
        failed_at = (
            0
            if function_error
            else first_failure(result, batch.records)
            if mapping.report_item_failures
            else None
        )
        if failed_at is None:
            return  # checkpointed past the whole batch
        if failed_at > 0:
            # Checkpoint before the failed record; retry from it ("the batch is bisected
            # at the returned sequence number and Lambda retries only the remaining records").
            self.pending.appendleft(_Batch(batch.records[failed_at:]))
            return
        if mapping.bisect and len(batch.records) > 1:
            # "If the invocation fails and BisectBatchOnFunctionError is turned on, the batch
            # is bisected regardless of your ReportBatchItemFailures setting"; "Splitting
            # batches doesn't consume the retry quota."
            half = len(batch.records) // 2
            self.pending.extendleft([_Batch(batch.records[half:]), _Batch(batch.records[:half])])
            return
        if mapping.max_retries >= 0 and batch.attempts > mapping.max_retries:
            self._give_up(batch, "RetryAttemptsExhausted", function_error)
            return
        self.pending.appendleft(batch)  # the same records again, one retry more

    def _give_up(self, batch: _Batch, condition: str, function_error: str | None) -> None:
        """Discard the batch; send its invocation record to the on-failure destination
        (services-dynamodb-errors.html, "Example Invocation Record": the records
        themselves are not in it, only where they are in the stream)."""
        records = batch.records
        first = float(records[0]["dynamodb"].get("ApproximateCreationDateTime", time.time()))
        last = float(records[-1]["dynamodb"].get("ApproximateCreationDateTime", time.time()))
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response["functionError"] = function_error
        document = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.service.function.name}",
                "condition": condition,
                "approximateInvokeCount": batch.attempts,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(time.time(), millis=True),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first),
                "approximateArrivalOfLastRecord": _iso(last),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        log.warning(
            "event source mapping %s: %s, %d record(s) from %s discarded%s",
            self.mapping.logical_id,
            condition,
            len(records),
            records[0]["dynamodb"]["SequenceNumber"],
            " to the on-failure destination" if self.queue_url else "",
        )
        if self.sqs is not None and self.queue_url:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(document))
