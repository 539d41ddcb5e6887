"""CORS as a browser enforces it: a page on one loopback origin calls the API on another.

The API (uvicorn on 127.0.0.1:<api_port>) allows exactly one origin,
http://127.0.0.1:<page_port>. The same static page is also served from a
second port, a different origin that is not on the list. Every assertion is on
what the page's JavaScript saw (status, readable headers, a rejected fetch),
and, where the browser must have stopped a request, on the server's state
afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page

from tests.auth.tokens import Issuer
from tests.browser.conftest import Sites
from tests.e2e.conftest import Server

pytestmark = pytest.mark.timeout(60)

ALICE_SCOPES = "orders:read orders:write"
MISSING_ORDER = "01JDQ3V8Y6Q0W6D3W6X4T9M2KZ"
RATE_LIMIT = re.compile(r'^"default";r=(\d+);t=(\d+)$')


def bearer(sub: str, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {Issuer().token(sub=sub, scope=scope)}"}


@pytest.fixture(scope="module")
def menu(api: Server) -> None:
    body = {"name": "Margherita", "price_cents": 1150, "available": True}
    created = httpx.put(
        f"{api.url}/menu/margherita", json=body, headers=bearer("chef", "menu:write"), timeout=10
    )
    assert created.status_code == 201, created.text


def place_order(api: Server, sub: str = "alice") -> str:
    """A fresh order (version 1, placed) for `sub`, made outside the browser."""
    response = httpx.post(
        f"{api.url}/orders",
        json={"lines": [{"item_id": "margherita", "quantity": 2}]},
        headers=bearer(sub, ALICE_SCOPES),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def server_version(api: Server, order_id: str) -> int:
    response = httpx.get(f"{api.url}/orders/{order_id}", headers=bearer("alice", ALICE_SCOPES), timeout=10)
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


class OriginPage:
    """The test page open in Chromium, with what its console printed."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self._log)

    def _log(self, message: ConsoleMessage) -> None:
        self.console.append(message.text)

    def call(self, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate("([url, init]) => callApi(url, init)", [url, init or {}])
        return result

    def read_then_patch(self, api: str, token: str, order_id: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate(
            "([api, token, id, status]) => readThenPatch(api, token, id, status)",
            [api, token, order_id, status],
        )
        return result


def open_page(context: BrowserContext, origin: str) -> Iterator[OriginPage]:
    page = context.new_page()
    test_page = OriginPage(page)
    response = page.goto(origin + "/")
    assert response is not None
    assert response.status == 200
    yield test_page
    page.close()


@pytest.fixture
def allowed_page(context: BrowserContext, sites: Sites, menu: None) -> Iterator[OriginPage]:
    yield from open_page(context, sites.allowed.origin)


@pytest.fixture
def refused_page(context: BrowserContext, sites: Sites, menu: None) -> Iterator[OriginPage]:
    yield from open_page(context, sites.refused.origin)


def test_allowed_origin_reads_etag_and_rate_limit_then_patches_with_if_match(
    allowed_page: OriginPage, api: Server
) -> None:
    order_id = place_order(api)
    token = Issuer().token(sub="alice", scope=ALICE_SCOPES)

    seen = allowed_page.read_then_patch(api.url, token, order_id, "cancelled")

    read = seen["read"]
    assert read["ok"], read
    assert read["status"] == 200
    assert read["body"]["id"] == order_id
    assert read["body"]["status"] == "placed"
    # Exposed headers: readable from JavaScript on another origin.
    assert read["etag"] == '"v1"'
    assert read["rateLimitPolicy"] == '"default";q=1000;w=60'
    match = RATE_LIMIT.match(read["rateLimit"] or "")
    assert match, read["rateLimit"]
    assert 0 <= int(match.group(1)) < 1000
    assert 0 < int(match.group(2)) <= 60
    assert read["requestId"]
    # A header the API does not expose stays hidden from the page.
    assert read["csp"] is None

    # The PATCH carried If-Match and Content-Type: application/json, so the
    # browser sent a preflight first; it passed, and the page reads the result.
    patch = seen["patch"]
    assert patch["ok"], patch
    assert patch["status"] == 200, patch["body"]
    assert patch["body"]["status"] == "cancelled"
    assert patch["body"]["version"] == 2
    assert patch["etag"] == '"v2"'
    assert RATE_LIMIT.match(patch["rateLimit"] or "")
    assert server_version(api, order_id) == 2


def test_allowed_origin_reads_error_responses(allowed_page: OriginPage, api: Server) -> None:
    order_id = place_order(api)
    auth = bearer("alice", ALICE_SCOPES)

    # No token: the 401 and its problem document reach the page.
    unauthenticated = allowed_page.call(f"{api.url}/orders/{order_id}")
    assert unauthenticated["ok"], unauthenticated
    assert unauthenticated["status"] == 401
    assert unauthenticated["contentType"].startswith("application/problem+json")
    assert unauthenticated["body"]["status"] == 401

    # An order that does not exist: a readable 404.
    missing = allowed_page.call(f"{api.url}/orders/{MISSING_ORDER}", {"headers": auth})
    assert missing["ok"], missing
    assert missing["status"] == 404
    assert missing["contentType"].startswith("application/problem+json")
    assert missing["body"]["status"] == 404
    assert RATE_LIMIT.match(missing["rateLimit"] or "")

    # A stale If-Match: a readable 412, and the order is unchanged.
    stale = allowed_page.call(
        f"{api.url}/orders/{order_id}",
        {
            "method": "PATCH",
            "headers": {**auth, "Content-Type": "application/json", "If-Match": '"v7"'},
            "body": '{"status": "cancelled"}',
        },
    )
    assert stale["ok"], stale
    assert stale["status"] == 412
    assert stale["body"]["status"] == 412
    assert server_version(api, order_id) == 1


def test_allowed_origin_cannot_send_a_header_the_preflight_did_not_allow(
    allowed_page: OriginPage, api: Server
) -> None:
    order_id = place_order(api)
    blocked = allowed_page.call(
        f"{api.url}/orders/{order_id}",
        {
            "method": "PATCH",
            "headers": {
                **bearer("alice", ALICE_SCOPES),
                "Content-Type": "application/json",
                "If-Match": '"v1"',
                "X-Not-Allowed": "1",
            },
            "body": '{"status": "cancelled"}',
        },
    )
    assert not blocked["ok"], blocked
    assert blocked["errorName"] == "TypeError"
    assert any("x-not-allowed" in line.lower() and "CORS policy" in line for line in allowed_page.console)
    # The browser never sent the PATCH itself.
    assert server_version(api, order_id) == 1


def test_origin_not_on_the_list_is_blocked_by_the_browser(refused_page: OriginPage, api: Server) -> None:
    order_id = place_order(api)
    auth = bearer("alice", ALICE_SCOPES)

    # A simple GET is sent, but without Access-Control-Allow-Origin the page
    # may not read the answer: fetch rejects.
    simple = refused_page.call(f"{api.url}/hello")
    assert not simple["ok"], simple
    assert simple["errorName"] == "TypeError"

    # With a token the request needs a preflight; the API refuses it.
    read = refused_page.call(f"{api.url}/orders/{order_id}", {"headers": auth})
    assert not read["ok"], read
    assert read["errorName"] == "TypeError"

    patch = refused_page.call(
        f"{api.url}/orders/{order_id}",
        {
            "method": "PATCH",
            "headers": {**auth, "Content-Type": "application/json", "If-Match": '"v1"'},
            "body": '{"status": "cancelled"}',
        },
    )
    assert not patch["ok"], patch
    assert patch["errorName"] == "TypeError"

    # The browser says why: CORS, not a network failure.
    blocked = [line for line in refused_page.console if "blocked by CORS policy" in line]
    assert len(blocked) >= 3, refused_page.console
    # The refused preflight kept the PATCH from ever reaching the API.
    assert server_version(api, order_id) == 1


def test_allowed_origin_reads_the_order_list_etag_and_revalidates(
    allowed_page: OriginPage, api: Server
) -> None:
    place_order(api, sub="lister")
    token = Issuer().token(sub="lister", scope=ALICE_SCOPES)
    auth = {"Authorization": f"Bearer {token}"}

    listed = allowed_page.call(f"{api.url}/orders", {"headers": auth})
    assert listed["ok"], listed
    assert listed["status"] == 200
    assert len(listed["body"]["items"]) == 1
    etag = listed["etag"]
    assert etag, listed  # exposed: the page can read it
    assert etag.startswith('"')

    # The page revalidates with the tag it read (If-None-Match needs a preflight).
    again = allowed_page.call(f"{api.url}/orders", {"headers": {**auth, "If-None-Match": etag}})
    assert again["ok"], again
    assert again["status"] == 304
    assert again["etag"] == etag

    # HEAD from script: the same headers as GET, readable, no body.
    head = allowed_page.call(f"{api.url}/orders", {"method": "HEAD", "headers": auth})
    assert head["ok"], head
    assert head["status"] == 200
    assert head["etag"] == etag
    assert head["body"] == ""
