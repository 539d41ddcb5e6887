"""The one line a child interpreter reports on, among whatever else it prints.

Tests that import the app in a fresh interpreter print ``REPORT <json>``; log lines
may follow it (a JWKS prefetch failing while the process exits), so the report is
found by its marker, not by its position."""

from __future__ import annotations

MARKER = "REPORT "


def report_line(stdout: str) -> str:
    return next(line for line in reversed(stdout.splitlines()) if line.startswith(MARKER))[len(MARKER) :]
