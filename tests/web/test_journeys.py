"""What the restaurant's people do on the web app, in Chromium, against a real API.

The page is the production build (web/dist) from a loopback server that behaves as
the stack's CloudFront (routes, the response-headers policy's CSP); the API is
uvicorn with the development sign-in, so signing in is the OAuth code flow with
PKCE that the page runs against Cognito in the cloud.
"""

from __future__ import annotations

import json
import re
import statistics
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import PHONE, People, Stack, shoot, sign_in

pytestmark = pytest.mark.timeout(120)

CUSTOMER = "orders:read orders:write"
STAFF = "orders:read orders:write orders:admin"


def someone(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


def order_card(page: Page, order_id: str) -> Any:
    return page.locator(f'[data-order="{order_id}"]')


def place_order_in_the_page(page: Page, stack: Stack, username: str) -> str:
    """Sign in as a customer from the checkout and place one Margherita; the order's id."""
    page.goto(stack.site.origin + "/")
    page.get_by_role("button", name="Add Margherita to the order").click()
    page.get_by_role("link", name=re.compile(r"^Checkout \(1 item\)")).click()
    page.get_by_role("button", name="Sign in to place the order").click()
    sign_in(page, stack, username, "customer")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    orders = stack.get("/orders", username, CUSTOMER).json()["items"]
    return str(orders[0]["id"])


def place_order_over_the_api(stack: Stack, username: str) -> dict[str, Any]:
    """One Marinara for ``username``, placed outside the browser; the order."""
    placed = httpx.post(
        f"{stack.api.url}/orders",
        json={"lines": [{"item_id": "marinara", "quantity": 1}]},
        headers={"Authorization": f"Bearer {stack.token(username, CUSTOMER)}"},
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


def test_anyone_browses_the_menu_prices_from_the_api_unavailable_dishes_left_out(
    people: People, stack: Stack
) -> None:
    page = people.page(PHONE)
    page.goto(stack.site.origin + "/")
    margherita = page.locator('[data-dish="margherita"]')
    expect(margherita).to_contain_text("Margherita")
    expect(margherita).to_contain_text("$11.50")
    # The demo menu's truffle special is unavailable: a customer cannot order it, so it
    # is not listed (issue 24: a dish the chef marks unavailable leaves the menu page).
    expect(page.locator('[data-dish="truffle-special"]')).to_have_count(0)
    # Phone-sized: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, "menu")


def test_the_menu_works_with_a_keyboard_alone(people: People, stack: Stack) -> None:
    page = people.page(PHONE)
    page.goto(stack.site.origin + "/")
    expect(page.locator('[data-dish="margherita"]')).to_be_visible()
    focused = "document.activeElement.getAttribute('aria-label')"
    for _ in range(25):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "Add Margherita to the order":
            break
    else:
        pytest.fail("Tab never reached the Margherita's Add button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=re.compile(r"^Checkout \(1 item\)"))).to_be_visible()


def test_a_customer_signs_in_and_a_double_click_places_exactly_one_order(
    people: People, stack: Stack
) -> None:
    alice = someone("alice")
    page = people.page(PHONE)
    page.goto(stack.site.origin + "/")
    add = page.get_by_role("button", name="Add Margherita to the order")
    add.click()
    add.click()
    page.get_by_role("button", name="Add Tiramisu to the order").click()
    page.get_by_role("link", name=re.compile(r"^Checkout \(3 items\)")).click()
    expect(page).to_have_url(stack.site.origin + "/checkout")

    page.get_by_role("button", name="Sign in to place the order").click()
    sign_in(page, stack, alice, "customer")
    # Back at the checkout with the same cart, now signed in.
    expect(page).to_have_url(stack.site.origin + "/checkout")
    expect(page.get_by_label("Margherita quantity")).to_have_text("2")
    page.get_by_label("A note for the kitchen").fill("Extra basil, please")
    shoot(page, "checkout")

    page.get_by_role("button", name=re.compile("^Place order")).dblclick()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    orders = stack.get("/orders", alice, CUSTOMER).json()["items"]
    assert len(orders) == 1, orders
    assert orders[0]["total_cents"] == 2 * 1150 + 650
    assert orders[0]["note"] == "Extra basil, please"

    page.get_by_role("link", name="Follow my orders").click()
    expect(order_card(page, orders[0]["id"])).to_contain_text("Placed")


def test_staff_move_an_order_to_ready_and_the_customer_sees_it_on_the_next_read(
    people: People, stack: Stack
) -> None:
    bob = someone("bob")
    customer = people.page(PHONE)
    order_id = place_order_in_the_page(customer, stack, bob)
    customer.get_by_role("link", name="Follow my orders").click()
    expect(order_card(customer, order_id)).to_contain_text("Placed")

    staff = people.page()
    staff.goto(stack.site.origin + "/kitchen")
    staff.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(staff, stack, someone("sam"), "staff")
    expect(staff).to_have_url(stack.site.origin + "/kitchen")
    card = order_card(staff, order_id)
    card.get_by_role("button", name=re.compile("^Start preparing")).click()
    expect(card.get_by_role("button", name=re.compile("^Mark ready"))).to_be_visible()
    card.get_by_role("button", name=re.compile("^Mark ready")).click()
    ready = staff.locator("section.column", has=staff.get_by_role("heading", name=re.compile("^Ready")))
    expect(ready.locator(f'[data-order="{order_id}"]')).to_be_visible()
    shoot(staff, "kitchen")

    customer.get_by_role("button", name="Refresh").click()
    expect(order_card(customer, order_id)).to_contain_text("Ready")


def test_a_stale_board_rereads_and_says_someone_moved_the_order_first(people: People, stack: Stack) -> None:
    carol = someone("carol")
    placed = place_order_over_the_api(stack, carol)
    staff = people.page()

    # This board's live socket lags: the server's changes are still on their way to it
    # (connected to the real /ws, its messages held back), so it still shows version 1.
    def lagging(ws: Any) -> None:
        ws.connect_to_server().on_message(lambda _: None)

    staff.route_web_socket(re.compile(r"/ws\?token="), lagging)
    staff.goto(stack.site.origin + "/kitchen")
    staff.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(staff, stack, someone("sam"), "staff")
    card = order_card(staff, placed["id"])
    expect(card).to_contain_text("Marinara")
    expect(staff.locator("header [data-live]")).to_have_text("Live")

    # Someone else moves it while this board still shows version 1.
    moved = httpx.patch(
        f"{stack.api.url}/orders/{placed['id']}",
        json={"status": "preparing"},
        headers={"Authorization": f"Bearer {stack.token('other-staff', STAFF)}", "If-Match": '"v1"'},
        timeout=10,
    )
    assert moved.status_code == 200, moved.text

    people.expect_problem("status of 412")
    card.get_by_role("button", name=re.compile("^Start preparing")).click()
    expect(staff.get_by_role("alert")).to_contain_text("was changed by someone else first")
    expect(card.get_by_role("button", name=re.compile("^Mark ready"))).to_be_visible()
    assert stack.get(f"/orders/{placed['id']}", carol, CUSTOMER).json()["version"] == 2


def test_an_expired_session_asks_to_sign_in_again(people: People, stack: Stack) -> None:
    page = people.page(PHONE)
    page.goto(stack.site.origin + "/orders")
    page.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(page, stack, someone("dora"), "customer")
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
    # The token is rejected from now on, as an expired one is.
    page.evaluate(
        """() => {
          for (const key of Object.keys(sessionStorage)) {
            if (!key.startsWith("oidc.user:")) continue;
            const user = JSON.parse(sessionStorage.getItem(key));
            user.access_token = user.access_token.slice(0, -4) + "AAAA";
            sessionStorage.setItem(key, JSON.stringify(user));
          }
        }"""
    )
    page.reload()
    people.expect_problem("status of 401")
    people.expect_problem("WebSocket connection to")  # the live socket's handshake is refused too
    expect(page.get_by_role("alert").first).to_contain_text("Your session has expired. Please sign in again.")
    expect(page.get_by_role("button", name="Sign in again").first).to_be_visible()


def test_a_chef_adds_edits_and_removes_dishes_and_the_menu_shows_it(people: People, stack: Stack) -> None:
    chef = people.page()
    chef.goto(stack.site.origin + "/chef")
    chef.get_by_role("button", name="Sign in", exact=True).last.click()
    sign_in(chef, stack, "chef", "chef")
    expect(chef.get_by_role("heading", name="The chef\u2019s menu")).to_be_visible()

    form = chef.get_by_role("form", name="Add a dish")
    form.get_by_label("Name").fill("Panna cotta")
    form.get_by_label("Price ($)").fill("6.50")
    form.get_by_role("button", name="Add Panna cotta").click()
    expect(chef.get_by_role("status")).to_have_text("Panna cotta is on the menu.")

    chef.get_by_label("Price of Margherita in dollars").fill("12.25")
    chef.get_by_role("button", name="Save Margherita").click()
    expect(chef.get_by_role("status")).to_have_text("Margherita is saved.")
    shoot(chef, "chef")

    guest = people.page(PHONE)
    guest.goto(stack.site.origin + "/")
    expect(guest.locator('[data-dish="margherita"]')).to_contain_text("$12.25")
    expect(guest.locator('[data-dish="panna-cotta"]')).to_contain_text("$6.50")

    chef.get_by_role("button", name="Remove Panna cotta").click()
    chef.get_by_role("button", name="Remove Panna cotta for good").click()
    expect(chef.get_by_role("status")).to_have_text("Panna cotta is off the menu.")
    guest.reload()
    expect(guest.locator('[data-dish="margherita"]')).to_be_visible()
    expect(guest.locator('[data-dish="panna-cotta"]')).to_have_count(0)


def test_the_page_from_another_origin_is_refused_by_cors(people: People, stack: Stack) -> None:
    people.expect_problem("CORS policy")
    people.expect_problem("net::ERR_FAILED")
    page = people.page(PHONE)
    page.goto(stack.other.origin + "/")
    expect(page.get_by_role("alert")).to_contain_text("could not be reached")
    expect(page.locator('[data-dish="margherita"]')).to_have_count(0)
    assert any("CORS policy" in problem for problem in people.problems), people.problems


MEASURE = """async ([button, rounds]) => {
  // Click to rendered data: from the click to the DOM commit that ends the loading state.
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const target = [...document.querySelectorAll("button")].find((b) => b.textContent === button);
    const section = target.closest("section");
    const done = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (section.dataset.state === "ready") { observer.disconnect(); resolve(performance.now()); }
      });
      observer.observe(section, { attributes: true, attributeFilter: ["data-state"] });
    });
    const start = performance.now();
    target.click();
    times.push((await done) - start);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return times;
}"""


def click_to_rendered(page: Page, what: str) -> dict[str, Any]:
    """Warm "Refresh" clicks on the orders page, each timed from the click to the DOM
    commit that shows the data: 3 to warm up (connections, JIT, the API's caches, a
    twin's worker and JWKS), then 20 measured."""
    expect(page.get_by_role("button", name="Refresh")).to_be_enabled()
    page.evaluate(MEASURE, ["Refresh", 3])
    times: list[float] = page.evaluate(MEASURE, ["Refresh", 20])
    return {
        "what": what,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(sorted(times)[int(0.95 * len(times)) - 1], 1),
        "max_ms": round(max(times), 1),
    }


def test_warm_click_to_rendered_data_is_measured_in_the_browser(
    people: People, stack: Stack, record_property: Any
) -> None:
    """Warm reads through uvicorn on loopback; the twin's figure is docs/web-app.md's comparison."""
    page = people.page()
    place_order_in_the_page(page, stack, someone("erin"))
    page.get_by_role("link", name="Follow my orders").click()
    figures = click_to_rendered(page, "GET /orders, click to rendered, uvicorn on loopback")
    record_property("click_to_rendered", json.dumps(figures))
    print(f"\nclick to rendered: {figures}")
    # Generous on a shared 2-core machine; the seed's budget is 100 ms end to end.
    assert figures["median_ms"] < 250, figures
