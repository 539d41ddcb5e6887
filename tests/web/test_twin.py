"""The web app against the cloud twin (`make cloud`): the built artifact behind the HTTP
API twin, DynamoDB's stand-in, the twin's issuer for sign-in, and the page served as
its CloudFront distribution serves it, all from template.yaml.

The journeys that matter most run again here, and the click-to-rendered time is
measured through the twin: the figure the web app guide (docs/web-app.md) compares with the seed's 100 ms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.deploy.test_site_csp import csp_metas
from tests.e2e.conftest import free_port
from tests.twin.conftest import Twin, built_artifact, run_twin
from tests.web.conftest import PHONE, People
from tests.web.test_journeys import click_to_rendered, order_card, someone
from tests.web.test_live import Where, customer_orders_journey, kitchen_board_journey, menu_journey
from tests.web.test_sign_out import signs_out_revoking

pytestmark = pytest.mark.timeout(300)

CUSTOMER = "orders:read orders:write"
STAFF = "orders:read orders:write orders:admin"


@dataclass
class Cloud:
    twin: Twin
    site: str  # the web app's origin

    @property
    def issuer(self) -> str:
        return f"{self.twin.root}/.twin/issuer"

    def orders(self, sub: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.twin.url}/orders", headers=self.twin.bearer(sub, CUSTOMER), timeout=30)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    web_port = free_port()
    with run_twin(
        tmp_path_factory.mktemp("twin-web"), "--artifact", str(built_artifact()), "--web-port", str(web_port)
    ) as twin:
        cloud = Cloud(twin, f"http://127.0.0.1:{web_port}")
        chef = twin.bearer("chef", "menu:write")
        for item_id, name, price in (("margherita", "Margherita", 1150), ("tiramisu", "Tiramisu", 650)):
            body = {"name": name, "price_cents": price, "available": True}
            created = httpx.put(f"{twin.url}/menu/{item_id}", json=body, headers=chef, timeout=30)
            assert created.status_code == 201, created.text
        yield cloud


def sign_in(page: Page, cloud: Cloud, username: str, role: str) -> None:
    expect(page.get_by_role("heading", name="Development sign-in")).to_be_visible()
    assert page.url.startswith(f"{cloud.issuer}/authorize?"), page.url
    page.get_by_label("User name").fill(username)
    page.get_by_label(role.capitalize(), exact=False).check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{cloud.site}/**")


def test_through_the_twin_a_double_click_orders_once_and_the_kitchen_moves_it_to_ready(
    people: People, cloud: Cloud
) -> None:
    alice = someone("alice")
    customer = people.page(PHONE)
    customer.goto(cloud.site + "/")
    customer.get_by_role("button", name="Add Margherita to the order").click()
    customer.get_by_role("link", name=re.compile(r"^Checkout \(1 item\)")).click()
    customer.get_by_role("button", name="Sign in to place the order").click()
    sign_in(customer, cloud, alice, "customer")
    customer.get_by_role("button", name=re.compile("^Place order")).dblclick()
    expect(customer.get_by_role("heading", name="Thank you!")).to_be_visible()
    orders = cloud.orders(alice)
    assert len(orders) == 1, orders
    order_id = orders[0]["id"]
    customer.get_by_role("link", name="Follow my orders").click()
    expect(order_card(customer, order_id)).to_contain_text("Placed")

    staff = people.page()
    staff.goto(cloud.site + "/kitchen")
    staff.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(staff, cloud, someone("sam"), "staff")
    card = order_card(staff, order_id)
    card.get_by_role("button", name=re.compile("^Start preparing")).click()
    card.get_by_role("button", name=re.compile("^Mark ready")).click()
    ready = staff.locator("section.column", has=staff.get_by_role("heading", name=re.compile("^Ready")))
    expect(ready.locator(f'[data-order="{order_id}"]')).to_be_visible()

    customer.get_by_role("button", name="Refresh").click()
    expect(order_card(customer, order_id)).to_contain_text("Ready")


def through_the_twin(cloud: Cloud) -> Where:
    # The stream's event source mapping polls 4 times a second, then a Lambda worker
    # posts: well under a second warm; a first (cold) invocation takes longer.
    return Where(
        cloud.site,
        lambda page, name, role: sign_in(page, cloud, name, role),
        cloud.twin.bearer,
        cloud.twin.url,
        live_ms=10_000,
    )


def test_through_the_twin_the_kitchen_board_shows_a_new_order_and_another_cooks_move_without_a_click(
    people: People, cloud: Cloud
) -> None:
    kitchen_board_journey(people, through_the_twin(cloud))


def test_through_the_twin_the_customer_sees_preparing_and_ready_as_the_kitchen_moves_it(
    people: People, cloud: Cloud
) -> None:
    customer_orders_journey(people, through_the_twin(cloud))


def test_through_the_twin_the_menu_drops_an_unavailable_dish_and_a_removed_one(
    people: People, cloud: Cloud
) -> None:
    menu_journey(people, through_the_twin(cloud))


def test_the_twins_page_connects_only_to_the_twin_though_its_header_allows_any_loopback_api(
    cloud: Cloud,
) -> None:
    # As the cloud's distribution without a custom domain: a coarse header (there any
    # execute-api host, here any loopback port) and index.html's meta naming this API.
    for path in ("/", "/orders"):
        answer = httpx.get(cloud.site + path, timeout=30)
        assert "connect-src 'self' http://127.0.0.1:* " in answer.headers["content-security-policy"]
        assert " ws://127.0.0.1:*" in answer.headers["content-security-policy"]
        # and the twin's WebSocket API (config.json's wsUrl), its origin alone.
        ws_origin = cloud.twin.ws_url.rsplit("/", 1)[0]
        assert csp_metas(answer.text) == [f"connect-src 'self' {cloud.twin.root} {ws_origin}"], path


def test_through_the_twin_sign_out_revokes_at_the_twin_s_issuer(people: People, cloud: Cloud) -> None:
    page = people.page()
    page.goto(cloud.site + "/orders")
    page.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(page, cloud, someone("olga"), "customer")
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
    signs_out_revoking(page, cloud.issuer, "serverless-api-twin")


def test_warm_click_to_rendered_data_through_the_twin(
    people: People, cloud: Cloud, record_property: Any
) -> None:
    page = people.page()
    page.goto(cloud.site + "/orders")
    page.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(page, cloud, someone("erin"), "customer")
    figures = click_to_rendered(
        page, "GET /orders, click to rendered, through the twin (Lambda-like worker, payload 2.0, moto)"
    )
    record_property("click_to_rendered_twin", json.dumps(figures))
    print(f"\nclick to rendered through the twin: {figures}")
    assert figures["median_ms"] < 500, figures
