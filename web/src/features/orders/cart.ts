/** The cart: what a customer is about to order. Kept in session storage so a sign-in redirect keeps it. */
import type { MenuItem } from "../../api/client";

export interface CartLine {
  readonly itemId: string;
  readonly quantity: number;
}

export const MAX_QUANTITY = 100;
const STORAGE_KEY = "restaurant.cart";

export function addItem(cart: readonly CartLine[], itemId: string): CartLine[] {
  const line = cart.find((l) => l.itemId === itemId);
  if (!line) return [...cart, { itemId, quantity: 1 }];
  return setQuantity(cart, itemId, line.quantity + 1);
}

export function setQuantity(cart: readonly CartLine[], itemId: string, quantity: number): CartLine[] {
  if (quantity <= 0) return cart.filter((l) => l.itemId !== itemId);
  const bounded = Math.min(quantity, MAX_QUANTITY);
  return cart.map((l) => (l.itemId === itemId ? { itemId, quantity: bounded } : l));
}

export function itemCount(cart: readonly CartLine[]): number {
  return cart.reduce((sum, line) => sum + line.quantity, 0);
}

/** The total at today's menu prices (the API prices the order itself; this is what the page shows). */
export function estimatedTotal(cart: readonly CartLine[], menu: readonly MenuItem[]): number {
  const prices = new Map(menu.map((item) => [item.id, item.price_cents]));
  return cart.reduce((sum, line) => sum + (prices.get(line.itemId) ?? 0) * line.quantity, 0);
}

export function loadCart(storage: Storage): CartLine[] {
  try {
    const raw: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? "[]");
    if (!Array.isArray(raw)) return [];
    return raw.filter(
      (l): l is CartLine =>
        typeof (l as CartLine).itemId === "string" && Number.isInteger((l as CartLine).quantity),
    );
  } catch {
    return [];
  }
}

export function saveCart(storage: Storage, cart: readonly CartLine[]): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(cart));
}
