"""The event source mapping's rules, each against the Lambda page that states it, with
a scripted function and stream (fast; the tiny and the real stacks run the same poller
against moto's server in test_streams_tiny.py and test_websocket_live.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from twin.lambda_service import InvocationFailed
from twin.live_stack import StreamMapping
from twin.streams import StreamPoller, first_failure

MAPPING = StreamMapping("Changes", "Fn", "Table", batch_size=10, report_item_failures=True, max_retries=2)


def record(n: int, age_s: float = 0) -> dict[str, Any]:
    return {
        "eventID": str(n),
        "eventName": "INSERT",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time() - age_s),
            "Keys": {"PK": {"S": f"ORDER#{n}"}},
            "SequenceNumber": str(100 + n),
            "SizeBytes": 10,
            "StreamViewType": "NEW_IMAGE",
        },
    }


class Stream:
    """dynamodbstreams with one shard holding ``records``, read once."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "shardId-1"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it"}

    def get_records(self, **_: Any) -> dict[str, Any]:
        records, self.records = self.records, []
        return {"Records": records, "NextShardIterator": "it"}


class Queue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:  # boto3's parameter names
        self.sent.append(json.loads(MessageBody))


class Function:
    """Answers each batch with ``behave(sequence numbers)``; remembers the batches."""

    def __init__(self, behave: Callable[[list[str]], Any]) -> None:
        self.behave = behave
        self.batches: list[list[str]] = []
        self.function = type("F", (), {"name": "fn"})()

    def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> Any:
        batch = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        self.batches.append(batch)
        return self.behave(batch)


def run(
    mapping: StreamMapping, records: list[dict[str, Any]], behave: Callable[[list[str]], Any]
) -> tuple[Function, Queue]:
    function, queue = Function(behave), Queue()
    service: Any = function  # what StreamPoller calls of a LambdaService: invoke, function.name
    poller = StreamPoller(
        mapping, service, Stream(records), "arn:stream", queue, "queue-url", poll_interval_s=0.01
    )
    poller.start()
    deadline = time.monotonic() + 5
    settled = -1
    while time.monotonic() < deadline and settled != len(function.batches):
        settled = len(function.batches)
        time.sleep(0.1)
    poller.stop()
    return function, queue


def fail(batch: list[str]) -> Any:
    raise InvocationFailed("error", "RuntimeError", "boom")


@pytest.mark.parametrize(
    ("response", "failed_at"),
    [
        # services-ddb-batchfailurereporting.html, "Success and failure conditions"
        (None, None),  # a null EventResponse
        ({}, None),  # an empty EventResponse
        ({"batchItemFailures": None}, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),  # an empty string: the whole batch
        ({"batchItemFailures": [{"itemIdentifier": None}]}, 0),  # null: the whole batch
        ({"batchItemFailures": [{"id": "102"}]}, 0),  # a bad key name: the whole batch
        ({"batchItemFailures": [{"itemIdentifier": "999"}]}, 0),  # not in the batch
        # "If the batchItemFailures array contains multiple items, Lambda uses the record
        # with the lowest sequence number as the checkpoint."
        ({"batchItemFailures": [{"itemIdentifier": "103"}, {"itemIdentifier": "102"}]}, 2),
    ],
)
def test_what_a_response_means(response: Any, failed_at: int | None) -> None:
    assert first_failure(response, [record(n) for n in range(5)]) == failed_at


def test_a_function_error_retries_the_whole_batch_then_sends_it_to_the_destination() -> None:
    function, queue = run(MAPPING, [record(n) for n in range(3)], fail)
    assert function.batches == [["100", "101", "102"]] * 3  # once, then MaximumRetryAttempts (2) retries
    (sent,) = queue.sent
    assert sent["requestContext"]["approximateInvokeCount"] == 3
    assert sent["responseContext"]["functionError"] == "Unhandled"
    assert sent["DDBStreamBatchInfo"]["batchSize"] == 3
    assert (
        sent["DDBStreamBatchInfo"]["startSequenceNumber"],
        sent["DDBStreamBatchInfo"]["endSequenceNumber"],
    ) == (
        "100",
        "102",
    )


def test_a_partial_failure_retries_from_the_failed_record() -> None:
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "102"}]}, None])
    function, queue = run(MAPPING, [record(n) for n in range(4)], lambda batch: next(answers))
    assert function.batches == [["100", "101", "102", "103"], ["102", "103"]]
    assert queue.sent == []


def test_without_report_batch_item_failures_a_reported_failure_is_a_success() -> None:
    """ "Lambda doesn't process these responses unless ReportBatchItemFailures is turned on"."""
    mapping = replace(MAPPING, report_item_failures=False)
    function, queue = run(
        mapping, [record(n) for n in range(2)], lambda b: {"batchItemFailures": [{"itemIdentifier": b[0]}]}
    )
    assert function.batches == [["100", "101"]]
    assert queue.sent == []


def test_bisecting_isolates_the_bad_record_without_spending_retries() -> None:
    mapping = replace(MAPPING, bisect=True)
    function, queue = run(mapping, [record(n) for n in range(4)], lambda b: fail(b) if "101" in b else None)
    assert function.batches[:3] == [["100", "101", "102", "103"], ["100", "101"], ["100"]]
    assert function.batches.count(["101"]) == 3
    assert ["102", "103"] in function.batches
    (sent,) = queue.sent
    assert sent["DDBStreamBatchInfo"]["startSequenceNumber"] == "101"
    assert sent["requestContext"]["approximateInvokeCount"] == 3


def test_a_record_past_its_maximum_age_is_not_sent_but_parked() -> None:
    mapping = replace(MAPPING, max_record_age_s=60)
    function, queue = run(mapping, [record(1, age_s=120)], lambda b: None)
    assert function.batches == []
    (sent,) = queue.sent
    assert sent["requestContext"]["condition"] == "RecordAgeExceeded"


def test_batches_are_at_most_batch_size() -> None:
    mapping = replace(MAPPING, batch_size=2)
    function, _ = run(mapping, [record(n) for n in range(5)], lambda b: None)
    assert function.batches == [["100", "101"], ["102", "103"], ["104"]]
