"""The web app in Chromium against a real API: uvicorn with the development sign-in and
the demo menu, and the built page from a loopback server that behaves as CloudFront.

Each test opens pages in fresh browser contexts (one per person); every page's
console errors, page errors and CSP violations are collected, and a test fails if
any page logged one it did not expect.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from jose import jwt
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from app.devtoken import ensure_key
from tests.browser.conftest import TIMEOUT_MS, launched_chromium
from tests.e2e.conftest import Server, free_port, run_server
from tests.web.site import Site, serve_site

AUDIENCE = "serverless-api-local"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
SCREENSHOTS = os.environ.get("WEB_SCREENSHOTS")


@dataclass
class Stack:
    api: Server
    site: Site
    other: Site  # the same page from another origin, which the API does not allow
    jwks: Path

    @property
    def issuer(self) -> str:
        return f"{self.api.url}/local-dev"

    def token(self, sub: str, scope: str) -> str:
        """A token like the dev sign-in's, for checks made outside the browser."""
        pem, kid = ensure_key(self.jwks)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": sub, "scope": scope}
        claims |= {"iat": now, "exp": now + 600}
        return str(jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": kid}))

    def get(self, path: str, sub: str, scope: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(sub, scope)}"}
        return httpx.get(f"{self.api.url}{path}", headers=headers, timeout=10)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("web-stack")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    jwks = tmp / "jwks.json"
    with serve_site(api_url) as site, serve_site(api_url) as other:
        env = {
            "APP_CORS_ALLOW_ORIGINS": site.origin,
            "APP_AUTH_ISSUER": f"{api_url}/local-dev",
            "APP_AUTH_JWKS_FILE": str(jwks),
            "APP_RATE_LIMIT": "100000/minute",
        }
        with run_server(tmp, env, empty_store=False, port=port) as api:
            yield Stack(api, site, other, jwks)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


@dataclass
class People:
    """Browser contexts, one per person, and every problem their pages logged."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_problem(self, text: str) -> None:
        """A console line this test causes on purpose (Chromium logs a fetch's 4xx as an error)."""
        self.expected.append(text)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(text in p for text in self.expected)]

    def page(self, viewport: dict[str, int] = DESKTOP) -> Page:
        context = self.browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()

        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning") and "Content Security Policy" in message.text:
                self.problems.append(f"CSP: {message.text}")
            elif message.type == "error":
                self.problems.append(f"console error: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return page


@pytest.fixture
def people(browser: Browser) -> Iterator[People]:
    people = People(browser)
    try:
        yield people
    finally:
        for context in people.contexts:
            context.close()
    assert people.unexpected() == [], "the pages logged problems:\n" + "\n".join(people.unexpected())


def sign_in(page: Page, stack: Stack, username: str, role: str) -> None:
    """Through the development sign-in's page, as a person does it: name, role, button."""
    expect(page.get_by_role("heading", name="Development sign-in")).to_be_visible()
    assert page.url.startswith(f"{stack.issuer}/authorize?"), page.url
    page.get_by_label("User name").fill(username)
    page.get_by_label(role.capitalize(), exact=False).check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.site.origin}/**")


def shoot(page: Page, name: str) -> None:
    """A picture for the README and the guides (docs/screenshots), when `make screenshots` asks for them."""
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
