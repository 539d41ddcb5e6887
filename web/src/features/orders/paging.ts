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

/**
 * An order changed (by this page's cancel, or live from the kitchen): shown as the API
 * answered it. An order not listed is new if it is newer than the newest listed (ids are
 * ULIDs: they sort by time); otherwise it is on a page not loaded, and stays there.
 */
export function placeInOrders(orders: readonly Order[], order: Order): Order[] {
  if (orders.some((o) => o.id === order.id)) return orders.map((o) => (o.id === order.id ? order : o));
  const newest = orders[0];
  return newest === undefined || order.id > newest.id ? [order, ...orders] : [...orders];
}
