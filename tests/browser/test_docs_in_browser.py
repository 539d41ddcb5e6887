"""The docs pages in Chromium, under the app's own Content-Security-Policy.

Swagger UI and ReDoc are served by the app (no CDN); the page must render,
list the operations, and make an authorized request, with no CSP violation,
console error or page error along the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from tests.auth.tokens import Issuer
from tests.browser.conftest import TIMEOUT_MS
from tests.e2e.conftest import Server

pytestmark = pytest.mark.timeout(60)

# Runs before any page script: collects every CSP violation the document reports.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({
    directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, sample: e.sample,
  });
});
"""
# ReDoc 2.x renders its attribution logo from its own CDN, unconditionally. The
# docs CSP blocks it on purpose (no third-party hosts); the image hides itself
# on error. This one violation is expected on /redoc and nothing else is.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@dataclass
class Watched:
    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[dict[str, Any]]:
        violations: list[dict[str, Any]] = self.page.evaluate("() => window.__cspViolations")
        return violations


@pytest.fixture
def watched(context: BrowserContext) -> Iterator[Watched]:
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    watched = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            watched.console.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("requestfailed", lambda request: watched.errors.append(f"request failed: {request.url}"))
    yield watched
    page.close()


def test_swagger_ui_lists_operations_and_executes_an_authorized_request(
    watched: Watched, api: Server, tmp_path: Path
) -> None:
    page = watched.page
    response = page.goto(f"{api.url}/docs")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self';" in response.headers["content-security-policy"]

    # The operations are listed.
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    summaries = {
        re.sub(r"\s+", " ", text).strip()
        for text in page.locator(".opblock-summary-method, .opblock-summary-path").evaluate_all(
            """els => els.filter(e => e.classList.contains("opblock-summary-method"))
                .map(e => e.innerText + " " + e.parentElement.querySelector(".opblock-summary-path")
                .getAttribute("data-path"))"""
        )
    }
    assert {"GET /hello", "POST /orders", "GET /orders", "GET /me", "PATCH /orders/{order_id}"} <= summaries

    # Authorize with a bearer token (the scheme is named `bearer`).
    token = Issuer().token(sub="swagger-user", scope="orders:read")
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog.get_by_text("bearer", exact=True)).to_be_visible()
    dialog.locator("#auth-bearer-value").fill(token)
    dialog.locator(".auth-btn-wrapper button.authorize").click()
    expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
    dialog.locator(".auth-btn-wrapper button.btn-done").click()
    expect(dialog).to_be_hidden()

    # GET /me: expand, "Try it out" (already on if tryItOutEnabled), Execute.
    me = page.locator(".opblock-get").filter(has=page.locator('.opblock-summary-path[data-path="/me"]'))
    me.locator(".opblock-summary-control").click()
    try_out = me.locator(".try-out__btn")
    expect(try_out).to_be_visible()
    if try_out.inner_text().strip() == "Try it out":
        try_out.click()
    with page.expect_request(lambda request: request.url == f"{api.url}/me") as sent:
        me.locator("button.execute").click()
    assert sent.value.headers.get("authorization") == f"Bearer {token}"

    live = me.locator(".live-responses-table")
    status = live.locator(".response .response-col_status").first
    expect(status).to_have_text(re.compile(r"^\s*200\s*$"))
    body = live.locator(".response-col_description .microlight, .response-col_description pre").first
    expect(body).to_contain_text('"sub": "swagger-user"')

    live.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "swagger-ui.png"), full_page=False)

    assert watched.csp_violations() == []
    assert watched.console == []
    assert watched.errors == []


def test_redoc_renders_the_api_without_csp_violations(watched: Watched, api: Server) -> None:
    title = httpx.get(f"{api.url}/openapi.json", timeout=10).json()["info"]["title"]
    page = watched.page
    response = page.goto(f"{api.url}/redoc")
    assert response is not None
    assert response.status == 200

    expect(page.locator("h1").first).to_contain_text(title)
    expect(page.get_by_role("menu").first).to_contain_text("orders")
    expect(page.get_by_text("API docs by Redocly")).to_be_visible()
    assert "Something went wrong" not in page.inner_text("body")

    # Wait, bounded, for the one violation that is expected, so that anything
    # reported before it has been recorded too.
    page.wait_for_function(
        "logo => window.__cspViolations.some(v => v.blocked === logo)", arg=REDOC_LOGO, timeout=TIMEOUT_MS
    )
    unexpected = [v for v in watched.csp_violations() if v["blocked"] != REDOC_LOGO]
    assert unexpected == []
    assert [line for line in watched.console if REDOC_LOGO not in line] == []
    assert [line for line in watched.errors if REDOC_LOGO not in line] == []
