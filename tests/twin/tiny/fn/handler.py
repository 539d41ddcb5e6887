"""The tiny stack's function: each path shows one thing the twin must do."""

import json
import os
import signal
import time
from pathlib import Path


def handler(event, context):  # type: ignore[no-untyped-def]
    path = event["rawPath"]
    if path.endswith("/sleep"):
        time.sleep(3)  # past the 1 s timeout
    if path.endswith("/boom"):
        raise RuntimeError("boom")
    if path.endswith("/crash"):
        os.kill(os.getpid(), signal.SIGKILL)  # the runtime dies mid-invocation
    if path.endswith("/plain"):
        return {"hello": "world"}  # no statusCode: the 2.0 inference rules apply
    if path.endswith("/cookies"):
        return {
            "statusCode": 201,
            "headers": {"content-type": "text/plain"},
            "cookies": ["a=1", "b=2; Path=/"],
            "body": "made",
        }
    if path.endswith("/split"):
        # A header value that would split the response (CR LF and a header of its own).
        return {"statusCode": 200, "headers": {"x-note": "a\r\nSet-Cookie: injected=1"}, "body": "split"}
    if path.endswith("/binary"):
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": event.get("body", ""),
            "isBase64Encoded": event.get("isBase64Encoded", False),
        }
    try:
        Path(os.environ["LAMBDA_TASK_ROOT"], "written").write_text("x")
        code_writable = True
    except OSError:
        code_writable = False
    Path(os.environ.get("TMPDIR", "/tmp"), "scratch").write_text("x")
    environment = {
        k: v for k, v in os.environ.items() if k.startswith(("AWS_LAMBDA_", "LAMBDA_", "TINY_", "_HANDLER"))
    }
    answer = {
        "event": event,
        "environment": environment,
        "code_writable": code_writable,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "pid": os.getpid(),
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(answer)}
