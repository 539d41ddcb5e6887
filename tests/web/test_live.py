"""Live orders in the web app (SPEC "Live orders"), in Chromium, under `make run`'s
servers: uvicorn with its WebSocket at /ws, and the built page (its config.json names
``ws://127.0.0.1:PORT/ws``). Two people, each in their own browser context: what one
does shows on the other's page without a click. tests/web/test_twin.py runs the same
journeys through the twin's WebSocket API.

Nothing here presses Refresh or reloads, and while the socket is up the page reads
nothing on its own (it polls only while the socket is down, every 15 s), so each
change must arrive over the socket well within ``Where.live_ms``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import PHONE, People, Stack, shoot, sign_in
from tests.web.test_journeys import STAFF, order_card, place_order_over_the_api, someone

pytestmark = pytest.mark.timeout(120)


@dataclass
class Where:
    """Where the journeys run: the site, its sign-in, and the API as other people use it."""

    origin: str
    sign_in: Callable[[Page, str, str], None]  # page, user name, role
    bearer: Callable[[str, str], dict[str, str]]  # sub, scope -> Authorization header
    api: str
    # Far below the 15 s fallback reads: only a pushed change can arrive in time.
    live_ms: int = 5_000

    def orders(self, sub: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.api}/orders", headers=self.bearer(sub, "orders:read"), timeout=30)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    def another_cook_moves(self, order_id: str, version: int, status: str) -> None:
        headers = {**self.bearer("other-cook", STAFF), "If-Match": f'"v{version}"'}
        url = f"{self.api}/orders/{order_id}"
        moved = httpx.patch(url, json={"status": status}, headers=headers, timeout=30)
        assert moved.status_code == 200, moved.text


def under_make_run(stack: Stack) -> Where:
    return Where(
        stack.site.origin,
        lambda page, name, role: sign_in(page, stack, name, role),
        lambda sub, scope: {"Authorization": f"Bearer {stack.token(sub, scope)}"},
        stack.api.url,
    )


def signed_in_at(page: Page, where: Where, path: str, username: str, role: str) -> None:
    page.goto(where.origin + path)
    page.get_by_role("button", name="Sign in", exact=True).last.click()
    where.sign_in(page, username, role)
    expect(page).to_have_url(where.origin + path)
    expect_live(page)


def expect_live(page: Page) -> None:
    """The header's indicator says Live: the socket is open."""
    expect(page.locator("header [data-live]")).to_have_text("Live")


def column(page: Page, title: str, order_id: str) -> Any:
    heading = page.get_by_role("heading", name=re.compile(f"^{title}"))
    return page.locator("section.column", has=heading).locator(f'[data-order="{order_id}"]')


def place_in_the_page(page: Page, where: Where, username: str) -> str:
    """A customer signs in from the checkout and orders a Margherita; the order's id."""
    page.goto(where.origin + "/")
    page.get_by_role("button", name="Add Margherita to the order").click()
    page.get_by_role("link", name=re.compile(r"^Checkout \(1 item\)")).click()
    page.get_by_role("button", name="Sign in to place the order").click()
    where.sign_in(page, username, "customer")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    return str(where.orders(username)[0]["id"])


def kitchen_board_journey(people: People, where: Where, picture: str | None = None) -> None:
    staff = people.page()
    signed_in_at(staff, where, "/kitchen", someone("sam"), "staff")

    customer = people.page(PHONE)
    order_id = place_in_the_page(customer, where, someone("amy"))
    expect(column(staff, "Placed", order_id)).to_contain_text("Margherita", timeout=where.live_ms)

    # Another cook (not this page) starts it: the card moves columns by itself.
    where.another_cook_moves(order_id, 1, "preparing")
    expect(column(staff, "Preparing", order_id)).to_be_visible(timeout=where.live_ms)
    expect_live(staff)
    if picture:
        shoot(staff, picture)

    # Served elsewhere: it leaves the board.
    where.another_cook_moves(order_id, 2, "ready")
    where.another_cook_moves(order_id, 3, "served")
    expect(order_card(staff, order_id)).to_have_count(0, timeout=where.live_ms)


def customer_orders_journey(people: People, where: Where) -> None:
    customer = people.page(PHONE)
    order_id = place_in_the_page(customer, where, someone("bea"))
    customer.get_by_role("link", name="Follow my orders").click()
    expect(order_card(customer, order_id)).to_contain_text("Placed")
    expect_live(customer)

    staff = people.page()
    signed_in_at(staff, where, "/kitchen", someone("sam"), "staff")
    card = order_card(staff, order_id)
    card.get_by_role("button", name=re.compile("^Start preparing")).click()
    expect(order_card(customer, order_id)).to_contain_text("Preparing", timeout=where.live_ms)
    card.get_by_role("button", name=re.compile("^Mark ready")).click()
    expect(order_card(customer, order_id)).to_contain_text("Ready", timeout=where.live_ms)
    expect_live(customer)


def menu_journey(people: People, where: Where) -> None:
    """The chef through the API (as the chef's page does it, tests/web/test_journeys.py)."""
    dish = someone("special")
    guest = people.page(PHONE)
    signed_in_at(guest, where, "/", someone("cleo"), "customer")
    chef = where.bearer("chef", "menu:write")

    def put(available: bool) -> None:
        body = {"name": dish, "price_cents": 900, "available": available}
        answer = httpx.put(f"{where.api}/menu/{dish}", json=body, headers=chef, timeout=30)
        assert answer.status_code in (200, 201), answer.text

    put(True)
    on_menu = guest.locator(f'[data-dish="{dish}"]')
    expect(on_menu).to_contain_text("$9.00", timeout=where.live_ms)
    expect(on_menu.get_by_role("button")).to_be_enabled()

    put(False)  # marked unavailable: it leaves the page
    expect(on_menu).to_have_count(0, timeout=where.live_ms)
    put(True)  # back on: it returns
    expect(on_menu).to_contain_text("$9.00", timeout=where.live_ms)

    removed = httpx.delete(f"{where.api}/menu/{dish}", headers=chef, timeout=30)
    assert removed.status_code == 204, removed.text
    expect(on_menu).to_have_count(0, timeout=where.live_ms)
    expect(guest.locator('[data-dish="margherita"]')).to_be_visible()
    expect_live(guest)


def test_the_kitchen_board_shows_a_customers_new_order_and_another_cooks_move_without_a_click(
    people: People, stack: Stack
) -> None:
    # make screenshots (WEB_SCREENSHOTS=docs/screenshots) puts this one in docs/img, the README's.
    kitchen_board_journey(people, under_make_run(stack), picture="../img/live-kitchen")


def test_the_customer_sees_preparing_and_ready_as_the_kitchen_moves_the_order(
    people: People, stack: Stack
) -> None:
    customer_orders_journey(people, under_make_run(stack))


def test_the_menu_drops_a_dish_the_chef_makes_unavailable_or_removes(people: People, stack: Stack) -> None:
    menu_journey(people, under_make_run(stack))


def test_the_chefs_page_changes_show_on_a_customers_menu_without_a_reload(
    people: People, stack: Stack
) -> None:
    where = under_make_run(stack)
    dish = someone("special")
    chef = people.page()
    signed_in_at(chef, where, "/chef", "chef", "chef")
    guest = people.page(PHONE)
    signed_in_at(guest, where, "/", someone("cleo"), "customer")

    form = chef.get_by_role("form", name="Add a dish")
    form.get_by_label("Name").fill(dish)
    form.get_by_label("Price ($)").fill("9.00")
    form.get_by_role("button", name=f"Add {dish}").click()
    on_menu = guest.locator("[data-dish]", has_text=dish)
    expect(on_menu).to_contain_text("$9.00", timeout=where.live_ms)

    editor = chef.get_by_role("form", name=f"Edit {dish}")
    editor.get_by_label("Available").uncheck()
    editor.get_by_role("button", name=f"Save {dish}").click()
    expect(on_menu).to_have_count(0, timeout=where.live_ms)


def test_a_dropped_socket_says_reconnecting_and_what_changed_meanwhile_shows_once_it_is_back(
    people: People, stack: Stack
) -> None:
    """The socket through a relay the test controls (to the real /ws): cut, kept down
    while an order is placed, then let through again."""
    down = {"now": False}
    relays: list[Any] = []

    def relay(ws: Any) -> None:
        if down["now"]:
            ws.close()  # refused, as a server that is away
            return
        ws.connect_to_server()
        relays.append(ws)

    staff = people.page()
    staff.route_web_socket(re.compile(r"/ws\?token="), relay)
    signed_in_at(staff, under_make_run(stack), "/kitchen", someone("sam"), "staff")

    down["now"] = True
    relays[-1].close()
    expect(staff.locator("header [data-live]")).to_have_text("Reconnecting…")
    placed = place_order_over_the_api(stack, someone("dan"))
    staff.wait_for_timeout(500)
    expect(order_card(staff, placed["id"])).to_have_count(0)
    down["now"] = False
    expect_live(staff)
    expect(order_card(staff, placed["id"])).to_contain_text("Marinara")
