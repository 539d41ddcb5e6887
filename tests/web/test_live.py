"""Live orders in the web app (SPEC "Live orders"), in Chromium, under `make run`'s
servers: uvicorn with its WebSocket at /ws, and the built page (its config.json names
``ws://127.0.0.1:PORT/ws``). Two people, each in their own browser context: what one
does shows on the other's page without a click.

Nothing here presses Refresh or reloads, and while the socket is up the page reads
nothing on its own (it polls only while the socket is down, every 15 s), so each
change must arrive over the socket well within LIVE_MS.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import PHONE, People, Stack, shoot, sign_in
from tests.web.test_journeys import (
    STAFF,
    order_card,
    place_order_in_the_page,
    place_order_over_the_api,
    someone,
)

pytestmark = pytest.mark.timeout(120)

# Far below the 15 s fallback reads: only a pushed change can arrive in time.
LIVE_MS = 5_000


def signed_in_at(page: Page, stack: Stack, path: str, username: str, role: str) -> None:
    page.goto(stack.site.origin + path)
    page.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(page, stack, username, role)
    expect(page).to_have_url(stack.site.origin + path)
    expect_live(page)


def expect_live(page: Page) -> None:
    """The header's indicator says Live: the socket is open."""
    expect(page.locator("header [data-live]")).to_have_text("Live")


def another_cook_moves(stack: Stack, order_id: str, version: int, status: str) -> None:
    headers = {"Authorization": f"Bearer {stack.token('other-cook', STAFF)}", "If-Match": f'"v{version}"'}
    url = f"{stack.api.url}/orders/{order_id}"
    moved = httpx.patch(url, json={"status": status}, headers=headers, timeout=10)
    assert moved.status_code == 200, moved.text


def column(page: Page, title: str) -> Any:
    return page.locator("section.column", has=page.get_by_role("heading", name=re.compile(f"^{title}")))


def test_the_kitchen_board_shows_a_customers_new_order_and_another_cooks_move_without_a_click(
    people: People, stack: Stack
) -> None:
    staff = people.page()
    signed_in_at(staff, stack, "/kitchen", someone("sam"), "staff")

    customer = people.page(PHONE)
    order_id = place_order_in_the_page(customer, stack, someone("amy"))
    card = column(staff, "Placed").locator(f'[data-order="{order_id}"]')
    expect(card).to_contain_text("Margherita", timeout=LIVE_MS)

    # Another cook (not this page) starts it: the card moves columns by itself.
    another_cook_moves(stack, order_id, 1, "preparing")
    expect(column(staff, "Preparing").locator(f'[data-order="{order_id}"]')).to_be_visible(timeout=LIVE_MS)
    expect_live(staff)
    shoot(staff, "live-kitchen")

    # Served elsewhere: it leaves the board.
    another_cook_moves(stack, order_id, 2, "ready")
    another_cook_moves(stack, order_id, 3, "served")
    expect(order_card(staff, order_id)).to_have_count(0, timeout=LIVE_MS)


def test_the_customer_sees_preparing_and_ready_as_the_kitchen_moves_the_order(
    people: People, stack: Stack
) -> None:
    customer = people.page(PHONE)
    order_id = place_order_in_the_page(customer, stack, someone("bea"))
    customer.get_by_role("link", name="Follow my orders").click()
    expect(order_card(customer, order_id)).to_contain_text("Placed")
    expect_live(customer)

    staff = people.page()
    signed_in_at(staff, stack, "/kitchen", someone("sam"), "staff")
    card = order_card(staff, order_id)
    card.get_by_role("button", name=re.compile("^Start preparing")).click()
    expect(order_card(customer, order_id)).to_contain_text("Preparing", timeout=LIVE_MS)
    card.get_by_role("button", name=re.compile("^Mark ready")).click()
    expect(order_card(customer, order_id)).to_contain_text("Ready", timeout=LIVE_MS)
    expect_live(customer)


def test_the_menu_marks_a_dish_the_chef_makes_unavailable_and_drops_one_the_chef_removes(
    people: People, stack: Stack
) -> None:
    dish = someone("special")
    chef = people.page()
    signed_in_at(chef, stack, "/chef", "chef", "chef")
    guest = people.page(PHONE)
    signed_in_at(guest, stack, "/", someone("cleo"), "customer")

    form = chef.get_by_role("form", name="Add a dish")
    form.get_by_label("Name").fill(dish)
    form.get_by_label("Price ($)").fill("9.00")
    form.get_by_role("button", name=f"Add {dish}").click()
    on_menu = guest.locator("[data-dish]", has_text=dish)
    expect(on_menu).to_contain_text("$9.00", timeout=LIVE_MS)
    expect(on_menu.get_by_role("button")).to_be_enabled()

    editor = chef.get_by_role("form", name=f"Edit {dish}")
    editor.get_by_label("Available").uncheck()
    editor.get_by_role("button", name=f"Save {dish}").click()
    expect(on_menu).to_contain_text("Unavailable today", timeout=LIVE_MS)
    expect(on_menu.get_by_role("button")).to_be_disabled()

    chef.get_by_role("button", name=f"Remove {dish}", exact=True).click()
    chef.get_by_role("button", name=f"Remove {dish} for good").click()
    expect(on_menu).to_have_count(0, timeout=LIVE_MS)
    expect(guest.locator('[data-dish="margherita"]')).to_be_visible()
    expect_live(guest)


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
    signed_in_at(staff, stack, "/kitchen", someone("sam"), "staff")

    down["now"] = True
    relays[-1].close()
    expect(staff.locator("header [data-live]")).to_have_text("Reconnecting…")
    placed = place_order_over_the_api(stack, someone("dan"))
    staff.wait_for_timeout(500)
    expect(order_card(staff, placed["id"])).to_have_count(0)
    down["now"] = False
    expect_live(staff)
    expect(order_card(staff, placed["id"])).to_contain_text("Marinara")
