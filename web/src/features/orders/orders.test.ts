import { describe, expect, it } from "vitest";

import { createApi, type MenuItem, type Order } from "../../api/client";
import { ApiError } from "../../api/problems";
import { addItem, estimatedTotal, itemCount, setQuantity } from "./cart";
import { cartFingerprint, CheckoutKeys, placeOrder, type KeyStorage } from "./checkout";
import { addPage, EMPTY, placeInOrders } from "./paging";

function memory(): KeyStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => data.set(k, v),
    removeItem: (k) => data.delete(k),
  };
}

function order(id: string, extra: Partial<Order> = {}): Order {
  return {
    id,
    customer: "alice",
    status: "placed",
    lines: [{ item_id: "margherita", name: "Margherita", quantity: 1, unit_price_cents: 1150 }],
    total_cents: 1150,
    note: null,
    created_at: "2026-11-30T12:00:00Z",
    updated_at: "2026-11-30T12:00:00Z",
    version: 1,
    ...extra,
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

describe("the cart", () => {
  it("adds, counts, bounds and removes lines", () => {
    let cart = addItem([], "margherita");
    cart = addItem(cart, "margherita");
    cart = addItem(cart, "tiramisu");
    expect(itemCount(cart)).toBe(3);
    expect(setQuantity(cart, "tiramisu", 500).find((l) => l.itemId === "tiramisu")?.quantity).toBe(100);
    expect(setQuantity(cart, "tiramisu", 0).map((l) => l.itemId)).toEqual(["margherita"]);
    const menu: MenuItem[] = [
      { id: "margherita", name: "Margherita", price_cents: 1150, available: true },
      { id: "tiramisu", name: "Tiramisu", price_cents: 650, available: true },
    ];
    expect(estimatedTotal(cart, menu)).toBe(2 * 1150 + 650);
  });
});

describe("one Idempotency-Key per checkout", () => {
  it("keeps the key for the same cart, across reloads, until the order is placed", () => {
    const storage = memory();
    let made = 0;
    const keys = () => new CheckoutKeys(storage, () => `key-${++made}`);
    const cart = [{ itemId: "margherita", quantity: 2 }];
    const first = keys().keyFor(cartFingerprint(cart, "no basil"));
    expect(keys().keyFor(cartFingerprint([...cart].reverse(), " no basil "))).toBe(first);
    expect(keys().keyFor(cartFingerprint(cart, "extra basil"))).not.toBe(first);
    const changed = keys().keyFor(cartFingerprint(cart, "extra basil"));
    keys().done();
    expect(keys().keyFor(cartFingerprint(cart, "extra basil"))).not.toBe(changed);
  });

  it("retries a failed network call and an in-progress 409 with the same key, and returns the one order", async () => {
    const sent: (string | null)[] = [];
    const answers: (() => Response)[] = [
      () => {
        throw new TypeError("Failed to fetch");
      },
      () => json(409, { status: 409, detail: "in progress" }, { "Retry-After": "1" }),
      () => json(201, order("01ORDER"), { "Idempotent-Replayed": "true" }),
    ];
    const fetchImpl = (request: Request) => {
      sent.push(request.headers.get("Idempotency-Key"));
      const next = answers.shift();
      if (!next) throw new Error("too many requests");
      return Promise.resolve(next());
    };
    const api = createApi("http://api.test", () => "t", fetchImpl as typeof fetch);
    const waits: number[] = [];
    const placed = await placeOrder(api, [{ itemId: "margherita", quantity: 1 }], "", "k-1", (ms) => {
      waits.push(ms);
      return Promise.resolve();
    });
    expect(placed.id).toBe("01ORDER");
    expect(sent).toEqual(["k-1", "k-1", "k-1"]);
    expect(waits).toEqual([250, 1000]);
  });

  it("does not retry a refused order and says why", async () => {
    const fetchImpl = () =>
      Promise.resolve(json(422, { status: 422, detail: "the request is not valid", errors: [] }));
    const api = createApi("http://api.test", () => "t", fetchImpl);
    const attempt = placeOrder(api, [{ itemId: "x", quantity: 1 }], "", "k", () => Promise.resolve());
    await expect(attempt).rejects.toThrow(ApiError);
    await expect(attempt).rejects.toThrow("The request is not valid.");
  });
});

describe("paging with the cursor", () => {
  it("appends later pages without duplicates and replaces on refresh", () => {
    let pages = addPage(EMPTY, { items: [order("3"), order("2")], next_cursor: "c1" }, true);
    pages = addPage(pages, { items: [order("2"), order("1")], next_cursor: null }, false);
    expect(pages.orders.map((o) => o.id)).toEqual(["3", "2", "1"]);
    expect(pages.nextCursor).toBeNull();
    pages = { ...pages, orders: placeInOrders(pages.orders, order("2", { status: "cancelled", version: 2 })) };
    expect(pages.orders[1]?.status).toBe("cancelled");
    pages = addPage(pages, { items: [order("4")], next_cursor: "c2" }, true);
    expect(pages.orders.map((o) => o.id)).toEqual(["4"]);
    expect(pages.nextCursor).toBe("c2");
  });

  it("puts a new order first, and leaves one from a page not loaded where it is", () => {
    const listed = [order("3"), order("2")];
    expect(placeInOrders(listed, order("4")).map((o) => o.id)).toEqual(["4", "3", "2"]);
    expect(placeInOrders(listed, order("1", { status: "ready", version: 3 }))).toEqual(listed);
    expect(placeInOrders([], order("1")).map((o) => o.id)).toEqual(["1"]);
  });

  it("sends the cursor and the token", async () => {
    const seen: string[] = [];
    const fetchImpl = (request: Request) => {
      seen.push(`${request.url} ${request.headers.get("Authorization") ?? ""}`);
      return Promise.resolve(json(200, { items: [], next_cursor: null }));
    };
    const api = createApi("http://api.test/dev", () => "tok", fetchImpl as typeof fetch);
    await api.GET("/orders", { params: { query: { limit: 10, cursor: "abc" } } });
    expect(seen).toEqual(["http://api.test/dev/orders?limit=10&cursor=abc Bearer tok"]);
  });
});
