/** A customer's orders, page by page (the API's opaque cursor), newest first. */
import type { Order } from "../../api/client";

export interface Pages {
  readonly orders: readonly Order[];
  readonly nextCursor: string | null;
}

export const EMPTY: Pages = { orders: [], nextCursor: null };

/** The first page replaces everything (a refresh); a later page is appended, never duplicating an order. */
export function addPage(
  pages: Pages,
  page: { items: readonly Order[]; next_cursor: string | null },
  first: boolean,
): Pages {
  if (first) return { orders: [...page.items], nextCursor: page.next_cursor };
  const seen = new Set(pages.orders.map((o) => o.id));
  return { orders: [...pages.orders, ...page.items.filter((o) => !seen.has(o.id))], nextCursor: page.next_cursor };
}

/** An order changed by this page (a cancel): shown as the API answered it. */
export function replaceOrder(pages: Pages, order: Order): Pages {
  return { ...pages, orders: pages.orders.map((o) => (o.id === order.id ? order : o)) };
}
