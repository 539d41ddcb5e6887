"""One JSON object per log line, to stdout (CloudWatch on Lambda, the terminal locally)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from app.http.context import emf_metrics

# Attributes every LogRecord has; anything else was passed through ``extra``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# One encoder for every line: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(default=str, separators=(",", ":")).encode


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
    """Replace whatever handlers exist (the Lambda runtime installs its own)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Our access log already records each request once; Mangum's info lines
    # ("GET /path 200", lifespan chatter) would repeat it in another format.
    logging.getLogger("mangum").setLevel(logging.WARNING)
