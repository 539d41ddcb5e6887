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

from app.http.context import emf_metrics

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
        created = record.created
        second, stamp = self._second
        if int(created) != second:
            second = int(created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, stamp)  # one assignment: safe across threads
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        emf = False
        for key, value in record.__dict__.items():
            if key in _STANDARD:
                continue
            if key[0] != "_" or key == "_aws":
                entry[key] = value
            elif key == "_emf":
                emf = value
        if emf:  # an access line on Lambda: its embedded metrics (app.http.context)
            entry.update(
                emf_metrics(entry["stage"], entry["status"], entry["latency_ms"], int(created * 1000))
            )
        if record.exc_info:
            # The stack trace goes to the log, never to the client.
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODE(entry)


def configure_logging(level: str) -> None:
    """Replace whatever handlers exist (the Lambda runtime installs its own); the
    app's loggers at ``level``, everything else at WARNING (or ``level`` if higher).
    The root's level only spares other libraries the cost of making records the
    handler would drop."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LibraryFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    app_level = logging.getLevelName(level)
    root.setLevel(max(LIBRARY_LEVEL, app_level))
    logging.getLogger(APP_LOGGER).setLevel(app_level)
