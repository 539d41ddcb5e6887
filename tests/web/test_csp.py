"""index.html's CSP meta closes what the header's `connect-src` leaves open, in Chromium.

The site's header allows any API (in the cloud without a custom domain, every
execute-api host of the region; here any loopback port, tests/web/site.py); the meta
that `make deploy` and the twin's CloudFront write into index.html names exactly this
stack's API. Another loopback server stands in for another account's API: the page's
own calls work, a `fetch()` to the other one is refused by the meta's `connect-src`
(and never leaves the browser), and the same page without the meta, under the same
header, reaches it: the meta is what blocks it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.web.conftest import People, Stack

pytestmark = pytest.mark.timeout(120)

# A fetch, and every CSP violation the document reports while it runs.
PROBE = """async (url) => {
  const seen = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI, policy: e.originalPolicy }));
  let outcome;
  try {
    outcome = "HTTP " + (await fetch(url, { credentials: "omit" })).status;
  } catch (error) {
    outcome = "refused";
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { outcome, seen };
}"""
META = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')


@pytest.fixture
def other_api() -> Iterator[tuple[str, list[str]]]:
    """Another API on loopback that answers anyone (CORS `*`); the paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def open_menu(page: Page, stack: Stack) -> None:
    """The site's page, its menu read from this stack's API (its own calls work)."""
    page.goto(stack.site.origin + "/")
    expect(page.locator('[data-dish="margherita"]')).to_contain_text("$11.50")


def test_the_pages_meta_refuses_an_api_the_header_allows(
    people: People, stack: Stack, other_api: tuple[str, list[str]]
) -> None:
    other, asked = other_api
    people.expect_problem(f"{other}/steal")  # Chromium logs the refusal (twice)
    page = people.page()
    open_menu(page, stack)
    header = page.request.get(stack.site.origin + "/").headers["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:* " in header, "the header alone would allow it"

    result = page.evaluate(PROBE, f"{other}/steal")

    assert result["outcome"] == "refused"
    assert result["seen"] == [
        {
            "directive": "connect-src",
            "blocked": f"{other}/steal",
            "policy": f"connect-src 'self' {stack.api.url} {stack.api.url.replace('http:', 'ws:', 1)}",
        }
    ], "refused by the page's own policy, which names exactly this stack's API and its live socket"
    assert asked == [], "the request never left the browser"
    assert any("connect-src" in p and f"{other}/steal" in p for p in people.problems)


def test_without_the_meta_the_same_header_lets_the_page_reach_another_api(
    people: People, stack: Stack, other_api: tuple[str, list[str]]
) -> None:
    """The control: the page as served, its meta removed, under the same headers."""
    other, asked = other_api
    page = people.page()

    def without_meta(route: Route) -> None:
        response = route.fetch()
        assert META.search(response.text()), "the site served its meta"
        route.fulfill(response=response, body=META.sub("", response.text()))

    page.route(stack.site.origin + "/", without_meta)
    # A document Playwright fulfils has no address, so Chromium counts it as public and
    # asks before it reaches loopback (Local Network Access); the served one never asks.
    page.context.grant_permissions(["local-network-access"])
    open_menu(page, stack)

    assert page.evaluate(PROBE, f"{other}/reach") == {"outcome": "HTTP 200", "seen": []}
    assert asked == ["/reach"]
    # The header is still enforced on this page: a host it does not name is refused.
    people.expect_problem("http://localhost:")
    elsewhere = other.replace("127.0.0.1", "localhost")
    refused = page.evaluate(PROBE, f"{elsewhere}/x")
    assert refused["outcome"] == "refused"
    assert [v["directive"] for v in refused["seen"]] == ["connect-src"]
    assert "http://127.0.0.1:*" in refused["seen"][0]["policy"], "refused by the header's policy"
