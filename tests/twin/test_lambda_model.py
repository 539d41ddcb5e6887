"""Lambda's execution model and the gateway's own answers, on a tiny stack whose function
can be slow, fail or answer in each 2.0 shape (tests/twin/tiny)."""

from __future__ import annotations

import base64
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.twin.conftest import Twin, get

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def tiny(tiny_twin: Callable[..., Any]) -> Iterator[Twin]:
    with tiny_twin() as twin:
        yield twin


def echo(twin: Twin, path: str = "/echo", **kwargs: Any) -> dict[str, Any]:
    response = httpx.request(kwargs.pop("method", "GET"), f"{twin.url}{path}", timeout=30, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_function_runs_as_lambda_runs_it(tiny: Twin) -> None:
    seen = echo(tiny)
    environment = seen["environment"]
    assert environment["TINY_SETTING"] == "from-the-template"
    assert environment["_HANDLER"] == "handler.handler"
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "twin-Tiny"
    assert environment["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert environment["LAMBDA_TASK_ROOT"].endswith("tests/twin/tiny/fn")
    # The code directory is read-only (as /var/task is); /tmp is writable (the handler wrote it).
    assert seen["code_writable"] is False
    # The context has the deadline from the template's 1 s timeout.
    assert 0 < seen["remaining_ms"] <= 1000
    event = seen["event"]
    assert event["rawPath"] == "/test/echo"
    assert event["requestContext"]["stage"] == "test"
    assert event["requestContext"]["requestId"]


def test_the_http_request_becomes_the_2_0_event(tiny: Twin) -> None:
    seen = echo(
        tiny,
        "/echo/a%20b",
        method="POST",
        params=[("q", "1"), ("q", "2"), ("r", "")],
        headers=[
            ("X-Many", "one"),
            ("X-Many", "two"),
            ("Cookie", "c1=1; c2=2"),
            ("Content-Type", "image/png"),
        ],
        content=b"\x89PNG\x00\xff",
    )["event"]
    assert event_field(seen, "rawQueryString") == "q=1&q=2&r="
    assert seen["queryStringParameters"] == {"q": "1,2", "r": ""}
    assert seen["headers"]["x-many"] == "one,two"
    assert seen["cookies"] == ["c1=1", "c2=2"]
    assert seen["isBase64Encoded"] is True
    assert base64.b64decode(seen["body"]) == b"\x89PNG\x00\xff"
    assert seen["pathParameters"] == {"proxy": "echo/a b"}
    assert seen["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


def event_field(event: dict[str, Any], name: str) -> Any:
    return event[name]


def test_the_answer_follows_the_2_0_response_rules(tiny: Twin) -> None:
    plain = get(f"{tiny.url}/plain")
    assert (plain.status_code, plain.json()) == (200, {"hello": "world"})
    assert plain.headers["content-type"] == "application/json"
    cookies = get(f"{tiny.url}/cookies")
    assert cookies.status_code == 201
    assert cookies.text == "made"
    assert cookies.headers.get_list("set-cookie") == ["a=1", "b=2; Path=/"]
    binary = httpx.post(
        f"{tiny.url}/binary", content=bytes(range(256)), headers={"content-type": "application/octet-stream"}
    )
    assert binary.content == bytes(range(256))


def test_warm_reuse_and_a_cold_start_only_when_every_worker_is_busy(tiny: Twin) -> None:
    pids = {echo(tiny)["pid"] for _ in range(3)}
    assert len(pids) == 1  # one at a time: the same warm worker
    with ThreadPoolExecutor(3) as pool:
        # Three at once: at most three workers (the cap is 4), each cold only once.
        concurrent = list(pool.map(lambda _: echo(tiny)["pid"], range(3)))
    assert pids & set(concurrent)  # the warm worker served one of them
    reports = tiny.reports()
    cold = [r for r in reports if r["init"] is not None]
    assert 1 <= len(cold) <= 3
    assert len({r["id"] for r in reports}) == len(reports)


def test_an_unhandled_error_is_the_gateways_500(tiny: Twin) -> None:
    response = get(f"{tiny.url}/boom")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert response.headers["apigw-requestid"]
    assert tiny.reports()[-1]["status"] == "error"
    assert "RuntimeError" in tiny.log()  # the runtime logs the error, as in CloudWatch
    assert echo(tiny)["event"]  # and the worker serves the next request


def failed_invocation(twin: Twin, path: str) -> tuple[int, dict[str, str | None]]:
    """The pid that served the request before, and the REPORT of ``path``'s invocation,
    which the gateway answered with its 500."""
    before = echo(twin)["pid"]
    response = get(f"{twin.url}{path}")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    return before, twin.reports()[-1]


def test_a_function_timeout_is_the_gateways_500_and_replaces_the_worker(tiny: Twin) -> None:
    before, report = failed_invocation(tiny, "/sleep")
    assert report["status"] == "timeout"
    assert report["duration"] == "1000.00"  # reported at the template's 1 s timeout
    assert report["billed"] == "1000"
    # The timed-out environment is gone: the next request gets a new, cold one.
    survivors = {echo(tiny)["pid"] for _ in range(3)}
    assert before not in survivors


def test_a_runtime_that_dies_fails_its_invocation_at_once(tiny: Twin) -> None:
    before, report = failed_invocation(tiny, "/crash")
    assert report["status"] == "error"
    assert float(str(report["duration"])) < 1000  # not held until the function's timeout
    assert "Runtime.ExitError" in tiny.log()
    assert before not in {echo(tiny)["pid"] for _ in range(3)}  # a new environment serves


def test_stage_throttling_is_a_token_bucket_from_the_template(tiny_twin: Callable[..., Any]) -> None:
    with tiny_twin("ThrottlingBurstLimit=4", "ThrottlingRateLimit=1") as twin:
        assert "burst 4, rate 1.0/s" in twin.log()
        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(lambda _: get(f"{twin.url}/plain"), range(12)))
        ok = [r for r in responses if r.status_code == 200]
        throttled = [r for r in responses if r.status_code == 429]
        assert len(ok) + len(throttled) == 12
        assert 4 <= len(ok) <= 6  # the burst, plus a token or two refilled meanwhile
        for response in throttled:
            assert response.json() == {"message": "Too Many Requests"}
            assert response.headers["apigw-requestid"]
        # A throttled request never reached the function.
        assert len(twin.reports()) == len(ok)


def test_a_request_over_the_payload_limit_is_413(tiny: Twin) -> None:
    response = httpx.post(f"{tiny.url}/echo", content=b"x" * (10 * 1024 * 1024 + 1), timeout=60)
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_sigterm_stops_the_twin_and_its_workers(tiny_twin: Callable[..., Any]) -> None:
    with tiny_twin() as twin:
        echo(twin)
        children = subprocess.run(
            ["pgrep", "-P", str(twin.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert children  # the worker, a child of the twin
        twin.process.send_signal(signal.SIGTERM)
        assert twin.process.wait(timeout=20) == 0
        assert "twin: stopping" in twin.log()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
            time.sleep(0.05)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
