"""Headless Chromium (Debian's package, driven by Playwright) against a real uvicorn.

`make pytest` installs the browser first (the Makefile's /usr/bin/chromium
target); `playwright install` is never used, it would download a browser build
of its own. Everything talks only to 127.0.0.1.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from tests.e2e.conftest import Server, run_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--no-proxy-server",
]
# Every wait in these tests is bounded by this (ms), and every page fetch by FETCH_TIMEOUT_MS.
TIMEOUT_MS = 15_000
FETCH_TIMEOUT_MS = 5_000
expect.set_options(timeout=TIMEOUT_MS)

# The static page another origin serves. It only defines helpers; the tests call
# them with page.evaluate and assert on what the page saw (never on the server).
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CORS test page</title></head>
<body><h1>CORS test page</h1>
<script>
"use strict";
function seen(response, body) {
  const h = response.headers;
  return {
    ok: true,
    status: response.status,
    etag: h.get("ETag"),
    rateLimit: h.get("RateLimit"),
    rateLimitPolicy: h.get("RateLimit-Policy"),
    requestId: h.get("X-Request-Id"),
    contentType: h.get("Content-Type"),
    // Not exposed, so a page must not be able to read it.
    csp: h.get("Content-Security-Policy"),
    body: body,
  };
}
async function callApi(url, init) {
  try {
    const response = await fetch(url, {
      ...init, mode: "cors", cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    const text = await response.text();
    let body = text;
    try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
    return seen(response, body);
  } catch (error) {
    return { ok: false, errorName: error.name, errorMessage: String(error.message) };
  }
}
// Read the order, then change it with the ETag the page itself read.
async function readThenPatch(api, token, orderId, status) {
  const url = api + "/orders/" + orderId;
  const auth = { Authorization: "Bearer " + token };
  const read = await callApi(url, { headers: auth });
  const patch = await callApi(url, {
    method: "PATCH",
    headers: { ...auth, "Content-Type": "application/json", "If-Match": String(read.etag) },
    body: JSON.stringify({ status: status }),
  });
  return { read: read, patch: patch };
}
</script></body></html>
""".replace("FETCH_TIMEOUT_MS", str(FETCH_TIMEOUT_MS))


@dataclass
class PageSite:
    """The test page served from one loopback origin."""

    origin: str
    httpd: ThreadingHTTPServer


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path not in ("/", "/index.html"):
            self.send_error(404)
            return
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_page() -> Iterator[PageSite]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield PageSite(f"http://127.0.0.1:{httpd.server_address[1]}", httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@dataclass
class Sites:
    allowed: PageSite  # its origin is the only one in APP_CORS_ALLOW_ORIGINS
    refused: PageSite  # the same page from another port: another origin, not on the list


@pytest.fixture(scope="module")
def sites() -> Iterator[Sites]:
    with serve_page() as allowed, serve_page() as refused:
        yield Sites(allowed, refused)


@pytest.fixture(scope="module")
def api(
    sites: Sites, trust_env: Mapping[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser-api")
    env = {**trust_env, "APP_CORS_ALLOW_ORIGINS": sites.allowed.origin, "APP_RATE_LIMIT": "1000/minute"}
    with run_server(tmp, env) as server:
        yield server


# Package scope: the browser and Playwright's event loop end with this package,
# before any other tests run.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright; missing, it fails under CI and skips elsewhere.
    (tests/web's package fixture uses it too.)"""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """An isolated context per test (the browser runs on a temporary user-data-dir per launch)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()
