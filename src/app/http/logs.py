"""One JSON object per log line, to stdout (CloudWatch on Lambda, the terminal locally).

``APP_LOG_LEVEL`` is the level of the app's own loggers (``app.*``) only. Every other
logger (botocore, boto3, urllib3, Mangum...) is held at ``WARNING``: at ``DEBUG``
botocore logs its canonical requests, the SigV4 ``Authorization`` header, the
session token and whole DynamoDB request and response bodies, that is credentials
and customer data (issue 11, defect 3). There is deliberately no setting that
raises the SDK's level: its DEBUG output is those dumps, and the SPEC allows no
stored item from the SDK's logs at any level. The handler enforces it, so a
library that sets its own level (werkzeug does) or a level raised by hand in a
debugging console changes nothing; and it redacts credential-looking values from
the warnings and errors of other libraries that it does print.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

# Attributes every LogRecord has; anything else was passed through ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# One encoder for every line: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(default=str, separators=(",", ":")).encode

APP_LOGGER = "app"
LIBRARY_LEVEL = logging.WARNING
REDACTED = "[REDACTED]"

# A credential-bearing name, the separator that follows it in the shapes botocore,
# urllib3 and URLs use ("'Authorization': b'...", "x-amz-security-token:...",
# "X-Amz-Signature=...", "Signature:\n..."), and its value: up to the closing quote,
# the end of the line or the next query parameter.
_SECRET = re.compile(
    r"""(?ix)
    (authorization|x-amz-security-token|x-amz-signature|x-amz-credential|signature
     |credential|aws_session_token|aws_secret_access_key|session[_-]?token|secret[_-]?key)
    (['"]?\s*[:=]\s*b?['"]?)
    [^'"\r\n&]+
    """
)
# The process's own secrets, wherever they appear (Lambda passes the role's
# temporary credentials in these variables). Short values are stand-ins, not keys.
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_MIN_SECRET_LENGTH = 16


def redact(text: str) -> str:
    """``text`` without credential values: header and query values by name, and the
    process's AWS secret key and session token wherever they appear."""
    for name in _SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) >= _MIN_SECRET_LENGTH and value in text:
            text = text.replace(value, REDACTED)
    return _SECRET.sub(rf"\1\2{REDACTED}", text)


METRICS_NAMESPACE = "ServerlessRestaurantApi"
_METRIC_DEFINITIONS = [
    {"Name": "Requests", "Unit": "Count"},
    {"Name": "Latency", "Unit": "Milliseconds"},
    {"Name": "Status4xx", "Unit": "Count"},
    {"Name": "Status5xx", "Unit": "Count"},
    {"Name": "Throttled", "Unit": "Count"},
    {"Name": "AuthFailures", "Unit": "Count"},
]


def emf_metrics(
    stage: str, status: int, latency_ms: float, timestamp_ms: int | None = None
) -> dict[str, Any]:
    """CloudWatch embedded metric format members for the access-log line.

    The line stays one JSON object per request; CloudWatch Logs extracts the
    metrics from its ``_aws`` block, so metrics cost no API call and no extra
    line (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
    CloudWatch_Embedded_Metric_Format_Specification.html). The formatter
    (app.http.logs) adds them to an access record marked ``_emf``, with the
    record's own time as the timestamp.
    """
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {"Namespace": METRICS_NAMESPACE, "Dimensions": [["Stage"]], "Metrics": _METRIC_DEFINITIONS}
            ],
        },
        "Stage": stage,
        "Requests": 1,
        "Latency": latency_ms,
        "Status4xx": int(400 <= status < 500),
        "Status5xx": int(status >= 500),
        "Throttled": int(status == 429),
        "AuthFailures": int(status in (401, 403)),
    }


class LibraryFilter(logging.Filter):
    """Lets through every line of the app's and, from any other logger, only
    warnings and errors, redacted. The app's own lines never carry headers
    (tested), and skipping them keeps the access log cheap."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == APP_LOGGER or record.name.startswith(APP_LOGGER + "."):
            return True
        if record.levelno < LIBRARY_LEVEL:
            return False
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, built and encoded once (the handler writes it
    with one write). The timestamp's seconds are formatted once per second."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        extras = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(
            record.created,
            record.msecs,
            record.levelname,
            record.name,
            record.getMessage(),
            extras,
            exception,
        )

    def line(
        self,
        created: float,
        msecs: float,
        level: str,
        logger: str,
        message: str,
        extras: dict[str, Any],
        exception: str | None = None,
    ) -> str:
        """The JSON line of one record (``extras``: what it was given as ``extra``)."""
        second, stamp = self._second
        if int(created) != second:
            second = int(created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, stamp)  # one assignment: safe across threads
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(msecs):03d}Z",
            "level": level,
            "logger": logger,
            "message": message,
        }
        emf = False
        for key, value in extras.items():
            if key[0] != "_" or key == "_aws":
                entry[key] = value
            elif key == "_emf":
                emf = value
        if exception is not None:
            # The stack trace goes to the log, never to the client.
            entry["exception"] = exception
        if emf:  # an access line on Lambda: its embedded metrics (emf_metrics)
            metrics = emf_metrics(entry["stage"], entry["status"], entry["latency_ms"], int(created * 1000))
            if metrics.keys().isdisjoint(entry):
                return _with_metrics(entry, metrics)
            entry.update(metrics)
        return _ENCODE(entry)


# The directive is the same on every line: encoded once, not once per request
# (it is most of the line's encoding time).
_DIRECTIVE = _ENCODE(emf_metrics("", 0, 0.0, 0)["_aws"]["CloudWatchMetrics"])


def _with_metrics(entry: dict[str, Any], metrics: dict[str, Any]) -> str:
    """``_ENCODE({**entry, **metrics})``, the same text, with the directive pre-encoded."""
    aws = metrics.pop("_aws")
    return (
        f'{_ENCODE(entry)[:-1]},"_aws":{{"Timestamp":{int(aws["Timestamp"])},'
        f'"CloudWatchMetrics":{_DIRECTIVE}}},{_ENCODE(metrics)[1:]}'
    )


class NoQueryString(logging.Filter):
    """uvicorn logs each WebSocket handshake with its path and query string
    (``127.0.0.1:5000 - "WebSocket /ws?token=..." [accepted]``, on ``uvicorn.error``,
    through uvicorn's own handler). A WebSocket's access token rides in the query
    (browsers cannot set its headers), so these lines keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and "WebSocket" in str(record.msg):
            record.args = tuple(
                arg.partition("?")[0] if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


# The server's loggers whose lines may name a WebSocket's URL.
SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access")


# The handler configure_logging installed, and the filters it was given.
_installed: tuple[logging.StreamHandler[Any], int] | None = None


def _only_our_handler(logger: logging.Logger, level: int) -> logging.StreamHandler[Any] | None:
    """The installed handler, when it is the only thing a record of ``logger`` at
    ``level`` would reach (no other handler or filter on the way), else None."""
    if _installed is None or logger.filters:
        return None
    handler, filters = _installed
    node: logging.Logger | None = logger
    while node is not None and node is not logging.root:
        if node.handlers or not node.propagate:
            return None
        node = node.parent
    root_handlers = logging.root.handlers
    if len(root_handlers) != 1 or root_handlers[0] is not handler:
        return None
    if len(handler.filters) != filters or level < handler.level:
        return None
    return handler


def write_access(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """Logs one line of an app logger (the access line, once per request) whose
    level is on. When nothing but the installed JSON handler would see it, the line
    is formatted and written directly, exactly as the handler would write it (one
    write, then a flush), without building a LogRecord (its process, thread and
    caller fields, which the line never prints) or walking the logger tree again;
    otherwise (a test's capture handler, a filter) it goes through ``logging``."""
    handler = _only_our_handler(logger, level)
    if handler is not None:
        formatter = handler.formatter
        if isinstance(formatter, JsonFormatter):
            now = time.time_ns()
            created = now / 1e9
            msecs = (now % 1_000_000_000) // 1_000_000
            line = formatter.line(created, msecs, logging.getLevelName(level), logger.name, message, fields)
            with handler.lock:  # type: ignore[union-attr]  # created by the handler's __init__
                try:
                    handler.stream.write(line + handler.terminator)
                    handler.flush()
                    return
                except Exception:  # noqa: S110 - logging's own path reports it below
                    pass
    # makeRecord and handle are what Logger.log does, without walking the stack
    # for the caller's file and line, which the line never prints.
    logger.handle(logger.makeRecord(logger.name, level, "", 0, message, (), None, extra=fields))


def configure_logging(level: str) -> None:
    """Replace whatever handlers exist (the Lambda runtime installs its own); the
    app's loggers at ``level``, everything else at WARNING (or ``level`` if higher).
    The root's level only spares other libraries the cost of making records the
    handler would drop."""
    global _installed
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LibraryFilter())
    _installed = (handler, len(handler.filters))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    app_level = logging.getLevelName(level)
    root.setLevel(max(LIBRARY_LEVEL, app_level))
    logging.getLogger(APP_LOGGER).setLevel(app_level)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        if not any(isinstance(f, NoQueryString) for f in server_logger.filters):
            server_logger.addFilter(NoQueryString())
